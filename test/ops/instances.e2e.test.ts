/**
 * Several `gauntlet serve` instances on one box, as README "Several
 * instances" describes: one SQLite data directory (one writer at a time
 * across processes) and one Redis for the live hub. Two API instances
 * (A, B: --roles api) and two worker+cron instances (W1, W2: --roles
 * worker,cron), all on the fake clock so cron slots can be driven.
 *
 *   (a) a player connected to A sees live a solve made through B, and back;
 *   (b) 10,000 queue jobs are run by W1 and W2, each once (duplicates counted);
 *   (c) cron slots fire once across the two cron instances;
 *   (d) kill -9 of A under HTTP load: B's clients keep working, and every
 *       acknowledged write is in the database afterwards.
 *
 * Real processes (the compiled binary when GAUNTLET_BIN is set). Skipped,
 * with the reason printed, when Redis on 127.0.0.1:6379 is unreachable.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { spawn, type Subprocess } from "bun";
import { REDIS, redisUp } from "../helpers/redis.ts";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { openCore } from "../../src/core.ts";
import { fakeClock } from "../../src/lib/clock.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { MULTIVAC_JOB } from "../../src/multivac/multivac.service.ts";
import { XP_TICK_JOB } from "../../src/hunt/hunt.jobs.ts";
import { liveClient, type LiveClient } from "../helpers/live.ts";
import { command, httpClient, openDataDb, readLines, startServer, type ServerProc } from "../helpers/server.ts";
import { dataFlags, onPostgres } from "../../src/testing.ts";

const JOBS = 10_000;
// Enough puzzles that no load client finishes the hunt (answers after the last one are refused, not written).
const PUZZLES = 20;
setDefaultTimeout(60_000);


const redis = await redisUp();
if (!redis) console.log("instances.e2e: SKIP: Redis on 127.0.0.1:6379 is unreachable (the instances share their live hub through it)");

const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-instances-"));
const ENV = {
  GAUNTLET_REDIS_URL: REDIS,
  // A channel and keys of this run's own: other deployments (or test runs) on the same Redis stay apart.
  GAUNTLET_REDIS_PREFIX: `gauntlet-e2e-${process.pid}-${Date.now()}:`,
  GAUNTLET_FAKE_CLOCK: "1",
  GAUNTLET_SIGNUP_PER_IP_PER_HOUR: "100000",
  GAUNTLET_LOGIN_PER_IP_PER_MINUTE: "100000",
};

/** A worker/cron instance: it serves no HTTP, so it is ready when it logs "listening" (url null). */
interface Background {
  name: string;
  proc: Subprocess;
  logs: string[];
  cronFired: number;
}

async function startBackground(name: string, roles: string): Promise<Background> {
  const proc = spawn(command(["serve", "--data", dataDir, "--roles", roles]), { env: { ...process.env, GAUNTLET_ENV: "test", ...ENV }, stdout: "pipe", stderr: "pipe" });
  const bg: Background = { name, proc, logs: [], cronFired: 0 };
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  const onLine = (line: string) => {
    if (bg.logs.length < 5000) bg.logs.push(line);
    try {
      const o = JSON.parse(line);
      if (o.msg === "listening") ready();
      // Only the XP ticker's slots: other schedules (the hourly queue.prune) may fire while the clock moves.
      if (o.msg === "cron fired") bg.cronFired += o.schedules?.[XP_TICK_JOB] ?? 0;
    } catch {}
  };
  void readLines(proc.stdout as ReadableStream<Uint8Array>, onLine);
  void readLines(proc.stderr as ReadableStream<Uint8Array>, onLine);
  const died = proc.exited.then((code) => {
    throw new Error(`${name} exited (${code}) before listening:\n${bg.logs.slice(-20).join("\n")}`);
  });
  await Promise.race([listening, died, Bun.sleep(20_000).then(() => Promise.reject(new Error(`${name} did not start`)))]);
  return bg;
}

const sqlite = () => {
  const db = openDataDb(dataDir, { readonly: true });
  db.run("PRAGMA busy_timeout = 5000");
  return db;
};
const one = <T>(db: Database, q: string, ...args: (string | number)[]) => db.query(q).get(...args) as T;

describe.skipIf(!redis)("several instances on one data directory and one Redis", () => {
  let A: ServerProc;
  let B: ServerProc;
  let W1: Background;
  let W2: Background;
  let org: ReturnType<typeof httpClient>;
  let eventId = 0;
  const backgrounds: Background[] = [];
  const servers: ServerProc[] = [];

  beforeAll(async () => {
    const mk = spawn(command(["user", "create", "multiorg", "--admin", "--password", "organiser passphrase", "--data", dataDir]), { env: { ...process.env, GAUNTLET_ENV: "test" }, stdout: "ignore", stderr: "inherit" });
    expect(await mk.exited).toBe(0);
    const t0 = performance.now();
    A = await startServer({ dataDir, env: ENV, args: ["--roles", "api"] });
    servers.push(A);
    [B, W1, W2] = await Promise.all([
      startServer({ dataDir, env: ENV, args: ["--roles", "api"] }),
      startBackground("W1", "worker,cron"),
      startBackground("W2", "worker,cron"),
    ]);
    servers.push(B);
    backgrounds.push(W1, W2);
    console.log(`instances.e2e: A ${A.url}, B ${B.url}, W1 pid ${W1.proc.pid}, W2 pid ${W2.proc.pid} up in ${(performance.now() - t0).toFixed(0)} ms`);

    org = httpClient(A.url);
    expect((await org.json("POST", "/api/v1/auth/login", { username: "multiorg", password: "organiser passphrase" })).status).toBe(200);
    const now = (await org.json("GET", "/api/v1/admin/clock")).body.now as number;
    const ev = await org.json("POST", "/api/v1/events", {
      slug: "multi",
      title: "Many instances",
      startsAt: now - 60_000,
      endsAt: now + 48 * 3_600_000,
      settings: { answersPerMinute: 100_000, answersPerMinutePerIp: null },
    });
    expect(ev.status).toBe(201);
    eventId = ev.body.event.id;
    expect(eventId).toBeGreaterThan(0);
    for (let i = 1; i <= PUZZLES; i++) expect((await org.json("POST", "/api/v1/events/multi/puzzles", { title: `P${i}`, answers: [`answer${i}`] })).status).toBe(201);
  });

  afterAll(async () => {
    for (const s of servers) s.cleanup();
    for (const b of backgrounds) {
      try {
        b.proc.kill(9);
      } catch {}
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function player(base: string, username: string) {
    const c = httpClient(base);
    const r = await c.json("POST", "/api/v1/auth/signup", { username, password: "many instances player" });
    expect(r.status).toBe(201);
    return { c, id: r.body.user.id as number };
  }

  test("(a) a player connected to one instance sees live a solve made through the other", async () => {
    const topic = `event:${eventId}`;
    const onA = await player(A.url, "watcher_a");
    const onB = await player(B.url, "watcher_b");
    const liveA: LiveClient = await liveClient(A.url, { cookie: onA.c.cookie, autoReconnect: false });
    const liveB: LiveClient = await liveClient(B.url, { cookie: onB.c.cookie, autoReconnect: false });
    try {
      expect((await liveA.subscribe(topic)).type).toBe("subscribed");
      expect((await liveB.subscribe(topic)).type).toBe("subscribed");
      const sawSolveOf = (live: LiveClient, playerId: number) => () =>
        live.messages(topic).some((m) => (m.data.batch ?? []).some((d: { kind: string; playerId: number }) => d.kind === "leaderboard" && d.playerId === playerId));

      // Solved through B, watched on A.
      const solverB = await player(B.url, "solver_b");
      let t = performance.now();
      const r1 = await solverB.c.json("POST", "/api/v1/events/multi/hunt/answer", { answer: "answer1" });
      expect(r1.status).toBe(200);
      expect(r1.body.outcome).toBe("correct");
      await liveA.waitFor(sawSolveOf(liveA, solverB.id), 5000);
      const bToA = performance.now() - t;

      // And the other way round.
      const solverA = await player(A.url, "solver_a");
      t = performance.now();
      const r2 = await solverA.c.json("POST", "/api/v1/events/multi/hunt/answer", { answer: "answer1" });
      expect(r2.body.outcome).toBe("correct");
      await liveB.waitFor(sawSolveOf(liveB, solverA.id), 5000);
      const aToB = performance.now() - t;
      console.log(`(a) live leaderboard delta across instances: B→A ${bToA.toFixed(0)} ms, A→B ${aToB.toFixed(0)} ms (answer request included)`);

      // Both sockets see one sequence: the database numbers it, whichever instance published.
      await liveB.waitFor(sawSolveOf(liveB, solverB.id), 5000);
      await liveA.waitFor(sawSolveOf(liveA, solverA.id), 5000);
      const seqs = (l: LiveClient) => l.messages(topic).map((m) => m.seq);
      expect(seqs(liveA)).toEqual(seqs(liveB));
      expect(liveA.stats.duplicates + liveB.stats.duplicates).toBe(0);
    } finally {
      liveA.close();
      liveB.close();
    }
  });

  test(`(b) ${JOBS.toLocaleString("en")} queue jobs across two worker instances: each runs once`, async () => {
    const db = sqlite();
    try {
      // Enqueued from outside, on the servers' (fake) clock so the jobs are due for them.
      const saved = one<{ value: string }>(db, "SELECT value FROM kv WHERE key = 'fake_clock'");
      const config = loadConfig({ flags: dataFlags(dataDir), env: { GAUNTLET_ENV: "test" }, noFile: true });
      const s = openCore(config, { log: silentLogger(), clock: fakeClock(Number(saved.value)), migrate: true });
      const t0 = performance.now();
      const ids = await Promise.all(Array.from({ length: JOBS }, (_, i) => s.queue.add(MULTIVAC_JOB, { data: `datum-${i}` })));
      s.db.close();
      const enqueueMs = performance.now() - t0;
      const first = Math.min(...ids);
      const last = Math.max(...ids);
      expect(last - first + 1).toBe(JOBS);

      const done = () => one<{ n: number }>(db, "SELECT count(*) AS n FROM jobs WHERE kind = ? AND id BETWEEN ? AND ? AND status = 'SUCCEEDED'", MULTIVAC_JOB, first, last).n;
      // Who holds leases while it runs: both worker instances must take part.
      const owners = new Map<string, number>();
      const pidOf = (owner: string) => owner.split(":")[1];
      const deadline = Date.now() + 40_000;
      while (done() < JOBS && Date.now() < deadline) {
        for (const r of db.query("SELECT lease_owner AS o, count(*) AS n FROM jobs WHERE kind = ? AND status = 'RUNNING' GROUP BY lease_owner").all(MULTIVAC_JOB) as { o: string; n: number }[]) {
          owners.set(pidOf(r.o), (owners.get(pidOf(r.o)) ?? 0) + r.n);
        }
        await Bun.sleep(25);
      }
      const runMs = performance.now() - t0 - enqueueMs;
      const statuses = db.query("SELECT status, count(*) AS n FROM jobs WHERE kind = ? AND id BETWEEN ? AND ? GROUP BY status").all(MULTIVAC_JOB, first, last);
      const attempts = one<{ n: number; rerun: number }>(db, "SELECT sum(attempts) AS n, sum(CASE WHEN attempts > 1 THEN 1 ELSE 0 END) AS rerun FROM jobs WHERE kind = ? AND id BETWEEN ? AND ?", MULTIVAC_JOB, first, last);
      // The handler's effect: one increment of multivac.processed per run (kv, in the handler's own write).
      const processed = Number(one<{ value: string } | null>(db, "SELECT value FROM kv WHERE key = 'multivac.processed'")?.value ?? 0);
      const duplicates = processed - JOBS;
      console.log(
        `(b) ${JOBS} jobs: enqueued in ${enqueueMs.toFixed(0)} ms, run in ${(runMs / 1000).toFixed(1)} s (${Math.round(JOBS / (runMs / 1000))} jobs/s) ` +
          `by W1 (pid ${W1.proc.pid}) and W2 (pid ${W2.proc.pid}); lease samples per pid ${JSON.stringify(Object.fromEntries(owners))}; ` +
          `statuses ${JSON.stringify(statuses)}; handler runs ${processed} → ${duplicates} duplicate runs; claims ${attempts.n} (${attempts.rerun} jobs claimed twice)`,
      );
      expect(statuses).toEqual([{ status: "SUCCEEDED", n: JOBS }]);
      expect(owners.has(String(W1.proc.pid))).toBe(true);
      expect(owners.has(String(W2.proc.pid))).toBe(true);
      // No lease can expire on a frozen clock, so nothing may run twice; any duplicate would also show as a re-claim.
      expect(duplicates).toBe(0);
      expect(attempts.n).toBe(JOBS);
    } finally {
      db.close();
    }
  });

  test("(c) cron slots fire once across two cron instances", async () => {
    const db = sqlite();
    try {
      const SLOTS = 12;
      const sched = one<{ id: number }>(db, "SELECT id FROM cron_schedules WHERE name = ?", XP_TICK_JOB);
      const fires = () => one<{ n: number }>(db, "SELECT count(*) AS n FROM cron_fires WHERE schedule_id = ?", sched.id).n;
      const before = fires();
      const firedBefore = W1.cronFired + W2.cronFired;
      const t0 = performance.now();
      for (let i = 1; i <= SLOTS; i++) {
        // One minute per step, through instance A; the cron instances follow the clock saved in the database.
        expect((await org.json("POST", "/api/v1/admin/clock", { advanceMs: 60_000 })).status).toBe(200);
        const deadline = Date.now() + 5000;
        while (fires() < before + i && Date.now() < deadline) await Bun.sleep(10);
        expect(fires()).toBe(before + i);
        // The fired job has run before the next minute: a frozen clock then moving on must not look like a lost lease.
        while (Date.now() < deadline && one<{ n: number }>(db, "SELECT count(*) AS n FROM jobs WHERE kind = ? AND status NOT IN ('SUCCEEDED', 'FAILED', 'DEAD')", XP_TICK_JOB).n > 0) await Bun.sleep(10);
      }
      // Give a late duplicate the chance to show up.
      await Bun.sleep(300);
      const perSlot = db.query("SELECT slot, count(*) AS n FROM cron_fires WHERE schedule_id = ? GROUP BY slot HAVING count(*) > 1").all(sched.id);
      const jobsPerSlot = db.query(`SELECT ${onPostgres ? "(payload::json->>'slot')::bigint" : "json_extract(payload, '$.slot')"} AS slot, count(*) AS n, sum(attempts) AS a FROM jobs WHERE kind = ? GROUP BY slot`).all(XP_TICK_JOB) as { slot: number; n: number; a: number }[];
      const fired = W1.cronFired + W2.cronFired - firedBefore;
      console.log(
        `(c) ${SLOTS} minutes advanced in ${(performance.now() - t0).toFixed(0)} ms: ${fires() - before} new fires; reported fired by W1 ${W1.cronFired}, W2 ${W2.cronFired} ` +
          `(${fired} in this test); slots fired twice: ${perSlot.length}; jobs per slot > 1: ${jobsPerSlot.filter((j) => j.n > 1).length}; job runs per slot > 1: ${jobsPerSlot.filter((j) => j.a > 1).length}`,
      );
      expect(fires() - before).toBe(SLOTS);
      expect(perSlot).toEqual([]);
      // What each scheduler believes it fired adds up to the slots: no slot was fired by both.
      expect(fired).toBe(SLOTS);
      expect(jobsPerSlot.filter((j) => j.n !== 1 || j.a !== 1)).toEqual([]);
    } finally {
      db.close();
    }
  });

  test("(d) kill -9 of one API instance under load: the other's clients keep working; every acknowledged write is kept", async () => {
    const PER = 8;
    const players = [
      ...(await Promise.all(Array.from({ length: PER }, (_, i) => player(A.url, `load_a${i}`)))).map((p) => ({ ...p, on: "A" as const })),
      ...(await Promise.all(Array.from({ length: PER }, (_, i) => player(B.url, `load_b${i}`)))).map((p) => ({ ...p, on: "B" as const })),
    ].map((p) => ({ ...p, current: 1, acked: 0, solved: 0, ackedAfterKill: 0, errors: [] as string[], gone: false }));
    let killedAt = 0;
    let stop = false;
    const latenciesAfterKill: number[] = [];
    const loops = players.map(async (p) => {
      while (!stop && !p.gone) {
        const right = p.current <= PUZZLES && Math.random() < 0.05;
        let r;
        const t1 = performance.now();
        try {
          r = await p.c.json("POST", "/api/v1/events/multi/hunt/answer", { answer: right ? `answer${p.current}` : `wrong${Math.random()}` });
        } catch (e) {
          // Instance A is gone: its clients stop (behind a proxy they would be sent to B; see test/install/caddy-instances.test.ts).
          if (p.on === "A" && killedAt) p.gone = true;
          else p.errors.push(`fetch: ${(e as Error).message}`);
          continue;
        }
        if (r.status === 200) {
          p.acked++;
          if (killedAt && t1 > killedAt) {
            p.ackedAfterKill++;
            latenciesAfterKill.push(performance.now() - t1);
          }
          if (r.body.outcome === "correct") {
            p.solved++;
            p.current = r.body.next ? r.body.next.number : PUZZLES + 1;
          }
        } else if (r.status === 409 && r.body?.error?.code === "already_solved") p.current = PUZZLES + 1;
        else p.errors.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    });
    const acked = () => players.reduce((n, p) => n + p.acked, 0);
    const deadline = Date.now() + 15_000;
    while (acked() < 1000 && Date.now() < deadline) await Bun.sleep(10);
    expect(acked()).toBeGreaterThanOrEqual(1000);
    const ackedBeforeKill = acked();
    killedAt = performance.now();
    await A.kill();
    // B's clients go on for two seconds after the kill.
    while (performance.now() - killedAt < 2000) await Bun.sleep(20);
    stop = true;
    await Promise.all(loops);
    const onB = players.filter((p) => p.on === "B");
    const afterKillB = onB.reduce((n, p) => n + p.ackedAfterKill, 0);
    const errorsB = onB.flatMap((p) => p.errors);
    const errorsA = players.filter((p) => p.on === "A").flatMap((p) => p.errors);
    const lat = latenciesAfterKill.sort((x, y) => x - y);
    const pct = (q: number) => (lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? NaN).toFixed(1);
    console.log(
      `(d) ${ackedBeforeKill} answers acknowledged before kill -9 of A; B's ${PER} clients then got ${afterKillB} answers in 2 s (${Math.round(afterKillB / 2)}/s, ` +
        `p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms) with ${errorsB.length} errors; A's clients before the kill: ${errorsA.length} errors`,
    );
    expect(errorsB).toEqual([]);
    expect(errorsA).toEqual([]);
    expect(afterKillB).toBeGreaterThan(50);

    const db = sqlite();
    try {
      for (const p of players) {
        const attempts = one<{ n: number }>(db, "SELECT count(*) AS n FROM attempts WHERE player_id = ?", p.id).n;
        const solves = one<{ n: number }>(db, "SELECT count(*) AS n FROM ledger WHERE player_id = ? AND kind = 'solve'", p.id).n;
        if (p.on === "B") {
          // Nothing was in flight when B's clients stopped: exactly what was acknowledged.
          expect(attempts).toBe(p.acked);
          expect(solves).toBe(p.solved);
        } else {
          // One request per client may have been in flight at the kill: committed but never acknowledged.
          expect(attempts).toBeGreaterThanOrEqual(p.acked);
          expect(attempts).toBeLessThanOrEqual(p.acked + 1);
          expect(solves).toBeGreaterThanOrEqual(p.solved);
          expect(solves).toBeLessThanOrEqual(p.solved + 1);
        }
      }
      if (!onPostgres) expect(one<{ integrity_check: string }>(db, "PRAGMA integrity_check").integrity_check).toBe("ok");
      // For the record: under sustained writes the WAL's high-water mark grows well past the database (one process does the same).
      const mib = (f: string) => (statSync(join(dataDir, f)).size / 1048576).toFixed(1);
      if (!onPostgres) console.log(`(d) WAL ${mib("gauntlet.db-wal")} MiB, database ${mib("gauntlet.db")} MiB after the run`);
    } finally {
      db.close();
    }
    const check = spawn(command(["check-ledger", "--data", dataDir]), { stdout: "pipe", stderr: "pipe", env: { ...process.env, GAUNTLET_ENV: "test" } });
    const out = (await new Response(check.stdout).text()) + (await new Response(check.stderr).text());
    expect(out).toContain("0 mismatches");
    expect(await check.exited).toBe(0);

    // The survivors still stop cleanly.
    expect((await B.stop()) ?? 0).toBe(0);
    for (const b of [W1, W2]) {
      b.proc.kill("SIGTERM");
      expect(await b.proc.exited).toBe(0);
    }
  });
});
