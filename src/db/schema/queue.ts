import { sql } from "drizzle-orm";
import { check, index, integer, real, sqliteTable, text, unique, uniqueIndex } from "drizzle-orm/sqlite-core";

export const JOB_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "DEAD", "CANCELLED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * The durable job queue. A row is claimed by one UPDATE … RETURNING that
 * bumps `fence`; every later write by that worker names the fence it got, so
 * a worker whose lease was reaped cannot complete or touch the job.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind").notNull(),
    /** JSON text. */
    payload: text("payload").notNull().default("null"),
    status: text("status", { enum: JOB_STATUSES }).notNull().default("QUEUED"),
    /** Higher runs first among due jobs. */
    priority: integer("priority").notNull().default(0),
    runAt: integer("run_at").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    /** Claims so far (a graceful release of an unstarted claim gives its attempt back). */
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(5),
    leaseOwner: text("lease_owner"),
    /** Fencing token: incremented by every claim. */
    fence: integer("fence").notNull().default(0),
    leaseExpiresAt: integer("lease_expires_at"),
    lastHeartbeat: integer("last_heartbeat"),
    /** Ordering key: jobs sharing a topic run one at a time, in id order. */
    topic: text("topic"),
    idempotencyKey: text("idempotency_key"),
    progress: real("progress"),
    /** JSON text of the handler's return value, written with SUCCEEDED. */
    result: text("result"),
    error: text("error"),
    cancelRequested: integer("cancel_requested").notNull().default(0),
    finishedAt: integer("finished_at"),
  },
  (t) => [
    check("jobs_status_check", sql`${t.status} IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'DEAD', 'CANCELLED')`),
    check("jobs_attempts_check", sql`${t.attempts} >= 0 AND ${t.maxAttempts} >= 1`),
    check("jobs_lease_check", sql`${t.status} <> 'RUNNING' OR (${t.leaseOwner} IS NOT NULL AND ${t.leaseExpiresAt} IS NOT NULL)`),
    check("jobs_cancel_check", sql`${t.cancelRequested} IN (0, 1)`),
    // The claim path: per kind, due QUEUED jobs by priority then age. Partial,
    // so finished rows (the bulk of the table) cost the index nothing.
    index("jobs_claim_idx").on(t.kind, sql`${t.priority} DESC`, t.runAt, t.id).where(sql`status = 'QUEUED'`),
    // Topic ordering: "is an earlier job of this topic still open?"
    index("jobs_topic_idx").on(t.topic, t.status, t.id).where(sql`topic IS NOT NULL`),
    // Reaper (RUNNING by lease expiry) and the organiser's list by status. Every
    // index costs each enqueue and each status change, so there are few.
    index("jobs_status_idx").on(t.status, t.leaseExpiresAt),
    // Partial: most jobs have no key, and they cost this index nothing.
    uniqueIndex("jobs_idempotency_key_unique").on(t.idempotencyKey).where(sql`idempotency_key IS NOT NULL`),
    // Retention (queue.prune): finished jobs oldest first. Partial, so an
    // enqueue or a claim costs it nothing; only finishing a job (and a retry) touches it.
    index("jobs_finished_idx").on(t.finishedAt).where(sql`finished_at IS NOT NULL`),
  ],
);

export const cronSchedules = sqliteTable(
  "cron_schedules",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull().unique(),
    cron: text("cron"),
    tz: text("tz"),
    everyMs: integer("every_ms"),
    kind: text("kind").notNull(),
    payload: text("payload").notNull().default("null"),
    missed: text("missed", { enum: ["skip", "catch_up"] }).notNull().default("skip"),
    /** The latest slot fired (epoch ms); slots at or before it never fire again. */
    lastSlot: integer("last_slot"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    check("cron_missed_check", sql`${t.missed} IN ('skip', 'catch_up')`),
    check("cron_one_rule_check", sql`(${t.cron} IS NULL) <> (${t.everyMs} IS NULL)`),
    check("cron_every_check", sql`${t.everyMs} IS NULL OR ${t.everyMs} > 0`),
  ],
);

/** One row per fired slot: the UNIQUE constraint is what makes a slot fire once across processes. */
export const cronFires = sqliteTable(
  "cron_fires",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    scheduleId: integer("schedule_id")
      .notNull()
      .references(() => cronSchedules.id, { onDelete: "cascade" }),
    slot: integer("slot").notNull(),
    jobId: integer("job_id"),
    firedAt: integer("fired_at").notNull(),
  },
  (t) => [unique("cron_fires_slot_unique").on(t.scheduleId, t.slot)],
);
