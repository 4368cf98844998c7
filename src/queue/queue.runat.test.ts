/**
 * Regression (found by the arena's match timers): two future jobs enqueued in
 * one write body left no wake-up timer on the real clock, so the earlier one
 * never ran. The second enqueue made the claim run again with nothing to
 * claim, and that early return skipped arming the timer.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { openCore } from "../core.ts";
import { silentLogger } from "../lib/log.ts";
import { dataFlags } from "../testing.ts";

const dir = mkdtempSync(join(tmpdir(), "gauntlet-queue-runat-"));
const s = openCore(loadConfig({ flags: dataFlags(dir), env: { GAUNTLET_ENV: "test" }, noFile: true }), { log: silentLogger(), migrate: true });
afterAll(async () => {
  await s.queue.stop(0);
  s.db.close();
  rmSync(dir, { recursive: true, force: true });
});

test("real clock: the earlier of two future jobs from one body runs at its run_at", async () => {
  const ran: Array<{ n: number; late: number }> = [];
  s.queue.register("runat.probe", async (job) => {
    ran.push({ n: job.payload.n, late: Date.now() - job.payload.at });
  });
  s.queue.start({ cron: false });
  // Let the start-up claim finish, so the workers are idle with nothing due (the state a server is in).
  await Bun.sleep(200);
  const at = Date.now() + 300;
  await s.db.write((tx) => {
    s.queue.enqueue(tx, "runat.probe", { n: 1, at }, { runAt: at });
    s.queue.enqueue(tx, "runat.probe", { n: 2, at: at + 600_000 }, { runAt: at + 600_000 });
  });
  for (let i = 0; i < 40 && ran.length === 0; i++) await Bun.sleep(50);
  expect(ran.map((r) => r.n)).toEqual([1]);
  expect(ran[0].late).toBeGreaterThanOrEqual(0);
});
