/**
 * The XP ticker as a durable cron job: every minute (of the server clock, so
 * the fake clock drives it too) the queue fires one `hunt.xp_tick` job per
 * slot across processes, and the handler writes whatever ticks the formula
 * owes. The handler is idempotent (tick k of a player has a unique ledger
 * key), so at-least-once delivery and a second instance are both harmless.
 */
import type { Services } from "../services.ts";

export const XP_TICK_JOB = "hunt.xp_tick";

export async function registerHuntJobs(s: Services) {
  s.queue.register(XP_TICK_JOB, async () => s.hunt.tickXp());
  await s.queue.schedule({ name: XP_TICK_JOB, everyMs: 60_000, kind: XP_TICK_JOB, missed: "skip" });
}
