/**
 * Arena benchmark: N concurrent duels (default 200) on a real server (the
 * compiled binary when GAUNTLET_BIN is set), 2N scripted players over real
 * websockets. Every player joins the public duel queue at once; when its
 * match starts, one side submits an accepted Python solution and the other a
 * wrong one.
 *
 * Prints:
 *   - match-start latency: queue join → `match.found` on the player's
 *     `user:` topic (matchmaking + commit + fan-out), and → `started` minus
 *     the countdown (the timer job firing on time);
 *   - verdict latency: POST submission → final `verdict` on `user:` (queue,
 *     sandbox runs of every test, commit, fan-out), p50/p99;
 *   - the peer, measured in the same run: the same Python solution run once
 *     directly in the sandbox (s.runner.run in this process), and the ratio.
 *
 *   bun bench/arena.ts [--duels 200] [--tests 3]
 *   GAUNTLET_BIN=dist/gauntlet bun bench/arena.ts
 */
import { availableParallelism, loadavg } from "node:os";
import { createLogger } from "../src/lib/log.ts";
import { runnerService } from "../src/runner/runner.service.ts";
import { liveClient, type LiveClient } from "../test/helpers/live.ts";
import { command, httpClient, startServer } from "../test/helpers/server.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const DUELS = arg("duels", 200);
const TESTS = arg("tests", 3);
const COUNTDOWN_SEC = 5;
const AC = "import sys\nprint(sum(map(int, sys.stdin.read().split())))\n";
const WA = "print(0)\n";
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};
const fmt = (xs: number[]) => `p50 ${pct(xs, 0.5).toFixed(1)} ms, p99 ${pct(xs, 0.99).toFixed(1)} ms (n=${xs.length})`;

console.log(`host: ${availableParallelism()} cores, load ${loadavg()[0].toFixed(1)}, bun ${Bun.version}, binary: ${process.env.GAUNTLET_BIN ?? "bun run src/main.ts"}`);
console.log(`${DUELS} duels, ${2 * DUELS} players, ${TESTS} hidden + 1 sample test(s) per submission`);

// Peer: the same solution run straight in the sandbox, one at a time.
const peer: number[] = [];
{
  const r = runnerService({ config: { dataDir: "/nonexistent" } as never, log: createLogger("warn") }, { cacheDir: "/var/cache/gauntlet-runner" });
  await r.start();
  await Bun.sleep(500);
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const out = await r.run({ language: "python3", source: AC, stdin: "1 2\n" });
    peer.push(performance.now() - t);
    if (out.status !== "OK") throw new Error(`peer run: ${out.status}`);
    await Bun.sleep(30);
  }
  await r.stop();
}

const dir = mkdtempSync(join(tmpdir(), "gauntlet-arena-bench-"));
const ORG_PASS = "organiser bench passphrase";
Bun.spawnSync(command(["user", "create", "org", "--admin", "--password", ORG_PASS, "--data", dir]), { env: { ...process.env, GAUNTLET_ENV: "test" } });
const srv = await startServer({ dataDir: dir, args: ["--signup-per-ip-per-hour", "1000000"], timeoutMs: 60_000 });
const sockets: LiveClient[] = [];
try {
  const org = httpClient(srv.url);
  await org.json("POST", "/api/v1/auth/login", { username: "org", password: ORG_PASS });
  const made = await org.json<any>("POST", "/api/v1/admin/problems", {
    title: "Bench Sum",
    difficulty: "easy",
    checker: "tokens",
    samples: [{ input: "1 2\n", answer: "3\n" }],
    tests: Array.from({ length: TESTS }, (_, i) => ({ input: `${i} ${i * 7}\n`, answer: `${i * 8}\n` })),
  });
  if (made.status !== 201) throw new Error(`problem: ${made.status} ${JSON.stringify(made.body)}`);

  // Players (setup, not measured): signup, one websocket each, subscribed to user:<id>.
  const t0 = performance.now();
  const players = await Promise.all(
    Array.from({ length: 2 * DUELS }, async (_, i) => {
      const http = httpClient(srv.url);
      const r = await http.json<any>("POST", "/api/v1/auth/signup", { username: `bench${i}`, password: "bench passphrase long" });
      if (r.status !== 201) throw new Error(`signup ${i}: ${r.status} ${JSON.stringify(r.body)}`);
      const id: number = r.body.user.id;
      const waiters: Array<{ prefix: string; type: string; resolve: (d: any) => void }> = [];
      const live = await liveClient(srv.url, {
        cookie: http.cookie,
        keep: false,
        onMessage: (m) => {
          for (const w of waiters.splice(0)) {
            if (w.type === m.data.type && m.topic.startsWith(w.prefix)) w.resolve(m.data);
            else waiters.push(w);
          }
        },
      });
      sockets.push(live);
      await live.subscribe(`user:${id}`);
      const next = (type: string, prefix = "user:") => new Promise<any>((resolve) => waiters.push({ prefix, type, resolve }));
      return { http, id, live, next };
    }),
  );
  console.log(`setup: ${players.length} players signed up and connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const found: number[] = [];
  const startLag: number[] = [];
  const verdict: number[] = [];
  const verdicts: Record<string, number> = {};
  const tRun = performance.now();
  await Promise.all(
    players.map(async (p, i) => {
      const gotFound = p.next("match.found");
      const t = performance.now();
      const q = await p.http.json<any>("POST", "/api/v1/arena/queue", { format: "duel", difficulty: "easy" });
      if (q.status !== 200) throw new Error(`queue: ${q.status} ${JSON.stringify(q.body)}`);
      const f = await gotFound;
      found.push(performance.now() - t);
      const matchId: number = f.matchId;
      // From seq 0: a `started` published before the subscription is replayed, never missed.
      const started = p.next("started", "match:");
      await p.live.subscribe(`match:${matchId}`, 0);
      await started;
      startLag.push(Math.max(0, Date.now() - f.startsAt));
      const gotVerdict = p.next("verdict");
      const ts = performance.now();
      const s = await p.http.json<any>("POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: f.side === 0 ? AC : WA });
      if (s.status !== 202) {
        // The opponent's AC can end the match first: that is a finished match, not a failure.
        verdicts[s.body?.error?.code ?? s.status] = (verdicts[s.body?.error?.code ?? s.status] ?? 0) + 1;
        return;
      }
      const v = await gotVerdict;
      verdict.push(performance.now() - ts);
      verdicts[v.submission.verdict] = (verdicts[v.submission.verdict] ?? 0) + 1;
      void i;
    }),
  );
  const wall = (performance.now() - tRun) / 1000;
  console.log(`\nmatch found (queue join → match.found): ${fmt(found)}`);
  console.log(`match start ("started" received − startsAt, i.e. after the ${COUNTDOWN_SEC} s countdown): ${fmt(startLag)}`);
  console.log(`verdict (POST → verdict, ${TESTS + 1} sandbox runs each): ${fmt(verdict)}`);
  console.log(`verdicts: ${JSON.stringify(verdicts)}; wall ${wall.toFixed(1)} s; load ${loadavg()[0].toFixed(1)}`);
  console.log(`peer (one direct sandbox run of the same solution, serial): ${fmt(peer)}`);
  console.log(`ratio verdict p50 / (peer p50 × ${TESTS + 1} runs): ${(pct(verdict, 0.5) / (pct(peer, 0.5) * (TESTS + 1))).toFixed(1)}x`);
} finally {
  for (const s of sockets) s.close();
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
}
