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
 */
import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { startCheckpointer, type Checkpointer } from "./checkpointer.ts";
import * as schema from "./schema/index.ts";

export type Schema = typeof schema;
export type Drizzle = BunSQLiteDatabase<Schema>;

export interface Db {
  readonly path: string;
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
  readonly stats: { batches: number; writes: number };
}

export interface OpenDbOptions {
  /** Largest number of write bodies in one commit. */
  maxBatch?: number;
  /** WAL checkpoints on a worker thread instead of inside commits (the server; see checkpointer.ts). */
  checkpointer?: boolean;
  checkpointIntervalMs?: number;
  onCheckpointError?: (message: string) => void;
}

function applyPragmas(conn: Database, readonly: boolean) {
  // Order matters: busy_timeout first so the following pragmas wait for a lock
  // held by another process instead of failing; journal_mode=WAL next (it is
  // stored in the file, and synchronous's meaning depends on it); then FULL
  // so a COMMIT is fsynced before it returns; foreign keys are per connection.
  conn.run("PRAGMA busy_timeout = 5000");
  if (!readonly) conn.run("PRAGMA journal_mode = WAL");
  conn.run("PRAGMA synchronous = FULL");
  conn.run("PRAGMA foreign_keys = ON");
  conn.run("PRAGMA temp_store = MEMORY");
  conn.run("PRAGMA cache_size = -16000"); // 16 MB page cache per connection
  if (readonly) conn.run("PRAGMA query_only = ON");
}

interface Pending {
  fn: (tx: Drizzle) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export function openDb(path: string, opts: OpenDbOptions = {}): Db {
  const memory = path === ":memory:";
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const writer = new Database(path, { create: true, strict: true });
  applyPragmas(writer, false);
  // An in-memory database is private to its connection, so it reads through the writer.
  const reader = memory ? writer : new Database(path, { readonly: true, strict: true });
  if (!memory) applyPragmas(reader, true);

  const w = drizzle({ client: writer, schema });
  const r = memory ? w : drizzle({ client: reader, schema });
  const maxBatch = opts.maxBatch ?? 2000;
  const checkpointer: Checkpointer | null = opts.checkpointer && !memory ? startCheckpointer(path, writer, { intervalMs: opts.checkpointIntervalMs, onError: opts.onCheckpointError }) : null;
  const stats = { batches: 0, writes: 0 };

  let queue: Pending[] = [];
  let scheduled = false;
  let closed = false;
  let inTx = false;

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

  const flushNow = () => {
    scheduled = false;
    while (queue.length) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      const outcomes: Array<{ ok: boolean; v: unknown }> = new Array(batch.length);
      try {
        beginOrThrow();
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
        // BEGIN or COMMIT failed (disk full, I/O error, lock timeout): nothing
        // of this batch is durable, so every caller hears about it.
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
      for (let i = 0; i < batch.length; i++) {
        const o = outcomes[i];
        if (o.ok) batch[i].resolve(o.v);
        else batch[i].reject(o.v);
      }
    }
  };

  const db: Db = {
    path,
    writer,
    reader,
    w,
    r,
    stats,
    write<T>(fn: (tx: Drizzle) => T): Promise<T> {
      if (closed) return Promise.reject(new Error("database is closed"));
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          // setImmediate, not a microtask: every request parsed in this turn
          // of the event loop joins the same commit.
          setImmediate(flushNow);
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
      if (queue.length) flushNow();
      closed = true;
      void checkpointer?.stop();
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
