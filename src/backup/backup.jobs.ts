/**
 * Scheduled backups: a durable cron schedule (backupCron) fires one
 * `backup.scheduled` job per slot across processes; the handler writes an
 * archive into <data>/backups and keeps the newest `backupKeep`.
 *
 * The snapshot (VACUUM INTO) is synchronous, so when this process was started
 * as the gauntlet command (the compiled binary, or `bun src/main.ts`) the
 * handler runs `gauntlet backup` as a child process and the server's event
 * loop never stalls on a large database; elsewhere (tests) it runs in process.
 */
import { join } from "node:path";
import type { Services } from "../services.ts";
import { createBackup, defaultBackupName, pruneBackups } from "./backup.service.ts";

export const BACKUP_JOB = "backup.scheduled";

/** argv that starts this program again, or null when this process is not the gauntlet CLI. */
export function selfCommand(): string[] | null {
  const main = Bun.main;
  // A compiled executable's entry lives in Bun's embedded filesystem.
  if (main.startsWith("/$bunfs/") || main.startsWith("B:/~BUN/")) return [process.execPath];
  if (/[\\/]src[\\/]main\.ts$/.test(main)) return [process.execPath, main];
  return null;
}

export async function registerBackupJobs(s: Services, opts: { inProcess?: boolean } = {}) {
  const { config, log } = s;
  // A backup archive holds the SQLite file; a PostgreSQL store is backed up with the database's own tools.
  if (s.db.dialect === "postgres") {
    if (config.backupCron) log.warn("backupCron is ignored on PostgreSQL: back the database up with pg_dump, and copy <data>/blobs", { backupCron: config.backupCron });
    return;
  }
  const dir = join(config.dataDir, "backups");
  s.queue.register(BACKUP_JOB, async () => {
    // A real timestamp: a frozen fake clock would give every backup the same name.
    const file = join(dir, defaultBackupName(Date.now()));
    const self = opts.inProcess ? null : selfCommand();
    let bytes: number;
    if (self) {
      const p = Bun.spawn([...self, "backup", "--data", config.dataDir, "--to", file], { stdout: "pipe", stderr: "pipe", env: { ...process.env } });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      if (code !== 0) throw new Error(`gauntlet backup exited ${code}: ${(err || out).trim().slice(0, 500)}`);
      bytes = Bun.file(file).size;
    } else {
      bytes = (await createBackup({ dataDir: config.dataDir, to: file })).bytes;
    }
    const pruned = pruneBackups(dir, config.backupKeep);
    log.info("scheduled backup written", { file, bytes, pruned, child: !!self });
    return { file, bytes, pruned };
  });
  if (config.backupCron) await s.queue.schedule({ name: "backup", cron: config.backupCron, kind: BACKUP_JOB, missed: "skip" });
}
