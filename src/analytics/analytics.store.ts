/**
 * The only SQL of request analytics. Inserts run inside a group-committed
 * write body on the writer connection (statements prepared once); reports
 * read committed data through the reader.
 */
import type { Db } from "../db/db.ts";

export interface RequestRow {
  ts: number;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  requestId: string | null;
  ip: string | null;
  query: string | null;
  referer: string | null;
  host: string | null;
  userAgent: string | null;
  userId: number | null;
}

export interface RollupDelta {
  minute: number;
  method: string;
  route: string;
  status: number;
  count: number;
  totalMs: number;
}

export interface LatencyDelta {
  minute: number;
  /** Bucket upper bound in ms; -1 is +Inf. */
  le: number;
  count: number;
}

/** Rows per multi-row INSERT (12 parameters each, well under SQLite's 32766). */
const MULTI = 50;

export function analyticsStore(db: Db) {
  let prepared: ReturnType<typeof prepare> | null = null;
  // Prepared lazily: the tables exist only once migrations ran.
  const insertSql = (n: number) =>
    `INSERT INTO request_log (ts, method, route, status, duration_ms, request_id, ip, query, referer, host, user_agent, user_id) VALUES ${Array(n).fill("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`;
  const prepare = () => ({
    insertRow: db.writer.prepare(insertSql(1)),
    // Many rows per statement: one bind-and-step instead of MULTI, a third of the cost per row.
    insertMany: db.writer.prepare(insertSql(MULTI)),
    upsertRollup: db.writer.prepare(
      `INSERT INTO request_rollup (minute, method, route, status, count, total_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (minute, method, route, status) DO UPDATE SET count = request_rollup.count + excluded.count, total_ms = request_rollup.total_ms + excluded.total_ms`,
    ),
    upsertLatency: db.writer.prepare(
      `INSERT INTO request_latency (minute, le, count) VALUES (?, ?, ?)
       ON CONFLICT (minute, le) DO UPDATE SET count = request_latency.count + excluded.count`,
    ),
  });
  const st = () => (prepared ??= prepare());

  return {
    /** Call inside a db.write body: raw rows and their rollups land in one commit. */
    insertBatch(rows: RequestRow[], rollups: RollupDelta[], latency: LatencyDelta[]) {
      const s = st();
      let i = 0;
      if (rows.length >= MULTI) {
        const args: (string | number | null)[] = new Array(MULTI * 12);
        for (; i + MULTI <= rows.length; i += MULTI) {
          for (let j = 0; j < MULTI; j++) {
            const r = rows[i + j];
            const o = j * 12;
            args[o] = r.ts;
            args[o + 1] = r.method;
            args[o + 2] = r.route;
            args[o + 3] = r.status;
            args[o + 4] = r.durationMs;
            args[o + 5] = r.requestId;
            args[o + 6] = r.ip;
            args[o + 7] = r.query;
            args[o + 8] = r.referer;
            args[o + 9] = r.host;
            args[o + 10] = r.userAgent;
            args[o + 11] = r.userId;
          }
          s.insertMany.run(...args);
        }
      }
      for (; i < rows.length; i++) {
        const r = rows[i];
        s.insertRow.run(r.ts, r.method, r.route, r.status, r.durationMs, r.requestId, r.ip, r.query, r.referer, r.host, r.userAgent, r.userId);
      }
      for (const r of rollups) s.upsertRollup.run(r.minute, r.method, r.route, r.status, r.count, r.totalMs);
      for (const l of latency) s.upsertLatency.run(l.minute, l.le, l.count);
    },

    /** Call inside a db.write body. */
    prune(rawBefore: number, rollupBefore: number) {
      const a = db.writer.prepare("DELETE FROM request_log WHERE ts < ?").run(rawBefore).changes;
      const b = db.writer.prepare("DELETE FROM request_rollup WHERE minute < ?").run(rollupBefore).changes;
      const c = db.writer.prepare("DELETE FROM request_latency WHERE minute < ?").run(rollupBefore).changes;
      return { raw: a, rollups: b + c };
    },

    perMinute(from: number, to: number) {
      return db.reader
        .query("SELECT minute, SUM(count) AS count, SUM(total_ms) AS totalMs FROM request_rollup WHERE minute >= ? AND minute < ? GROUP BY minute ORDER BY minute")
        .all(from, to) as { minute: number; count: number; totalMs: number }[];
    },

    statuses(from: number, to: number) {
      return db.reader
        .query("SELECT status, SUM(count) AS count FROM request_rollup WHERE minute >= ? AND minute < ? GROUP BY status ORDER BY count DESC, status")
        .all(from, to) as { status: number; count: number }[];
    },

    topRoutes(from: number, to: number, limit: number) {
      return db.reader
        .query(
          `SELECT method, route, SUM(count) AS count, SUM(total_ms) / SUM(count) AS avgMs,
                  SUM(CASE WHEN status >= 500 THEN count ELSE 0 END) AS errors
           FROM request_rollup WHERE minute >= ? AND minute < ?
           GROUP BY method, route ORDER BY count DESC, route LIMIT ?`,
        )
        .all(from, to, limit) as { method: string; route: string; count: number; avgMs: number; errors: number }[];
    },

    latencyBuckets(from: number, to: number) {
      return db.reader
        .query("SELECT le, SUM(count) AS count FROM request_latency WHERE minute >= ? AND minute < ? GROUP BY le")
        .all(from, to) as { le: number; count: number }[];
    },

    topReferers(from: number, to: number, limit: number) {
      return db.reader
        .query(
          `SELECT referer, COUNT(*) AS count FROM request_log
           WHERE ts >= ? AND ts < ? AND referer IS NOT NULL GROUP BY referer ORDER BY count DESC, referer LIMIT ?`,
        )
        .all(from, to, limit) as { referer: string; count: number }[];
    },

    /** Raw counts per minute, for checking rollups against the rows they summarise. */
    rawPerMinute(from: number, to: number) {
      return db.reader
        .query("SELECT (ts / 60000) * 60000 AS minute, COUNT(*) AS count FROM request_log WHERE ts >= ? AND ts < ? GROUP BY 1 ORDER BY 1")
        .all(from, to) as { minute: number; count: number }[];
    },

    saltRow() {
      return db.reader.query("SELECT value FROM kv WHERE key = 'analytics_salt'").get() as { value: string } | null;
    },

    /** Synchronous, outside a group commit; the first writer wins, the loser reads it back. */
    createSalt(value: string) {
      db.transaction(() => db.writer.prepare("INSERT INTO kv (key, value) VALUES ('analytics_salt', ?) ON CONFLICT (key) DO NOTHING").run(value));
      return (db.writer.query("SELECT value FROM kv WHERE key = 'analytics_salt'").get() as { value: string }).value;
    },
  };
}

export type AnalyticsStore = ReturnType<typeof analyticsStore>;
