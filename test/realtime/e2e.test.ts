/**
 * Real server processes: two instances sharing one database file and one
 * Redis, and a kill -9 with 2,000 clients connected. Runs the compiled
 * binary when GAUNTLET_BIN is set.
 */
import { afterAll, expect, test } from "bun:test";
import { REDIS, redisUp } from "../helpers/redis.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { liveClient, type LiveClient } from "../helpers/live.ts";
import { openDataDb, startServer, type ServerProc } from "../helpers/server.ts";

const procs: ServerProc[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const p of procs) p.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});


/** Publishes through the organiser API: an announcement is stored and pushed on event:<id>. */
async function announce(base: string, cookie: string, eventId: number, body: string) {
  const r = await fetch(`${base}/api/v1/events/${eventId}/announcements`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: JSON.stringify({ body }) });
  if (r.status !== 201) throw new Error(`announce ${r.status} ${await r.text()}`);
}

async function organiserCookie(base: string, dataDir: string) {
  const { command } = await import("../helpers/server.ts");
  const p = Bun.spawnSync(command(["user", "create", "olga", "--admin", "--password", "organiser passphrase", "--data", dataDir]), { env: { ...process.env, GAUNTLET_ENV: "test" } });
  if (p.exitCode !== 0 && !String(p.stderr).includes("taken")) throw new Error(String(p.stderr));
  const r = await fetch(base + "/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "olga", password: "organiser passphrase" }) });
  const m = /gauntlet_session=([^;]*)/.exec(r.headers.get("set-cookie") ?? "");
  if (!m) throw new Error(`login ${r.status}`);
  return `gauntlet_session=${m[1]}`;
}

function createEvent(dataDir: string): number {
  const { Database } = require("bun:sqlite");
  const db = openDataDb(dataDir);
  db.run("PRAGMA busy_timeout = 5000");
  const row = db.query("INSERT INTO events (slug, title, starts_at, ends_at, created_at) VALUES ('e2e', 'E2E', 0, 1e13, 0) RETURNING id").get() as { id: number };
  db.close();
  return row.id;
}

test("two server processes sharing one Redis and one database: a publish on one reaches clients of the other, in sequence", async () => {
  if (!(await redisUp())) {
    console.log("SKIP: Redis on 127.0.0.1:6379 is unreachable");
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-rt-"));
  dirs.push(dataDir);
  const env = { GAUNTLET_REDIS_URL: REDIS };
  const a = await startServer({ dataDir, env });
  procs.push(a);
  const b = await startServer({ dataDir, env });
  procs.push(b);
  const eventId = createEvent(dataDir);
  const cookie = await organiserCookie(a.url, dataDir);
  const topic = `event:${eventId}`;
  const onA = await liveClient(a.url, { autoReconnect: false });
  const onB = await liveClient(b.url, { autoReconnect: false });
  await onA.subscribe(topic);
  await onB.subscribe(topic);
  // Alternate the publishing instance: sequence numbers come from the shared database, so they interleave without gaps.
  for (let i = 1; i <= 10; i++) await announce(i % 2 ? a.url : b.url, cookie, eventId, `n${i}`);
  for (const c of [onA, onB]) await c.waitFor(() => c.messages(topic).length === 10);
  for (const c of [onA, onB]) {
    expect(c.messages(topic).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(c.messages(topic).map((m) => m.data.announcement.body)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => `n${i}`));
  }
  onA.close();
  onB.close();
  await a.stop();
  await b.stop();
}, 60_000);

const N = Number(process.env.RT_KILL_CLIENTS ?? 2000);

test(`kill -9 with ${N} clients connected: after restart all reconnect with jitter and resume without gaps`, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-rt-"));
  dirs.push(dataDir);
  let srv = await startServer({ dataDir });
  procs.push(srv);
  const port = srv.port;
  const eventId = createEvent(dataDir);
  const cookie = await organiserCookie(srv.url, dataDir);
  const topic = `event:${eventId}`;
  const clients: LiveClient[] = [];
  for (let i = 0; i < N; i += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, N - i) }, () => liveClient(srv.url, { maxBackoffMs: 3000 })));
    await Promise.all(batch.map((c) => c.subscribe(topic)));
    clients.push(...batch);
  }
  for (let i = 1; i <= 3; i++) await announce(srv.url, cookie, eventId, `before${i}`);
  await Promise.all(clients.map((c) => c.waitFor(() => c.messages(topic).length === 3, 20_000)));

  await srv.kill();
  srv = await startServer({ dataDir, port });
  procs.push(srv);
  // Published while most clients are still waiting out their jitter.
  for (let i = 4; i <= 6; i++) await announce(srv.url, cookie, eventId, `after${i}`);
  await Promise.all(clients.map((c) => c.waitFor(() => c.messages(topic).length === 6, 30_000)));
  const want = [1, 2, 3, 4, 5, 6];
  let bad = 0;
  for (const c of clients) {
    if (JSON.stringify(c.messages(topic).map((m) => m.seq)) !== JSON.stringify(want)) bad++;
  }
  expect(bad).toBe(0);
  expect(clients.every((c) => c.stats.reconnects >= 1)).toBe(true);
  expect(clients.reduce((n, c) => n + c.stats.duplicates, 0)).toBe(0);
  for (const c of clients) c.close();
  await srv.stop();
}, 120_000);

test("graceful shutdown tells every client to reconnect after a random delay, then closes with 1012", async () => {
  const srv = await startServer();
  procs.push(srv);
  const clients = await Promise.all(Array.from({ length: 20 }, () => liveClient(srv.url, { autoReconnect: false })));
  await Promise.all(clients.map((c) => c.subscribe("event:1")));
  expect(await srv.stop()).toBe(0);
  await Promise.all(clients.map((c) => c.waitFor(() => c.stats.closes.length === 1)));
  const delays = clients.map((c) => c.control.find((m) => m.type === "reconnect")?.afterMs);
  for (const d of delays) {
    expect(d).toBeNumber();
    expect(d).toBeGreaterThanOrEqual(250);
    expect(d).toBeLessThanOrEqual(5250);
  }
  // Jitter: not everyone comes back at once.
  expect(new Set(delays).size).toBeGreaterThan(10);
  expect(clients.every((c) => c.stats.closes[0].code === 1012)).toBe(true);
}, 30_000);
