/**
 * Scale benchmark (issue 10): how far answers/s go on PostgreSQL, and what a second API instance adds.
 *
 *   bun run bench/scale.ts [--players 500] [--seconds 10] [--warmup 2] [--ranked 10000] [--right 0.05]
 *                          [--database-url postgres://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379]
 *
 * One invocation runs bench/hunt.ts's closed-loop answer workload (each player answers again as soon as
 * its answer returns; mostly wrong, a share right) against three deployments, one after the other:
 *   (a) one SQLite process on a fresh data dir (the shipped default; no Redis),
 *   (b) 1 API instance on a fresh PostgreSQL schema + Redis (unique redis-prefix),
 *   (c) 2 API instances on one fresh PostgreSQL schema + Redis, the players split across both
 *       (the first instance also runs worker and cron, as in bench/hunt.ts --instances).
 * Every deployment starts from the same data: the seed is written once into a SQLite data dir (hunt.ts's
 * seedHunt), then its tables are copied into each migrated schema, so the session cookies are the same.
 * A warm-up of the same workload (not counted) precedes each measured run. It prints answers/s, p50, p99,
 * errors (any reply but 200) and cores busy for each, then the throughput ratios (b)/(a), (c)/(a), (c)/(b);
 * check-ledger runs after each. The schemas are dropped and the Redis keys deleted at the end.
 *
 * Why PostgreSQL is expected to be slower: the stores' synchronous statements each cost a thread hop and a
 * loopback round trip on the main thread (src/db/pg/bridge.ts), and every write of every instance is
 * serialized by one advisory lock per schema (src/db/pg/compat.ts). Closed-loop latency is queueing by
 * construction: p50 ≈ players / throughput (Little's law).
 *
 * The binary is GAUNTLET_BIN, else dist/gauntlet, built (`bun run build`) when missing or older than the last
 * commit touching src/. Without PostgreSQL on the URL the (b) and (c) parts are skipped with the reason.
 */
import { spawn, RedisClient } from "bun";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { Database } from "bun:sqlite";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { numOpt, strOpt } from "./lib/args.ts";
import { answerer, BIN, checkLedger, fmt, load, procCpu, ROOT, seedHunt, startGauntlet, type Deployment, type Run } from "./hunt.ts";

const PLAYERS = numOpt("players", 500);
const SECONDS = numOpt("seconds", 10);
const WARMUP = numOpt("warmup", 2);
const RANKED = numOpt("ranked", 10_000);
const RIGHT = numOpt("right", 0.05);
const PG = strOpt("database-url", "postgres://postgres@127.0.0.1:5432/test");
const REDIS = strOpt("redis", "redis://127.0.0.1:6379");

// The binary: built when missing or older than the last commit of src/ (unless GAUNTLET_BIN names one).
if (process.env.GAUNTLET_BIN) {
  if (!existsSync(BIN)) throw new Error(`GAUNTLET_BIN=${BIN} does not exist`);
} else {
  const git = spawn(["git", "log", "-1", "--format=%ct", "--", "src"], { cwd: ROOT, stdout: "pipe" });
  const lastCommit = Number((await new Response(git.stdout).text()).trim()) * 1000 || 0;
  if (!existsSync(BIN) || statSync(BIN).mtimeMs < lastCommit) {
    console.log(`building ${BIN} (${existsSync(BIN) ? "older than the last commit of src/" : "missing"})`);
    const b = spawn(["bun", "run", "build"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
    if ((await b.exited) !== 0) throw new Error("bun run build failed");
  }
}

const tag = `${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
const tmpDirs: string[] = [];
const tmp = (what: string) => {
  const d = mkdtempSync(join(tmpdir(), `gauntlet-bench-scale-${what}-`));
  tmpDirs.push(d);
  return d;
};
const schemaUrl = (schema: string) => {
  const u = new URL(PG);
  u.searchParams.set("schema", schema);
  return u.toString();
};

/** Why PostgreSQL (or Redis) cannot be used, or null when it answers. */
async function pgDown(): Promise<string | null> {
  const sql = postgres(PG, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return null;
  } catch (e) {
    return `PostgreSQL at ${new URL(PG).host} is unreachable (${(e as Error).message})`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
async function redisDown(): Promise<string | null> {
  const c = new RedisClient(REDIS, { connectionTimeout: 1000, autoReconnect: false });
  try {
    await c.connect();
    return (await c.ping()) === "PONG" ? null : "no PONG";
  } catch (e) {
    return (e as Error).message;
  } finally {
    c.close();
  }
}

/** The tables seedHunt writes; copied row for row (ids included) into a migrated schema. */
const SEED_TABLES = ["events", "puzzles", "users", "hunt_players", "ledger", "hunt_score_buckets", "sessions"];
const SERIAL_TABLES = ["events", "puzzles", "users", "ledger"];

async function copySeed(fromDir: string, schema: string) {
  const src = new Database(join(fromDir, "gauntlet.db"), { readonly: true });
  const sql = postgres(PG, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
  try {
    await sql.begin(async (tx) => {
      for (const table of SEED_TABLES) {
        const rows = (src.query(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]).map((r) => {
          for (const k in r) if (r[k] instanceof Uint8Array) r[k] = Buffer.from(r[k] as Uint8Array);
          return r;
        });
        if (!rows.length) continue;
        // PostgreSQL takes at most 65,535 parameters per statement.
        const per = Math.floor(60_000 / Object.keys(rows[0]).length);
        for (let i = 0; i < rows.length; i += per) await tx`INSERT INTO ${tx(table)} ${tx(rows.slice(i, i + per))}`;
      }
      for (const table of SERIAL_TABLES) await tx`SELECT setval(pg_get_serial_sequence(${`${schema}.${table}`}, 'id'), (SELECT max(id) FROM ${tx(table)}))`;
    });
  } finally {
    src.close();
    await sql.end();
  }
}

/** CPU seconds used so far by every process on the box whose name starts with `name` (postgres, redis-server). */
function cpuByName(name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").startsWith(name)) out.set(Number(d), procCpu(Number(d)));
    } catch {}
  }
  return out;
}
const cpuSince = (before: Map<number, number>, name: string) => {
  let sum = 0;
  for (const [pid, cpu] of cpuByName(name)) if (cpu >= 0) sum += cpu - (before.get(pid) ?? 0);
  return sum;
};

interface Result extends Run {
  name: string;
  errors: number;
  /** Cores busy on average: all postgres and redis-server processes on the box (other users' included). */
  pgCores: number;
  redisCores: number;
  ledger: string;
}

async function measure(name: string, dataDir: string, cookies: string[], start: () => Promise<Deployment>, ledgerEnv: Record<string, string>): Promise<Result> {
  const server = await start();
  let r: Run;
  let pgCores = 0;
  let redisCores = 0;
  try {
    const { answerOnce } = answerer(cookies, RIGHT);
    if (WARMUP > 0) await load(server, PLAYERS, WARMUP, 0, answerOnce);
    console.log(`${name}: load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
    const pg0 = cpuByName("postgres");
    const redis0 = cpuByName("redis-server");
    const t0 = performance.now();
    r = await load(server, PLAYERS, SECONDS, 0, answerOnce);
    const elapsed = (performance.now() - t0) / 1000;
    pgCores = cpuSince(pg0, "postgres") / elapsed;
    redisCores = cpuSince(redis0, "redis-server") / elapsed;
  } finally {
    await server.stop();
  }
  const ledger = await checkLedger(dataDir, ledgerEnv);
  const res: Result = { ...r, name, errors: r.n - (r.statuses["200"] ?? 0), pgCores, redisCores, ledger: `exit ${ledger.code}: ${ledger.out}` };
  console.log(
    `${name}: ${Math.round(res.rate)} answers/s, p50 ${fmt(res.p50)} ms, p99 ${fmt(res.p99)} ms, errors ${res.errors} of ${res.n} ${JSON.stringify(res.statuses)}; ` +
      `cores busy: gauntlet ${fmt(res.cpu.server)}, postgres ${fmt(pgCores)}, redis ${fmt(redisCores)}, client ${fmt(res.cpu.client)}; check-ledger ${res.ledger}`,
  );
  return res;
}

const schemas: string[] = [];
const results: Result[] = [];
let failed = false;
const redisPrefix = `bench-scale-${tag}:`;
try {
  const seedDir = tmp("sqlite");
  const cookies = await seedHunt(seedDir, { players: PLAYERS, ranked: RANKED });

  const pgWhy = await pgDown();
  const redisWhy = pgWhy ? null : await redisDown();
  if (pgWhy) console.log(`SKIP (b) and (c): ${pgWhy}`);
  else if (redisWhy) console.log(`Redis at ${REDIS} is unreachable (${redisWhy}): (b) and (c) run without it (per-process rate limits, realtime through PostgreSQL)`);
  // The schemas are migrated and filled before (a) runs, so all three start from the seed as written.
  if (!pgWhy) {
    for (const n of [1, 2]) {
      const schema = `bench_scale_${tag}_${n}`;
      schemas.push(schema);
      const m = spawn([BIN, "migrate", "--database-url", schemaUrl(schema)], { stdout: "pipe", stderr: "inherit" });
      if ((await m.exited) !== 0) throw new Error(`migrate of ${schema} failed`);
      const t0 = performance.now();
      await copySeed(seedDir, schema);
      console.log(`schema ${schema}: migrated and seeded in ${Math.round(performance.now() - t0)} ms`);
    }
  }
  console.log(`players ${PLAYERS}, closed loop, ${SECONDS} s measured after ${WARMUP} s warm-up, ranked ${RANKED}, ${RIGHT * 100}% right`);

  results.push(await measure("(a) 1 SQLite process", seedDir, cookies, () => startGauntlet(seedDir), {}));
  if (!pgWhy) {
    for (const [i, instances] of [1, 2].entries()) {
      const url = schemaUrl(schemas[i]);
      const env = { GAUNTLET_DATABASE_URL: url, ...(redisWhy ? {} : { GAUNTLET_REDIS_PREFIX: redisPrefix }) };
      const dir = tmp(`pg${instances}`);
      const label = `(${"bc"[i]}) ${instances} API instance${instances > 1 ? "s" : ""}, PostgreSQL${redisWhy ? "" : " + Redis"}`;
      results.push(await measure(label, dir, cookies, () => startGauntlet(dir, { instances, redis: redisWhy ? "" : REDIS, env }), { GAUNTLET_DATABASE_URL: url }));
    }
  }

  console.log("\n| setup | answers/s | p50 ms | p99 ms | errors | cores: gauntlet / postgres / redis / client |");
  console.log("| --- | ---: | ---: | ---: | ---: | --- |");
  for (const r of results) {
    console.log(`| ${r.name} | ${Math.round(r.rate)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} | ${fmt(r.cpu.server)} / ${fmt(r.pgCores)} / ${fmt(r.redisCores)} / ${fmt(r.cpu.client)} |`);
  }
  const [a, b, c] = results;
  if (b && c) console.log(`ratios of answers/s: (b)/(a) ${(b.rate / a.rate).toFixed(3)}, (c)/(a) ${(c.rate / a.rate).toFixed(3)}, (c)/(b) ${(c.rate / b.rate).toFixed(2)}`);
  failed = results.some((r) => !r.ledger.startsWith("exit 0"));
} finally {
  if (schemas.length) {
    const sql = postgres(PG, { max: 1, onnotice: () => {} });
    for (const s of schemas) await sql`DROP SCHEMA IF EXISTS ${sql(s)} CASCADE`.catch((e) => console.error(`drop ${s}: ${e.message}`));
    await sql.end();
  }
  // Rate-limit and cache keys under this run's prefix.
  const rc = new RedisClient(REDIS, { connectionTimeout: 1000, autoReconnect: false });
  try {
    let cursor = "0";
    do {
      const [next, keys] = (await rc.send("SCAN", [cursor, "MATCH", `${redisPrefix}*`, "COUNT", "1000"])) as [string, string[]];
      if (keys.length) await rc.send("DEL", keys);
      cursor = next;
    } while (cursor !== "0");
  } catch {}
  rc.close();
  if (process.env.KEEP) console.log(`kept ${tmpDirs.join(" ")}`);
  else for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
