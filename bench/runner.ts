/**
 * Runner benchmark: hello world per language, cold pool (every sandbox
 * started on demand) and warm pool, p50/p99 from the call to the verdict,
 * in process (s.runner.run) and over HTTP on a real server (the compiled
 * binary when GAUNTLET_BIN is set); then Python runs/s at full load.
 *
 *   bun bench/runner.ts [--n 40] [--load-sec 5]
 *   GAUNTLET_BIN=dist/gauntlet bun bench/runner.ts
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createLogger } from "../src/lib/log.ts";
import { languages } from "../src/runner/languages.ts";
import { runnerService } from "../src/runner/runner.service.ts";
import { httpClient, startServer } from "../test/helpers/server.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg("n", 40);
const LOAD_SEC = arg("load-sec", 5);
const cacheDir = "/var/cache/gauntlet-runner";
const log = createLogger("warn");
const HELLO = Object.fromEntries(languages().map((l) => [l.id, l.hello]));
const LANGS = Object.keys(HELLO);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};
const fmt = (xs: number[]) => `p50 ${pct(xs, 0.5).toFixed(1)} ms, p99 ${pct(xs, 0.99).toFixed(1)} ms (n=${xs.length})`;
const rows: string[] = [];
const report = (line: string) => {
  console.log(line);
  rows.push(line);
};

async function timed(fn: () => Promise<{ status: string }>, n: number, pause = 0) {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fn();
    xs.push(performance.now() - t);
    if (r.status !== "OK") throw new Error(`unexpected status ${r.status}`);
    if (pause) await Bun.sleep(pause);
  }
  return xs;
}

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
report(`host: ${availableParallelism()} cores, ${process.arch}, bun ${Bun.version}; load average ${load()}`);

// Warm pool, in process. A short pause lets the pool refill between calls
// (the warm latency; sustained load is measured separately below).
{
  const r = runnerService({ config: { dataDir: "/nonexistent" } as never, log }, { cacheDir });
  await r.start();
  await r.run({ language: "cpp", source: HELLO.cpp }); // waits for the precompiled header
  await Bun.sleep(1000);
  for (const l of LANGS) {
    const xs = await timed(() => r.run({ language: l, source: HELLO[l] }), l === "cpp" ? Math.min(N, 15) : N, 60);
    report(`in-process warm  ${l.padEnd(10)} ${fmt(xs)}`);
  }
  report(`sandbox: ${JSON.stringify(r.health().sandbox)}`);

  // Sustained Python load: 2 callers per slot, for LOAD_SEC seconds.
  let done = 0;
  const lat: number[] = [];
  const end = performance.now() + LOAD_SEC * 1000;
  await Promise.all(
    Array.from({ length: r.slots * 2 }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const x = await r.run({ language: "python3", source: HELLO.python3 });
        if (x.status !== "OK") throw new Error(`load: ${x.status}`);
        lat.push(performance.now() - t);
        done++;
      }
    }),
  );
  report(`in-process load   python3    ${(done / LOAD_SEC).toFixed(1)} runs/s over ${LOAD_SEC}s with ${r.slots * 2} callers; latency ${fmt(lat)}`);
  report(`pool after load: ${JSON.stringify(r.health().stats)}`);
  await r.stop();
}

// Cold: no warm sandboxes, every run starts bwrap and the interpreter.
{
  const r = runnerService({ config: { dataDir: "/nonexistent" } as never, log }, { cacheDir, warm: { python3: 0, javascript: 0, typescript: 0, "compile:c": 0, "compile:cpp": 0, binary: 0 } });
  await r.start();
  for (const l of LANGS) {
    const xs = await timed(() => r.run({ language: l, source: HELLO[l] }), Math.min(N, l === "cpp" ? 10 : 20));
    report(`in-process cold  ${l.padEnd(10)} ${fmt(xs)}`);
  }
  await r.stop();
}

// Over HTTP on a real server process.
{
  const srv = await startServer({ timeoutMs: 60_000 });
  try {
    report(`http server: ${process.env.GAUNTLET_BIN ? `compiled binary ${process.env.GAUNTLET_BIN}` : "bun run src/main.ts"}`);
    await Bun.sleep(2000);
    // 30 runs per user per minute: spread the calls over several users (and client addresses for signup).
    let users = 0;
    const newUser = async () => {
      const c = httpClient(srv.url);
      const u = ++users;
      const r = await c.json("POST", "/api/v1/auth/signup", { username: `bench${u}`, password: "a strong passphrase" }, { "x-forwarded-for": `10.9.${u >> 8}.${u & 255}` });
      if (r.status !== 201) throw new Error(`signup: ${r.status}`);
      return c;
    };
    for (const l of LANGS) {
      const xs: number[] = [];
      const total = l === "cpp" ? Math.min(N, 15) : N;
      let c = await newUser();
      for (let i = 0; i < total; i++) {
        if (i > 0 && i % 25 === 0) c = await newUser();
        const t = performance.now();
        const r = await c.json("POST", "/api/v1/run", { language: l, source: HELLO[l] });
        xs.push(performance.now() - t);
        if (r.status !== 200 || r.body.status !== "OK") throw new Error(`http ${l}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        await Bun.sleep(60);
      }
      report(`http warm        ${l.padEnd(10)} ${fmt(xs)}`);
    }
  } finally {
    await srv.stop();
    srv.cleanup();
  }
}

report(`load average at the end: ${load()}`);
console.log("\n" + rows.join("\n"));
