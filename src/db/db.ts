/**
 * openDb(): the one place that opens the SQLite store.
 *
 * Two connections: one writer (every write goes through it, so SQLite never
 * sees two writers from this process) and one reader (query_only). Writes are
 * group-committed: `db.write(fn)` queues a synchronous transaction body; on the
 * next turn of the event loop every queued body runs inside one
 * BEGIN IMMEDIATE … COMMIT, each in its own SAVEPOINT so one failing body
 * rolls back alone. One fsync then acknowledges them all, so synchronous=FULL
 * (an acknowledged write survives power loss) does not cost throughput.
 *
 * That fsync runs off the event loop. A group COMMIT on a SQLite file writes
 * the batch's WAL frames without syncing (synchronous=NORMAL for that one
 * statement; the connection is FULL otherwise), then the WAL is fdatasync'ed
 * on a thread of its own (src/db/walsync.ts), and the batch's writes resolve
 * only when a sync that started after their COMMIT has returned: the
 * guarantee of FULL, for every acknowledged write. Meanwhile the event
 * loop serves requests and commits the next batch, whose frames the next
 * sync covers (one sync in flight at a time). A COMMIT's fsync took 1.5-3.3
 * ms on the bench box, a quarter of the event loop at 10,000 answers/s
 * (bench/RESULTS.md, "Session 5"). What this changes: for those
 * milliseconds other readers can see a commit that a power cut would still
 * undo, never one that was acknowledged. Checkpoints and transaction() keep
 * SQLite's own syncs. If a sync fails, the batch's writes fail (committed but
 * not known durable: the error is passed on, as a failed COMMIT's is).
 *
 * Checkpoints, likewise: SQLite's automatic one runs inside the COMMIT that
 * fills the WAL past a threshold, and stalled the event loop 13-16 ms a few
 * times a second at 10,000 answers/s. The server (`checkpointThread`) folds
 * the WAL back on a thread of its own instead (src/db/checkpointer.ts); the
 * writer's automatic checkpoint stays, far higher, as its safety net.
 *
 * Several processes may share the file (`gauntlet serve` instances on one
 * box). SQLite lets one of them write at a time, and its busy handler waits
 * for the lock by sleeping on the calling thread: our event loop, so every
 * request of this process would stall behind another process's commit. The
 * group commit therefore asks for the lock without waiting (busy_timeout 0
 * for its BEGIN only) and, when another process holds it, tries again on a
 * timer with backoff (1 ms up to 25 ms) while requests keep joining the
 * queue; a write still waiting after LOCK_WAIT_MS fails with a 503
 * `database_busy`. Reads never wait: in WAL mode a reader reads its snapshot
 * whatever the writer does. transaction() (CLI, migrations) keeps SQLite's
 * blocking wait, bounded by the same LOCK_WAIT_MS.
 */
import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { dirname } from "node:path";
import { Worker } from "node:worker_threads";
import { AppError } from "../lib/errors.ts";
import type { CheckpointerData } from "./checkpointer.ts";
import { DONE, ERRNO, FD, REQ, SLOTS } from "./walsync.shared.ts";
import { PgDatabase } from "./pg/compat.ts";
import { isPostgresUrl, redactUrl } from "./pg/url.ts";
import * as schema from "./schema/index.ts";

/** Longest a write waits for another process's write lock, in ms (group commit and transaction() alike). */
export const LOCK_WAIT_MS = 5000;
/**
 * WAL pages between automatic checkpoints (SQLite's default is 1,000). Each wrong answer dirties a random leaf of the
 * attempts index, so at 10,000 answers/s a 4 MB WAL filled about 20 times a second, and those checkpoints (copy the
 * pages back, two fsyncs, in the writer's COMMIT) took 100-130 ms of every second of the event loop. A 40 MB WAL is
 * checkpointed 2-3 times a second, in about 40 ms all told: a page written many times is copied back once
 * (bench/RESULTS.md, "Session 5").
 */
export const WAL_AUTOCHECKPOINT = 10_000;
/** With the checkpoint thread (openDb's checkpointThread), the writer's own automatic checkpoint is only its safety net. */
export const WAL_AUTOCHECKPOINT_BEHIND_THREAD = 50_000;
/** How often the checkpoint thread looks at the WAL. */
const CHECKPOINT_EVERY_MS = 20;
/** Group commit's retry delays while another process holds the write lock; the last repeats. */
const RETRY_MS = [1, 2, 4, 8, 16, 25];

export type Schema = typeof schema;
export type Drizzle = BunSQLiteDatabase<Schema>;

export interface Db {
  /** The SQLite file, or the postgres:// URL without its password. */
  readonly path: string;
  readonly dialect: "sqlite" | "postgres";
  /** Raw writer connection; use only inside write()/transaction() bodies. */
  readonly writer: Database;
  /** Raw reader connection (query_only). */
  readonly reader: Database;
  /** drizzle on the writer: pass to store code running inside a write body. */
  readonly w: Drizzle;
  /** drizzle on the reader: committed data only. */
  readonly r: Drizzle;
  /** Group-committed write transaction. `fn` must be synchronous (no I/O inside a transaction). */
  write<T>(fn: (tx: Drizzle) => T): Promise<T>;
  /** One immediate transaction right now, synchronously (CLI, migrations, seeds). */
  transaction<T>(fn: (tx: Drizzle) => T): T;
  /** Resolves when every write queued so far is committed. */
  flush(): Promise<void>;
  close(): void;
  /** busyRetries: flushes put off because another process held the write lock; lockTimeouts: writes failed after LOCK_WAIT_MS. */
  readonly stats: { batches: number; writes: number; busyRetries: number; lockTimeouts: number };
}

export interface OpenDbOptions {
  /** Largest number of write bodies in one commit. */
  maxBatch?: number;
  /** How long a group-committed write may wait for another process's write lock (default LOCK_WAIT_MS; tests shorten it). */
  lockWaitMs?: number;
  /** WAL pages between automatic checkpoints (default WAL_AUTOCHECKPOINT). */
  walAutocheckpoint?: number;
  /** Checkpoint the WAL on a thread of its own (src/db/checkpointer.ts); SQLite files only. Tests may set its FULL threshold. */
  checkpointThread?: boolean | { restartFrames: number };
  /** The group commit's off-loop WAL sync (default syncOnThread); tests hold or fail it. */
  syncWal?: (fd: number, done: (err: Error | null) => void) => void;
}

function applyPragmas(conn: Database, readonly: boolean, walAutocheckpoint = WAL_AUTOCHECKPOINT) {
  // Order matters: busy_timeout first so the following pragmas wait for a lock
  // held by another process instead of failing; journal_mode=WAL next (it is
  // stored in the file, and synchronous's meaning depends on it); then FULL
  // so a COMMIT is fsynced before it returns; foreign keys are per connection.
  conn.run(`PRAGMA busy_timeout = ${LOCK_WAIT_MS}`);
  if (!readonly) conn.run("PRAGMA journal_mode = WAL");
  conn.run("PRAGMA synchronous = FULL");
  conn.run("PRAGMA foreign_keys = ON");
  conn.run("PRAGMA temp_store = MEMORY");
  conn.run("PRAGMA cache_size = -16000"); // 16 MB page cache per connection
  // The writer folds the WAL back into the file every `walAutocheckpoint` pages, inside its COMMIT (on the event loop).
  if (!readonly) conn.run(`PRAGMA wal_autocheckpoint = ${walAutocheckpoint}`);
  if (readonly) conn.run("PRAGMA query_only = ON");
}

interface Pending {
  fn: (tx: Drizzle) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** performance.now() when queued: the lock wait is bounded per write. */
  at: number;
}

/** A write whose body committed, waiting for the WAL sync to resolve with its result. */
interface Committed {
  p: Pending;
  v: unknown;
}

const isBusy = (e: unknown) => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
};

export const lockTimeoutError = (waitedMs: number) =>
  new AppError("database_busy", `The database is busy: another process held its write lock for ${Math.round(waitedMs)} ms. Try again in a moment.`, { retryAfter: 1 });

/** checkpointer.ts is an entrypoint of the compiled binary of its own, embedded beside the root file (as pg/worker.ts). */
const checkpointerUrl = import.meta.url.includes("/$bunfs/") ? new URL("./db/checkpointer.ts", import.meta.url) : new URL("./checkpointer.ts", import.meta.url);
function startCheckpointer(path: string, restartFrames: number) {
  const data: CheckpointerData = { path, everyMs: CHECKPOINT_EVERY_MS, restartFrames };
  const worker = new Worker(checkpointerUrl, { workerData: data });
  // Never what keeps the process alive.
  worker.unref();
  return worker;
}

/** walsync.ts, the group commit's sync thread: an entrypoint of the binary of its own too. */
const walSyncUrl = import.meta.url.includes("/$bunfs/") ? new URL("./db/walsync.ts", import.meta.url) : new URL("./walsync.ts", import.meta.url);
type SyncDone = (err: Error | null) => void;
/** The process's WAL sync thread, its shared slots, and the syncs waiting for it (one at a time). */
const walSync = {
  worker: null as Worker | null,
  slots: null as Int32Array | null,
  queue: [] as Array<{ fd: number; done: SyncDone }>,
  current: null as { fd: number; done: SyncDone } | null,
  req: 0,
  timer: null as ReturnType<typeof setTimeout> | null,
  /** Set if the thread could not run: syncs then go to node:fs's pool, slower under hashing but working. */
  onPool: false,
};

/** fdatasync(fd) on the process's WAL sync thread (src/db/walsync.ts); `done` hears the error, if any. */
export function syncOnThread(fd: number, done: SyncDone) {
  if (walSync.onPool) return fdatasync(fd, done);
  walSync.queue.push({ fd, done });
  if (!walSync.current) issueSync();
}

function issueSync() {
  const next = walSync.queue.shift();
  if (!next) return;
  if (!walSync.worker) {
    try {
      startWalSyncThread();
    } catch {
      return walSyncLost();
    }
  }
  const a = walSync.slots!;
  walSync.current = next;
  Atomics.store(a, FD, next.fd);
  Atomics.store(a, REQ, ++walSync.req);
  Atomics.notify(a, REQ);
  // Looked for at every group commit (under load, every turn of the event loop) and on a 1 ms timer, which also keeps
  // a CLI command alive for it.
  if (!walSync.timer) walSync.timer = setTimeout(pollSyncTimer, 1);
}

function pollSyncTimer() {
  walSync.timer = null;
  pollSync();
  if (walSync.current && !walSync.timer) walSync.timer = setTimeout(pollSyncTimer, 1);
}

/** Completes the sync in flight if the thread is done with it, and starts the next. */
function pollSync() {
  const a = walSync.slots;
  const cur = walSync.current;
  if (!a || !cur || Atomics.load(a, DONE) !== walSync.req) return;
  walSync.current = null;
  const errno = Atomics.load(a, ERRNO);
  const code = errno ? (Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? "EIO") : null;
  cur.done(code ? Object.assign(new Error(`${code}: fdatasync of the WAL failed`), { code, errno }) : null);
  issueSync();
}

function startWalSyncThread() {
  const buffer = new SharedArrayBuffer(SLOTS * 4);
  const worker = new Worker(walSyncUrl, { workerData: { buffer } });
  // Blocked in Atomics.wait when idle: never what keeps the process alive.
  worker.unref();
  worker.on("error", walSyncLost);
  worker.on("exit", walSyncLost);
  walSync.worker = worker;
  walSync.slots = new Int32Array(buffer);
}

/** The thread failed to start or died: the sync it had, and all that follow, go to the pool. */
function walSyncLost() {
  if (walSync.onPool) return;
  walSync.onPool = true;
  const left = walSync.current ? [walSync.current, ...walSync.queue] : walSync.queue;
  walSync.current = null;
  walSync.queue = [];
  for (const { fd, done } of left) fdatasync(fd, done);
}

/**
 * `path`: a SQLite file, ":memory:", or a postgres:// URL (`?schema=name` picks
 * the schema). On PostgreSQL the writer and reader are PgDatabase connections
 * (src/db/pg/compat.ts) with bun:sqlite's surface, so everything below, the
 * group commit included, is the same code for both.
 */
export function openDb(path: string, opts: OpenDbOptions = {}): Db {
  const memory = path === ":memory:";
  const pg = isPostgresUrl(path);
  if (!memory && !pg) mkdirSync(dirname(path), { recursive: true });
  const writer = pg ? (new PgDatabase(path) as unknown as Database) : new Database(path, { create: true, strict: true });
  const checkpointThread = !!opts.checkpointThread && !memory && !pg;
  applyPragmas(writer, false, opts.walAutocheckpoint ?? (checkpointThread ? WAL_AUTOCHECKPOINT_BEHIND_THREAD : WAL_AUTOCHECKPOINT));
  // An in-memory database is private to its connection, so it reads through the writer.
  const reader = memory ? writer : pg ? (new PgDatabase(path, { readonly: true }) as unknown as Database) : new Database(path, { readonly: true, strict: true });
  if (!memory) applyPragmas(reader, true);
  // Other processes' commits, for `PRAGMA data_version` (the queue's wake-up); best effort.
  if (pg) (writer as unknown as PgDatabase).listen().catch(() => {});

  const checkpointer = checkpointThread ? startCheckpointer(path, typeof opts.checkpointThread === "object" ? opts.checkpointThread.restartFrames : WAL_AUTOCHECKPOINT) : null;

  const w = drizzle({ client: writer, schema });
  const r = memory ? w : drizzle({ client: reader, schema });
  const maxBatch = opts.maxBatch ?? 2000;
  const stats = { batches: 0, writes: 0, busyRetries: 0, lockTimeouts: 0 };
  const lockWaitMs = opts.lockWaitMs ?? LOCK_WAIT_MS;

  let queue: Pending[] = [];
  /** A flush is due: on the next turn (setImmediate) or, under contention, on retryTimer. */
  let scheduled = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let retryStep = 0;
  let closed = false;
  let inTx = false;

  // The off-loop WAL sync (SQLite files only: PostgreSQL commits durably on its side, memory has nothing to sync).
  const walPath = memory || pg ? null : `${path}-wal`;
  const syncWal = opts.syncWal ?? syncOnThread;
  /** Opened at the first group commit (SQLite creates the WAL with the first write) and kept: fsync errors reach fds open when they happen. */
  let walFd: number | null = null;
  /** Committed writes waiting for a sync that starts after their COMMIT, and those of the sync in flight. */
  let unsynced: Committed[] = [];
  let syncJob: Committed[] | null = null;
  let syncInFlight = false;
  const settle = (job: Committed[], err: unknown) => {
    for (const { p, v } of job) {
      if (err) p.reject(err);
      else p.resolve(v);
    }
  };
  const startSync = () => {
    if (syncInFlight || !unsynced.length || walFd === null) return;
    const job = (syncJob = unsynced);
    unsynced = [];
    syncInFlight = true;
    const fd = walFd;
    syncWal(fd, (err) => {
      syncInFlight = false;
      // close() may have synced and settled this job already, and closed the store: then only the fd is left to close.
      if (syncJob === job) {
        syncJob = null;
        settle(job, err);
      }
      if (closed) closeSync(fd);
      else startSync();
    });
  };

  // Prepared once: run(sql) would parse the statement again on every call,
  // and SAVEPOINT/RELEASE run twice per write body.
  const st = {
    begin: writer.prepare("BEGIN IMMEDIATE"),
    COMMIT: writer.prepare("COMMIT"),
    ROLLBACK: writer.prepare("ROLLBACK"),
    savepoint: writer.prepare("SAVEPOINT g"),
    release: writer.prepare("RELEASE g"),
    rollbackTo: writer.prepare("ROLLBACK TO g"),
  };
  // busy_timeout is per connection: off for the group commit's BEGIN only, so
  // transaction() and everything else still wait. Not prepared: SQLite applies
  // this pragma when the statement is compiled, so a prepared one would set
  // the value once and then do nothing (about 1 µs per pair this way).
  const noWait = () => writer.run("PRAGMA busy_timeout = 0");
  const wait = () => writer.run(`PRAGMA busy_timeout = ${LOCK_WAIT_MS}`);
  const beginOrThrow = () => {
    if (inTx) throw new Error("nested write transaction: call store functions with the tx you were given");
    st.begin.run();
    inTx = true;
  };
  const end = (sql: "COMMIT" | "ROLLBACK") => {
    try {
      st[sql].run();
    } finally {
      inTx = false;
    }
  };

  const runBody = (fn: (tx: Drizzle) => unknown) => {
    const out = fn(w);
    if (out instanceof Promise) throw new Error("write transaction bodies must be synchronous");
    return out;
  };

  /** BEGIN IMMEDIATE without waiting: false when another process holds the write lock. */
  const tryBegin = (): boolean => {
    noWait();
    try {
      beginOrThrow();
      return true;
    } catch (e) {
      if (isBusy(e)) return false;
      throw e;
    } finally {
      wait();
    }
  };

  /** The lock is taken: fail the writes that waited too long, try again later for the rest. */
  const onBusy = () => {
    stats.busyRetries++;
    const now = performance.now();
    let expired = 0;
    while (expired < queue.length && now - queue[expired].at >= lockWaitMs) expired++;
    if (expired) {
      const gone = queue.slice(0, expired);
      queue = queue.slice(expired);
      stats.lockTimeouts += gone.length;
      for (const p of gone) p.reject(lockTimeoutError(now - p.at));
    }
    if (!queue.length) {
      retryStep = 0;
      return;
    }
    const base = RETRY_MS[Math.min(retryStep++, RETRY_MS.length - 1)];
    // Jitter, so two processes backing off do not retry in step; never past the oldest write's deadline.
    const delay = Math.min(base * (0.5 + Math.random() * 0.5), queue[0].at + lockWaitMs - now);
    scheduled = true;
    retryTimer = setTimeout(() => flushNow(), Math.max(0, delay));
  };

  /** `blocking`: wait in SQLite's busy handler instead (close(): nothing is served any more). */
  const flushNow = (blocking = false) => {
    scheduled = false;
    retryTimer = null;
    pollSync();
    // The off-loop sync replaces COMMIT's own (see the top of this file). Set outside the transaction: SQLite refuses
    // to change synchronous inside one. Not prepared, for the reason busy_timeout is not.
    const offLoop = walPath !== null && !blocking && queue.length > 0;
    if (offLoop) writer.run("PRAGMA synchronous = NORMAL");
    try {
      commitQueued(blocking, offLoop);
    } finally {
      if (offLoop) writer.run("PRAGMA synchronous = FULL");
    }
    startSync();
  };

  const commitQueued = (blocking: boolean, offLoop: boolean) => {
    while (queue.length) {
      let begun = false;
      try {
        if (blocking) {
          beginOrThrow();
          begun = true;
        } else begun = tryBegin();
      } catch (e) {
        // Not a lock held by another process (I/O error, or busy past the wait when blocking): every queued write hears it.
        const all = queue;
        queue = [];
        for (const p of all) p.reject(isBusy(e) ? lockTimeoutError(performance.now() - p.at) : e);
        return;
      }
      if (!begun) return onBusy();
      retryStep = 0;
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      const outcomes: Array<{ ok: boolean; v: unknown }> = new Array(batch.length);
      try {
        for (let i = 0; i < batch.length; i++) {
          st.savepoint.run();
          try {
            outcomes[i] = { ok: true, v: runBody(batch[i].fn) };
            st.release.run();
          } catch (e) {
            st.rollbackTo.run();
            st.release.run();
            outcomes[i] = { ok: false, v: e };
          }
        }
        end("COMMIT");
      } catch (e) {
        // COMMIT (or a savepoint statement) failed: disk full, I/O error.
        // Nothing of this batch is durable, so every caller hears about it.
        if (inTx) {
          try {
            end("ROLLBACK");
          } catch {}
        }
        for (const p of batch) p.reject(e);
        continue;
      }
      stats.batches++;
      stats.writes += batch.length;
      if (offLoop) {
        try {
          walFd ??= openSync(walPath!, "r");
        } catch (e) {
          // No WAL to sync (it exists from the first write on): these writes are committed but not known durable.
          for (const p of batch) p.reject(e);
          continue;
        }
      }
      for (let i = 0; i < batch.length; i++) {
        const o = outcomes[i];
        if (!o.ok) batch[i].reject(o.v);
        else if (offLoop) unsynced.push({ p: batch[i], v: o.v });
        else batch[i].resolve(o.v);
      }
    }
  };

  const db: Db = {
    path: redactUrl(path),
    dialect: pg ? "postgres" : "sqlite",
    writer,
    reader,
    w,
    r,
    stats,
    write<T>(fn: (tx: Drizzle) => T): Promise<T> {
      if (closed) return Promise.reject(new Error("database is closed"));
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (v: unknown) => void, reject, at: performance.now() });
        if (!scheduled) {
          scheduled = true;
          // setImmediate, not a microtask: every request parsed in this turn
          // of the event loop joins the same commit. (While another process
          // holds the lock, the retry timer is pending and this write joins it.)
          setImmediate(() => flushNow());
        }
      });
    },
    transaction<T>(fn: (tx: Drizzle) => T): T {
      if (closed) throw new Error("database is closed");
      beginOrThrow();
      try {
        const out = runBody(fn) as T;
        end("COMMIT");
        return out;
      } catch (e) {
        if (inTx) end("ROLLBACK");
        throw e;
      }
    },
    flush() {
      return queue.length ? db.write(() => undefined) : Promise.resolve();
    },
    close() {
      if (closed) return;
      if (retryTimer) clearTimeout(retryTimer);
      if (queue.length) flushNow(true);
      closed = true;
      checkpointer?.postMessage("stop");
      if (walFd !== null) {
        // Writes still waiting for the off-loop sync: sync here, and settle them now.
        const jobs = [syncJob, unsynced];
        syncJob = null;
        unsynced = [];
        let err: unknown = null;
        try {
          fdatasyncSync(walFd);
        } catch (e) {
          err = e;
        }
        for (const job of jobs) if (job) settle(job, err);
        // A sync still in flight uses the fd: its callback closes it.
        if (!syncInFlight) closeSync(walFd);
      }
      if (!memory) reader.close();
      try {
        // Folds the WAL back into the main file so a copied .db is complete.
        writer.run("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {}
      for (const stmt of Object.values(st)) stmt.finalize();
      writer.close();
    },
  };
  return db;
}
