/**
 * Scheduled backups: a durable cron schedule (backupCron) fires one
 * `backup.scheduled` job per slot across processes; the handler writes an
 * archive into <data>/backups and keeps the newest `backupKeep`.
 *
 * VACUUM INTO runs synchronously in the worker process, so a very large
 * database pauses that process's event loop for the snapshot's duration;
 * run the worker role apart from the api role if that matters.
 */
import { join } from "node:path";
import type { Services } from "../services.ts";
import { createBackup, defaultBackupName, pruneBackups } from "./backup.service.ts";

export const BACKUP_JOB = "backup.scheduled";

export async function registerBackupJobs(s: Services) {
  const { config, log } = s;
  const dir = join(config.dataDir, "backups");
  s.queue.register(BACKUP_JOB, async () => {
    // A real timestamp: a frozen fake clock would give every backup the same name.
    const r = await createBackup({ dataDir: config.dataDir, to: join(dir, defaultBackupName(Date.now())) });
    const pruned = pruneBackups(dir, config.backupKeep);
    log.info("scheduled backup written", { file: r.file, bytes: r.bytes, ms: r.ms, pruned });
    return { file: r.file, bytes: r.bytes, pruned };
  });
  if (config.backupCron) await s.queue.schedule({ name: "backup", cron: config.backupCron, kind: BACKUP_JOB, missed: "skip" });
}
