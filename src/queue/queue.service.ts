/**
 * The durable job queue and cron scheduler: rules, no HTTP, no SQL.
 *
 * Correctness lives in the database so several processes can share one file:
 * a claim is one UPDATE … RETURNING that bumps the job's fencing token; every
 * later write about the job names that token, so a worker whose lease was
 * reaped cannot complete, fail or touch it. What this process keeps in memory
 * (who is running, who is waiting) is only a cache of its own leases.
 *
 * Speed comes from the group-committed writer: completions and the next claim
 * queued in the same turn of the event loop share one transaction and one
 * fsync. Wake-ups are in-process (an enqueue here schedules a claim right
 * after its commit); a slow `PRAGMA data_version` poll notices commits by
 * other processes; timers exist only for the next run_at and lease expiry.
 *
 * Delivery is at-least-once: a worker killed after its handler's effect
 * committed but before the completion did will see the job run again.
 */
import BetterQueue from "better-queue";
// Passed explicitly: better-queue otherwise require()s its store by a computed name, which a compiled binary cannot resolve.
import MemoryStore from "better-queue-memory";
import { Cron } from "croner";
import { hostname } from "node:os";
import type { Drizzle } from "../db/db.ts";
import { JOB_STATUSES, type JobStatus } from "../db/schema/index.ts";
import type { Deps } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import { queueStore, type ClaimedRow, type CronRow, type JobRow } from "./queue.store.ts";

export { JOB_STATUSES, type JobStatus };

export interface EnqueueOptions {
  /** Epoch ms (the injected clock's time); default now. */
  runAt?: number;
  /** Higher runs first among due jobs of a kind; default 0. */
  priority?: number;
  /** Jobs sharing a topic run one at a time, in enqueue order. */
  topic?: string;
  /** A second enqueue with the same key returns the first job's id, while that job is kept (queueRetentionDays after it finished). */
  idempotencyKey?: string;
  /** Claims allowed before the job is FAILED (handler errors) or DEAD (lost leases); default 5. */
  maxAttempts?: number;
}

export interface JobContext<P = any> {
  id: number;
  kind: string;
  payload: P;
  /** 1 on the first run. */
  attempts: number;
  topic: string | null;
  /** Aborted on cancel, timeout, lost lease or shutdown past the grace period. */
  signal: AbortSignal;
  /** Extends the lease now (heartbeats are also sent automatically while the handler runs). */
  heartbeat(): void;
  progress(n: number): Promise<void>;
}

export type JobHandler<P = any> = (job: JobContext<P>) => Promise<unknown>;

/** A job claimed for a worker outside this process (claimFor); `fence` names the claim in every later call. */
export interface ClaimedJob {
  id: number;
  fence: number;
  kind: string;
  payload: unknown;
  /** 1 on the first run. */
  attempts: number;
  maxAttempts: number;
}

export interface RegisterOptions {
  /** Handlers of this kind running at once in this process; default 1. */
  concurrency?: number;
  /** Claimed-but-not-started jobs kept ready beyond `concurrency`; default 0. Raise it for many tiny jobs. */
  prefetch?: number;
  /** Abort and fail the attempt after this long. */
  timeoutMs?: number;
}

export interface ScheduleDef {
  name: string;
  /** Cron expression (5 or 6 fields); exactly one of cron and everyMs. */
  cron?: string;
  /** IANA time zone for the cron expression; default UTC. */
  tz?: string;
  /** Fixed interval; slots are multiples of it since the epoch. */
  everyMs?: number;
  kind: string;
  /** A plain object; the fired job's payload is `{ ...payload, schedule: name, slot }`. */
  payload?: Record<string, unknown>;
  /** Slots missed while no scheduler ran: "skip" fires only the latest due slot, "catch_up" fires each. Default skip. */
  missed?: "skip" | "catch_up";
}

/** A job as other domains and the organiser API see it. */
export interface Job {
  id: number;
  kind: string;
  status: JobStatus;
  payload: unknown;
  result: unknown;
  error: string | null;
  priority: number;
  runAt: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  attempts: number;
  maxAttempts: number;
  topic: string | null;
  idempotencyKey: string | null;
  progress: number | null;
  cancelRequested: boolean;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  lastHeartbeat: number | null;
}

export type JobSummary = Omit<Job, "payload" | "result">;

export interface QueueOptions {
  /** Automatic heartbeat period; default 5 s. */
  heartbeatMs?: number;
  /** Lease length; default two heartbeat periods. */
  leaseMs?: number;
  /** Retry backoff: base * 2^(attempt-1), capped, with jitter in [50%, 100%]. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** How often to look for commits by other processes (new jobs, a moved fake clock). */
  pollMs?: number;
  /** Lease owner name; default host:pid:random. */
  owner?: string;
  /** Randomness for jitter (injected so tests are deterministic). */
  random?: () => number;
}

/** Throw from a handler to fail the job without retrying. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentJobError";
  }
}

interface Held {
  id: number;
  fence: number;
  kind: string;
  payload: string;
  attempts: number;
  maxAttempts: number;
  topic: string | null;
  /** Created on first use of job.signal: most handlers never look at it. */
  ctrl: AbortController | null;
  abortReason: Error | null;
  started: boolean;
  done: boolean;
  cancel: boolean;
  lost: boolean;
}

interface Worker {
  kind: string;
  handler: JobHandler;
  concurrency: number;
  prefetch: number;
  timeoutMs: number;
  running: number;
  buffer: Held[];
  /** Jobs handed over at enqueue whose commit is not yet confirmed. */
  handoff: number;
  /** There may be due jobs we have not claimed. */
  more: boolean;
  /** Bumped by every wake-up, so a claim that raced a wake-up does not clear `more`. */
  seq: number;
}

const FINAL = new Set<JobStatus>(["SUCCEEDED", "FAILED", "DEAD", "CANCELLED"]);
const MAX_TEXT = 200;
const DAY = 86_400_000;
/**
 * Rows per retention write. Deleting 1,000 finished run-sized jobs (1 KB
 * payload, 300 B result) holds the writer ~7 ms; 5,000 held it ~32 ms (up to
 * 46), long enough to show in answer latency, so batches stay small.
 */
export const PRUNE_BATCH = 1000;

const parse = (s: string | null): unknown => {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

export function toSummary(r: JobRow): JobSummary {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    error: r.error,
    priority: r.priority,
    runAt: r.runAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    attempts: r.attempts,
    maxAttempts: r.maxAttempts,
    topic: r.topic,
    idempotencyKey: r.idempotencyKey,
    progress: r.progress,
    cancelRequested: r.cancelRequested === 1,
    leaseOwner: r.leaseOwner,
    leaseExpiresAt: r.leaseExpiresAt,
    lastHeartbeat: r.lastHeartbeat,
  };
}

export const toJob = (r: JobRow): Job => ({ ...toSummary(r), payload: parse(r.payload), result: parse(r.result) });

const errText = (e: unknown) => (e instanceof Error ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}` : String(e)).slice(0, 2000);

function checkText(what: string, v: unknown, optional: boolean) {
  if (v === undefined && optional) return;
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_TEXT) throw new AppError("bad_request", `${what} must be a string of 1 to ${MAX_TEXT} characters`);
}

export function queueService(deps: Deps, opts: QueueOptions = {}) {
  const { db, clock } = deps;
  const log = deps.log.child({ domain: "queue" });
  const store = queueStore(db);
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  const leaseMs = opts.leaseMs ?? 2 * heartbeatMs;
  const backoffBaseMs = opts.backoffBaseMs ?? 1000;
  const backoffMaxMs = opts.backoffMaxMs ?? 10 * 60_000;
  const pollMs = opts.pollMs ?? 100;
  const random = opts.random ?? Math.random;
  const owner = opts.owner ?? `${hostname()}:${process.pid}:${Math.floor(random() * 1e9).toString(36)}`;

  const workers = new Map<string, Worker>();
  const held = new Map<number, Held>();
  let runningCount = 0;
  let onIdle: (() => void) | null = null;
  const writes = new Set<Promise<unknown>>();
  const waiters = new Map<number, Array<(j: Job) => void>>();

  let workersOn = false;
  let cronOn = false;
  let stopping = false;
  let claimInFlight: Promise<void> | null = null;
  let claimAgain = false;
  const timers = { poll: null as Timer | null, beat: null as Timer | null, next: null as Timer | null, cron: null as Timer | null, waitPoll: null as Timer | null };
  let lastVersion = -1;
  let unlistenClock: (() => void) | null = null;

  const track = <T>(p: Promise<T>): Promise<T> => {
    writes.add(p);
    const drop = () => writes.delete(p);
    p.then(drop, drop);
    return p;
  };

  const backoff = (attempt: number) => {
    const raw = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(raw * (0.5 + random() * 0.5));
  };

  // ---------- notification ----------

  function notify(id: number) {
    const list = waiters.get(id);
    if (!list) return;
    const row = store.get(id);
    if (!row || !FINAL.has(row.status)) return;
    waiters.delete(id);
    const job = toJob(row);
    for (const fn of list) fn(job);
  }

  function pollWaiters() {
    for (const id of [...waiters.keys()]) if (store.isFinal(id)) notify(id);
    if (!waiters.size && timers.waitPoll) {
      clearInterval(timers.waitPoll);
      timers.waitPoll = null;
    }
  }

  // ---------- enqueue ----------

  function normalize(kind: string, payload: unknown, o: EnqueueOptions) {
    checkText("kind", kind, false);
    checkText("topic", o.topic, true);
    checkText("idempotencyKey", o.idempotencyKey, true);
    const now = clock.now();
    const runAt = o.runAt ?? now;
    const priority = o.priority ?? 0;
    const maxAttempts = o.maxAttempts ?? 5;
    if (!Number.isSafeInteger(Math.floor(runAt))) throw new AppError("bad_request", "runAt must be epoch milliseconds");
    if (!Number.isSafeInteger(priority)) throw new AppError("bad_request", "priority must be an integer");
    if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000) throw new AppError("bad_request", "maxAttempts must be 1 to 1000");
    const text = JSON.stringify(payload === undefined ? null : payload);
    return { kind, payload: text, priority, runAt: Math.floor(runAt), maxAttempts, topic: o.topic ?? null, idempotencyKey: o.idempotencyKey ?? null, now };
  }

  /**
   * Inserts the job inside the caller's write body. When a local worker of the
   * kind is idle and nothing older is waiting, the job is inserted already
   * claimed by it (the insert is the claim), which saves a second commit on the
   * way to the handler; it starts once a follow-up read confirms the row
   * committed.
   */
  function enqueueInTx(kind: string, payload: unknown, o: EnqueueOptions = {}): number {
    if (!db.writer.inTransaction) throw new Error("queue.enqueue must run inside db.write()/db.transaction(); use queue.add otherwise");
    return insertJob(normalize(kind, payload, o));
  }

  type Normalized = ReturnType<typeof normalize>;
  type PendingAdd = { j: Normalized; resolve: (id: number) => void; reject: (e: unknown) => void };
  let adds: PendingAdd[] | null = null;

  /**
   * add() calls made in the same turn share one write body: one savepoint and
   * one promise settle instead of one each, which is most of an enqueue's cost.
   */
  function addBatched(j: Normalized): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      // Capped so a burst becomes several bodies: other writers' bodies interleave.
      if (adds && adds.length < 1000) {
        adds.push({ j, resolve, reject });
        return;
      }
      const batch: PendingAdd[] = (adds = [{ j, resolve, reject }]);
      const handed: Handed[] = [];
      db.write(() => {
        adds = null;
        const out: Array<{ ok: boolean; v: unknown }> = new Array(batch.length);
        for (let i = 0; i < batch.length; i++) {
          // A failed statement rolls back alone (SQLite aborts the statement, not the transaction).
          try {
            out[i] = { ok: true, v: insertJob(batch[i].j, handed) };
          } catch (e) {
            out[i] = { ok: false, v: e };
          }
        }
        return out;
      }).then(
        (out) => {
          if (handed.length) startHanded(handed, true);
          for (let i = 0; i < batch.length; i++) {
            if (out[i].ok) batch[i].resolve(out[i].v as number);
            else batch[i].reject(out[i].v);
          }
        },
        (err) => {
          if (adds === batch) adds = null;
          startHanded(handed, false);
          for (const x of batch) x.reject(err);
        },
      );
    });
  }

  type Handed = { w: Worker; h: Held };

  /** Starts (or gives back) jobs handed to local workers once their insert is known to be committed. */
  function startHanded(list: Handed[], committed: boolean) {
    for (const { w, h } of list) {
      w.handoff--;
      if (committed && !stopping) {
        held.set(h.id, h);
        w.buffer.push(h);
        pump(w);
      } else if (committed) void releaseHeld([h], true);
    }
  }

  /**
   * `handed`: the caller (add) learns of its own commit and starts handed-over
   * jobs itself; without it (enqueue in someone else's body) a follow-up read
   * in the next transaction confirms the row committed (a rolled-back body
   * leaves no row, so nothing starts).
   */
  function insertJob(j: Normalized, handed?: Handed[]): number {
    const kind = j.kind;
    const w = workersOn && !stopping ? workers.get(kind) : undefined;
    if (w && !w.more && j.topic === null && j.runAt <= j.now && w.running + w.buffer.length + w.handoff < w.concurrency) {
      const id = store.insertClaimed(j, owner, j.now + leaseMs);
      if (id === undefined) return store.idByKey(j.idempotencyKey!)!;
      w.handoff++;
      const h: Held = mkHeld({ id, kind, payload: j.payload, attempts: 1, max_attempts: j.maxAttempts, topic: null, fence: 1 });
      handedOff++;
      if (handed) {
        handed.push({ w, h });
        return id;
      }
      track(db.write(() => store.stillHeld(id, 1, owner))).then(
        (ok) => startHanded([{ w, h }], ok),
        (err) => {
          startHanded([{ w, h }], false);
          log.error("handoff confirmation failed", { err, id });
        },
      );
      return id;
    }
    const { id, created } = store.insert(j);
    if (created) wake(kind);
    return id;
  }

  // ---------- progress ----------

  type ProgressTask = { key: string; id: number; fence: number; value: number };
  let progressQueue: BetterQueue<ProgressTask, void> | null = null;
  let progressRows = 0;
  let handedOff = 0;
  /**
   * Progress is best-effort and can be reported thousands of times a second:
   * better-queue's in-memory batcher keeps only the latest value per claim
   * (merge by key) and writes each batch in one body. Losing a pending value in
   * a crash costs nothing; the job itself never lives here.
   */
  const progressQ = () =>
    (progressQueue ??= new BetterQueue<ProgressTask, void>(
      (batch: ProgressTask | ProgressTask[], cb: (err: unknown) => void) => {
        const list = Array.isArray(batch) ? batch : [batch];
        progressRows += list.length;
        track(
          db.write(() => {
            const now = clock.now();
            return list.map((p) => store.progress(p.id, p.fence, p.value, now));
          }),
        ).then(
          (oks) => {
            oks.forEach((ok, i) => {
              const h = held.get(list[i].id);
              if (!ok && h && h.fence === list[i].fence) markLost(h);
            });
            cb(null);
          },
          (err) => cb(err),
        );
      },
      { id: "key", merge: (_old, latest, cb) => cb(null, latest), batchSize: 200, batchDelay: 20, maxRetries: 0, store: new MemoryStore() },
    ));

  // ---------- workers ----------

  function mkHeld(r: ClaimedRow): Held {
    return { id: r.id, fence: r.fence, kind: r.kind, payload: r.payload, attempts: r.attempts, maxAttempts: r.max_attempts, topic: r.topic, ctrl: null, abortReason: null, started: false, done: false, cancel: false, lost: false };
  }

  /** Marks a kind (or all) as possibly having due jobs, and claims if there is room. */
  function wake(kind?: string) {
    // Remote workers waiting in claimFor() (no local worker needed for them).
    if (extWaiters.length) extTry(false);
    if (!workersOn) return;
    if (kind !== undefined) {
      const w = workers.get(kind);
      if (!w) return;
      w.more = true;
      w.seq++;
    } else {
      for (const w of workers.values()) {
        w.more = true;
        w.seq++;
      }
    }
    requestClaim();
  }

  const room = (w: Worker) => w.concurrency + w.prefetch - w.running - w.buffer.length - w.handoff;

  function requestClaim() {
    if (!workersOn || stopping) return;
    if (claimInFlight) {
      claimAgain = true;
      return;
    }
    let any = false;
    for (const w of workers.values()) if (w.more && room(w) > 0) any = true;
    if (!any) {
      // Nothing to claim now, but a job may be due later (e.g. a second enqueue in one body set claimAgain): keep its timer.
      armNextRun();
      return;
    }
    const wanted = [...workers.values()].filter((w) => w.more);
    claimInFlight = db
      .write(() => {
        const now = clock.now();
        const out: Array<{ w: Worker; rows: ClaimedRow[]; asked: number; seq: number }> = [];
        for (const w of wanted) {
          const asked = room(w);
          if (asked <= 0) continue;
          out.push({ w, rows: store.claim(w.kind, owner, now, now + leaseMs, asked), asked, seq: w.seq });
        }
        return out;
      })
      .then(
        (out) => {
          claimInFlight = null;
          for (const { w, rows, asked, seq } of out) {
            if (rows.length < asked && w.seq === seq) w.more = false;
            for (const r of rows) {
              const h = mkHeld(r);
              held.set(h.id, h);
              w.buffer.push(h);
            }
          }
          if (stopping) return;
          for (const { w } of out) pump(w);
          if (claimAgain) {
            claimAgain = false;
            requestClaim();
          } else armNextRun();
        },
        (err) => {
          claimInFlight = null;
          log.error("claim failed", { err });
          if (!stopping) setTimeout(requestClaim, 1000).unref();
        },
      );
  }

  function pump(w: Worker) {
    while (w.running < w.concurrency && w.buffer.length && !stopping) startJob(w, w.buffer.shift()!);
    if (w.more && room(w) > 0) requestClaim();
  }

  function startJob(w: Worker, h: Held) {
    h.started = true;
    w.running++;
    if (h.cancel || h.lost) {
      // Cancelled or reaped while waiting in the buffer: never start it.
      settle(w, h, false, new Error(h.cancel ? "cancelled before start" : "lease lost before start"));
      return;
    }
    let timer: Timer | undefined;
    const ctx: JobContext = {
      id: h.id,
      kind: h.kind,
      payload: parse(h.payload),
      attempts: h.attempts,
      topic: h.topic,
      get signal() {
        if (!h.ctrl) {
          h.ctrl = new AbortController();
          if (h.abortReason) h.ctrl.abort(h.abortReason);
        }
        return h.ctrl.signal;
      },
      heartbeat: () => void beat([h]),
      progress: (n: number) => {
        if (!Number.isFinite(n)) return Promise.reject(new TypeError("progress must be a finite number"));
        return new Promise<void>((resolve, reject) => {
          progressQ().push({ key: `${h.id}:${h.fence}`, id: h.id, fence: h.fence, value: n }, (err) => (err ? reject(err) : resolve()));
        });
      },
    };
    let p: Promise<unknown>;
    try {
      p = Promise.resolve(w.handler(ctx));
    } catch (e) {
      p = Promise.reject(e);
    }
    if (w.timeoutMs > 0) {
      timer = setTimeout(() => {
        const e = new Error(`timed out after ${w.timeoutMs} ms`);
        abort(h, e);
        settle(w, h, false, e);
      }, w.timeoutMs);
    }
    runningCount++;
    const ended = () => {
      if (timer) clearTimeout(timer);
      if (--runningCount === 0 && onIdle) onIdle();
    };
    p.then(
      (v) => {
        ended();
        settle(w, h, true, v);
      },
      (e) => {
        ended();
        settle(w, h, false, e);
      },
    );
  }

  /** Records the outcome, fenced by the claim's token, and frees the slot. */
  function settle(w: Worker, h: Held, ok: boolean, value: unknown) {
    if (h.done) return;
    h.done = true;
    let body: () => { final: boolean; applied: boolean; requeued: boolean };
    if (ok) {
      let result: string;
      try {
        result = JSON.stringify(value === undefined ? null : value);
      } catch (e) {
        return settle2(w, h, false, new Error(`result is not JSON-serializable: ${errText(e)}`));
      }
      body = () => ({ final: true, applied: store.succeed(h.id, h.fence, result, clock.now()), requeued: false });
    } else {
      body = failBody(h, value);
    }
    finishWrite(w, h, body);
  }

  function settle2(w: Worker, h: Held, _ok: false, e: Error) {
    finishWrite(w, h, failBody(h, e));
  }

  function failBody(h: Held, e: unknown) {
    const message = errText(e);
    return () => {
      const now = clock.now();
      if (h.cancel) return { final: true, applied: store.finish(h.id, h.fence, "CANCELLED", message, now), requeued: false };
      if (e instanceof PermanentJobError || h.attempts >= h.maxAttempts) return { final: true, applied: store.finish(h.id, h.fence, "FAILED", message, now), requeued: false };
      return { final: false, applied: store.requeue(h.id, h.fence, message, now + backoff(h.attempts), now), requeued: true };
    };
  }

  type Outcome = { h: Held; body: () => { final: boolean; applied: boolean; requeued: boolean } };
  let outcomes: Outcome[] | null = null;

  /**
   * Outcomes settled in the same turn share one write body (one savepoint, one
   * promise), queued before the claim that refills the freed slots, so both
   * land in the same commit.
   */
  function recordOutcome(o: Outcome) {
    if (outcomes) {
      outcomes.push(o);
      return;
    }
    const batch: Outcome[] = (outcomes = [o]);
    track(
      db.write(() => {
        outcomes = null;
        return batch.map((x) => {
          try {
            return x.body();
          } catch (err) {
            log.error("recording a job outcome failed; its lease will expire and it will run again", { err, id: x.h.id });
            return { final: false, applied: true, requeued: false };
          }
        });
      }),
    ).then(
      (rs) => {
        let requeued = false;
        rs.forEach((r, i) => {
          const h = batch[i].h;
          if (!r.applied) log.warn("late completion refused: the lease was lost", { id: h.id, fence: h.fence });
          else if (r.final) {
            if (waiters.size) notify(h.id);
          } else if (r.requeued) requeued = true;
        });
        if (requeued) armNextRun();
      },
      (err) => {
        if (outcomes === batch) outcomes = null;
        log.error("recording job outcomes failed; their leases will expire and they will run again", { err, count: batch.length });
      },
    );
  }

  function finishWrite(w: Worker, h: Held, body: Outcome["body"]) {
    recordOutcome({ h, body });
    w.running--;
    if (held.get(h.id) === h) held.delete(h.id);
    // A finished topic job may unblock the next of its topic, of any kind.
    if (h.topic !== null) wake();
    else pump(w);
  }

  function abort(h: Held, reason: Error) {
    if (h.abortReason) return;
    h.abortReason = reason;
    h.ctrl?.abort(reason);
  }

  function markLost(h: Held) {
    if (h.lost || h.done) return;
    h.lost = true;
    abort(h, new Error("lease lost"));
    if (held.get(h.id) === h) held.delete(h.id);
    if (!h.started) {
      const w = workers.get(h.kind);
      if (w) w.buffer = w.buffer.filter((x) => x !== h);
      h.done = true;
    }
  }

  function requestLocalCancel(h: Held) {
    h.cancel = true;
    abort(h, new Error("cancelled"));
    if (!h.started) {
      const w = workers.get(h.kind);
      if (w && w.buffer.includes(h)) {
        w.buffer = w.buffer.filter((x) => x !== h);
        w.running++; // settle() frees it again
        h.started = true;
        settle(w, h, false, new Error("cancelled before start"));
      }
    }
  }

  /** Extends the leases of `list` (default: every job this process holds). */
  function beat(list: Held[] = [...held.values()]) {
    if (!list.length) return Promise.resolve();
    return track(
      db.write(() => {
        const now = clock.now();
        return list.map((h) => store.heartbeat(h.id, h.fence, now + leaseMs, now));
      }),
    ).then(
      (res) => {
        res.forEach((r, i) => {
          const h = list[i];
          if (!r) markLost(h);
          else if (r.cancel && !h.cancel && !h.done) requestLocalCancel(h);
        });
      },
      (err) => log.error("heartbeat failed", { err }),
    );
  }

  /** Returns jobs whose lease expired to QUEUED (with backoff), or to DEAD / CANCELLED. */
  function reap(): Promise<number> {
    if (stopping) return Promise.resolve(0);
    return track(
      db.write(() => {
        const now = clock.now();
        const out: Array<{ id: number; fence: number; to: JobStatus }> = [];
        for (const r of store.expired(now, 500)) {
          const err = `lease expired (owner ${r.lease_owner}, attempt ${r.attempts})`;
          let to: JobStatus;
          if (r.cancel_requested) to = store.finish(r.id, r.fence, "CANCELLED", err, now) ? "CANCELLED" : "RUNNING";
          else if (r.attempts >= r.max_attempts) to = store.finish(r.id, r.fence, "DEAD", err, now) ? "DEAD" : "RUNNING";
          else to = store.requeue(r.id, r.fence, err, now + backoff(r.attempts), now) ? "QUEUED" : "RUNNING";
          out.push({ id: r.id, fence: r.fence, to });
        }
        return out;
      }),
    ).then(
      (out) => {
        for (const r of out) {
          const h = held.get(r.id);
          if (h && h.fence === r.fence) markLost(h);
          if (FINAL.has(r.to)) notify(r.id);
        }
        if (out.length) {
          log.warn("reaped expired leases", { count: out.length });
          wake();
        }
        if (out.length === 500) return reap().then((n) => n + 500);
        return out.length;
      },
      (err) => {
        log.error("reaper failed", { err });
        return 0;
      },
    );
  }

  /** Real clock only: a timer for the next due run_at or lease expiry (the fake clock wakes us on advance). */
  // Coalesced to once per turn: it reads MIN(run_at) per kind, and claim rounds and completions call it often.
  let armPending = false;
  function armNextRun() {
    if (armPending || !workersOn || stopping || clock.fake) return;
    armPending = true;
    setImmediate(() => {
      try {
        armNow();
      } catch (err) {
        log.warn("arming the next-run timer failed", { err });
      }
    });
  }

  function armNow() {
    armPending = false;
    if (!workersOn || stopping) return;
    const now = clock.now();
    let next = Infinity;
    for (const w of workers.values()) {
      if (room(w) <= 0) continue;
      const t = store.nextRunAt(w.kind);
      if (t !== null && t > now) next = Math.min(next, t);
    }
    const exp = store.nextLeaseExpiry();
    if (exp !== null) next = Math.min(next, exp + 1);
    if (timers.next) clearTimeout(timers.next);
    timers.next = null;
    if (next === Infinity) return;
    timers.next = setTimeout(
      () => {
        timers.next = null;
        void reap();
        wake();
      },
      Math.min(Math.max(0, next - now), 60_000),
    );
    timers.next.unref();
  }

  function poll() {
    let v: number;
    try {
      clock.refresh?.();
      v = store.dataVersion();
    } catch (err) {
      // The database was closed under us (a test's cleanup without stop()): nothing to watch.
      if (timers.poll) clearInterval(timers.poll);
      timers.poll = null;
      log.warn("queue poll stopped", { err });
      return;
    }
    if (v !== lastVersion) {
      lastVersion = v;
      if (workersOn) wake();
      if (cronOn) cronTick();
    }
  }

  async function releaseHeld(list: Held[], giveBack: boolean) {
    if (!list.length) return;
    await track(
      db.write(() => {
        const now = clock.now();
        for (const h of list) store.release(h.id, h.fence, giveBack, now);
      }),
    ).catch((err) => log.error("releasing leases failed; they will expire", { err }));
    for (const h of list) if (held.get(h.id) === h) held.delete(h.id);
  }

  // ---------- claims for workers outside this process ----------

  /**
   * A worker that is not a process on the database (a remote runner talking
   * HTTP) gets jobs through claimFor(): the same claim statement, lease and
   * fencing token as a local worker, with the remote worker's name as the
   * lease owner. It renews the lease with heartbeatFor() and finishes with
   * completeFor(), both refused once the claim is no longer its own. If it
   * dies, its lease expires and the reaper of any worker process requeues the
   * job (with backoff) or marks it DEAD when its attempts are used up, exactly
   * as for a local worker. Waiting claims are served on an enqueue in this
   * process at once, and otherwise by a cheap read every pollMs (another
   * process's enqueue, a due retry) and on every fake-clock advance.
   */
  interface ExtWaiter {
    kind: string;
    owner: string;
    leaseMs: number;
    done(job: ClaimedJob | null): void;
  }
  const extWaiters: ExtWaiter[] = [];
  let extBusy = false;
  let extAgain = false;
  let extTimer: Timer | null = null;
  let extUnlisten: (() => void) | null = null;

  const toClaimed = (r: ClaimedRow): ClaimedJob => ({ id: r.id, fence: r.fence, kind: r.kind, payload: parse(r.payload), attempts: r.attempts, maxAttempts: r.max_attempts });

  function syncExtTimer() {
    if (extWaiters.length && !extTimer && !stopping) {
      extTimer = setInterval(() => extTry(true), pollMs);
      extTimer.unref();
      extUnlisten ??= clock.onAdvance(() => setImmediate(() => extTry(true)));
    } else if (!extWaiters.length && extTimer) {
      clearInterval(extTimer);
      extTimer = null;
    }
  }

  /** One write claims a job for each waiting remote worker, in arrival order, while there are due jobs. */
  function extTry(checkFirst: boolean) {
    if (!extWaiters.length || stopping) return;
    if (extBusy) {
      extAgain = true;
      return;
    }
    if (checkFirst) {
      const now = clock.now();
      const kinds = new Set(extWaiters.map((w) => w.kind));
      if (![...kinds].some((k) => store.hasDue(k, now))) return;
    }
    extBusy = true;
    const batch = extWaiters.slice();
    track(
      db.write(() => {
        const now = clock.now();
        const out: Array<{ w: ExtWaiter; row: ClaimedRow }> = [];
        const empty = new Set<string>();
        for (const w of batch) {
          if (empty.has(w.kind)) continue;
          const row = store.claim(w.kind, w.owner, now, now + w.leaseMs, 1)[0];
          if (row) out.push({ w, row });
          else empty.add(w.kind);
        }
        return out;
      }),
    ).then(
      (out) => {
        extBusy = false;
        const orphans: ClaimedRow[] = [];
        for (const { w, row } of out) {
          const i = extWaiters.indexOf(w);
          if (i < 0) {
            orphans.push(row);
            continue;
          }
          extWaiters.splice(i, 1);
          w.done(toClaimed(row));
        }
        // A waiter that left (timeout, disconnect) while its claim was being written: give the job back.
        if (orphans.length) {
          void track(
            db.write(() => {
              for (const r of orphans) store.release(r.id, r.fence, true, clock.now());
            }),
          )
            .then(() => wake(orphans[0].kind))
            .catch((err) => log.error("giving back unclaimed jobs failed; their leases will expire", { err }));
        }
        if (extAgain || (out.length === batch.length && out.length > 0)) {
          extAgain = false;
          extTry(false);
        }
      },
      (err) => {
        extBusy = false;
        log.error("claim for a remote worker failed", { err });
      },
    );
  }

  // ---------- cron ----------

  const crons = new Map<string, Cron>();
  const cronOf = (expr: string, tz: string | null) => {
    const key = `${tz ?? ""}|${expr}`;
    let c = crons.get(key);
    if (!c) {
      c = new Cron(expr, { timezone: tz ?? "UTC", paused: true });
      crons.set(key, c);
    }
    return c;
  };
  /** The first slot strictly after `t`. */
  const slotAfter = (s: CronRow, t: number): number | null => {
    if (s.everyMs) return (Math.floor(t / s.everyMs) + 1) * s.everyMs;
    return cronOf(s.cron!, s.tz).nextRun(new Date(t))?.getTime() ?? null;
  };
  /** The latest slot at or before `t`. */
  const slotAtOrBefore = (s: CronRow, t: number): number | null => {
    if (s.everyMs) return Math.floor(t / s.everyMs) * s.everyMs;
    return cronOf(s.cron!, s.tz).previousRuns(1, new Date(t + 1))[0]?.getTime() ?? null;
  };
  // A new schedule's first slot is the first at or after its creation.
  const anchorOf = (s: CronRow) => s.lastSlot ?? s.createdAt - 1;

  const CRON_CHUNK = 500;

  /** Inside one write: fire every due slot (UNIQUE (schedule, slot) decides who fires it). */
  function fireDue(now: number) {
    let fired = 0;
    let more = false;
    /** Slots fired per schedule name (the log line says which). */
    const schedules: Record<string, number> = {};
    for (const s of store.cronAllInTx()) {
      let slots: number[] = [];
      const anchor = anchorOf(s);
      if (s.missed === "skip") {
        const last = slotAtOrBefore(s, now);
        if (last !== null && last > anchor) slots = [last];
      } else {
        let t = slotAfter(s, anchor);
        while (t !== null && t <= now && slots.length < CRON_CHUNK) {
          slots.push(t);
          t = slotAfter(s, t);
        }
        if (t !== null && t <= now) more = true;
      }
      if (!slots.length) continue;
      const base = parse(s.payload);
      for (const slot of slots) {
        const fireId = store.cronFire(s.id, slot, now);
        if (fireId === undefined) continue;
        const payload = { ...(base && typeof base === "object" ? base : {}), schedule: s.name, slot };
        const jobId = enqueueInTx(s.kind, payload, { idempotencyKey: `cron:${s.name}:${slot}` });
        store.cronFireJob(fireId, jobId);
        fired++;
        schedules[s.name] = (schedules[s.name] ?? 0) + 1;
      }
      store.cronAdvance(s.id, slots[slots.length - 1]);
    }
    return { fired, more, schedules };
  }

  let cronBusy = false;
  let cronAgain = false;

  function cronTick() {
    if (!cronOn || stopping) return;
    if (cronBusy) {
      cronAgain = true;
      return;
    }
    const now = clock.now();
    let due = false;
    let next = Infinity;
    for (const s of store.cronAll()) {
      const t = slotAfter(s, anchorOf(s));
      if (t === null) continue;
      if (t <= now) due = true;
      else next = Math.min(next, t);
    }
    if (!clock.fake) {
      if (timers.cron) clearTimeout(timers.cron);
      // Also a slow fallback for schedules another process adds.
      timers.cron = setTimeout(cronTick, Math.min(Math.max(0, next - now), 1000));
      timers.cron.unref();
    }
    if (!due) return;
    cronBusy = true;
    track(db.write(() => fireDue(clock.now()))).then(
      ({ fired, more, schedules }) => {
        cronBusy = false;
        if (fired) log.info("cron fired", { fired, schedules });
        if (more || cronAgain) {
          cronAgain = false;
          setImmediate(cronTick);
        }
      },
      (err) => {
        cronBusy = false;
        log.error("cron tick failed", { err });
      },
    );
  }

  // ---------- public API ----------

  const api = {
    name: "queue",
    owner,

    /**
     * Enqueues inside the caller's `db.write(tx => …)` body, so the job
     * commits (or rolls back) with the domain write that causes it.
     * A duplicate idempotencyKey returns the existing job's id.
     */
    enqueue(_tx: Drizzle, kind: string, payload: unknown, o: EnqueueOptions = {}): number {
      return enqueueInTx(kind, payload, o);
    },

    /** Enqueues in a write of its own. */
    add(kind: string, payload: unknown, o: EnqueueOptions = {}): Promise<number> {
      let j: Normalized;
      try {
        j = normalize(kind, payload, o);
      } catch (e) {
        return Promise.reject(e);
      }
      return addBatched(j);
    },

    /** Registers the handler of a kind (once per kind, before or after start()). */
    register<P = any>(kind: string, handler: JobHandler<P>, o: RegisterOptions = {}) {
      checkText("kind", kind, false);
      if (workers.has(kind)) throw new Error(`a handler for job kind ${kind} is already registered`);
      const concurrency = o.concurrency ?? 1;
      const prefetch = o.prefetch ?? 0;
      if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new Error("concurrency must be a positive integer");
      if (!Number.isSafeInteger(prefetch) || prefetch < 0) throw new Error("prefetch must be a non-negative integer");
      workers.set(kind, { kind, handler: handler as JobHandler, concurrency, prefetch, timeoutMs: o.timeoutMs ?? 0, running: 0, buffer: [], handoff: 0, more: true, seq: 0 });
      if (workersOn) wake(kind);
    },

    /** Resolves with the job once it is SUCCEEDED, FAILED, DEAD or CANCELLED; rejects on timeout or unknown id. */
    wait(jobId: number, timeoutMs?: number): Promise<Job> {
      const row = store.get(jobId);
      if (!row) return Promise.reject(new AppError("not_found", `No job ${jobId}.`));
      if (FINAL.has(row.status)) return Promise.resolve(toJob(row));
      return new Promise<Job>((resolve, reject) => {
        let timer: Timer | undefined;
        const fn = (j: Job) => {
          if (timer) clearTimeout(timer);
          resolve(j);
        };
        const list = waiters.get(jobId) ?? [];
        list.push(fn);
        waiters.set(jobId, list);
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            const l = waiters.get(jobId);
            if (l) {
              const rest = l.filter((x) => x !== fn);
              if (rest.length) waiters.set(jobId, rest);
              else waiters.delete(jobId);
            }
            reject(new AppError("timeout", `Job ${jobId} did not finish within ${timeoutMs} ms.`));
          }, timeoutMs);
        }
        // Jobs finished by another process: a slow poll, only while someone waits.
        if (!timers.waitPoll) {
          timers.waitPoll = setInterval(pollWaiters, 250);
          timers.waitPoll.unref();
        }
        // It may have finished between the read above and now.
        notify(jobId);
      });
    },

    /** Creates or updates a schedule by name; its slot history survives. */
    async schedule(def: ScheduleDef): Promise<{ id: number; name: string }> {
      checkText("name", def.name, false);
      checkText("kind", def.kind, false);
      if ((def.cron === undefined) === (def.everyMs === undefined)) throw new AppError("bad_request", "give exactly one of cron and everyMs");
      if (def.everyMs !== undefined && (!Number.isSafeInteger(def.everyMs) || def.everyMs < 1)) throw new AppError("bad_request", "everyMs must be a positive integer");
      const missed = def.missed ?? "skip";
      if (missed !== "skip" && missed !== "catch_up") throw new AppError("bad_request", "missed must be skip or catch_up");
      if (def.payload !== undefined && (def.payload === null || typeof def.payload !== "object" || Array.isArray(def.payload)))
        throw new AppError("bad_request", "payload must be a plain object");
      if (def.cron !== undefined) {
        try {
          if (!cronOf(def.cron, def.tz ?? null).nextRun(new Date(clock.now()))) throw new Error("it never fires");
        } catch (e) {
          throw new AppError("bad_request", `bad cron expression or time zone: ${errText(e)}`);
        }
      }
      const row = await db.write(() =>
        store.cronUpsert({ name: def.name, cron: def.cron ?? null, tz: def.tz ?? null, everyMs: def.everyMs ?? null, kind: def.kind, payload: JSON.stringify(def.payload ?? null), missed, now: clock.now() }),
      );
      if (cronOn) setImmediate(cronTick);
      return { id: row.id as number, name: row.name as string };
    },

    schedules: () => store.cronAll(),

    get(id: number): Job | undefined {
      const r = store.get(id);
      return r ? toJob(r) : undefined;
    },

    list(f: { status?: JobStatus; kind?: string; limit?: number; offset?: number } = {}): { jobs: JobSummary[]; total: number } {
      if (f.status !== undefined && !JOB_STATUSES.includes(f.status)) throw new AppError("bad_request", "unknown status");
      const limit = Math.min(Math.max(1, f.limit ?? 50), 500);
      const offset = Math.max(0, f.offset ?? 0);
      return { jobs: store.list({ status: f.status, kind: f.kind, limit, offset }).map(toSummary), total: store.countMatching(f) };
    },

    counts() {
      const byKind: Record<string, Partial<Record<JobStatus, number>>> = {};
      for (const r of store.countsByKind()) (byKind[r.kind] ??= {})[r.status] = r.n;
      return { counts: store.counts(), byKind };
    },

    /** QUEUED → CANCELLED at once; RUNNING → cancel requested (the handler's signal aborts). */
    async cancel(id: number): Promise<Job> {
      const what = await db.write(() => {
        const st = store.statusInTx(id);
        if (!st) throw new AppError("not_found", `No job ${id}.`);
        const now = clock.now();
        if (st.status === "QUEUED") return store.cancelQueued(id, now) ? "cancelled" : "raced";
        if (st.status === "RUNNING") return store.requestCancel(id, now) ? "requested" : "raced";
        if (st.status === "CANCELLED") return "already";
        throw new AppError("job_finished", `Job ${id} already ${st.status}.`);
      });
      if (what === "cancelled") notify(id);
      if (what === "requested") {
        const h = held.get(id);
        if (h) requestLocalCancel(h);
      }
      return api.get(id)!;
    },

    /** FAILED, DEAD or CANCELLED → QUEUED with fresh attempts; a QUEUED job is made due now. */
    async retry(id: number): Promise<Job> {
      await db.write(() => {
        const st = store.statusInTx(id);
        if (!st) throw new AppError("not_found", `No job ${id}.`);
        const now = clock.now();
        if (st.status === "RUNNING") throw new AppError("job_running", `Job ${id} is running; cancel it first.`);
        if (st.status === "SUCCEEDED") throw new AppError("job_finished", `Job ${id} already succeeded; enqueue a new job to run it again.`);
        if (st.status === "QUEUED") store.runNow(id, now);
        else store.retry(id, now);
      });
      wake();
      return api.get(id)!;
    },

    /** Starts workers for the registered kinds and/or the cron scheduler. */
    start(o: { workers?: boolean; cron?: boolean } = {}) {
      if (stopping) throw new Error("the queue is stopping");
      const startWorkers = o.workers ?? true;
      const startCron = o.cron ?? true;
      if (startWorkers && !workersOn) {
        workersOn = true;
        timers.beat = setInterval(() => {
          void beat();
          void reap();
        }, heartbeatMs);
        timers.beat.unref();
        void reap().then(() => wake());
      }
      if (startCron && !cronOn) {
        cronOn = true;
        setImmediate(cronTick);
      }
      if ((workersOn || cronOn) && !timers.poll) {
        lastVersion = store.dataVersion();
        timers.poll = setInterval(poll, pollMs);
        timers.poll.unref();
        unlistenClock = clock.onAdvance(() =>
          setImmediate(() => {
            if (workersOn) {
              void reap();
              wake();
            }
            if (cronOn) cronTick();
          }),
        );
      }
      log.info("queue started", { owner, workers: workersOn ? [...workers.keys()] : [], cron: cronOn });
    },

    /**
     * Stops claiming and scheduling, gives back leases of claimed-but-unstarted
     * jobs, and waits up to graceMs for running handlers; past that their
     * signals abort and their jobs are released for another worker.
     */
    async stop(graceMs = 10_000) {
      if (stopping) return;
      stopping = true;
      for (const k of Object.keys(timers) as Array<keyof typeof timers>) {
        const t = timers[k];
        if (t) {
          clearTimeout(t);
          clearInterval(t);
        }
        timers[k] = null;
      }
      unlistenClock?.();
      extUnlisten?.();
      for (const w of extWaiters.splice(0)) w.done(null);
      cronOn = false;
      if (claimInFlight) await claimInFlight.catch(() => {});
      const unstarted: Held[] = [];
      for (const w of workers.values()) {
        unstarted.push(...w.buffer);
        w.buffer = [];
      }
      await releaseHeld(unstarted, true);
      if (runningCount > 0) {
        let timer: Timer | undefined;
        const timedOut = await Promise.race([
          new Promise<boolean>((r) => (onIdle = () => r(false))),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
        ]);
        if (timer) clearTimeout(timer);
        if (timedOut) {
          const left = [...held.values()].filter((h) => h.started && !h.done);
          log.warn("grace period over; aborting running jobs", { count: left.length });
          for (const h of left) {
            h.done = true;
            abort(h, new Error("shutting down"));
          }
          await releaseHeld(left, false);
        }
      }
      if (progressQueue) {
        const q = progressQueue;
        progressQueue = null;
        await new Promise<void>((r) => q.destroy(() => r()));
      }
      await Promise.allSettled([...writes]);
      workersOn = false;
      log.info("queue stopped", { owner });
    },

    /**
     * Retention: deletes finished jobs (SUCCEEDED, FAILED, DEAD, CANCELLED)
     * whose finished_at is more than queueRetentionDays ago, oldest first, then
     * cron fire records fired before that (each schedule's newest is kept).
     * One bounded batch per write body, so other writes interleave and none
     * waits behind a long delete. QUEUED and RUNNING jobs are never touched,
     * and a finished job stays readable (get, wait, the organiser API) for the
     * whole retention. The hourly `queue.prune` cron job calls it (queue.jobs.ts).
     */
    async prune(o: { batch?: number; signal?: AbortSignal } = {}) {
      const days = deps.config.queueRetentionDays;
      if (!Number.isSafeInteger(days) || days < 1) throw new Error("queueRetentionDays must be a whole number of days, at least 1");
      const batch = o.batch ?? PRUNE_BATCH;
      if (!Number.isSafeInteger(batch) || batch < 1) throw new Error("batch must be a positive integer");
      const before = clock.now() - days * DAY;
      const out = { before, jobs: 0, fires: 0, batches: 0 };
      for (const which of ["jobs", "fires"] as const) {
        for (;;) {
          if (o.signal?.aborted) return out;
          const n = await db.write(() => (which === "jobs" ? store.pruneJobs(before, batch) : store.pruneFires(before, batch)));
          out[which] += n;
          out.batches++;
          if (n < batch) break;
        }
      }
      if (out.jobs || out.fires) log.info("queue pruned", out);
      return out;
    },

    /** For tests and the admin UI. */
    stats() {
      return {
        owner,
        held: held.size,
        progressRows,
        handedOff,
        kinds: [...workers.values()].map((w) => ({ kind: w.kind, running: w.running, buffered: w.buffer.length, concurrency: w.concurrency })),
      };
    },

    /**
     * Claims the next due job of `kind` for a worker outside this process (a
     * remote runner), waiting up to waitMs for one: resolves with the job and
     * its fencing token, or null. The lease (leaseMs) must be renewed with
     * heartbeatFor(); the job ends with completeFor(). A lost lease is reaped
     * like a local worker's: retried with backoff, or DEAD after maxAttempts.
     */
    claimFor(kind: string, owner: string, o: { leaseMs: number; waitMs?: number; signal?: AbortSignal }): Promise<ClaimedJob | null> {
      checkText("kind", kind, false);
      checkText("owner", owner, false);
      if (!Number.isSafeInteger(o.leaseMs) || o.leaseMs < 1) throw new Error("leaseMs must be a positive integer");
      if (stopping || o.signal?.aborted) return Promise.resolve(null);
      return new Promise<ClaimedJob | null>((resolve) => {
        let timer: Timer | undefined;
        const w: ExtWaiter = {
          kind,
          owner,
          leaseMs: o.leaseMs,
          done(job) {
            if (timer) clearTimeout(timer);
            o.signal?.removeEventListener("abort", drop);
            syncExtTimer();
            resolve(job);
          },
        };
        const drop = () => {
          const i = extWaiters.indexOf(w);
          if (i < 0) return;
          extWaiters.splice(i, 1);
          w.done(null);
        };
        timer = setTimeout(drop, Math.max(0, o.waitMs ?? 0));
        o.signal?.addEventListener("abort", drop, { once: true });
        extWaiters.push(w);
        syncExtTimer();
        extTry(false);
      });
    },

    /** Renews a claimFor() lease; null when the claim (id, fence, owner) is no longer held, else whether a cancel was requested. */
    async heartbeatFor(id: number, fence: number, owner: string, leaseMs: number): Promise<{ cancel: boolean } | null> {
      return await track(
        db.write(() => {
          if (!store.stillHeld(id, fence, owner)) return null;
          const now = clock.now();
          return store.heartbeat(id, fence, now + leaseMs, now) ?? null;
        }),
      );
    },

    /** Completes a claimFor() job with its result (stored with SUCCEEDED); false when the claim is no longer held. */
    async completeFor(id: number, fence: number, owner: string, result: unknown): Promise<boolean> {
      const text = JSON.stringify(result === undefined ? null : result);
      const ok = await track(db.write(() => store.stillHeld(id, fence, owner) && store.succeed(id, fence, text, clock.now())));
      if (ok) notify(id);
      return ok;
    },

    /** Runs the reaper now (tests, and the clock-advance hook). */
    reap,
  };
  return api;
}

export type QueueService = ReturnType<typeof queueService>;
