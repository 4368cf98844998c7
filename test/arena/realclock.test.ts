/**
 * On the real clock (production), a match found in the queue starts when its
 * countdown ends: the start is a queued job with run_at, woken by the queue's
 * own timer (the fake-clock tests wake it by advancing instead).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { openCore } from "../../src/core.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { dataFlags } from "../../src/testing.ts";

const dir = mkdtempSync(join(tmpdir(), "gauntlet-arena-realclock-"));
const s = openCore(loadConfig({ flags: { ...dataFlags(dir), "arena-countdown-sec": "1" }, env: { GAUNTLET_ENV: "test" }, noFile: true }), { log: silentLogger(), migrate: true });
afterAll(async () => {
  await s.queue.stop(0);
  s.db.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a queue match starts at the end of its countdown on the real clock", async () => {
  s.queue.start({ cron: false });
  await Bun.sleep(200);
  await s.arena.problems.create({ title: "One", difficulty: "easy", tests: [{ input: "1\n", answer: "1\n" }] });
  const mk = async (username: string) => {
    const u = await s.auth.createUser({ username, password: "a strong passphrase", role: "player" });
    return { id: u.id, username, role: "player" as const, sessionId: username };
  };
  const [a, b] = [await mk("realone"), await mk("realtwo")];
  await s.arena.joinQueue(a, "duel", "easy");
  const r: any = await s.arena.joinQueue(b, "duel", "easy");
  expect(r.match.status).toBe("countdown");
  const id = r.match.id;
  const startsAt: number = r.match.startsAt;
  let status = "";
  for (let i = 0; i < 60 && status !== "running"; i++) {
    await Bun.sleep(50);
    status = s.arena.store.match(id)!.status;
  }
  expect(status).toBe("running");
  expect(Date.now()).toBeGreaterThanOrEqual(startsAt);
});
