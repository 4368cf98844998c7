/**
 * Judging through the queue gives the verdicts of judging in process: the
 * same judge.ts, once with a runner in this process and once with a server
 * that has no sandbox, whose every run is a "run" job claimed over HTTP by a
 * remote runner loop (the `gauntlet runner` code) with the real sandbox.
 * Per-test verdicts, the submission verdict, the passed count and the
 * compiler's message must be equal; only times and memory may differ.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildApp } from "../../src/app.ts";
import { createLogger } from "../../src/lib/log.ts";
import { judge, type JudgeLimits, type JudgeResult, type TestCase } from "../../src/runner/judge.ts";
import { remoteRunnerLoop } from "../../src/runner/remote.ts";
import { runnerService, type RunnerService } from "../../src/runner/runner.service.ts";
import { sandboxSkipReason, TEST_RUNNER_CACHE } from "../../src/runner/testing.ts";
import { testServices } from "../../src/testing.ts";

const skipReason = sandboxSkipReason("judging through remote runners");

const SUM = [
  { input: "1 2\n", expected: "3\n" },
  { input: "10 20\n", expected: "30\n" },
  { input: "-5 5\n", expected: "0\n" },
];
const BIG = "1\n".repeat(450_000); // 900 kB: more than a plain JSON report holds
const checker = { language: "python3", source: 'import json, sys\nd = json.load(sys.stdin)\na, b = map(int, d["input"].split())\ntry:\n    ok = abs(float(d["output"]) - (a + b)) < 1e-9\nexcept ValueError:\n    ok = False\nsys.exit(42 if ok else 43)\n' };

const CASES: Array<{ name: string; language: string; source: string; tests: TestCase[]; limits?: JudgeLimits; want: string }> = [
  { name: "python AC", language: "python3", source: "a, b = map(int, input().split())\nprint(a + b)\n", tests: SUM, want: "AC" },
  { name: "python WA on two of three", language: "python3", source: "print(0)\n", tests: SUM, want: "WA" },
  { name: "python TLE", language: "python3", source: "while True:\n    pass\n", tests: SUM.slice(0, 1), limits: { timeMs: 500 }, want: "TLE" },
  { name: "python RE", language: "python3", source: "raise SystemExit(3)\n", tests: SUM.slice(0, 2), want: "RE" },
  { name: "C AC", language: "c", source: '#include <stdio.h>\nint main(void){int a,b;scanf("%d %d",&a,&b);printf("%d\\n",a+b);return 0;}\n', tests: SUM, want: "AC" },
  { name: "C CE, with the compiler's message", language: "c", source: "int main(void){ this is not C }\n", tests: SUM, want: "CE" },
  { name: "C++ AC", language: "cpp", source: "#include <bits/stdc++.h>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<\"\\n\";}\n", tests: SUM, want: "AC" },
  { name: "custom checker accepts", language: "python3", source: "a, b = map(int, input().split())\nprint(float(a + b))\n", tests: SUM.slice(0, 2), limits: { checker: "custom", customChecker: checker }, want: "AC" },
  { name: "custom checker that does not compile: IE", language: "python3", source: "print(3)\n", tests: SUM.slice(0, 1), limits: { checker: "custom", customChecker: { language: "c", source: "not C" } }, want: "IE" },
  { name: "float checker", language: "python3", source: "a, b = map(int, input().split())\nprint(f'{(a + b) / 3:.9f}')\n", tests: [{ input: "1 0\n", expected: "0.333333333333\n" }], limits: { checker: "float:1e-6" }, want: "AC" },
  { name: "a 900 kB output, whole: AC", language: "python3", source: `print("1\\n" * 450000, end="")\n`, tests: [{ input: "", expected: BIG }], want: "AC" },
  { name: "a 900 kB output with a wrong last byte: WA (never cut short)", language: "python3", source: `print("1\\n" * 450000 + "X", end="")\n`, tests: [{ input: "", expected: BIG }], want: "WA" },
];

const shape = (r: JudgeResult) => ({ verdict: r.verdict, passed: r.passed, tests: r.tests.map((t) => t.verdict), compileOutput: r.compileOutput });

describe.skipIf(skipReason !== null)("judging through remote runners", () => {
  let local: RunnerService;
  let node: RunnerService;
  let server: ReturnType<typeof testServices>;
  let http: ReturnType<typeof Bun.serve>;
  const stop = new AbortController();
  let loop: Promise<void>;

  beforeAll(async () => {
    const log = createLogger("silent");
    local = runnerService({ config: { dataDir: "/nonexistent" } as never, log }, { cacheDir: TEST_RUNNER_CACHE, warm: { python3: 1 } });
    node = runnerService({ config: { dataDir: "/nonexistent" } as never, log }, { cacheDir: TEST_RUNNER_CACHE, warm: { python3: 2 } });
    await Promise.all([local.start(), node.start()]);
    // The server: no runner role, so it never runs code; its runs are run jobs on its queue.
    server = testServices({ roles: "api,worker,cron" });
    server.runner.enableQueue(server.queue, { local: false });
    http = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 60, fetch: buildApp(server).app.fetch });
    const { token } = await server.runner.remote!.createToken("node-1");
    loop = remoteRunnerLoop({ server: `http://127.0.0.1:${http.port}`, token, run: (r) => node.run(r), concurrency: 2, log, signal: stop.signal });
  }, 60_000);
  afterAll(async () => {
    stop.abort();
    await loop?.catch(() => {});
    http?.stop(true);
    await server?.queue.stop(100);
    server?.cleanup();
    await local?.stop();
    await node?.stop();
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const want = await judge(local, { language: c.language, source: c.source }, c.tests, c.limits);
      const before = server.queue.list({ kind: "run", limit: 500 }).total;
      const compiles = node.health().stats.compiles;
      const got = await judge(server.runner, { language: c.language, source: c.source }, c.tests, c.limits);
      expect(want.verdict).toBe(c.want as never);
      expect(shape(got)).toEqual(shape(want));
      if (c.want === "CE") expect(got.compileOutput).toContain("error");
      // Every run went through the queue and was run by the remote node, once; one run job per test run.
      const after = server.queue.list({ kind: "run", limit: 500 });
      const jobs = after.jobs.slice(0, after.total - before);
      expect(jobs.length).toBe(c.want === "CE" ? 1 : c.limits?.checker === "custom" ? 2 * c.tests.length : c.tests.length);
      for (const j of jobs) expect({ status: j.status, attempts: j.attempts }).toEqual({ status: "SUCCEEDED", attempts: 1 });
      // A compiled program is compiled once on the node, however many tests run it.
      if ((c.language === "c" || c.language === "cpp") && c.want === "AC") expect(node.health().stats.compiles - compiles).toBe(1);
    }, 60_000);
  }

  test("the server never compiled or ran anything itself; every claim was reported", () => {
    expect(server.runner.health()).toMatchObject({ local: false, takesRunJobs: false, stats: { runs: 0, compiles: 0 } });
    const byToken = Object.values(server.runner.remote!.stats().byToken);
    expect(byToken.length).toBe(1);
    expect(byToken[0].claimed).toBe(byToken[0].completed);
    expect(byToken[0].refused).toBe(0);
  });
});
