/**
 * Durable queue throughput and pickup latency against two peers, in one run:
 *   - ours: jobs table on SQLite (WAL, synchronous=FULL) through the group-committed writer
 *   - plainjob on bun:sqlite, set to synchronous=FULL (it defaults to NORMAL, which is not durable per job)
 *   - BullMQ on a private local redis-server with appendonly + appendfsync always (durable per write),
 *     and, for reference, BullMQ on the shared Redis at 127.0.0.1:6379 as it is configured
 * For each: enqueue N no-op jobs one call each (all calls issued, then awaited), then
 * process them with one worker. Pickup latency: an idle worker, one job enqueued at a
 * time, from the enqueue call to the handler starting.
 *
 * Run: bun run bench/queue.ts [--n 20000] [--concurrency 64] [--prefetch 256] [--skip-bullmq]
 */
import { Database } from "bun:sqlite";
import { spawn } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { openCore } from "../src/core.ts";
import { silentLogger } from "../src/lib/log.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg("n", 20_000);
const CONCURRENCY = arg("concurrency", 64);
const PREFETCH = arg("prefetch", 256);
const PICKUPS = arg("pickups", 1000);
const skipBull = process.argv.includes("--skip-bullmq");

interface Result {
  name: string;
  enqueue: number;
  process: number;
  p50?: number;
  p99?: number;
  note?: string;
}

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function ours(): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), "gauntlet-bench-queue-"));
  const config = loadConfig({ flags: { data: dir }, env: { GAUNTLET_ENV: "test" }, noFile: true });
  const s = openCore(config, { log: silentLogger() });
  try {
    let t = performance.now();
    const adds: Promise<number>[] = new Array(N);
    for (let i = 0; i < N; i++) adds[i] = s.queue.add("noop", { i });
    await Promise.all(adds);
    const enqueueMs = performance.now() - t;

    let done = 0;
    let allDone!: () => void;
    const finished = new Promise<void>((r) => (allDone = r));
    s.queue.register(
      "noop",
      async () => {
        if (++done === N) allDone();
      },
      { concurrency: CONCURRENCY, prefetch: PREFETCH },
    );
    let pickupStart = 0;
    let onPickup: ((ms: number) => void) | null = null;
    s.queue.register("ping", async () => {
      onPickup?.(performance.now() - pickupStart);
    });
    t = performance.now();
    s.queue.start({ cron: false });
    await finished;
    // Processed means the SUCCEEDED rows are durable, not only that handlers ran.
    await s.db.flush();
    const processMs = performance.now() - t;
    const left = s.db.reader.query("SELECT count(*) AS n FROM jobs WHERE kind = 'noop' AND status <> 'SUCCEEDED'").get() as { n: number };
    if (left.n) throw new Error(`${left.n} jobs not SUCCEEDED`);

    const lat: number[] = [];
    for (let i = 0; i < PICKUPS + 50; i++) {
      const got = new Promise<number>((r) => (onPickup = r));
      pickupStart = performance.now();
      void s.queue.add("ping", null);
      const ms = await got;
      if (i >= 50) lat.push(ms); // warm-up
      await s.db.flush();
      await Bun.sleep(0);
    }
    // The floor under any durable pickup: one enqueue's own fsync'd commit, no worker involved.
    const commit: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await s.queue.add("nobody", null);
      commit.push(performance.now() - t0);
    }
    const st = s.queue.stats();
    return {
      name: "gauntlet (SQLite, group commit)",
      enqueue: rate(N, enqueueMs),
      process: rate(N, processMs),
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      note: `one durable enqueue commit alone: p50 ${pct(commit, 50).toFixed(3)} ms; ${st.handedOff} of ${PICKUPS + 50} pickups handed over at enqueue`,
    };
  } finally {
    await s.queue.stop(1000);
    s.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function plain(): Promise<Result> {
  const { bun, defineQueue, defineWorker } = await import("plainjob");
  const dir = mkdtempSync(join(tmpdir(), "plainjob-bench-"));
  const db = new Database(join(dir, "q.db"), { create: true });
  const quiet = { error() {}, warn() {}, info() {}, debug() {} };
  const queue = defineQueue({ connection: bun(db), logger: quiet });
  // plainjob sets synchronous=NORMAL; FULL makes each acknowledged add durable, like ours.
  db.run("PRAGMA synchronous = FULL");
  try {
    let t = performance.now();
    for (let i = 0; i < N; i++) queue.add("noop", { i });
    const enqueueMs = performance.now() - t;
    let done = 0;
    let allDone!: () => void;
    const finished = new Promise<void>((r) => (allDone = r));
    const worker = defineWorker(
      "noop",
      async () => {
        if (++done === N) allDone();
      },
      { queue, logger: quiet, pollIntervall: 1 },
    );
    t = performance.now();
    void worker.start();
    await finished;
    const processMs = performance.now() - t;
    await worker.stop();

    const lat: number[] = [];
    let pickupStart = 0;
    let onPickup: ((ms: number) => void) | null = null;
    const pw = defineWorker("ping", async () => onPickup?.(performance.now() - pickupStart), { queue, logger: quiet, pollIntervall: 1 });
    void pw.start();
    for (let i = 0; i < Math.min(PICKUPS, 300) + 20; i++) {
      const got = new Promise<number>((r) => (onPickup = r));
      pickupStart = performance.now();
      queue.add("ping", null);
      const ms = await got;
      if (i >= 20) lat.push(ms);
      await Bun.sleep(2);
    }
    await pw.stop();
    return { name: "plainjob (bun:sqlite, synchronous=FULL)", enqueue: rate(N, enqueueMs), process: rate(N, processMs), p50: pct(lat, 50), p99: pct(lat, 99), note: "polls every 1 ms" };
  } finally {
    queue.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bull(port: number, label: string): Promise<Result> {
  const { Queue, Worker, QueueEvents } = await import("bullmq");
  void QueueEvents;
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const name = `bench-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  try {
    let t = performance.now();
    const adds: Promise<unknown>[] = new Array(N);
    for (let i = 0; i < N; i++) adds[i] = queue.add("noop", { i }, { removeOnComplete: true });
    await Promise.all(adds);
    const enqueueMs = performance.now() - t;
    let done = 0;
    let allDone!: () => void;
    const finished = new Promise<void>((r) => (allDone = r));
    t = performance.now();
    const worker = new Worker(
      name,
      async (job) => {
        if (job.name === "noop" && ++done === N) allDone();
      },
      { connection, concurrency: CONCURRENCY },
    );
    await finished;
    // The last completions are acknowledged by Redis once the worker's moveToCompleted returns.
    while ((await queue.getJobCounts("completed", "active", "wait")).active > 0) await Bun.sleep(1);
    const processMs = performance.now() - t;
    await worker.close();

    const lat: number[] = [];
    let pickupStart = 0;
    let onPickup: ((ms: number) => void) | null = null;
    const pw = new Worker(name, async () => onPickup?.(performance.now() - pickupStart), { connection, concurrency: 1 });
    await pw.waitUntilReady();
    await Bun.sleep(50);
    for (let i = 0; i < Math.min(PICKUPS, 500) + 20; i++) {
      const got = new Promise<number>((r) => (onPickup = r));
      pickupStart = performance.now();
      void queue.add("ping", null, { removeOnComplete: true });
      const ms = await got;
      if (i >= 20) lat.push(ms);
      await Bun.sleep(1);
    }
    await pw.close();
    return { name: `BullMQ 6 (${label})`, enqueue: rate(N, enqueueMs), process: rate(N, processMs), p50: pct(lat, 50), p99: pct(lat, 99) };
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

/** A private redis-server that fsyncs its append-only file before acknowledging each write. */
async function privateRedis(): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "redis-bench-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const proc = spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""], { stdout: "ignore", stderr: "ignore" });
  const { default: IORedis } = await import("ioredis");
  for (let i = 0; i < 100; i++) {
    const c = new IORedis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      break;
    } catch {
      c.disconnect();
      await Bun.sleep(50);
    }
  }
  return {
    port,
    async stop() {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function redisPersistence(port: number) {
  const { default: IORedis } = await import("ioredis");
  const c = new IORedis({ host: "127.0.0.1", port });
  try {
    const aof = (await c.config("GET", "appendonly")) as string[];
    const fsync = (await c.config("GET", "appendfsync")) as string[];
    return `appendonly=${aof[1]}, appendfsync=${fsync[1]}`;
  } catch {
    return "persistence unknown";
  } finally {
    c.disconnect();
  }
}

const results: Result[] = [];
const { loadavg } = await import("node:os");
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log(`queue bench: ${N} no-op jobs, one worker (concurrency ${CONCURRENCY}; ours also prefetch ${PREFETCH}), ${PICKUPS} pickups`);
results.push(await ours());
results.push(await plain());
if (!skipBull) {
  const r = await privateRedis();
  try {
    results.push(await bull(r.port, "private redis, appendfsync always"));
  } finally {
    await r.stop();
  }
  try {
    results.push(await bull(6379, `shared redis :6379, ${await redisPersistence(6379)}`));
  } catch (e) {
    console.log(`shared redis skipped: ${(e as Error).message}`);
  }
}

const us = results[0];
const fmt = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(3));
console.log("\n| queue | enqueue jobs/s | process jobs/s | pickup p50 ms | pickup p99 ms | enqueue ratio (ours/x) | process ratio (ours/x) |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
  console.log(
    `| ${r.name}${r.note ? ` (${r.note})` : ""} | ${r.enqueue} | ${r.process} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${(us.enqueue / r.enqueue).toFixed(2)}× | ${(us.process / r.process).toFixed(2)}× |`,
  );
}
const targets = [
  [`enqueue ≥ 40000/s`, us.enqueue >= 40_000],
  [`process ≥ 15000/s`, us.process >= 15_000],
  [`pickup p50 ≤ 0.5 ms`, (us.p50 ?? 99) <= 0.5],
  [`≥ 1× plainjob (enqueue and process)`, results[1].enqueue <= us.enqueue && results[1].process <= us.process],
  ...(skipBull ? [] : [[`≥ 2× BullMQ at comparable durability (enqueue and process)`, us.enqueue >= 2 * results[2].enqueue && us.process >= 2 * results[2].process]]),
] as const;
console.log("");
for (const [name, ok] of targets) console.log(`${ok ? "PASS" : "MISS"} ${name}`);
process.exit(0);
