/**
 * CPU cost of one hunt answer through the whole app, in process: the Hono
 * middleware chain, session check, hunt service, group-committed write
 * (synchronous=FULL, a real file) and the request's analytics row, without
 * sockets or a load generator sharing the cores. Far less noisy than
 * bench/hunt.ts on a shared 2-core box, so it is the one to compare changes
 * to the request path with, and to price request logging (analytics on/off,
 * alternated in the same run).
 *
 *   bun run bench/answer-cost.ts [--answers 40000] [--players 2000] [--wave 500] [--rounds 3]
 *
 * Players answer wrong in waves of `wave` concurrent requests (each wave is
 * one or a few group commits, as under load). Prints µs
 * answer of this process's CPU time (user + system, all threads) and answers/s
 * one core could serve at that cost.
 */
import { huntFixture } from "../src/hunt/hunt.fixture.ts";
import type { TestClient } from "../src/testing.ts";
import { numOpt } from "./lib/args.ts";

const ANSWERS = numOpt("answers", 40_000);
const PLAYERS = numOpt("players", 2000);
const WAVE = numOpt("wave", 500);
const ROUNDS = numOpt("rounds", 3);

async function setup(analytics: boolean) {
  const f = await huntFixture({ puzzles: 10, settings: { answersPerMinute: 1_000_000, answersPerMinutePerIp: null }, overrides: { analytics: String(analytics) } });
  f.start();
  // Accounts and sessions straight into the database: signing 2,000 players up would spend the run in argon2id.
  const players: TestClient[] = [];
  const b64 = (n: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString("base64url");
  const w = f.s.db.writer;
  const now = f.s.clock.now();
  w.transaction(() => {
    for (let i = 0; i < PLAYERS; i++) {
      const u = w.query("INSERT INTO users (username, username_key, password_hash, role, created_at) VALUES (?, ?, 'x', 'player', ?) RETURNING id").get(`bench${i}`, `bench${i}`, now) as { id: number };
      const id = b64(15);
      const secret = b64(32);
      w.query("INSERT INTO sessions (id, user_id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)").run(id, u.id, new Bun.CryptoHasher("sha256").update(secret).digest() as Buffer, now, now + 30 * 86_400_000);
      const c = f.client(`10.2.${i >> 8}.${i & 255}`);
      c.cookie = `gauntlet_session=${id}.${secret}`;
      players.push(c);
    }
  })();
  return { f, players };
}

async function run(analytics: boolean) {
  const { f, players } = await setup(analytics);
  let k = 0;
  const wave = async () => {
    const rs = await Promise.all(
      Array.from({ length: WAVE }, () => {
        // As a real client sends it: a Request built in process has no Content-Length, which would take the app's
        // slower streamed body-limit path (src/app.ts) that HTTP requests with a declared length never take.
        const body = JSON.stringify({ answer: `wrong ${k}` });
        const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "user-agent": "bench/1.0", referer: "http://localhost/play" };
        return players[k++ % PLAYERS].req("POST", "/api/v1/events/hunt/hunt/answer", body, headers);
      }),
    );
    for (const r of rs) {
      if (r.status !== 200) throw new Error(`answer: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    }
  };
  for (let i = 0; i < 4; i++) await wave(); // warm-up: JIT, caches, first attempts
  Bun.gc(true);
  // CPU time, not wall time: other work on a shared box stretches the wall clock far more than our CPU use.
  const c0 = process.cpuUsage();
  const waves = Math.ceil(ANSWERS / WAVE);
  for (let i = 0; i < waves; i++) await wave();
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / (waves * WAVE);
  await f.s.analytics.stop();
  f.s.cleanup();
  return us;
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const on: number[] = [];
const off: number[] = [];
// The first run of a process pays for JIT warm-up and page-cache misses: run one and throw it away.
if (!process.env.ONLY) await run(true);
for (let r = 0; r < ROUNDS; r++) {
  for (const a of process.env.ONLY ? [process.env.ONLY === "on"] : r % 2 ? [false, true] : [true, false]) {
    const us = await run(a);
    (a ? on : off).push(us);
    console.log(`round ${r + 1}, analytics ${a ? "on " : "off"}: ${us.toFixed(1)} µs/answer (${Math.round(1e6 / us)} answers/s on one core)`);
  }
}
if (!on.length || !off.length) process.exit(0);
const mOn = med(on);
const mOff = med(off);
// Each round runs both back to back, so the box's drift cancels best within a round: the median of the rounds' shares.
const shares = on.map((u, i) => (u - off[i]) / u);
console.log(
  `median: ${mOn.toFixed(1)} µs/answer with request analytics, ${mOff.toFixed(1)} without; request logging costs ${(med(shares) * 100).toFixed(1)}% of answer throughput (median of ${shares.length} rounds: ${shares.map((x) => (x * 100).toFixed(1)).join(", ")})`,
);
