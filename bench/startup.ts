/**
 * Start-up time and idle memory of the compiled binary, against a floor
 * measured in the same run: a hello-world Bun.serve compiled the same way.
 *
 *   npm run build && bun run bench/startup.ts [--runs 10] [--bin dist/gauntlet]
 *
 * Each run spawns `gauntlet serve --data DIR --port P` on a fresh data dir
 * (first run per dir includes creating and migrating the database, like a
 * first boot) and measures wall time from spawn to the first 200 on /readyz,
 * then the process's VmRSS (/proc/PID/status) after it has been idle a moment.
 * Targets: start < 300 ms, idle RSS < 80 MB.
 */
import { spawn } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const RUNS = Number(arg("runs", "10"));
const BIN = arg("bin", join(ROOT, "dist", "gauntlet"));
const IDLE_MS = Number(arg("idle-ms", "500"));
const TARGET_START_MS = 300;
const TARGET_RSS_MB = 80;

if (!existsSync(BIN)) {
  console.error(`no binary at ${BIN}: run \`npm run build\` first`);
  process.exit(1);
}

async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
};

interface Sample {
  startMs: number;
  /** CPU time (user + system, all threads) used by the time /readyz said 200: less sensitive to a loaded box than wall time. */
  cpuMs: number;
  rssMb: number;
}

// utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
const cpuMsOf = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};

async function measure(argv: (port: number, dir: string) => string[], reuseDir?: string): Promise<Sample & { dir: string }> {
  const dir = reuseDir ?? mkdtempSync(join(tmpdir(), "gauntlet-bench-"));
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(argv(port, dir), { cwd: dir, stdout: "ignore", stderr: "pipe", env: { ...process.env, GAUNTLET_LOG_LEVEL: "warn", GAUNTLET_ENV: "production" } });
  try {
    const deadline = t0 + 10_000;
    let startMs = NaN;
    let cpuMs = NaN;
    while (performance.now() < deadline) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        await r.arrayBuffer();
        if (r.status === 200) {
          startMs = performance.now() - t0;
          cpuMs = cpuMsOf(proc.pid);
          break;
        }
      } catch {
        // not listening yet
      }
      if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
      await Bun.sleep(1);
    }
    if (Number.isNaN(startMs)) throw new Error("no 200 on /readyz within 10 s");
    await Bun.sleep(IDLE_MS);
    return { startMs, cpuMs, rssMb: rssMb(proc.pid), dir };
  } finally {
    // SIGTERM: a clean stop, so the restart run opens a checkpointed database.
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const summary = (xs: Sample[]) => ({
  startP50: q(xs.map((x) => x.startMs), 0.5),
  startMax: Math.max(...xs.map((x) => x.startMs)),
  cpuP50: q(xs.map((x) => x.cpuMs), 0.5),
  rssP50: q(xs.map((x) => x.rssMb), 0.5),
  rssMax: Math.max(...xs.map((x) => x.rssMb)),
});

// The floor: the smallest compiled Bun server that answers /readyz.
const peerDir = mkdtempSync(join(tmpdir(), "gauntlet-bench-peer-"));
const peerSrc = join(peerDir, "hello.ts");
const peerBin = join(peerDir, "hello");
writeFileSync(peerSrc, `Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2]), fetch: () => new Response("ok") });\n`);
const built = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "--bytecode", peerSrc, "--outfile", peerBin], { stdout: "pipe", stderr: "pipe" });
if (built.exitCode !== 0) {
  console.error(built.stderr.toString());
  process.exit(1);
}

const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const loadBefore = loadavg();
const ours: Sample[] = [];
const restart: Sample[] = [];
const peer: Sample[] = [];
const serve = (port: number, dir: string) => [BIN, "serve", "--data", dir, "--port", String(port)];
// Interleaved so machine noise (other jobs on a shared box) hits all alike.
for (let i = 0; i < RUNS; i++) {
  const first = await measure(serve);
  ours.push(first);
  restart.push(await measure(serve, first.dir));
  rmSync(first.dir, { recursive: true, force: true });
  const p = await measure((port) => [peerBin, String(port)]);
  peer.push(p);
  rmSync(p.dir, { recursive: true, force: true });
}
rmSync(peerDir, { recursive: true, force: true });

const a = summary(ours);
const r = summary(restart);
const b = summary(peer);
const f = (n: number) => n.toFixed(1);
console.log(`startup bench: ${RUNS} runs each, RSS after ${IDLE_MS} ms idle, bun ${Bun.version}, roles ${process.env.GAUNTLET_ROLES ?? "all"}, load average ${loadBefore} -> ${loadavg()} on ${navigator.hardwareConcurrency} cores`);
console.log(`| process | start p50 ms | start max ms | CPU to ready p50 ms | idle RSS p50 MB | idle RSS max MB |`);
console.log(`| --- | --- | --- | --- | --- | --- |`);
console.log(`| gauntlet serve, first boot (creates + migrates the db) | ${f(a.startP50)} | ${f(a.startMax)} | ${a.cpuP50} | ${f(a.rssP50)} | ${f(a.rssMax)} |`);
console.log(`| gauntlet serve, restart on the same data dir | ${f(r.startP50)} | ${f(r.startMax)} | ${r.cpuP50} | ${f(r.rssP50)} | ${f(r.rssMax)} |`);
console.log(`| hello-world Bun.serve (compiled, floor) | ${f(b.startP50)} | ${f(b.startMax)} | ${b.cpuP50} | ${f(b.rssP50)} | ${f(b.rssMax)} |`);
console.log(`| ratio gauntlet / floor | ${f(a.startP50 / b.startP50)}x | ${f(a.startMax / b.startMax)}x | ${b.cpuP50 ? f(a.cpuP50 / b.cpuP50) + "x" : "-"} | ${f(a.rssP50 / b.rssP50)}x | ${f(a.rssMax / b.rssMax)}x |`);
const worstStart = Math.max(a.startMax, r.startMax);
const worstRss = Math.max(a.rssMax, r.rssMax);
const okStart = worstStart < TARGET_START_MS;
const okRss = worstRss < TARGET_RSS_MB;
console.log(`target start < ${TARGET_START_MS} ms: ${okStart ? "met" : "MISSED"} (max ${f(worstStart)} ms); target idle RSS < ${TARGET_RSS_MB} MB: ${okRss ? "met" : "MISSED"} (max ${f(worstRss)} MB)`);
process.exit(okStart && okRss ? 0 : 1);
