/**
 * Queue retention as a durable cron job: every hour (of the server clock, so
 * the fake clock drives it too) one `queue.prune` job per slot across
 * processes deletes finished jobs and cron fire records older than
 * queueRetentionDays, in bounded batches (QueueService.prune). Deleting is
 * idempotent, so at-least-once delivery and a second instance are harmless.
 */
import type { QueueService } from "./queue.service.ts";

export const PRUNE_JOB = "queue.prune";
export const PRUNE_EVERY_MS = 3_600_000;

export async function registerQueueJobs(s: { queue: QueueService }) {
  s.queue.register(PRUNE_JOB, (job) => s.queue.prune({ signal: job.signal }));
  await s.queue.schedule({ name: PRUNE_JOB, everyMs: PRUNE_EVERY_MS, kind: PRUNE_JOB, missed: "skip" });
}
