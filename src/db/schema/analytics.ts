import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * One row per HTTP request (best-effort, written in batches). Holds the route
 * pattern, never the concrete path; the query string only with the values of
 * allow-listed parameters; never a body. `ip` is truncated or hashed per the
 * analyticsIp setting.
 */
export const requestLog = sqliteTable(
  "request_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ts: integer("ts").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    status: integer("status").notNull(),
    durationMs: real("duration_ms").notNull(),
    requestId: text("request_id"),
    ip: text("ip"),
    query: text("query"),
    referer: text("referer"),
    host: text("host"),
    userAgent: text("user_agent"),
    userId: integer("user_id"),
  },
  (t) => [index("request_log_ts_idx").on(t.ts)],
);

/** Per-minute counts by (method, route, status); `minute` is the minute's start in ms. */
export const requestRollup = sqliteTable(
  "request_rollup",
  {
    minute: integer("minute").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    status: integer("status").notNull(),
    count: integer("count").notNull(),
    totalMs: real("total_ms").notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.method, t.route, t.status] }), check("request_rollup_count_check", sql`${t.count} > 0`)],
);

/** Per-minute latency histogram: `le` is the bucket's upper bound in ms (-1 stands for +Inf). */
export const requestLatency = sqliteTable(
  "request_latency",
  {
    minute: integer("minute").notNull(),
    le: real("le").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.le] })],
);
