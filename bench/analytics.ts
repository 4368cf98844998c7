/**
 * Cost of request analytics: requests/s of a cheap API endpoint on a server
 * recording every request (analytics on, the default) against the same binary
 * with `--analytics false`, measured in the same run, rounds interleaved
 * (on, off, on, off, …) so drift on a shared box hits both alike.
 *
 *   npm run build && bun run bench/analytics.ts [--seconds 5] [--rounds 4] [--concurrency 32] [--bin dist/gauntlet]
 *
 * Both servers run `--log-level warn` (the JSON access log is a separate cost)
 * on their own data dir. The endpoint is GET /api/v1/me without a session
 * (401): routing, middleware, auth lookup, error mapping — the floor of an
 * API call, so the recorder's share is as large as it can be. Afterwards the
 * recording server's request_log must hold every answered request. Also
 * prints the server's CPU time per answer (/proc/PID/stat), which other jobs
 * on a shared box disturb far less than requests/s.
 */
import { Database } from "bun:sqlite";
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strOpt } from "./lib/args.ts";

const SECONDS = Number(strOpt("seconds", "5"));
const ROUNDS = Number(strOpt("rounds", "4"));
const CONCURRENCY = Number(strOpt("concurrency", "32"));
const ROOT = join(import.meta.dir, "..");
const BIN = strOpt("bin", process.env.GAUNTLET_BIN ?? join(ROOT, "dist", "gauntlet"));
if (!existsSync(BIN)) {
  console.error(`no binary at ${BIN}: run npm run build first (or pass --bin)`);
  process.exit(2);
}

interface Srv {
  name: string;
  url: string;
  dir: string;
  proc: Subprocess;
}

async function start(name: string, extra: string[]): Promise<Srv> {
  const dir = mkdtempSync(join(tmpdir(), `gauntlet-bench-analytics-${name}-`));
  const probe = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  const proc = spawn([BIN, "serve", "--data", dir, "--port", String(port), "--roles", "api", "--log-level", "warn", ...extra], {
    stdout: "ignore",
    stderr: "inherit",
    env: { ...process.env, GAUNTLET_ENV: "production" },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(url + "/readyz").then((r) => r.ok, () => false)) return { name, url, dir, proc };
    await Bun.sleep(25);
  }
  throw new Error(`${name} did not start`);
}

/** utime + stime of a process in µs (/proc/PID/stat fields 14 and 15, in clock ticks of 10 ms). */
async function cpuMicros(pid: number) {
  const f = (await Bun.file(`/proc/${pid}/stat`).text()).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

async function load(url: string, seconds: number) {
  const until = performance.now() + seconds * 1000;
  let ok = 0;
  let bad = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const r = await fetch(url + "/api/v1/me");
        await r.arrayBuffer();
        if (r.status === 401) ok++;
        else bad++;
      }
    }),
  );
  return { ok, bad, rps: ok / seconds };
}

const on = await start("on", []);
const off = await start("off", ["--analytics", "false"]);
try {
  await load(on.url, 1); // warm-up both (JIT, page cache)
  await load(off.url, 1);
  const res: Record<string, number[]> = { on: [], off: [] };
  // Server CPU per answer: less sensitive than req/s to other jobs competing for the cores.
  const cpu: Record<string, number[]> = { on: [], off: [] };
  let answeredOn = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 ? [off, on] : [on, off]) {
      const c0 = await cpuMicros(s.proc.pid);
      const x = await load(s.url, SECONDS);
      if (s === on) await Bun.sleep(1100); // the batch written after the round belongs to it
      cpu[s.name].push(((await cpuMicros(s.proc.pid)) - c0) / x.ok);
      if (x.bad) throw new Error(`${s.name}: ${x.bad} unexpected statuses`);
      res[s.name].push(x.rps);
      if (s === on) answeredOn += x.ok;
    }
  }
  const load1 = (await Bun.file("/proc/loadavg").text()).split(" ")[0];
  // Let the last batch commit, then count what was recorded.
  await Bun.sleep(1000);
  const db = new Database(join(on.dir, "gauntlet.db"), { readonly: true });
  const rows = (db.query("SELECT COUNT(*) AS n FROM request_log WHERE route = '/api/v1/me'").get() as { n: number }).n;
  const rolled = (db.query("SELECT SUM(count) AS n FROM request_rollup WHERE route = '/api/v1/me'").get() as { n: number }).n;
  db.close();
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const fmt = (a: number[]) => a.map((x) => x.toFixed(0)).join(", ");
  console.log(`GET /api/v1/me (401), ${CONCURRENCY} keep-alive clients, ${ROUNDS} × ${SECONDS} s per config, interleaved; load average ${load1}`);
  console.log(`| config | req/s per round | mean req/s |`);
  console.log(`| --- | --- | --- |`);
  console.log(`| analytics on (recording every request) | ${fmt(res.on)} | ${mean(res.on).toFixed(0)} |`);
  console.log(`| analytics off (peer) | ${fmt(res.off)} | ${mean(res.off).toFixed(0)} |`);
  console.log(`server CPU per answer, µs: on ${fmt(cpu.on)} (mean ${mean(cpu.on).toFixed(1)}); off ${fmt(cpu.off)} (mean ${mean(cpu.off).toFixed(1)}); ratio ${(mean(cpu.on) / mean(cpu.off)).toFixed(3)}`);
  const ratio = mean(res.on) / mean(res.off);
  console.log(`ratio on/off: ${ratio.toFixed(3)} (cost ${((1 - ratio) * 100).toFixed(1)} %)`);
  console.log(`recorded: ${rows} rows, rollups ${rolled}, for ${answeredOn} measured answers (+ warm-up)`);
} finally {
  for (const s of [on, off]) {
    s.proc.kill("SIGTERM");
    await s.proc.exited;
    rmSync(s.dir, { recursive: true, force: true });
  }
}
