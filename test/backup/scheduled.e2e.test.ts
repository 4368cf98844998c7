/**
 * Scheduled backups in a real server: the cron schedule fires on the (fake)
 * server clock, the job runs `gauntlet backup` as a child process, and only
 * the newest backupKeep archives stay.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restoreBackup } from "../../src/backup/backup.service.ts";
import { command, httpClient, startServer, type ServerProc } from "../helpers/server.ts";
import { sqliteOnly } from "../../src/testing.ts";

describe.skipIf(sqliteOnly("backup and restore archive the SQLite file; a PostgreSQL store is backed up with pg_dump (gauntlet backup says so)"))("scheduled backups", () => {

const dir = mkdtempSync(join(tmpdir(), "gauntlet-sched-backup-"));
const out = mkdtempSync(join(tmpdir(), "gauntlet-sched-restore-"));
let srv: ServerProc | null = null;
afterAll(() => {
  srv?.cleanup();
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

const archives = () => (existsSync(join(dir, "backups")) ? readdirSync(join(dir, "backups")).filter((f) => f.endsWith(".tar.gz")).sort() : []);

test("backupCron fires durable jobs that write archives in a child process and keep backupKeep", async () => {
  const mk = Bun.spawnSync(command(["user", "create", "org", "--admin", "--password", "organiser backup pass", "--data", dir]), { env: { ...process.env, GAUNTLET_ENV: "test" } });
  expect(mk.exitCode).toBe(0);
  srv = await startServer({ dataDir: dir, args: ["--backup-cron", "0 3 * * *", "--backup-keep", "2", "--roles", "api,worker,cron"], env: { GAUNTLET_FAKE_CLOCK: "1" } });
  const org = httpClient(srv.url);
  expect((await org.json("POST", "/api/v1/auth/login", { username: "org", password: "organiser backup pass" })).status).toBe(200);
  expect(archives()).toEqual([]);
  for (let day = 1; day <= 3; day++) {
    const before = srv.logs.filter((l) => l.includes("scheduled backup written")).length;
    expect((await org.json("POST", "/api/v1/admin/clock", { advanceMs: 24 * 3_600_000 })).status).toBe(200);
    for (let i = 0; i < 200 && srv.logs.filter((l) => l.includes("scheduled backup written")).length === before; i++) await Bun.sleep(50);
    expect(srv.logs.filter((l) => l.includes("scheduled backup written")).length).toBe(before + 1);
    expect(archives().length).toBe(Math.min(day, 2));
  }
  const line = JSON.parse(srv.logs.findLast((l) => l.includes("scheduled backup written"))!);
  expect(line.child).toBe(true);
  const r = await restoreBackup({ file: join(dir, "backups", archives().at(-1)!), dataDir: join(out, "r") });
  expect(r.tables.users).toBe(1);
  expect(await srv.stop()).toBe(0);
  srv = null;
}, 60_000);
});
