import { describe, expect, test } from "bun:test";
import { T0 } from "../testing.ts";
import { queueTestKit, type QueueTestServices } from "./queue.testkit.ts";
import { PermanentJobError, queueService, type JobContext } from "./queue.service.ts";
import { queueStore } from "./queue.store.ts";

type S = QueueTestServices;
const { make, row } = queueTestKit();
const deferred = () => {
  let resolve!: () => void;
  const p = new Promise<void>((r) => (resolve = r));
  return { p, resolve };
};

describe("enqueue", () => {
  test("commits with the caller's write and rolls back with it", async () => {
    const s = make();
    const id = await s.db.write((tx) => s.queue.enqueue(tx, "mail", { to: "ann" }));
    expect(row(s, id)).toMatchObject({ kind: "mail", status: "QUEUED", payload: '{"to":"ann"}', run_at: T0, attempts: 0 });
    const failed = s.db.write((tx) => {
      s.queue.enqueue(tx, "mail", { to: "bob" });
      throw new Error("domain write failed");
    });
    await expect(failed).rejects.toThrow("domain write failed");
    expect(s.queue.counts().counts.QUEUED).toBe(1);
  });

  test("outside a transaction is refused", () => {
    const s = make();
    expect(() => s.queue.enqueue(s.db.w, "mail", {})).toThrow(/inside db.write/);
  });

  test("a duplicate idempotency key returns the first job", async () => {
    const s = make();
    const a = await s.queue.add("mail", { n: 1 }, { idempotencyKey: "k1" });
    const b = await s.queue.add("mail", { n: 2 }, { idempotencyKey: "k1" });
    const [c, d] = await Promise.all([s.queue.add("mail", 1, { idempotencyKey: "k2" }), s.queue.add("mail", 2, { idempotencyKey: "k2" })]);
    expect(b).toBe(a);
    expect(d).toBe(c);
    expect(c).not.toBe(a);
    expect(s.queue.get(a)!.payload).toEqual({ n: 1 });
    expect(s.queue.counts().counts.QUEUED).toBe(2);
  });

  test.each([
    ["empty kind", "", {}],
    ["maxAttempts 0", "k", { maxAttempts: 0 }],
    ["fractional priority", "k", { priority: 1.5 }],
    ["huge topic", "k", { topic: "x".repeat(201) }],
  ])("bad options are refused: %s", async (_n, kind, o) => {
    const s = make();
    await expect(s.queue.add(kind as string, null, o as never)).rejects.toThrow();
  });
});

describe("workers", () => {
  test("runs a job and stores the result before SUCCEEDED", async () => {
    const s = make();
    s.queue.register("double", async (j: JobContext<{ n: number }>) => ({ out: j.payload.n * 2, attempts: j.attempts }));
    s.queue.start({ cron: false });
    const id = await s.queue.add("double", { n: 21 });
    const job = await s.queue.wait(id, 2000);
    expect(job).toMatchObject({ status: "SUCCEEDED", result: { out: 42, attempts: 1 }, leaseOwner: null, finishedAt: T0 });
  });

  test("a failed attempt is retried after backoff on the injected clock, then FAILED when attempts run out", async () => {
    const s = make();
    let calls = 0;
    s.queue.register("flaky", async () => {
      calls++;
      throw new Error(`boom ${calls}`);
    });
    s.queue.start({ cron: false });
    const id = await s.queue.add("flaky", null, { maxAttempts: 2 });
    await waitFor(() => row(s, id).attempts === 1 && row(s, id).status === "QUEUED");
    const r = row(s, id);
    expect(r.error).toBe("boom 1");
    // Backoff is 1 s * jitter in [0.5, 1]: not due yet at T0, due after 1 s.
    expect(r.run_at).toBeGreaterThanOrEqual(T0 + 500);
    expect(r.run_at).toBeLessThanOrEqual(T0 + 1000);
    expect(calls).toBe(1);
    s.clock.advance(1000);
    const job = await s.queue.wait(id, 2000);
    expect(job).toMatchObject({ status: "FAILED", attempts: 2, error: "boom 2" });
  });

  test("PermanentJobError fails at once", async () => {
    const s = make();
    s.queue.register("bad", async () => {
      throw new PermanentJobError("no such user");
    });
    s.queue.start({ cron: false });
    const job = await s.queue.wait(await s.queue.add("bad", null), 2000);
    expect(job).toMatchObject({ status: "FAILED", attempts: 1 });
    expect(job.error).toContain("no such user");
  });

  test("jobs sharing a topic run one at a time, in order, while other topics run alongside", async () => {
    const s = make();
    const log: string[] = [];
    let active = new Map<string, number>();
    let maxPerTopic = 0;
    s.queue.register(
      "step",
      async (j: JobContext<{ t: string; i: number }>) => {
        const n = (active.get(j.payload.t) ?? 0) + 1;
        active.set(j.payload.t, n);
        maxPerTopic = Math.max(maxPerTopic, n);
        await Bun.sleep(1);
        log.push(`${j.payload.t}${j.payload.i}`);
        active.set(j.payload.t, n - 1);
      },
      { concurrency: 4, prefetch: 4 },
    );
    const ids = await s.db.write((tx) => {
      const out: number[] = [];
      for (let i = 0; i < 6; i++) for (const t of ["a", "b"]) out.push(s.queue.enqueue(tx, "step", { t, i }, { topic: t, priority: 6 - i }));
      return out;
    });
    s.queue.start({ cron: false });
    await Promise.all(ids.map((id) => s.queue.wait(id, 5000)));
    expect(maxPerTopic).toBe(1);
    expect(log.filter((x) => x[0] === "a")).toEqual(["a0", "a1", "a2", "a3", "a4", "a5"]);
    expect(log.filter((x) => x[0] === "b")).toEqual(["b0", "b1", "b2", "b3", "b4", "b5"]);
  });

  test("priority orders due jobs of a kind", async () => {
    const s = make();
    const seen: number[] = [];
    s.queue.register("p", async (j: JobContext<number>) => void seen.push(j.payload));
    await s.db.write((tx) => {
      for (const p of [1, 5, 3]) s.queue.enqueue(tx, "p", p, { priority: p });
      s.queue.enqueue(tx, "p", 9, { priority: 9, runAt: T0 + 60_000 });
    });
    s.queue.start({ cron: false });
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual([5, 3, 1]);
    s.clock.advance(60_000);
    await waitFor(() => seen.length === 4);
  });

  test("cancel: a QUEUED job at once, a RUNNING one through its signal", async () => {
    const s = make();
    const started = deferred();
    s.queue.register("long", async (j) => {
      started.resolve();
      await new Promise((_, rej) => j.signal.addEventListener("abort", () => rej(j.signal.reason)));
    });
    const queued = await s.queue.add("other", null);
    expect((await s.queue.cancel(queued)).status).toBe("CANCELLED");
    s.queue.start({ cron: false });
    const id = await s.queue.add("long", null);
    await started.p;
    const mid = await s.queue.cancel(id);
    expect(mid.cancelRequested).toBe(true);
    const job = await s.queue.wait(id, 2000);
    expect(job.status).toBe("CANCELLED");
    await expect(s.queue.cancel(await s.queue.add("x", null).then(async (x) => (await s.queue.cancel(x), x)))).resolves.toMatchObject({ status: "CANCELLED" });
  });

  test("wait() rejects on an unknown id and on timeout", async () => {
    const s = make();
    await expect(s.queue.wait(999)).rejects.toMatchObject({ code: "not_found" });
    const id = await s.queue.add("nobody-handles-this", null);
    await expect(s.queue.wait(id, 20)).rejects.toMatchObject({ code: "timeout" });
  });

  test("graceful stop gives back unstarted claims and lets the running handler finish", async () => {
    const s = make();
    const release = deferred();
    const started = deferred();
    s.queue.register(
      "slow",
      async () => {
        started.resolve();
        await release.p;
        return "finished";
      },
      { concurrency: 1, prefetch: 5 },
    );
    const ids = await s.db.write((tx) => [1, 2, 3, 4].map((i) => s.queue.enqueue(tx, "slow", i)));
    s.queue.start({ cron: false });
    await started.p;
    await waitFor(() => s.queue.stats().kinds.find((k) => k.kind === "slow")!.buffered === 3);
    const stopping = s.queue.stop(5000);
    setTimeout(release.resolve, 20);
    await stopping;
    expect(row(s, ids[0])).toMatchObject({ status: "SUCCEEDED", result: '"finished"' });
    for (const id of ids.slice(1)) expect(row(s, id)).toMatchObject({ status: "QUEUED", attempts: 0, lease_owner: null });
  });

  test("a handler past its timeout is aborted and its attempt fails", async () => {
    const s = make();
    let aborted = false;
    s.queue.register(
      "hang",
      async (j) => {
        await new Promise<void>((r) => j.signal.addEventListener("abort", () => ((aborted = true), r())));
        return "too late";
      },
      { timeoutMs: 30 },
    );
    s.queue.start({ cron: false });
    const id = await s.queue.add("hang", null, { maxAttempts: 1 });
    const job = await s.queue.wait(id, 2000);
    expect(aborted).toBe(true);
    expect(job).toMatchObject({ status: "FAILED" });
    expect(job.error).toContain("timed out");
  });

  test("progress is recorded while running", async () => {
    const s = make();
    s.queue.register("prog", async (j) => {
      await j.progress(0.5);
      return null;
    });
    s.queue.start({ cron: false });
    const job = await s.queue.wait(await s.queue.add("prog", null), 2000);
    expect(job.progress).toBe(0.5);
  });
});

/** Rows as a crashed process would leave them, then the reaper. */
describe("fabricated crash states", () => {
  const leased = (s: S, o: { attempts: number; max: number; expires: number; cancel?: number; owner?: string }) => {
    const r = s.db.writer
      .query(
        `INSERT INTO jobs (kind, payload, status, run_at, created_at, updated_at, attempts, max_attempts, lease_owner, fence, lease_expires_at, last_heartbeat, cancel_requested)
         VALUES ('crashy', 'null', 'RUNNING', ?1, ?1, ?1, ?2, ?3, ?4, 7, ?5, ?1, ?6) RETURNING id`,
      )
      .get(T0 - 60_000, o.attempts, o.max, o.owner ?? "dead-host:1:x", o.expires, o.cancel ?? 0) as { id: number };
    return r.id;
  };

  test.each([
    ["expired lease → QUEUED with backoff", { attempts: 1, max: 5, expires: T0 - 1 }, { status: "QUEUED", attempts: 1, lease_owner: null, fence: 7 }],
    ["live lease → untouched", { attempts: 1, max: 5, expires: T0 + 5000 }, { status: "RUNNING", lease_owner: "dead-host:1:x", fence: 7 }],
    ["attempts used up → DEAD", { attempts: 5, max: 5, expires: T0 - 1 }, { status: "DEAD", lease_owner: null, finished_at: T0 }],
    ["cancel requested → CANCELLED", { attempts: 1, max: 5, expires: T0 - 1, cancel: 1 }, { status: "CANCELLED", finished_at: T0 }],
  ])("%s", async (_name, state, expected) => {
    const s = make();
    const id = leased(s, state);
    await s.queue.reap();
    const r = row(s, id);
    expect(r).toMatchObject(expected);
    if (expected.status === "QUEUED") {
      expect(r.run_at).toBeGreaterThanOrEqual(T0 + 500);
      expect(r.error).toContain("lease expired");
    }
  });

  test("a late completion after the reap is refused (fencing)", async () => {
    const s = make();
    const store = queueStore(s.db);
    const id = await s.queue.add("crashy", null);
    const [first] = await s.db.write(() => store.claim("crashy", "worker-A", T0, T0 + 10_000, 1));
    expect(first.fence).toBe(1);
    s.clock.advance(10_001);
    expect(await s.queue.reap()).toBe(1);
    s.clock.advance(60_000);
    const [second] = await s.db.write(() => store.claim("crashy", "worker-B", s.clock.now(), s.clock.now() + 10_000, 1));
    expect(second.fence).toBe(2);
    // Worker A wakes up and tries to finish: every write it can make is refused.
    const late = await s.db.write(() => ({
      ok: store.succeed(id, first.fence, '"A"', s.clock.now()),
      fail: store.finish(id, first.fence, "FAILED", "A", s.clock.now()),
      beat: store.heartbeat(id, first.fence, s.clock.now() + 1e6, s.clock.now()),
      release: store.release(id, first.fence, true, s.clock.now()),
    }));
    expect(late).toEqual({ ok: false, fail: false, beat: undefined, release: false });
    expect(row(s, id)).toMatchObject({ status: "RUNNING", lease_owner: "worker-B", fence: 2, attempts: 2 });
    expect(await s.db.write(() => store.succeed(id, second.fence, '"B"', s.clock.now()))).toBe(true);
    expect(row(s, id)).toMatchObject({ status: "SUCCEEDED", result: '"B"' });
  });

  test("a worker whose lease was reaped mid-run cannot complete; the job runs again", async () => {
    const s = make();
    const gate = deferred();
    const started = deferred();
    let runs = 0;
    s.queue.register("slowpoke", async (j) => {
      runs++;
      if (runs === 1) {
        started.resolve();
        await gate.p;
        return "late";
      }
      return `run ${j.attempts}`;
    }, { concurrency: 2 });
    s.queue.start({ cron: false });
    const id = await s.queue.add("slowpoke", null);
    await started.p;
    s.clock.advance(10_001); // lease (10 s) expires; the clock hook runs the reaper
    await waitFor(() => row(s, id).status !== "RUNNING" || row(s, id).fence > 1);
    s.clock.advance(5_000); // past the backoff: claimed again (fence 2) and finished
    const job = await s.queue.wait(id, 2000);
    gate.resolve();
    await Bun.sleep(10);
    expect(job).toMatchObject({ status: "SUCCEEDED", result: "run 2" });
    expect(row(s, id)).toMatchObject({ status: "SUCCEEDED", result: '"run 2"', fence: 2 });
  });
});

describe("retry", () => {
  test("FAILED → QUEUED with fresh attempts; RUNNING and SUCCEEDED refused", async () => {
    const s = make();
    const gate = deferred();
    let fail = true;
    s.queue.register("r", async () => {
      if (fail) throw new PermanentJobError("first time");
      await gate.p;
      return "ok";
    });
    s.queue.start({ cron: false });
    const id = await s.queue.add("r", null);
    expect((await s.queue.wait(id, 2000)).status).toBe("FAILED");
    fail = false;
    const again = await s.queue.retry(id);
    expect(["QUEUED", "RUNNING"]).toContain(again.status);
    await waitFor(() => row(s, id).status === "RUNNING");
    await expect(s.queue.retry(id)).rejects.toMatchObject({ code: "job_running" });
    gate.resolve();
    expect((await s.queue.wait(id, 2000)).status).toBe("SUCCEEDED");
    await expect(s.queue.retry(id)).rejects.toMatchObject({ code: "job_finished" });
    await expect(s.queue.retry(424242)).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("cron (one process)", () => {
  const fires = (s: S) => s.db.reader.query("SELECT slot FROM cron_fires ORDER BY slot").all().map((r: any) => r.slot);

  test("catch_up fires every missed slot once, with idempotency key cron:<name>:<slot>", async () => {
    const s = make();
    await s.queue.schedule({ name: "tick", everyMs: 60_000, kind: "xp", payload: { amount: 1 }, missed: "catch_up" });
    s.queue.start({ workers: false });
    await waitFor(() => fires(s).length === 1);
    s.clock.advance(5 * 60_000);
    await waitFor(() => fires(s).length === 6);
    await Bun.sleep(20);
    expect(fires(s)).toEqual([0, 1, 2, 3, 4, 5].map((i) => T0 + i * 60_000));
    const jobs = s.db.reader.query("SELECT idempotency_key k, payload FROM jobs ORDER BY id").all() as any[];
    expect(jobs.map((j) => j.k)).toEqual(fires(s).map((slot: number) => `cron:tick:${slot}`));
    expect(JSON.parse(jobs[1].payload)).toEqual({ amount: 1, schedule: "tick", slot: T0 + 60_000 });
  });

  test("skip fires only the latest missed slot; re-scheduling keeps the history", async () => {
    const s = make();
    await s.queue.schedule({ name: "snap", cron: "*/5 * * * *", tz: "Europe/Berlin", kind: "snapshot" });
    s.queue.start({ workers: false });
    await waitFor(() => fires(s).length === 1);
    s.clock.advance(60 * 60_000);
    await waitFor(() => fires(s).length === 2);
    await s.queue.schedule({ name: "snap", cron: "*/5 * * * *", tz: "Europe/Berlin", kind: "snapshot" });
    await Bun.sleep(30);
    expect(fires(s)).toEqual([T0, T0 + 60 * 60_000]);
  });

  test.each([
    ["no rule", { name: "a", kind: "k" }],
    ["both rules", { name: "a", kind: "k", cron: "* * * * *", everyMs: 1000 }],
    ["bad cron", { name: "a", kind: "k", cron: "every tuesday" }],
    ["bad tz", { name: "a", kind: "k", cron: "* * * * *", tz: "Mars/Base" }],
    ["bad missed", { name: "a", kind: "k", everyMs: 1000, missed: "sometimes" }],
    ["array payload", { name: "a", kind: "k", everyMs: 1000, payload: [1] }],
  ])("bad schedule refused: %s", async (_n, def) => {
    const s = make();
    await expect(s.queue.schedule(def as never)).rejects.toMatchObject({ code: "bad_request" });
  });
});

describe("two queues on one database file", () => {
  test("a job enqueued by one process's queue is picked up by the other's worker", async () => {
    const s = make();
    const { openDb } = await import("../db/db.ts");
    const db2 = openDb(s.db.path);
    try {
      const q2 = queueService({ ...s, db: db2 }, { pollMs: 10 });
      q2.register("remote", async (j) => `done by q2 on attempt ${j.attempts}`);
      q2.start({ cron: false });
      const id = await s.queue.add("remote", null);
      const job = await s.queue.wait(id, 3000);
      expect(job).toMatchObject({ status: "SUCCEEDED", result: "done by q2 on attempt 1", leaseOwner: null });
      await q2.stop(100);
    } finally {
      db2.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(2);
  }
}

describe("progress", () => {
  test("rapid reports coalesce to the latest value per claim (better-queue merge), in few writes", async () => {
    const s = make();
    s.queue.register("chatty", async (j) => {
      const all: Promise<void>[] = [];
      for (let i = 1; i <= 500; i++) all.push(j.progress(i / 500));
      await Promise.all(all);
      return "ok";
    });
    s.queue.start({ cron: false });
    const job = await s.queue.wait(await s.queue.add("chatty", null), 3000);
    expect(job.progress).toBe(1);
    // 500 reports in one turn: merged into one row write, not 500.
    expect(s.queue.stats().progressRows).toBe(1);
  });

  test("a non-finite progress is refused", async () => {
    const s = make();
    let err: unknown;
    s.queue.register("nanny", async (j) => {
      err = await j.progress(NaN).catch((e) => e);
    });
    s.queue.start({ cron: false });
    await s.queue.wait(await s.queue.add("nanny", null), 2000);
    expect(err).toBeInstanceOf(TypeError);
  });
});
