/**
 * The `backup` and `restore` commands, spread into main.ts's COMMANDS table.
 * Each returns an exit code: 0 done, 1 failed, 2 bad usage.
 */
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { createBackup, defaultBackupName, restoreBackup, RestoreError, terminalProgress } from "./backup.service.ts";

type Flags = Record<string, string | boolean>;

export const BACKUP_COMMANDS = {
  backup: {
    usage: "gauntlet backup [--to FILE] [--data DIR]",
    summary: "Online consistent snapshot of the database (VACUUM INTO) and blobs into one .tar.gz; safe while serving.",
    own: { to: "archive to write (default <data>/backups/gauntlet-<UTC time>.tar.gz)" },
    async run(p: { flags: Flags }, cfgFlags: Flags) {
      const config = loadConfig({ flags: cfgFlags });
      if (config.databaseUrl) {
        console.error("error: backup covers the embedded SQLite store; with databaseUrl (PostgreSQL) use pg_dump, and copy <data>/blobs");
        return 2;
      }
      if (p.flags.to === true) {
        console.error("error: --to needs a file name");
        return 2;
      }
      const to = typeof p.flags.to === "string" ? p.flags.to : join(config.dataDir, "backups", defaultBackupName(Date.now()));
      try {
        const r = await createBackup({ dataDir: config.dataDir, to, progress: terminalProgress() });
        console.log(`backup written: ${r.file} (${r.bytes} bytes; database ${r.dbBytes} bytes, ${r.blobs} blob(s); ${r.ms} ms)`);
        return 0;
      } catch (e) {
        console.error(`error: backup failed: ${(e as Error).message}`);
        return 1;
      }
    },
  },
  restore: {
    usage: "gauntlet restore FILE --data DIR",
    summary: "Restore a backup archive into an empty data directory, verifying checksums and PRAGMA integrity_check.",
    async run(p: { positionals: string[] }, cfgFlags: Flags) {
      const file = p.positionals[1];
      if (!file || p.positionals.length > 2) {
        console.error("error: usage: gauntlet restore FILE --data DIR");
        return 2;
      }
      const config = loadConfig({ flags: cfgFlags, noFile: true });
      try {
        const r = await restoreBackup({ file, dataDir: config.dataDir, progress: terminalProgress() });
        const rows = Object.entries(r.tables)
          .filter(([t]) => !t.startsWith("_"))
          .map(([t, n]) => `${t}=${n}`)
          .join(" ");
        console.log(`restored ${file} (made ${r.manifest.createdAt} by gauntlet ${r.manifest.gauntlet}) into ${r.dataDir}: integrity_check ok; ${r.blobs} blob(s); ${rows}`);
        return 0;
      } catch (e) {
        console.error(`error: ${e instanceof RestoreError ? e.message : `restore failed: ${(e as Error).message}`}`);
        return 1;
      }
    },
  },
};
