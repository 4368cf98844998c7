/**
 * Hunt benchmark against the compiled binary (npm run build → dist/gauntlet).
 *
 *   bun run bench/hunt.ts [--players 2000] [--seconds 10] [--ranked 50000] [--right 0.05]
 *
 * 1. Seeds the database file directly (no HTTP): `ranked` players with
 *    ledger-backed points, plus `players` bench players with sessions, and an
 *    event whose rate limits are raised for the run (answersPerMinute 1e6,
 *    answersPerMinutePerIp null: every simulated player shares 127.0.0.1).
 * 2. Starts `dist/gauntlet serve` on that data dir (log level warn).
 * 3. `players` closed-loop clients on keep-alive connections submit answers
 *    (mostly wrong, a fraction right, following `next`), then GET leaderboard
 *    (top 100 + own rank) among the ranked players. GET /healthz on the same
 *    server is measured as the peer: the floor any endpoint pays here.
 * 4. Prints answers/s, p50/p99, leaderboard p50/p99, and runs check-ledger.
 */
import { Database } from "bun:sqlite";
import { spawn } from "bun";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const PLAYERS = opt("players", 2000);
const SECONDS = opt("seconds", 10);
const RANKED = opt("ranked", 50_000);
const RIGHT = opt("right", 0.05);
const LB_REQUESTS = opt("lb-requests", 2000);
const LB_CONCURRENCY = opt("lb-concurrency", 8);

const ROOT = join(import.meta.dir, "..");
const BIN = process.env.GAUNTLET_BIN ?? join(ROOT, "dist", "gauntlet");
if (!existsSync(BIN)) {
  console.error(`no binary at ${BIN}: run npm run build first`);
  process.exit(2);
}
const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-bench-hunt-"));
const PUZZLES = 10;
const answer = (i: number) => `answer${i}`;

// 1. Migrate with the binary, then seed straight into the file.
{
  const m = spawn([BIN, "migrate", "--data", dataDir], { stdout: "pipe", stderr: "inherit" });
  if ((await m.exited) !== 0) throw new Error("migrate failed");
}
const now = Date.now();
const cookies: string[] = [];
const b64 = (n: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString("base64url");
{
  const db = new Database(join(dataDir, "gauntlet.db"));
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL"); // seeding only; the server runs FULL
  const t0 = performance.now();
  db.transaction(() => {
    const ev = db
      .query(
        `INSERT INTO events (slug, title, starts_at, ends_at, preset, settings, registration, is_default, created_at)
         VALUES ('bench', 'Bench hunt', ?, ?, 'default', ?, 'open', 0, ?) RETURNING id`,
      )
      .get(now - 3_600_000, now + 86_400_000, JSON.stringify({ answersPerMinute: 1_000_000, answersPerMinutePerIp: null }), now) as { id: number };
    for (let i = 1; i <= PUZZLES; i++) {
      db.query("INSERT INTO puzzles (event_id, position, title, body, story, answers, close_answers, hints, created_at) VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?)").run(
        ev.id,
        i,
        `Puzzle ${i}`,
        `Body ${i}`,
        `Story ${i}`,
        JSON.stringify([answer(i)]),
        JSON.stringify([{ text: `hint ${i}` }]),
        now,
      );
    }
    const user = db.query("INSERT INTO users (username, username_key, password_hash, role, created_at) VALUES (?, ?, 'x', 'player', ?) RETURNING id");
    const hp = db.query("INSERT INTO hunt_players (event_id, player_id, joined_at, first_attempt_at, points, points_at) VALUES (?, ?, ?, ?, ?, ?)");
    const led = db.query("INSERT INTO ledger (event_id, player_id, kind, amount, currency, at, reason, idempotency_key) VALUES (?, ?, 'adjust', ?, 'points', ?, 'bench seed', ?)");
    for (let i = 0; i < RANKED; i++) {
      const u = user.get(`ranked${i}`, `ranked${i}`, now) as { id: number };
      const points = Math.floor(Math.random() * 1000);
      const at = now - 3_600_000 + Math.floor(Math.random() * 3_000_000);
      hp.run(ev.id, u.id, at, at, points, points ? at : 0);
      if (points) led.run(ev.id, u.id, points, at, `bench:${u.id}`);
    }
    db.run("INSERT INTO hunt_score_buckets (event_id, points, players, listed) SELECT event_id, points, count(*), sum(first_attempt_at IS NOT NULL) FROM hunt_players GROUP BY event_id, points");
    const sess = db.query("INSERT INTO sessions (id, user_id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)");
    for (let i = 0; i < PLAYERS; i++) {
      const u = user.get(`bench${i}`, `bench${i}`, now) as { id: number };
      const id = b64(15);
      const secret = b64(32);
      sess.run(id, u.id, new Bun.CryptoHasher("sha256").update(secret).digest() as Buffer, now, now + 30 * 86_400_000);
      cookies.push(`gauntlet_session=${id}.${secret}`);
    }
  })();
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  console.log(`seeded ${RANKED} ranked players and ${PLAYERS} bench players in ${Math.round(performance.now() - t0)} ms`);
}

const { loadavg } = await import("node:os");
console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}; players ${PLAYERS}, ${SECONDS} s, ranked ${RANKED}`);

// 2. Start the server.
const port = 20000 + Math.floor(Math.random() * 20000);
const server = spawn([BIN, "serve", "--data", dataDir, "--port", String(port), "--host", "127.0.0.1", "--log-level", "warn", "--roles", "api,worker,cron"], {
  stdout: "inherit",
  stderr: "inherit",
  env: { ...process.env, GAUNTLET_ENV: "production" },
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {}
  if (i > 200) throw new Error("server did not start");
  await Bun.sleep(50);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const fmt = (n: number) => n.toFixed(2);

async function closedLoop(clients: number, seconds: number, one: (i: number) => Promise<number>) {
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  let errors = 0;
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      while (performance.now() < end) {
        const t = performance.now();
        const status = await one(i).catch(() => -1);
        lat.push(performance.now() - t);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status !== 200) errors++;
      }
    }),
  );
  return { n: lat.length, rate: lat.length / seconds, p50: pct(lat, 50), p99: pct(lat, 99), errors, statuses: Object.fromEntries(statuses) };
}

try {
  // Peer: the trivial endpoint on the same server and connections.
  const peer = await closedLoop(Math.min(PLAYERS, 256), 3, () => fetch(`${base}/healthz`).then(async (r) => (await r.arrayBuffer(), r.status)));
  console.log(`healthz (peer, 256 clients): ${Math.round(peer.rate)} req/s, p50 ${fmt(peer.p50)} ms, p99 ${fmt(peer.p99)} ms`);

  // 3. Answers.
  const current = new Array<number>(PLAYERS).fill(1);
  let right = 0;
  const ans = await closedLoop(PLAYERS, SECONDS, async (i) => {
    const good = current[i] <= PUZZLES && Math.random() < RIGHT;
    const body = JSON.stringify({ answer: good ? answer(current[i]) : `wrong ${Math.random()}` });
    const r = await fetch(`${base}/api/v1/events/bench/hunt/answer`, { method: "POST", headers: { cookie: cookies[i], "content-type": "application/json" }, body, keepalive: true });
    const j = (await r.json()) as { outcome?: string; next?: { number: number } | null };
    if (j.outcome === "correct") {
      right++;
      current[i] = j.next ? j.next.number : PUZZLES + 1;
    }
    return r.status === 409 ? 200 : r.status; // finished players get already_solved: still a served answer
  });
  console.log(`answers (${PLAYERS} players, ${SECONDS} s): ${Math.round(ans.rate)} answers/s, p50 ${fmt(ans.p50)} ms, p99 ${fmt(ans.p99)} ms, correct ${right}, statuses ${JSON.stringify(ans.statuses)}`);

  // 4. Leaderboard among RANKED + PLAYERS players: top 100 plus own rank.
  const lbLat: number[] = [];
  let k = 0;
  await Promise.all(
    Array.from({ length: LB_CONCURRENCY }, async () => {
      while (k < LB_REQUESTS) {
        const i = k++ % PLAYERS;
        const t = performance.now();
        const r = await fetch(`${base}/api/v1/events/bench/leaderboard?limit=100`, { headers: { cookie: cookies[i] } });
        const j = (await r.json()) as { ranks: unknown[]; me: { rank: number } | null; total: number };
        lbLat.push(performance.now() - t);
        if (r.status !== 200 || j.ranks.length !== 100 || !j.me) throw new Error(`bad leaderboard: ${r.status}`);
      }
    }),
  );
  const lbTotal = ((await (await fetch(`${base}/api/v1/events/bench/leaderboard?limit=1`)).json()) as { total: number }).total;
  console.log(`leaderboard (${lbTotal} ranked, top 100 + own rank, ${LB_CONCURRENCY} clients): p50 ${fmt(pct(lbLat, 50))} ms, p99 ${fmt(pct(lbLat, 99))} ms, ${Math.round(LB_REQUESTS / (lbLat.reduce((a, b) => a + b, 0) / LB_CONCURRENCY / 1000))} req/s`);
} finally {
  server.kill("SIGTERM");
  await server.exited;
  const c = spawn([BIN, "check-ledger", "--data", dataDir], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(c.stdout).text();
  console.log(`check-ledger: exit ${await c.exited}: ${out.trim()}`);
  if (process.env.KEEP) console.log(`kept ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}
