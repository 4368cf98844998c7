/**
 * Queue retention (QueueService.prune and the hourly queue.prune cron job):
 * what goes, what stays, in how large bites, through which index. Time moves
 * only through the fake clock.
 */
import { describe, expect, test } from "bun:test";
import { parsePrometheus } from "../metrics/prom-parse.ts";
import { sqliteOnly, T0 } from "../testing.ts";
import { queueTestKit, type QueueTestServices } from "./queue.testkit.ts";
import { PRUNE_EVERY_MS, PRUNE_JOB, registerQueueJobs } from "./queue.jobs.ts";
import { PermanentJobError } from "./queue.service.ts";
import { PRUNE_FIRES_SQL, PRUNE_JOBS_SQL, queueStore } from "./queue.store.ts";

type S = QueueTestServices;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const { make } = queueTestKit();

/** A RUNNING row as another process's claim leaves it. */
const leased = (s: S, o: { attempts: number; max: number; expires: number }) =>
  (
    s.db.writer
      .query(
        `INSERT INTO jobs (kind, payload, status, run_at, created_at, updated_at, attempts, max_attempts, lease_owner, fence, lease_expires_at, last_heartbeat)
         VALUES ('elsewhere', 'null', 'RUNNING', ?1, ?1, ?1, ?2, ?3, 'other-host:1:x', 3, ?4, ?1) RETURNING id`,
      )
      .get(s.clock.now(), o.attempts, o.max, o.expires) as { id: number }
  ).id;

const statusOf = (s: S, id: number) => s.queue.get(id)?.status;

async function waitFor(cond: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(2);
  }
}

describe("prune: which jobs", () => {
  test("deletes jobs of every final status finished more than queueRetentionDays ago; keeps newer, QUEUED, RUNNING and future ones", async () => {
    const s = make({ "queue-retention-days": "2" });
    s.queue.register("ok", async () => ({ fine: true }));
    s.queue.register("bad", async () => {
      throw new PermanentJobError("no");
    });
    s.queue.start({ cron: false });
    // Finished at T0, one of each final status ("later" has no worker here).
    const ok = await s.queue.add("ok", null);
    const bad = await s.queue.add("bad", null);
    const cancelled = await s.queue.add("later", null);
    await s.queue.cancel(cancelled);
    const dead = leased(s, { attempts: 5, max: 5, expires: T0 - 1 });
    await s.queue.reap();
    expect(await Promise.all([ok, bad].map((id) => s.queue.wait(id, 2000).then((j) => j.status)))).toEqual(["SUCCEEDED", "FAILED"]);
    expect([cancelled, dead].map((id) => statusOf(s, id))).toEqual(["CANCELLED", "DEAD"]);
    // Unfinished since T0: due but never claimed, due in a month, held by a live lease elsewhere.
    const stale = await s.queue.add("later", null);
    const future = await s.queue.add("later", null, { runAt: T0 + 30 * DAY });
    const running = leased(s, { attempts: 1, max: 5, expires: T0 + 60 * DAY });
    // A day later another job finishes: still inside the retention at the end.
    s.clock.advance(DAY);
    const recent = await s.queue.add("ok", null);
    expect((await s.queue.wait(recent, 2000)).finishedAt).toBe(T0 + DAY);

    // Finished exactly retention ago is not yet older than it.
    s.clock.advance(DAY);
    expect(await s.queue.prune()).toMatchObject({ before: T0, jobs: 0 });
    expect(statusOf(s, ok)).toBe("SUCCEEDED");

    s.clock.advance(1);
    expect(await s.queue.prune()).toMatchObject({ before: T0 + 1, jobs: 4 });
    for (const id of [ok, bad, cancelled, dead]) expect(s.queue.get(id)).toBeUndefined();
    await expect(s.queue.wait(ok, 100)).rejects.toMatchObject({ code: "not_found" });
    // What is kept is whole: status, result, lease.
    expect(s.queue.get(recent)).toMatchObject({ status: "SUCCEEDED", result: { fine: true } });
    expect([stale, future].map((id) => statusOf(s, id))).toEqual(["QUEUED", "QUEUED"]);
    expect(s.queue.get(running)).toMatchObject({ status: "RUNNING", leaseOwner: "other-host:1:x", leaseExpiresAt: T0 + 60 * DAY });

    // Counts, the organiser list and /metrics agree with what is left.
    expect(s.queue.counts().counts).toEqual({ QUEUED: 2, RUNNING: 1, SUCCEEDED: 1, FAILED: 0, DEAD: 0, CANCELLED: 0 });
    expect(s.queue.list().total).toBe(4);
    const { samples } = parsePrometheus(await s.metrics.render(s as never));
    const gauge = (status: string) => samples.find((x) => x.name === "gauntlet_queue_jobs" && x.labels.status === status)?.value;
    expect(["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "DEAD", "CANCELLED"].map(gauge)).toEqual([2, 1, 1, 0, 0, 0]);

    // A second run finds nothing more.
    expect(await s.queue.prune()).toMatchObject({ jobs: 0, fires: 0 });
  });

  test("an idempotency key dedupes while its job is kept, and is free again once the job is pruned", async () => {
    const s = make({ "queue-retention-days": "1" });
    s.queue.register("ok", async () => null);
    s.queue.start({ cron: false });
    const a = await s.queue.add("ok", 1, { idempotencyKey: "once" });
    await s.queue.wait(a, 2000);
    s.clock.advance(DAY);
    expect(await s.queue.add("ok", 2, { idempotencyKey: "once" })).toBe(a);
    s.clock.advance(1);
    expect((await s.queue.prune()).jobs).toBe(1);
    const b = await s.queue.add("ok", 3, { idempotencyKey: "once" });
    expect(b).not.toBe(a);
    expect((await s.queue.wait(b, 2000)).payload).toBe(3);
  });
});

describe("prune: how", () => {
  test("deletes oldest first in bounded batches, each its own commit", async () => {
    const s = make({ "queue-retention-days": "1" });
    const ins = s.db.writer.prepare(
      `INSERT INTO jobs (kind, payload, status, run_at, created_at, updated_at, max_attempts, result, finished_at)
       VALUES ('bulk', 'null', 'SUCCEEDED', ?1, ?1, ?1, 1, 'null', ?1)`,
    );
    // 2,500 finished ten days ago (one ms apart), 10 finished now.
    s.db.transaction(() => {
      for (let i = 0; i < 2500; i++) ins.run(T0 - 10 * DAY + i);
      for (let i = 0; i < 10; i++) ins.run(T0);
    });
    const store = queueStore(s.db);
    // One store call deletes at most its limit, the oldest.
    expect(await s.db.write(() => store.pruneJobs(T0 - DAY, 1000))).toBe(1000);
    const oldest = () => (s.db.reader.query("SELECT MIN(finished_at) AS t FROM jobs").get() as { t: number }).t;
    expect(oldest()).toBe(T0 - 10 * DAY + 1000);

    const commits = s.db.stats.batches;
    expect(await s.queue.prune({ batch: 600 })).toMatchObject({ jobs: 1500, fires: 0, batches: 4 }); // 600, 600, 300; then fires: 0
    expect(s.db.stats.batches - commits).toBe(4);
    expect(s.queue.counts().counts.SUCCEEDED).toBe(10);
    expect(oldest()).toBe(T0);
  });

  test.skipIf(sqliteOnly("SQLite's EXPLAIN QUERY PLAN and INDEXED BY"))("both deletes search an index: no table scan, no sort", () => {
    const s = make();
    const plan = (q: string) => (s.db.writer.query(`EXPLAIN QUERY PLAN ${q}`).all(T0, 1000) as { detail: string }[]).map((r) => r.detail);
    const jobs = plan(PRUNE_JOBS_SQL);
    expect(jobs).toContain("SEARCH jobs USING INDEX jobs_finished_idx (finished_at<?)");
    expect(jobs.filter((d) => /SCAN|TEMP B-TREE/.test(d))).toEqual([]);
    const fires = plan(PRUNE_FIRES_SQL);
    expect(fires).toContain("SEARCH f USING INDEX cron_fires_slot_unique (schedule_id=? AND slot<?)");
    // The only scan is of the schedules themselves (one row per schedule).
    expect(fires.filter((d) => /SCAN|TEMP B-TREE/.test(d))).toEqual(["SCAN s"]);
  });

  test("refuses a bad batch size", async () => {
    const s = make();
    await expect(s.queue.prune({ batch: 0 })).rejects.toThrow(/batch/);
  });
});

describe("prune: cron fires", () => {
  test("old fires go; each schedule's newest and recently fired (caught-up) ones stay; no slot ever fires twice", async () => {
    const s = make({ "queue-retention-days": "1" });
    const ran: string[] = [];
    for (const k of ["c.hourly", "c.catchup", "c.yearly"]) s.queue.register(k, async (j) => void ran.push(`${j.payload.schedule}+${(j.payload.slot - T0) / HOUR}h`));
    await s.queue.schedule({ name: "hourly", everyMs: HOUR, kind: "c.hourly" });
    await s.queue.schedule({ name: "catchup", everyMs: HOUR, kind: "c.catchup", missed: "catch_up" });
    // T0 is 12:00 UTC on 1 January: this fires at T0, then not for a year.
    await s.queue.schedule({ name: "yearly", cron: "0 12 1 1 *", kind: "c.yearly" });
    s.queue.start();
    const succeeded = () => s.queue.counts().counts.SUCCEEDED;
    await waitFor(() => succeeded() === 3);
    s.clock.advance(HOUR);
    await waitFor(() => succeeded() === 5);
    // 71 hours later: hourly (skip) fires its latest slot, catchup fires the 71 it missed, all at T0+72h.
    s.clock.advance(71 * HOUR);
    await waitFor(() => succeeded() === 5 + 1 + 71);

    const fires = (name: string) =>
      (s.db.reader.query("SELECT f.slot FROM cron_fires f JOIN cron_schedules c ON c.id = f.schedule_id WHERE c.name = ? ORDER BY f.slot").all(name) as { slot: number }[]).map(
        (r) => (r.slot - T0) / HOUR,
      );
    const hours = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    expect(await s.queue.prune()).toMatchObject({ before: T0 + 48 * HOUR, jobs: 5, fires: 4 });
    expect(fires("hourly")).toEqual([72]);
    // Slots 2..71 are old but were fired at T0+72h: kept for the retention like any fire.
    expect(fires("catchup")).toEqual(hours(2, 72));
    // Fired 72 hours ago, but the newest of its schedule.
    expect(fires("yearly")).toEqual([0]);

    // The next hour fires exactly its own slots: nothing pruned fires again (the
    // jobs that carried the idempotency keys of slots 0 and 1 are gone too).
    s.clock.advance(HOUR);
    await waitFor(() => succeeded() === 72 + 2);
    expect((s.db.reader.query("SELECT COUNT(*) AS n FROM jobs").get() as { n: number }).n).toBe(74);
    expect(ran.length).toBe(79);
    expect(new Set(ran).size).toBe(79);
    expect(ran.slice(-2).sort()).toEqual(["catchup+73h", "hourly+73h"]);
    expect(fires("hourly")).toEqual([72, 73]);
  });
});

describe("the queue.prune cron job", () => {
  test("registerQueueJobs schedules it hourly; on the fake clock its job prunes what is past the retention", async () => {
    const s = make({ "queue-retention-days": "1" });
    s.queue.register("ok", async () => "done");
    await registerQueueJobs(s);
    expect(s.db.reader.query("SELECT name, every_ms, cron, kind, missed FROM cron_schedules").all()).toEqual([
      { name: PRUNE_JOB, every_ms: PRUNE_EVERY_MS, cron: null, kind: PRUNE_JOB, missed: "skip" },
    ]);
    expect(PRUNE_EVERY_MS).toBe(HOUR);
    // The queue's own listing (organiser API) reports the schedule's kind too.
    expect(s.queue.schedules()).toEqual([expect.objectContaining({ name: PRUNE_JOB, kind: PRUNE_JOB, everyMs: HOUR, missed: "skip" })]);
    s.queue.start();
    const pruneJobs = () => s.queue.list({ kind: PRUNE_JOB }).jobs;
    // T0 is on the hour: the first slot fires at once, with nothing to delete.
    await waitFor(() => pruneJobs().some((j) => j.status === "SUCCEEDED"));
    expect(s.queue.get(pruneJobs()[0].id)!.result).toMatchObject({ jobs: 0, fires: 0 });
    const old = await s.queue.add("ok", null);
    await s.queue.wait(old, 2000);

    s.clock.advance(DAY + HOUR);
    const key = `cron:${PRUNE_JOB}:${T0 + DAY + HOUR}`;
    await waitFor(() => pruneJobs().some((j) => j.idempotencyKey === key && j.status === "SUCCEEDED"));
    const job = s.queue.get(pruneJobs().find((j) => j.idempotencyKey === key)!.id)!;
    // The old "ok" job and the first prune job (both finished at T0); the first fire (slot T0) too.
    expect(job.result).toMatchObject({ before: T0 + HOUR, jobs: 2, fires: 1 });
    expect(s.queue.get(old)).toBeUndefined();
    expect(s.queue.counts().counts).toMatchObject({ SUCCEEDED: 1, QUEUED: 0, RUNNING: 0 });
  });
});
