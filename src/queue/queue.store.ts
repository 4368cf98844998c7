/**
 * The only code that touches the jobs, cron_schedules and cron_fires tables.
 *
 * The hot statements (enqueue, claim, complete, heartbeat) are raw SQL
 * prepared once on the writer connection: building them through drizzle on
 * every call costs more than the SQLite work itself (see bench/queue.ts).
 * Every write statement here must run inside a `db.write()` / `db.transaction()`
 * body; every statement that a worker issues about a job it holds names the
 * fencing token (`fence`) it got from its claim.
 */
import { and, count, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Database } from "bun:sqlite";
import type { Db } from "../db/db.ts";
import { cronSchedules, jobs, type JobStatus } from "../db/schema/index.ts";

export type JobRow = typeof jobs.$inferSelect;
export type CronRow = typeof cronSchedules.$inferSelect;

export interface NewJob {
  kind: string;
  payload: string;
  priority: number;
  runAt: number;
  maxAttempts: number;
  topic: string | null;
  idempotencyKey: string | null;
  now: number;
}

/** What a worker gets from its claim. */
export interface ClaimedRow {
  id: number;
  kind: string;
  payload: string;
  attempts: number;
  max_attempts: number;
  topic: string | null;
  fence: number;
}

export interface ExpiredRow {
  id: number;
  fence: number;
  attempts: number;
  max_attempts: number;
  cancel_requested: number;
  lease_owner: string;
}

const FINAL: JobStatus[] = ["SUCCEEDED", "FAILED", "DEAD", "CANCELLED"];

type Stmt = ReturnType<Database["prepare"]>;

/**
 * Retention (queue.prune): one bounded batch of finished jobs, oldest first,
 * found through the partial index jobs_finished_idx (finished_at is set exactly
 * when a job reaches a final status; the status test is a second guard).
 * QUEUED and RUNNING jobs, future ones included, have no finished_at and are
 * never touched. INDEXED BY because without statistics the planner prefers
 * jobs_status_idx and sorts every finished row; with it, SQLite refuses the
 * statement rather than silently scanning if the index ever goes away.
 * ?1 = cutoff (epoch ms), ?2 = batch size.
 */
export const PRUNE_JOBS_SQL = `DELETE FROM jobs WHERE id IN (
  SELECT id FROM jobs INDEXED BY jobs_finished_idx WHERE finished_at < ?1 AND status IN ('SUCCEEDED', 'FAILED', 'DEAD', 'CANCELLED')
  ORDER BY finished_at LIMIT ?2)`;

/**
 * One bounded batch of old cron fire records. A slot fires only when it is
 * later than its schedule's last_slot, read and advanced in the same write, so
 * the fire rows of slots at or before last_slot no longer guard anything; the
 * row of the last slot itself (the newest fire per schedule) is kept anyway, as
 * the record of when the schedule last fired. Every fire has slot <= fired_at
 * (only due slots fire), so `slot < ?1` changes nothing but lets the search use
 * the (schedule_id, slot) index per schedule; CROSS JOIN keeps the few
 * schedules as the outer loop (the planner would otherwise scan cron_fires).
 * ?1 = cutoff, ?2 = batch size.
 */
export const PRUNE_FIRES_SQL = `DELETE FROM cron_fires WHERE id IN (
  SELECT f.id FROM cron_schedules s CROSS JOIN cron_fires f
  WHERE f.schedule_id = s.id AND f.slot < ?1 AND f.slot < s.last_slot AND f.fired_at < ?1
  LIMIT ?2)`;

/** Prepares on first use, so building the services before migrating does not fail. */
function lazy(conn: Database, text: string): Stmt {
  let st: Stmt | undefined;
  const get = () => (st ??= conn.prepare(text));
  return {
    get: (...a: unknown[]) => get().get(...(a as [])),
    all: (...a: unknown[]) => get().all(...(a as [])),
    run: (...a: unknown[]) => get().run(...(a as [])),
  } as unknown as Stmt;
}

export function queueStore(db: Db) {
  const w = { prepare: (text: string) => lazy(db.writer, text) };
  const r = { prepare: (text: string) => lazy(db.reader, text) };

  const insertJob = w.prepare(
    `INSERT INTO jobs (kind, payload, status, priority, run_at, created_at, updated_at, max_attempts, topic, idempotency_key)
     VALUES (?1, ?2, 'QUEUED', ?3, ?4, ?5, ?5, ?6, ?7, ?8)
     ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id`,
  );
  // A job handed straight to an idle local worker: inserted already claimed (fence 1).
  const insertClaimed = w.prepare(
    `INSERT INTO jobs (kind, payload, status, priority, run_at, created_at, updated_at, max_attempts, topic, idempotency_key,
                       attempts, fence, lease_owner, lease_expires_at, last_heartbeat)
     VALUES (?1, ?2, 'RUNNING', ?3, ?4, ?5, ?5, ?6, NULL, ?7, 1, 1, ?8, ?9, ?5)
     ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id`,
  );
  const idByKey = w.prepare(`SELECT id FROM jobs WHERE idempotency_key = ?`);

  // On PostgreSQL a claim also skips rows another transaction has locked. (Our
  // write transactions take the schema's write lock first, so today no two
  // claims overlap; this keeps claims correct for any writer that does not.)
  const skipLocked = db.dialect === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
  // One statement claims up to ?5 due jobs of a kind. The topic clause keeps
  // a topic's jobs one at a time and in id order: a job is claimable only if
  // no job of its topic is RUNNING and no earlier one is still QUEUED.
  const claim = w.prepare(
    `UPDATE jobs SET status = 'RUNNING', lease_owner = ?2, fence = fence + 1, attempts = attempts + 1,
            lease_expires_at = ?4, last_heartbeat = ?3, updated_at = ?3
     WHERE id IN (
       SELECT j.id FROM jobs j
       WHERE j.status = 'QUEUED' AND j.kind = ?1 AND j.run_at <= ?3
         AND (j.topic IS NULL OR NOT EXISTS (
               SELECT 1 FROM jobs t WHERE t.topic = j.topic
                 AND (t.status = 'RUNNING' OR (t.status = 'QUEUED' AND t.id < j.id))))
       ORDER BY j.priority DESC, j.run_at, j.id
       LIMIT ?5${skipLocked})
     RETURNING id, kind, payload, attempts, max_attempts, topic, fence`,
  );
  const held = w.prepare(`SELECT fence FROM jobs WHERE id = ?1 AND fence = ?2 AND status = 'RUNNING' AND lease_owner = ?3`);
  const succeed = w.prepare(
    `UPDATE jobs SET status = 'SUCCEEDED', result = ?3, error = NULL, lease_owner = NULL,
            lease_expires_at = NULL, finished_at = ?4, updated_at = ?4
     WHERE id = ?1 AND fence = ?2 AND status = 'RUNNING'`,
  );
  const finish = w.prepare(
    `UPDATE jobs SET status = ?3, error = ?4, lease_owner = NULL, lease_expires_at = NULL, finished_at = ?5, updated_at = ?5
     WHERE id = ?1 AND fence = ?2 AND status = 'RUNNING'`,
  );
  const requeue = w.prepare(
    `UPDATE jobs SET status = 'QUEUED', error = ?3, run_at = ?4, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?5
     WHERE id = ?1 AND fence = ?2 AND status = 'RUNNING'`,
  );
  // A claim that never started (graceful stop) gives its attempt back.
  const release = w.prepare(
    `UPDATE jobs SET status = 'QUEUED', attempts = CASE WHEN attempts > ?3 THEN attempts - ?3 ELSE 0 END, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?4
     WHERE id = ?1 AND fence = ?2 AND status = 'RUNNING'`,
  );
  const heartbeat = w.prepare(
    `UPDATE jobs SET lease_expires_at = ?3, last_heartbeat = ?4, updated_at = ?4
     WHERE id = ?1 AND fence = ?2 AND status = 'RUNNING' RETURNING cancel_requested`,
  );
  const setProgress = w.prepare(`UPDATE jobs SET progress = ?3, updated_at = ?4 WHERE id = ?1 AND fence = ?2 AND status = 'RUNNING'`);
  const expired = w.prepare(
    `SELECT id, fence, attempts, max_attempts, cancel_requested, lease_owner FROM jobs
     WHERE status = 'RUNNING' AND lease_expires_at < ?1 ORDER BY lease_expires_at LIMIT ?2`,
  );
  const statusOfW = w.prepare(`SELECT status, kind FROM jobs WHERE id = ?`);
  const cancelQueued = w.prepare(
    `UPDATE jobs SET status = 'CANCELLED', cancel_requested = 1, finished_at = ?2, updated_at = ?2 WHERE id = ?1 AND status = 'QUEUED'`,
  );
  const requestCancel = w.prepare(`UPDATE jobs SET cancel_requested = 1, updated_at = ?2 WHERE id = ?1 AND status = 'RUNNING'`);
  const retry = w.prepare(
    `UPDATE jobs SET status = 'QUEUED', attempts = 0, run_at = ?2, cancel_requested = 0, finished_at = NULL, result = NULL,
            progress = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2
     WHERE id = ?1 AND status IN ('FAILED', 'DEAD', 'CANCELLED')`,
  );
  const runNow = w.prepare(`UPDATE jobs SET run_at = CASE WHEN run_at < ?2 THEN run_at ELSE ?2 END, updated_at = ?2 WHERE id = ?1 AND status = 'QUEUED'`);

  const getR = r.prepare(`SELECT * FROM jobs WHERE id = ?`);
  const finalStatusR = r.prepare(`SELECT id, status FROM jobs WHERE id = ? AND status IN ('SUCCEEDED', 'FAILED', 'DEAD', 'CANCELLED')`);
  const nextRunAtR = r.prepare(`SELECT MIN(run_at) AS t FROM jobs WHERE status = 'QUEUED' AND kind = ?`);
  const nextExpiryR = r.prepare(`SELECT MIN(lease_expires_at) AS t FROM jobs WHERE status = 'RUNNING'`);
  // Is a job of this kind claimable? (The claim itself re-checks topics; this only spares a write when nothing is due.)
  const hasDueR = r.prepare(`SELECT 1 AS x FROM jobs WHERE status = 'QUEUED' AND kind = ?1 AND run_at <= ?2 LIMIT 1`);
  // On the writer: its data_version moves only when another connection (another
  // process) commits, so our own writes never look like outside news. Read outside
  // write bodies only (a timer), where the writer holds no transaction.
  const dataVersionW = w.prepare(`PRAGMA data_version`);

  // Cron
  const cronAllW = w.prepare(`SELECT * FROM cron_schedules ORDER BY id`);
  const cronFire = w.prepare(
    `INSERT INTO cron_fires (schedule_id, slot, job_id, fired_at) VALUES (?1, ?2, NULL, ?3)
     ON CONFLICT (schedule_id, slot) DO NOTHING RETURNING id`,
  );
  const cronFireJob = w.prepare(`UPDATE cron_fires SET job_id = ?2 WHERE id = ?1`);
  const cronAdvance = w.prepare(`UPDATE cron_schedules SET last_slot = ?2 WHERE id = ?1 AND (last_slot IS NULL OR last_slot < ?2)`);
  const cronUpsert = w.prepare(
    `INSERT INTO cron_schedules (name, cron, tz, every_ms, kind, payload, missed, last_slot, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?8)
     ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, tz = excluded.tz, every_ms = excluded.every_ms,
       kind = excluded.kind, payload = excluded.payload, missed = excluded.missed, updated_at = excluded.updated_at
     RETURNING *`,
  );
  const pruneJobs = w.prepare(PRUNE_JOBS_SQL);
  const pruneFires = w.prepare(PRUNE_FIRES_SQL);
  const cronAllR = r.prepare(`SELECT * FROM cron_schedules ORDER BY id`);

  const toRow = (o: Record<string, unknown> | null): JobRow | undefined =>
    o
      ? {
          id: o.id as number,
          kind: o.kind as string,
          payload: o.payload as string,
          status: o.status as JobStatus,
          priority: o.priority as number,
          runAt: o.run_at as number,
          createdAt: o.created_at as number,
          updatedAt: o.updated_at as number,
          attempts: o.attempts as number,
          maxAttempts: o.max_attempts as number,
          leaseOwner: o.lease_owner as string | null,
          fence: o.fence as number,
          leaseExpiresAt: o.lease_expires_at as number | null,
          lastHeartbeat: o.last_heartbeat as number | null,
          topic: o.topic as string | null,
          idempotencyKey: o.idempotency_key as string | null,
          progress: o.progress as number | null,
          result: o.result as string | null,
          error: o.error as string | null,
          cancelRequested: o.cancel_requested as number,
          finishedAt: o.finished_at as number | null,
        }
      : undefined;

  const listFilter = (f: { status?: JobStatus; kind?: string }): SQL | undefined =>
    and(f.status ? eq(jobs.status, f.status) : undefined, f.kind ? eq(jobs.kind, f.kind) : undefined);

  return {
    /** Inserts a QUEUED job; on a duplicate idempotency key returns the existing job's id instead. */
    insert(j: NewJob): { id: number; created: boolean } {
      const row = insertJob.get(j.kind, j.payload, j.priority, j.runAt, j.now, j.maxAttempts, j.topic, j.idempotencyKey) as { id: number } | null;
      if (row) return { id: row.id, created: true };
      return { id: (idByKey.get(j.idempotencyKey) as { id: number }).id, created: false };
    },
    /** Inserts a job already claimed by `owner` (fence 1, attempt 1); undefined on a duplicate key. */
    insertClaimed(j: NewJob, owner: string, leaseExpiresAt: number): number | undefined {
      const row = insertClaimed.get(j.kind, j.payload, j.priority, j.runAt, j.now, j.maxAttempts, j.idempotencyKey, owner, leaseExpiresAt) as { id: number } | null;
      return row?.id;
    },
    idByKey: (key: string) => (idByKey.get(key) as { id: number } | null)?.id,
    claim: (kind: string, owner: string, now: number, leaseExpiresAt: number, limit: number) =>
      claim.all(kind, owner, now, leaseExpiresAt, limit) as ClaimedRow[],
    /** Is the claim (id, fence) still ours and running? */
    stillHeld: (id: number, fence: number, owner: string) => held.get(id, fence, owner) !== null,
    succeed: (id: number, fence: number, result: string, now: number) => succeed.run(id, fence, result, now).changes === 1,
    finish: (id: number, fence: number, status: "FAILED" | "DEAD" | "CANCELLED", error: string | null, now: number) =>
      finish.run(id, fence, status, error, now).changes === 1,
    requeue: (id: number, fence: number, error: string | null, runAt: number, now: number) => requeue.run(id, fence, error, runAt, now).changes === 1,
    release: (id: number, fence: number, giveBackAttempt: boolean, now: number) => release.run(id, fence, giveBackAttempt ? 1 : 0, now).changes === 1,
    /** Extends the lease; undefined when the claim was lost, else whether a cancel was requested. */
    heartbeat(id: number, fence: number, leaseExpiresAt: number, now: number): { cancel: boolean } | undefined {
      const row = heartbeat.get(id, fence, leaseExpiresAt, now) as { cancel_requested: number } | null;
      return row ? { cancel: row.cancel_requested === 1 } : undefined;
    },
    progress: (id: number, fence: number, value: number, now: number) => setProgress.run(id, fence, value, now).changes === 1,
    expired: (now: number, limit: number) => expired.all(now, limit) as ExpiredRow[],
    statusInTx: (id: number) => statusOfW.get(id) as { status: JobStatus; kind: string } | null,
    cancelQueued: (id: number, now: number) => cancelQueued.run(id, now).changes === 1,
    requestCancel: (id: number, now: number) => requestCancel.run(id, now).changes === 1,
    retry: (id: number, now: number) => retry.run(id, now).changes === 1,
    runNow: (id: number, now: number) => runNow.run(id, now).changes === 1,

    get: (id: number): JobRow | undefined => toRow(getR.get(id) as Record<string, unknown> | null),
    isFinal: (id: number) => finalStatusR.get(id) !== null,
    nextRunAt: (kind: string) => (nextRunAtR.get(kind) as { t: number | null }).t,
    nextLeaseExpiry: () => (nextExpiryR.get() as { t: number | null }).t,
    hasDue: (kind: string, now: number) => hasDueR.get(kind, now) !== null,
    /** Changes whenever another process commits to the file. */
    dataVersion: () => (dataVersionW.get() as { data_version: number }).data_version,
    list(f: { status?: JobStatus; kind?: string; limit: number; offset: number }): JobRow[] {
      return db.r.select().from(jobs).where(listFilter(f)).orderBy(desc(jobs.id)).limit(f.limit).offset(f.offset).all();
    },
    countMatching: (f: { status?: JobStatus; kind?: string }): number =>
      db.r.select({ n: count() }).from(jobs).where(listFilter(f)).get()!.n,
    counts(): Record<JobStatus, number> {
      const out = Object.fromEntries(["QUEUED", "RUNNING", ...FINAL].map((s) => [s, 0])) as Record<JobStatus, number>;
      for (const row of db.r.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status).all()) out[row.status] = row.n;
      return out;
    },
    countsByKind(): Array<{ kind: string; status: JobStatus; n: number }> {
      return db.r.select({ kind: jobs.kind, status: jobs.status, n: count() }).from(jobs).groupBy(jobs.kind, jobs.status).orderBy(jobs.kind).all();
    },

    // Cron
    cronUpsert(c: { name: string; cron: string | null; tz: string | null; everyMs: number | null; kind: string; payload: string; missed: "skip" | "catch_up"; now: number }) {
      return cronUpsert.get(c.name, c.cron, c.tz, c.everyMs, c.kind, c.payload, c.missed, c.now) as Record<string, unknown>;
    },
    cronAllInTx: () => (cronAllW.all() as Record<string, unknown>[]).map(cronFromRaw),
    cronAll: () => (cronAllR.all() as Record<string, unknown>[]).map(cronFromRaw),
    /** True when this call recorded the slot (the UNIQUE (schedule, slot) decides). */
    cronFire(scheduleId: number, slot: number, now: number): number | undefined {
      return (cronFire.get(scheduleId, slot, now) as { id: number } | null)?.id;
    },
    cronFireJob: (fireId: number, jobId: number) => void cronFireJob.run(fireId, jobId),
    cronAdvance: (scheduleId: number, slot: number) => void cronAdvance.run(scheduleId, slot),

    // Retention: each call deletes at most `limit` rows and returns how many it deleted.
    pruneJobs: (before: number, limit: number) => pruneJobs.run(before, limit).changes,
    pruneFires: (before: number, limit: number) => pruneFires.run(before, limit).changes,
  };
}

function cronFromRaw(o: Record<string, unknown>): CronRow {
  return {
    id: o.id as number,
    name: o.name as string,
    cron: (o.cron as string | null) ?? null,
    tz: (o.tz as string | null) ?? null,
    everyMs: (o.every_ms as number | null) ?? null,
    kind: (o.kind as string) ?? "",
    payload: (o.payload as string) ?? "null",
    missed: o.missed as "skip" | "catch_up",
    lastSlot: (o.last_slot as number | null) ?? null,
    createdAt: o.created_at as number,
    updatedAt: (o.updated_at as number) ?? 0,
  };
}

export type QueueStore = ReturnType<typeof queueStore>;
