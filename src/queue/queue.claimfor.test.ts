/**
 * Claims on behalf of workers outside the process (remote runners): the same
 * claim, lease and fence as a local worker; each job goes to one claimer; a
 * lost lease is reaped and retried (or DEAD), and the old claim can neither
 * renew nor complete.
 */
import { describe, expect, test } from "bun:test";
import { queueTestKit, type QueueTestServices } from "./queue.testkit.ts";

type S = QueueTestServices;
const { make, row } = queueTestKit();
const waitFor = async (fn: () => boolean) => {
  for (let i = 0; i < 200 && !fn(); i++) await Bun.sleep(5);
  expect(fn()).toBe(true);
};

describe("claimFor", () => {
  test("a waiting claim gets the next enqueued job with a lease in the claimer's name; completeFor stores the result", async () => {
    const s = make();
    const waiting = s.queue.claimFor("remote.run", "remote:tok1", { leaseMs: 30_000, waitMs: 5000 });
    await Bun.sleep(5);
    const id = await s.queue.add("remote.run", { n: 7 }, { maxAttempts: 2 });
    const job = (await waiting)!;
    expect(job).toMatchObject({ id, fence: 1, kind: "remote.run", payload: { n: 7 }, attempts: 1, maxAttempts: 2 });
    expect(row(s, id)).toMatchObject({ status: "RUNNING", lease_owner: "remote:tok1", lease_expires_at: s.clock.now() + 30_000 });
    const done = s.queue.wait(id, 2000);
    // Someone else's name, or a wrong fence, cannot complete it.
    expect(await s.queue.completeFor(id, job.fence, "remote:tok2", { x: 1 })).toBe(false);
    expect(await s.queue.completeFor(id, job.fence + 1, "remote:tok1", { x: 1 })).toBe(false);
    expect(await s.queue.completeFor(id, job.fence, "remote:tok1", { out: 49 })).toBe(true);
    expect(await done).toMatchObject({ status: "SUCCEEDED", result: { out: 49 }, leaseOwner: null });
    // Twice is refused: the job is finished.
    expect(await s.queue.completeFor(id, job.fence, "remote:tok1", { out: 0 })).toBe(false);
    expect(s.queue.get(id)!.result).toEqual({ out: 49 });
  });

  test("no job: resolves null after waitMs, or at once when the signal aborts", async () => {
    const s = make();
    expect(await s.queue.claimFor("remote.run", "r", { leaseMs: 1000, waitMs: 20 })).toBeNull();
    const ac = new AbortController();
    const p = s.queue.claimFor("remote.run", "r", { leaseMs: 1000, waitMs: 60_000, signal: ac.signal });
    ac.abort();
    expect(await p).toBeNull();
    // The abandoned waiter takes nothing: a later job stays QUEUED.
    const id = await s.queue.add("remote.run", null);
    await Bun.sleep(20);
    expect(row(s, id)).toMatchObject({ status: "QUEUED", attempts: 0 });
  });

  test("30 jobs, 4 concurrent claimers: each job claimed exactly once", async () => {
    const s = make();
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(await s.queue.add("remote.run", { i }));
    const got: Array<{ owner: string; id: number }> = [];
    const claimer = async (owner: string) => {
      for (;;) {
        const j = await s.queue.claimFor("remote.run", owner, { leaseMs: 30_000, waitMs: 30 });
        if (!j) return;
        got.push({ owner, id: j.id });
        expect(await s.queue.completeFor(j.id, j.fence, owner, j.payload)).toBe(true);
      }
    };
    await Promise.all(["a", "b", "c", "d"].map(claimer));
    expect(got.map((g) => g.id).sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(got.map((g) => g.owner)).size).toBeGreaterThan(1);
    for (const id of ids) expect(row(s, id)).toMatchObject({ status: "SUCCEEDED", attempts: 1, fence: 1 });
  });

  test("a claimer that stops renewing: its lease is reaped, the job retried by another; the old claim cannot renew or complete", async () => {
    const s = make();
    s.queue.start({ cron: false });
    const id = await s.queue.add("remote.run", { n: 1 }, { maxAttempts: 2 });
    const first = (await s.queue.claimFor("remote.run", "remote:dead", { leaseMs: 30_000, waitMs: 1000 }))!;
    expect(await s.queue.heartbeatFor(id, first.fence, "remote:dead", 30_000)).toEqual({ cancel: false });
    const second = s.queue.claimFor("remote.run", "remote:alive", { leaseMs: 30_000, waitMs: 5000 });
    s.clock.advance(30_001); // the reaper runs on the advance
    await waitFor(() => row(s, id).status === "QUEUED");
    expect(row(s, id).error).toContain("lease expired (owner remote:dead, attempt 1)");
    s.clock.advance(2_000); // past the retry backoff
    const j2 = (await second)!;
    expect(j2).toMatchObject({ id, fence: first.fence + 1, attempts: 2 });
    expect(await s.queue.heartbeatFor(id, first.fence, "remote:dead", 30_000)).toBeNull();
    expect(await s.queue.completeFor(id, first.fence, "remote:dead", "late")).toBe(false);
    expect(await s.queue.completeFor(id, j2.fence, "remote:alive", "ok")).toBe(true);
    expect(row(s, id)).toMatchObject({ status: "SUCCEEDED", result: '"ok"', attempts: 2 });
  });

  test("attempts used up by lost leases: DEAD, never run a third time", async () => {
    const s = make();
    s.queue.start({ cron: false });
    const id = await s.queue.add("remote.run", null, { maxAttempts: 2 });
    for (let i = 1; i <= 2; i++) {
      const j = (await s.queue.claimFor("remote.run", `remote:r${i}`, { leaseMs: 30_000, waitMs: 5000 }))!;
      expect(j.attempts).toBe(i);
      s.clock.advance(30_001);
      await waitFor(() => row(s, id).status !== "RUNNING");
      s.clock.advance(5_000);
    }
    expect(row(s, id)).toMatchObject({ status: "DEAD", attempts: 2 });
    expect(await s.queue.claimFor("remote.run", "remote:r3", { leaseMs: 30_000, waitMs: 30 })).toBeNull();
  });
});
