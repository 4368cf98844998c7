/**
 * Remote runners share the durable run queue, end to end: a real server with
 * --roles api,worker,cron (no runner role: it cannot run code) and real
 * `gauntlet runner` processes on this box with the real sandbox.
 *
 * - An arena duel is judged by a remote runner with the right verdicts (CE,
 *   WA with per-test verdicts, AC ending the match).
 * - Two runners share 50 playground runs: each job claimed and run once, by
 *   both runners between them.
 * - A runner killed (SIGKILL) mid-job: its lease runs out (fake clock), the
 *   job is retried by the other runner and the caller gets the result; the
 *   dead runner's claim can no longer report, so nothing is stored twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { command, httpClient, startServer, type ServerProc } from "../helpers/server.ts";
import { sandboxSkipReason } from "../../src/runner/testing.ts";
import { LEASE_MS } from "../../src/runner/remote.ts";

const skipReason = sandboxSkipReason("remote runners on the shared queue");

type Client = ReturnType<typeof httpClient>;

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

describe.skipIf(skipReason !== null)("remote runners on the shared queue", () => {
  let srv: ServerProc;
  let org: Client;
  const tokens: Record<"a" | "b", { id: string; token: string }> = {} as never;
  const runners: Array<{ proc: Subprocess; logs: string[] }> = [];
  let users = 0;

  const startRunner = (which: "a" | "b", concurrency: number) => {
    const proc = spawn(command(["runner", "--server", srv.url, "--concurrency", String(concurrency)]), {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, GAUNTLET_ENV: "test", GAUNTLET_RUNNER_TOKEN: tokens[which].token },
    });
    const r = { proc, logs: [] as string[] };
    for (const s of [proc.stdout, proc.stderr] as ReadableStream<Uint8Array>[])
      void (async () => {
        for await (const chunk of s) r.logs.push(new TextDecoder().decode(chunk));
      })();
    runners.push(r);
    return r;
  };
  const health = async () => (await org.json("GET", "/api/v1/admin/runner")).body;
  /** Open long polls on the server: how many runner loops are idle and connected. */
  const pollers = async (n: number) => until(`${n} open claims`, async () => (await health()).remote.pollers === n);
  const byToken = async (which: "a" | "b") => (await health()).remote.byToken[tokens[which].id] ?? { claimed: 0, completed: 0, refused: 0 };
  const player = async () => {
    const c = httpClient(srv.url);
    const r = await c.json("POST", "/api/v1/auth/signup", { username: `rq${++users}`, password: "a strong passphrase" });
    expect(r.status).toBe(201);
    return Object.assign(c, { id: r.body.user.id as number });
  };
  const runJobs = async (since: number) => ((await org.json("GET", "/api/v1/admin/jobs?kind=run&limit=500")).body.jobs as any[]).filter((j) => j.id > since);
  const lastRunJob = async () => ((await org.json("GET", "/api/v1/admin/jobs?kind=run&limit=1")).body.jobs[0]?.id as number | undefined) ?? 0;

  beforeAll(async () => {
    srv = await startServer({ args: ["--roles", "api,worker,cron"], env: { GAUNTLET_FAKE_CLOCK: "1" }, timeoutMs: 30_000 });
    const mk = spawn(command(["user", "create", "rqorg", "--admin", "--password", "organiser passphrase", "--data", srv.dataDir]), { stdout: "pipe", stderr: "pipe", env: { ...process.env, GAUNTLET_ENV: "test" } });
    expect(await mk.exited).toBe(0);
    org = httpClient(srv.url);
    expect((await org.json("POST", "/api/v1/auth/login", { username: "rqorg", password: "organiser passphrase" })).status).toBe(200);
    for (const which of ["a", "b"] as const) {
      const t = await org.json("POST", "/api/v1/admin/runner/tokens", { name: `box-${which}` });
      expect(t.status).toBe(201);
      tokens[which] = t.body;
    }
  }, 60_000);
  afterAll(async () => {
    for (const r of runners) r.proc.kill("SIGKILL");
    await srv?.stop();
    srv?.cleanup();
  });

  test("an arena duel on a server without the runner role is judged by a remote runner", async () => {
    const h0 = await health();
    expect(h0).toMatchObject({ local: false, takesRunJobs: false });
    startRunner("a", 2);
    await pollers(2);

    const p = await org.json("POST", "/api/v1/admin/problems", {
      title: "Sum",
      difficulty: "easy",
      tests: [
        { input: "1 2\n", answer: "3\n" },
        { input: "10 20\n", answer: "30\n" },
        { input: "-5 5\n", answer: "0\n" },
      ],
    });
    expect(p.status).toBe(201);
    const a = await player();
    const b = await player();
    const room = await a.json("POST", "/api/v1/arena/rooms", { format: "duel", difficulty: "easy", problemId: p.body.problem.id, durationSec: 3600, countdownSec: 0 });
    expect(room.status).toBe(201);
    expect((await b.json("POST", "/api/v1/arena/rooms/join", { code: room.body.match.inviteCode })).status).toBe(200);
    const matchId = room.body.match.id;
    await org.json("POST", "/api/v1/admin/clock", { advanceMs: 1 });
    await until("the match to start", async () => (await a.json("GET", `/api/v1/arena/matches/${matchId}`)).body.match.status === "running");

    const submit = async (c: Client, language: string, source: string) => {
      const r = await c.json("POST", `/api/v1/arena/matches/${matchId}/submissions`, { language, source });
      expect(r.status).toBe(202);
      return r.body.submission.id as number;
    };
    const judged = (c: Client, id: number) =>
      until(`submission ${id} judged`, async () => {
        const s = (await c.json("GET", `/api/v1/submissions/${id}`)).body.submission;
        return s.status === "done" ? s : null;
      });

    const ce = await submit(b, "c", "int main(void){ this is not C }\n");
    const wa = await submit(a, "python3", "print(0)\n");
    const ceDone = await judged(b, ce);
    expect({ verdict: ceDone.verdict, passed: ceDone.testsPassed }).toEqual({ verdict: "CE", passed: 0 });
    const waDone = await judged(a, wa);
    expect(waDone.verdict).toBe("WA");
    expect(waDone.tests.map((t: any) => t.verdict)).toEqual(["WA", "WA", "AC"]);
    const ac = await submit(a, "python3", "a, b = map(int, input().split())\nprint(a + b)\n");
    const acDone = await judged(a, ac);
    expect({ verdict: acDone.verdict, passed: acDone.testsPassed, total: acDone.testsTotal }).toEqual({ verdict: "AC", passed: 3, total: 3 });
    const m = await until("the match to end", async () => {
      const x = (await a.json("GET", `/api/v1/arena/matches/${matchId}`)).body.match;
      return x.status === "finished" ? x : null;
    });
    expect(m.result.winnerSide).toBe(0);

    // Every test run was a run job that runner a claimed and reported once: 1 (CE: the compile fails on the first run) + 3 + 3.
    const jobs = await runJobs(0);
    expect(jobs.length).toBe(7);
    for (const j of jobs) expect({ status: j.status, attempts: j.attempts }).toEqual({ status: "SUCCEEDED", attempts: 1 });
    expect(await byToken("a")).toEqual({ claimed: 7, completed: 7, refused: 0 });
    // The server itself never ran code.
    expect((await health()).stats).toMatchObject({ runs: 0, compiles: 0 });
  }, 120_000);

  test("two runners share 50 run jobs: each claimed and run once", async () => {
    startRunner("b", 2);
    await pollers(4);
    const since = await lastRunJob();
    const before = { a: await byToken("a"), b: await byToken("b") };
    // Two players, so the playground's 30 runs a minute per player is not what is tested.
    const ps = [await player(), await player()];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ps[i % 2].json("POST", "/api/v1/run", { language: "python3", source: `import sys\nprint(${i} * 7 + int(sys.stdin.read()))\n`, stdin: "1" })),
    );
    results.forEach((r, i) => expect({ i, status: r.status, out: r.body.stdout, st: r.body.status }).toEqual({ i, status: 200, out: `${i * 7 + 1}\n`, st: "OK" }));
    const jobs = await runJobs(since);
    expect(jobs.length).toBe(50);
    for (const j of jobs) expect({ status: j.status, attempts: j.attempts }).toEqual({ status: "SUCCEEDED", attempts: 1 });
    const after = { a: await byToken("a"), b: await byToken("b") };
    const did = { a: after.a.completed - before.a.completed, b: after.b.completed - before.b.completed };
    // Both ran some; together exactly 50; no claim went unreported and no report was refused.
    expect(did.a).toBeGreaterThan(0);
    expect(did.b).toBeGreaterThan(0);
    expect(did.a + did.b).toBe(50);
    expect(after.a.claimed - before.a.claimed + after.b.claimed - before.b.claimed).toBe(50);
    expect(after.a.refused + after.b.refused).toBe(0);
  }, 120_000);

  test("a runner killed mid-job: its lease runs out and the other runner runs the job; the dead claim cannot report", async () => {
    for (const r of runners.splice(0)) {
      r.proc.kill("SIGKILL");
      await r.proc.exited;
    }
    // A dead runner's open long polls end with its connections (they must not claim jobs for it).
    await pollers(0);
    const dead = startRunner("a", 1);
    await pollers(1);
    const since = await lastRunJob();
    const before = { a: await byToken("a"), b: await byToken("b") };
    const p = await player();
    const pending = p.json("POST", "/api/v1/run", { language: "python3", source: "import time\ntime.sleep(1.5)\nprint('slept')\n" });
    const claimed = await until("runner a to claim the job", async () => (await runJobs(since)).find((j) => j.status === "RUNNING"));
    expect(claimed.leaseOwner).toBe(`remote:${tokens.a.id}`);
    // Let it get into the sandbox, then kill it.
    await Bun.sleep(300);
    dead.proc.kill("SIGKILL");
    await dead.proc.exited;

    startRunner("b", 1);
    await pollers(1);
    // The clock is frozen: until the lease runs out the job stays with the dead runner, never lost and never run twice at once.
    const still = (await org.json("GET", `/api/v1/admin/jobs/${claimed.id}`)).body.job;
    expect({ status: still.status, attempts: still.attempts, owner: still.leaseOwner }).toEqual({ status: "RUNNING", attempts: 1, owner: `remote:${tokens.a.id}` });

    await org.json("POST", "/api/v1/admin/clock", { advanceMs: LEASE_MS + 1 });
    const requeued = await until("the reaper to requeue the job", async () => {
      const j = (await org.json("GET", `/api/v1/admin/jobs/${claimed.id}`)).body.job;
      return j.status !== "RUNNING" ? j : null;
    });
    expect(requeued.status).toBe("QUEUED");
    expect(requeued.error).toContain(`lease expired (owner remote:${tokens.a.id}, attempt 1)`);
    // Past the retry backoff (at most 1 s for a first retry): runner b claims and runs it.
    await org.json("POST", "/api/v1/admin/clock", { advanceMs: 1000 });

    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "OK", stdout: "slept\n" });
    const job = (await org.json("GET", `/api/v1/admin/jobs/${claimed.id}`)).body.job;
    expect({ status: job.status, attempts: job.attempts, result: job.result }).toEqual({ status: "SUCCEEDED", attempts: 2, result: r.body });
    expect((await runJobs(since)).length).toBe(1);
    const after = { a: await byToken("a"), b: await byToken("b") };
    expect({ a: after.a.claimed - before.a.claimed, aDone: after.a.completed - before.a.completed, b: after.b.claimed - before.b.claimed, bDone: after.b.completed - before.b.completed }).toEqual({ a: 1, aDone: 0, b: 1, bDone: 1 });

    // Had runner a survived, its late report (first claim: fence 1) would be refused, and so would its heartbeat.
    const anon = httpClient(srv.url);
    const auth = { authorization: `Bearer ${tokens.a.token}` };
    const late = await anon.json("POST", `/api/v1/runner/remote/jobs/${claimed.id}.1`, { status: "OK", stdout: "forged\n", stderr: "", exitCode: 0, timeMs: 1, memoryKb: 1 }, auth);
    expect(late.status).toBe(404);
    expect((await anon.json("POST", `/api/v1/runner/remote/jobs/${claimed.id}.1/heartbeat`, {}, auth)).status).toBe(404);
    expect((await org.json("GET", `/api/v1/admin/jobs/${claimed.id}`)).body.job.result).toEqual(r.body);
  }, 120_000);
});
