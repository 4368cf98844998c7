/**
 * A backup taken with `gauntlet backup` while a real server serves traffic
 * and the database takes ~200 committed writes per second restores (with
 * `gauntlet restore`) to a database that passes integrity_check and holds
 * every write acknowledged before the backup started.
 *
 * The writes come from a second connection in this process (each its own
 * synchronous=FULL commit, acknowledged when COMMIT returns): signups would
 * be too slow (argon2), and the server keeps writing its own request rows
 * meanwhile, so two processes write concurrently with the snapshot.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, startServer, type ServerProc } from "../helpers/server.ts";
import { sqliteOnly } from "../../src/testing.ts";

describe.skipIf(sqliteOnly("backup and restore archive the SQLite file; a PostgreSQL store is backed up with pg_dump (gauntlet backup says so)"))("backup under load", () => {

const procs: ServerProc[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const p of procs) p.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function run(args: string[]) {
  const p = Bun.spawn(command(args), { stdout: "pipe", stderr: "pipe", env: { ...process.env, GAUNTLET_ENV: "test" } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { out, err, code };
}

test("backup under write load restores every write acknowledged before it started", async () => {
  const srv = await startServer();
  procs.push(srv);
  const work = mkdtempSync(join(tmpdir(), "gauntlet-bk-e2e-"));
  dirs.push(work);

  const conn = new Database(join(srv.dataDir, "gauntlet.db"));
  conn.run("PRAGMA busy_timeout = 10000");
  conn.run("PRAGMA synchronous = FULL");
  const insert = conn.prepare("INSERT INTO kv (key, value) VALUES (?, ?)");
  const acked: string[] = [];
  let running = true;
  const started = performance.now();
  // 200 writes/s, each its own transaction: 10 every 50 ms, catching up if a tick ran late.
  const writer = (async () => {
    let n = 0;
    while (running) {
      const due = Math.floor(((performance.now() - started) / 1000) * 200);
      while (n < due) {
        const key = `load-${n++}`;
        insert.run(key, "v".repeat(64));
        acked.push(key);
      }
      await Bun.sleep(10);
    }
  })();
  // And HTTP traffic, so the server commits its own batches at the same time.
  let answered = 0;
  const http = (async () => {
    while (running) {
      const rs = await Promise.all(Array.from({ length: 4 }, () => fetch(srv.url + "/api/v1/me").then((r) => r.status)));
      answered += rs.filter((s) => s === 401).length;
    }
  })();

  await Bun.sleep(1500);
  const ackedBefore = acked.length;
  const archive = join(work, "mid-load.tar.gz");
  const backupStart = performance.now();
  const b = await run(["backup", "--data", srv.dataDir, "--to", archive]);
  const backupMs = performance.now() - backupStart;
  await Bun.sleep(500);
  running = false;
  await Promise.all([writer, http]);
  const elapsed = (performance.now() - started) / 1000;
  conn.close();
  const rate = acked.length / elapsed;
  console.log(`writes: ${acked.length} in ${elapsed.toFixed(2)} s (${rate.toFixed(0)}/s); ${ackedBefore} acknowledged before the backup; backup took ${backupMs.toFixed(0)} ms; http answered ${answered}`);
  expect(b.code, b.err).toBe(0);
  expect(rate).toBeGreaterThan(150);
  expect(acked.length).toBeGreaterThan(ackedBefore); // writes really continued during the backup
  expect(answered).toBeGreaterThan(50);

  const restored = join(work, "restored");
  const r = await run(["restore", archive, "--data", restored]);
  expect(r.code, r.err).toBe(0);
  expect(r.out).toContain("integrity_check ok");

  const db = new Database(join(restored, "gauntlet.db"), { readonly: true });
  expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  const have = new Set((db.query("SELECT key FROM kv WHERE key LIKE 'load-%'").all() as { key: string }[]).map((x) => x.key));
  const missing = acked.slice(0, ackedBefore).filter((k) => !have.has(k));
  expect(missing).toEqual([]);
  // Only acknowledged writes can be there: nothing invented, nothing torn.
  for (const k of have) expect(acked).toContain(k);
  // The server's own concurrent writes (request analytics) made it into the snapshot too.
  expect((db.query("SELECT COUNT(*) AS n FROM request_log").get() as { n: number }).n).toBeGreaterThan(0);
  db.close();

  // The restored folder is a working data dir.
  const again = await startServer({ dataDir: restored });
  procs.push(again);
  expect((await fetch(again.url + "/readyz")).status).toBe(200);
  await again.stop();

  // A second restore into the now non-empty folder is refused.
  const refused = await run(["restore", archive, "--data", restored]);
  expect(refused.code).toBe(1);
  expect(refused.err).toContain("not empty");
}, 60_000);
});
