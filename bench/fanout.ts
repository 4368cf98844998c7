/**
 * Live fan-out on the compiled binary: C clients subscribed to one event
 * topic, P announcements a second (each stored, sequenced and pushed), plus
 * 50 clients that never read. Prints delivery latency p50/p99 (publish sent →
 * frame received), deliveries/s, server RSS per connection, and whether the
 * non-readers were dropped.
 *
 *   npm run build && ulimit -n 20000 && bun bench/fanout.ts [--clients 5000] [--rate 10] [--seconds 20] [--stalled 50]
 *
 * The fd limit must cover C + 50 sockets on both ends (same machine): raise
 * it with `ulimit -n` in the shell first (a process cannot raise its own hard limit).
 */
import { spawn, spawnSync } from "bun";
import { join } from "node:path";
import { startServer } from "../test/helpers/server.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const C = arg("clients", 5000);
const P = arg("rate", 10);
const SECONDS = arg("seconds", 20);
const STALLED = arg("stalled", 50);
const BODY = arg("body", 1000);

const ROOT = join(import.meta.dir, "..");
process.env.GAUNTLET_BIN ??= join(ROOT, "dist", "gauntlet");
const srv = await startServer();
const pid = srv.proc.pid;
const rssMb = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
};

// An event and an organiser.
const { Database } = require("bun:sqlite");
const db = new Database(join(srv.dataDir, "gauntlet.db"));
db.run("PRAGMA busy_timeout = 5000");
const eventId = (db.query("INSERT INTO events (slug, title, starts_at, ends_at, created_at) VALUES ('bench', 'Bench', 0, 1e13, 0) RETURNING id").get() as { id: number }).id;
db.close();
spawnSync([process.env.GAUNTLET_BIN!, "user", "create", "olga", "--admin", "--password", "organiser passphrase", "--data", srv.dataDir]);
const login = await fetch(srv.url + "/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "olga", password: "organiser passphrase" }) });
const cookie = `gauntlet_session=${/gauntlet_session=([^;]*)/.exec(login.headers.get("set-cookie") ?? "")![1]}`;
const topic = `event:${eventId}`;
const rssIdle = rssMb();

const latencies: number[] = [];
let deliveries = 0;
let measuring = false;
const clients: WebSocket[] = [];
const t0 = performance.now();
// Bun's native WebSocket, reading only the send time out of each frame: the 5,000
// clients share the server's two cores, so a full JSON.parse per frame (as
// test/helpers/live.ts does) would measure the client, not the server.
const KEY = '"body":"';
function benchClient(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(srv.url.replace(/^http/, "ws") + "/api/v1/live");
    ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", topic }));
    ws.onerror = reject;
    ws.onmessage = (ev) => {
      const text = ev.data as string;
      if (text.startsWith('{"type":"subscribed"')) return resolve(ws);
      if (!measuring) return;
      const i = text.indexOf(KEY);
      if (i < 0) return;
      deliveries++;
      latencies.push(Date.now() - parseInt(text.slice(i + KEY.length, i + KEY.length + 16), 10));
    };
  });
}
for (let i = 0; i < C; i += 250) clients.push(...(await Promise.all(Array.from({ length: Math.min(250, C - i) }, benchClient))));
console.log(`${C} clients connected and subscribed in ${Math.round(performance.now() - t0)} ms`);

const stalled = spawn(["python3", join(import.meta.dir, "non-reader.py"), "127.0.0.1", String(srv.port), topic, String(STALLED)], { stdout: "pipe", stderr: "inherit" });
const rd = (stalled.stdout as ReadableStream<Uint8Array>).getReader();
for (let out = ""; !out.includes("ready"); ) out += new TextDecoder().decode((await rd.read()).value);
// Counted from the server's side: a server that let go of a non-reader still has its
// FIN queued behind megabytes the client never read, so the client's socket looks open forever.
const stalledPorts = new Set<string>();
{
  const r = spawnSync(["ss", "-tnpH", "state", "established", `( dport = :${srv.port} )`]);
  for (const l of String(r.stdout).split("\n")) if (l.includes(`pid=${stalled.pid},`)) stalledPorts.add(l.trim().split(/\s+/)[2].split(":").at(-1)!);
}
const stalledOpen = () => {
  const r = spawnSync(["ss", "-tnH", "state", "established", `( sport = :${srv.port} )`]);
  return String(r.stdout).split("\n").filter((l) => l.trim() && stalledPorts.has(l.trim().split(/\s+/)[3].split(":").at(-1)!)).length;
};
console.log(`${STALLED} non-reading clients subscribed (${stalledOpen()} open)`);
const rssConnected = rssMb();

// Announcement bodies carry the send time; the body is padded so the non-readers' buffers fill in seconds.
const pad = "x".repeat(Math.max(0, BODY - 40));
measuring = true;
const start = performance.now();
let sent = 0;
let publishErrors = 0;
const tick = setInterval(() => {
  sent++;
  fetch(`${srv.url}/api/v1/events/${eventId}/announcements`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json" },
    body: JSON.stringify({ body: `${Date.now()} ${pad}` }),
  }).then((r) => r.status !== 201 && publishErrors++, () => publishErrors++);
}, 1000 / P);
let stalledAtEnd = STALLED;
await Bun.sleep(SECONDS * 1000);
clearInterval(tick);
await Bun.sleep(1000);
measuring = false;
stalledAtEnd = stalledOpen();
const elapsed = (performance.now() - start) / 1000;
const rssEnd = rssMb();

latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
const lost = sent * C - deliveries;
console.log(
  JSON.stringify(
    {
      clients: C,
      publishesPerSec: P,
      seconds: SECONDS,
      published: sent,
      publishErrors,
      deliveries,
      missing: lost,
      deliveriesPerSec: Math.round(deliveries / elapsed),
      p50ms: pct(50),
      p99ms: pct(99),
      maxMs: latencies.at(-1),
      serverRssMb: { idle: Math.round(rssIdle), connected: Math.round(rssConnected), end: Math.round(rssEnd) },
      rssPerConnectionKb: Math.round(((rssConnected - rssIdle) * 1024) / (C + STALLED)),
      nonReadersStillOpen: `${stalledAtEnd} of ${STALLED}`,
    },
    null,
    2,
  ),
);
stalled.kill("SIGKILL");
for (const c of clients) c.close();
await srv.stop();
srv.cleanup();
process.exit(0);
