/**
 * A synchronous PostgreSQL connection for the main thread.
 *
 * Gauntlet's stores run inside synchronous group-commit bodies (src/db/db.ts):
 * nothing else runs while a body holds the transaction, which is what makes
 * the ledger strict without row locks. To keep that one code path for both
 * databases, a PostgreSQL statement is sent to a worker thread (worker.ts),
 * and the main thread sleeps in Atomics.wait until the reply is on the port,
 * then takes it with receiveMessageOnPort. The price is one thread hop per
 * statement (about 100–150 µs on loopback, measured in bench/scale.ts) during
 * which this process serves nothing else; an event that needs more than one
 * process's worth of that runs more instances (the point of PostgreSQL here).
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { PgError, PgReply, PgRequest } from "./worker.ts";

/** Longest a statement may take before the caller gets an error (the worker keeps the connection). */
const REPLY_TIMEOUT_MS = 30_000;

export class PgQueryError extends Error {
  readonly code: string;
  readonly detail?: string;
  readonly constraint?: string;
  constructor(e: PgError, sqlText: string) {
    super(`${e.message} (postgres ${e.code}) in: ${sqlText.slice(0, 200)}`);
    this.name = "PgQueryError";
    // SQLite's codes where the app or drizzle look at them; the PostgreSQL one otherwise.
    this.code = e.code === "23505" ? "SQLITE_CONSTRAINT_UNIQUE" : e.code === "55P03" ? "SQLITE_BUSY_TIMEOUT" : e.code;
    this.detail = e.detail;
    this.constraint = e.constraint;
  }
}

/**
 * worker.ts is its own entrypoint of the compiled binary (scripts/build.ts),
 * embedded at $bunfs/root/db/pg/worker.ts; this module is bundled into the
 * binary's root file, so its URL is the root's.
 */
const workerUrl = import.meta.url.includes("/$bunfs/") ? new URL("./db/pg/worker.ts", import.meta.url) : new URL("./worker.ts", import.meta.url);

export class SyncPg {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private closed = false;

  constructor(url: string, opts: { searchPath?: string } = {}) {
    const ch = new MessageChannel();
    this.port = ch.port1;
    this.worker = new Worker(workerUrl, {
      workerData: { url, flag: this.flag, port: ch.port2, searchPath: opts.searchPath },
      transferList: [ch.port2] as never,
    });
    // The worker must never keep the process alive on its own.
    this.worker.unref();
    this.port.unref();
  }

  /** Runs one statement and waits for its result. */
  query(sql: string, params: unknown[], mode: PgRequest["mode"]): { rows: unknown[]; count: number } {
    if (this.closed) throw new Error("database is closed");
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ sql, params, mode, wait: true } satisfies PgRequest);
    const deadline = performance.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (got) {
        const r = got.message as PgReply;
        if (!r.ok) throw new PgQueryError(r.error, sql);
        return r;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`postgres did not answer within ${REPLY_TIMEOUT_MS} ms: ${sql.slice(0, 200)}`);
      Atomics.wait(this.flag, 0, 0, left);
      Atomics.store(this.flag, 0, 0);
    }
  }

  /** Sends a statement without waiting (SAVEPOINT, RELEASE): its error comes back with the next query. */
  send(sql: string, params: unknown[] = []) {
    if (this.closed) throw new Error("database is closed");
    this.port.postMessage({ sql, params, mode: "run", wait: false } satisfies PgRequest);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.port.postMessage("close");
    // Let the worker end its connection cleanly, but never hold the process for it.
    setTimeout(() => void this.worker.terminate(), 2000).unref();
  }
}
