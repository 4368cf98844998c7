/**
 * PgDatabase: a PostgreSQL connection with the synchronous surface of
 * bun:sqlite's Database that Gauntlet uses (prepare/query/run, statements
 * with run/get/all/values), so drizzle's bun-sqlite driver, the stores and
 * the group commit of src/db/db.ts run unchanged on PostgreSQL.
 *
 * What SQLite does by itself is done here:
 * - BEGIN IMMEDIATE takes the database's one write lock: a transaction-scoped
 *   advisory lock per schema, so writes from every instance are serialized as
 *   they are on SQLite (no lost update, no deadlock between batches). With
 *   `PRAGMA busy_timeout = 0` it does not wait and fails SQLITE_BUSY, which is
 *   how the group commit learns another process holds the lock.
 * - SAVEPOINT and RELEASE are pipelined (no round trip of their own).
 * - `PRAGMA data_version` counts commits made by other processes, heard by
 *   LISTEN on a per-schema channel that every write transaction NOTIFYs.
 * - Other PRAGMAs are SQLite tuning and do nothing here.
 * Statement text goes through translate.ts.
 */
import postgres from "postgres";
import { AppError } from "../../lib/errors.ts";
import { SyncPg } from "./bridge.ts";
import { toPostgres } from "./translate.ts";
import { parsePgUrl, schemaKey, type PgTarget } from "./url.ts";

/** The advisory lock's first key: "GANT". */
const LOCK_CLASS = 0x47414e54;

const busy = (message: string) => Object.assign(new Error(message), { code: "SQLITE_BUSY" });

type Params = unknown[];
const fixParams = (params: Params): unknown[] => {
  // bun:sqlite's named-object form is never used with this connection (drizzle passes positional values).
  const out = new Array(params.length);
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    // PostgreSQL text cannot hold NUL (SQLite's can): refuse it as bad input rather than fail the statement with a 500.
    if (typeof v === "string" && v.includes("\0")) throw new AppError("bad_request", "Text must not contain NUL characters.");
    out[i] = v === undefined ? null : v === true ? 1 : v === false ? 0 : v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v) : v;
  }
  return out;
};

type Mode = "rows" | "values" | "run";
type Result = { rows: unknown[]; count: number; changes: number; lastInsertRowid: number };
const none = (): Result => ({ rows: [], count: 0, changes: 0, lastInsertRowid: 0 });

/**
 * What a statement is, decided once per statement text: a transaction control
 * statement or PRAGMA handled here, or SQL to run (translated, and whether it
 * writes, which decides the commit's NOTIFY).
 */
type Plan =
  | { kind: "begin" | "commit" | "rollback" | "rollbackTo" | "pipelined" | "pragma"; text: string }
  | { kind: "sql"; text: string; writes: boolean };

function planOf(sql: string): Plan {
  const head = sql.trimStart().slice(0, 24).toUpperCase();
  if (head.startsWith("BEGIN")) return { kind: "begin", text: sql };
  if (head.startsWith("COMMIT") || head.startsWith("END")) return { kind: "commit", text: sql };
  if (head.startsWith("ROLLBACK TO") || head.startsWith("ROLLBACK TRANSACTION TO")) return { kind: "rollbackTo", text: sql };
  if (head.startsWith("ROLLBACK")) return { kind: "rollback", text: sql };
  if (head.startsWith("SAVEPOINT") || head.startsWith("RELEASE")) return { kind: "pipelined", text: sql };
  if (head.startsWith("PRAGMA")) return { kind: "pragma", text: sql };
  return { kind: "sql", text: toPostgres(sql), writes: !head.startsWith("SELECT") };
}

export class PgStatement {
  private readonly plan: Plan;
  constructor(
    private readonly db: PgDatabase,
    readonly sql: string,
  ) {
    this.plan = planOf(sql);
  }
  run(...params: Params) {
    return this.db.exec1(this.plan, params, "run");
  }
  get(...params: Params): unknown {
    return this.db.exec1(this.plan, params, "rows").rows[0] ?? null;
  }
  all(...params: Params): unknown[] {
    return this.db.exec1(this.plan, params, "rows").rows;
  }
  values(...params: Params): unknown[][] {
    return this.db.exec1(this.plan, params, "values").rows as unknown[][];
  }
  finalize() {}
}

export class PgDatabase {
  readonly target: PgTarget;
  private readonly conn: SyncPg;
  private readonly statements = new Map<string, PgStatement>();
  private busyTimeoutMs = 5000;
  private inTx = false;
  private wrote = false;
  private otherCommits = 0;
  private listener: ReturnType<typeof postgres> | null = null;
  private readonly lockKey: number;
  private readonly channel: string;
  private readonly token = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(
    rawUrl: string,
    readonly opts: { readonly?: boolean } = {},
  ) {
    this.target = parsePgUrl(rawUrl);
    this.lockKey = schemaKey(this.target.schema);
    this.channel = `gauntlet_${(this.lockKey >>> 0).toString(16)}`;
    this.conn = new SyncPg(this.target.url, { searchPath: this.target.schema });
    if (opts.readonly) this.conn.send("SET default_transaction_read_only = on");
  }

  prepare(sql: string): PgStatement {
    return new PgStatement(this, sql);
  }
  query(sql: string): PgStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = new PgStatement(this, sql);
      if (this.statements.size < 2000) this.statements.set(sql, s);
    }
    return s;
  }
  run(sql: string, ...params: Params) {
    return this.query(sql).run(...params);
  }
  exec(sql: string) {
    return this.query(sql).run();
  }
  /** PostgreSQL SQL as written, no translation (migrations). */
  execRaw(sql: string) {
    if (this.inTx) this.wrote = true;
    this.conn.query(sql, [], "run");
  }
  /** drizzle's bun-sqlite db.transaction(): a plain transaction on this connection. */
  transaction<T>(fn: () => T) {
    const wrap = () => {
      this.begin();
      try {
        const out = fn();
        this.commit();
        return out;
      } catch (e) {
        if (this.inTx) this.rollback();
        throw e;
      }
    };
    return Object.assign(wrap, { deferred: wrap, immediate: wrap, exclusive: wrap });
  }

  /** bun:sqlite's flag: a transaction is open on this connection. */
  get inTransaction() {
    return this.inTx;
  }

  /** Starts hearing other processes' commits; `PRAGMA data_version` reports them. */
  listen(): Promise<void> {
    if (this.listener) return Promise.resolve();
    this.listener = postgres(this.target.url, { max: 1, onnotice: () => {}, connection: { application_name: "gauntlet-listen" } });
    return this.listener
      .listen(this.channel, (payload) => {
        if (payload !== this.token) this.otherCommits++;
      })
      .then(() => undefined);
  }

  close() {
    this.conn.close();
    void this.listener?.end({ timeout: 1 });
  }

  private begin() {
    if (this.inTx) throw new Error("nested transaction");
    this.conn.send("BEGIN");
    try {
      if (this.opts.readonly) {
        this.conn.query("SELECT 1", [], "run");
      } else if (this.busyTimeoutMs === 0) {
        const r = this.conn.query("SELECT pg_try_advisory_xact_lock($1, $2) AS ok", [LOCK_CLASS, this.lockKey], "values");
        if (!(r.rows[0] as unknown[])[0]) {
          this.conn.query("ROLLBACK", [], "run");
          throw busy("database is locked by another process");
        }
      } else {
        this.conn.send(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.busyTimeoutMs))}`);
        this.conn.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_CLASS, this.lockKey], "run");
      }
    } catch (e) {
      if ((e as { code?: string }).code !== "SQLITE_BUSY") {
        try {
          this.conn.query("ROLLBACK", [], "run");
        } catch {}
      }
      throw e;
    }
    this.inTx = true;
    this.wrote = false;
  }
  private commit() {
    try {
      if (this.wrote) this.conn.send("SELECT pg_notify($1, $2)", [this.channel, this.token]);
      this.conn.query("COMMIT", [], "run");
    } finally {
      this.inTx = false;
    }
  }
  private rollback() {
    try {
      this.conn.query("ROLLBACK", [], "run");
    } finally {
      this.inTx = false;
    }
  }

  /** @internal One statement, as its plan says. */
  exec1(plan: Plan, params: Params, mode: Mode): Result {
    switch (plan.kind) {
      case "begin":
        this.begin();
        return none();
      case "commit":
        this.commit();
        return none();
      case "rollback":
        this.rollback();
        return none();
      case "rollbackTo":
        this.conn.query(plan.text, [], "run");
        return none();
      case "pipelined":
        this.conn.send(plan.text);
        return none();
      case "pragma":
        return this.pragma(plan.text, mode);
      case "sql": {
        if (this.inTx && plan.writes) this.wrote = true;
        const r = this.conn.query(plan.text, fixParams(params), mode);
        return { rows: r.rows, count: r.count, changes: r.count, lastInsertRowid: 0 };
      }
    }
  }

  private pragma(sql: string, mode: Mode): Result {
    const m = /^\s*PRAGMA\s+([a-z_]+)\s*(?:=\s*(\S+))?/i.exec(sql);
    const name = m?.[1]?.toLowerCase() ?? "";
    if (name === "busy_timeout" && m?.[2] !== undefined) {
      this.busyTimeoutMs = Number(m[2]);
      return none();
    }
    if (name === "data_version") {
      const row = mode === "values" ? [this.otherCommits] : { data_version: this.otherCommits };
      return { ...none(), rows: [row], count: 1 };
    }
    // journal_mode, synchronous, foreign_keys, cache_size, query_only, wal_checkpoint…: SQLite's own business.
    return none();
  }
}
