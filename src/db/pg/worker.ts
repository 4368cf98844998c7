/**
 * The thread behind one synchronous PostgreSQL connection (see bridge.ts).
 *
 * It owns one reserved postgres-js connection and runs the statements the
 * main thread sends, in order. A request marked `wait` gets its reply on the
 * port and a wake-up through the shared flag (the main thread is blocked in
 * Atomics.wait meanwhile); a request without `wait` (SAVEPOINT, RELEASE) is
 * pipelined, and its error, if any, is handed back with the next reply.
 */
import postgres from "postgres";
import { workerData, type MessagePort } from "node:worker_threads";

export interface PgRequest {
  sql: string;
  params: unknown[];
  /** rows: objects; values: arrays; run: row count only. */
  mode: "rows" | "values" | "run";
  wait: boolean;
}
export interface PgError {
  message: string;
  code: string;
  detail?: string;
  constraint?: string;
}
export type PgReply = { ok: true; rows: unknown[]; count: number } | { ok: false; error: PgError };

const { url, flag, port, searchPath } = workerData as { url: string; flag: Int32Array; port: MessagePort; searchPath?: string };

// int8 (count(*), ids, ms timestamps) and numeric (sum, avg) arrive as numbers,
// as SQLite gives them; every value the app stores fits a double exactly.
const asNumber = { to: 20, from: [20, 1700], serialize: (x: unknown) => String(x), parse: (x: string) => Number(x) };
// SQLite has no booleans: a comparison reads as 1 or 0, and a flag is bound as 1 or 0.
const asFlag = { to: 16, from: [16], serialize: (x: unknown) => (x === true || x === 1 || x === "1" || x === "t" ? "t" : "f"), parse: (x: string) => (x === "t" ? 1 : 0) };
const sql = postgres(url, {
  max: 1,
  types: { bigint: asNumber, bool: asFlag } as never,
  onnotice: () => {},
  connection: { application_name: "gauntlet", ...(searchPath ? { search_path: searchPath } : {}) },
});

const toError = (e: unknown): PgError => {
  const x = e as { message?: string; code?: string; detail?: string; constraint_name?: string };
  return { message: String(x?.message ?? e), code: String(x?.code ?? "XX000"), detail: x?.detail, constraint: x?.constraint_name };
};

/** The one reserved connection: a transaction must see every statement on the same session. */
let connP: ReturnType<typeof sql.reserve> | null = null;
/** An error from a pipelined request, reported with the next reply. */
let pending: PgError | null = null;
/** Replies in request order, even though statements run concurrently on the connection's pipeline. */
let chain: Promise<void> = Promise.resolve();

const reply = (r: PgReply) => {
  port.postMessage(r);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
};

port.on("message", (m: PgRequest | "close") => {
  if (m === "close") {
    chain = chain.then(async () => {
      if (connP) (await connP).release();
      await sql.end({ timeout: 1 });
      port.close();
    });
    return;
  }
  const run = (async () => {
    const conn = await (connP ??= sql.reserve());
    const q = conn.unsafe(m.sql, m.params as never[], { prepare: true });
    return m.mode === "values" ? await q.values() : await q;
  })();
  // Attach now so a rejection is never "unhandled" while it waits its turn.
  const settled = run.then(
    (r) => ({ ok: true as const, rows: Array.from(r as unknown[]), count: (r as { count: number }).count ?? 0 }),
    (e) => ({ ok: false as const, error: toError(e) }),
  );
  chain = chain.then(async () => {
    const out: PgReply = await settled;
    if (!m.wait) {
      if (!out.ok && !pending) pending = out.error;
      return;
    }
    if (pending) {
      const e = pending;
      pending = null;
      reply({ ok: false, error: e });
      return;
    }
    reply(out);
  });
});
