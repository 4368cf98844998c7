import { afterAll, beforeAll, expect, test } from "bun:test";
import { silentLogger } from "../lib/log.ts";
import { judge } from "../runner/judge.ts";
import { runnerService, type RunnerService } from "../runner/runner.service.ts";
import { testServices } from "../testing.ts";
import { DEMO_PROBLEM_SLUGS, demoProblemInputs, seedDemoProblems } from "./arena.demo.ts";
import { problemsService } from "./problems.service.ts";

const s = testServices();
let runner: RunnerService | null = null;
beforeAll(async () => {
  const r = runnerService({ config: s.config, log: silentLogger() }, { slots: 2, warm: {} });
  try {
    await r.start();
    runner = r;
  } catch (err) {
    console.log(`SKIP demo judging: runner cannot sandbox here: ${(err as Error).message}`);
  }
});
afterAll(async () => {
  await runner?.stop();
  s.cleanup();
});

test("seed: at least 8 problems across all difficulties, each with hidden tests; idempotent", async () => {
  const problems = problemsService(s);
  const first = await seedDemoProblems(problems);
  expect(first).toHaveLength(DEMO_PROBLEM_SLUGS.length);
  expect(await seedDemoProblems(problems)).toEqual([]);
  const list = problems.list();
  expect(list.length).toBeGreaterThanOrEqual(8);
  expect(new Set(list.map((p) => p.difficulty))).toEqual(new Set(["easy", "medium", "hard"]));
  for (const p of list) expect(p.hiddenCount).toBeGreaterThan(0);
});

test("each demo problem's accepted Python solution is AC on its own tests", async () => {
  if (!runner) return;
  for (const p of demoProblemInputs()) {
    const tests = [...p.samples!, ...p.tests!].map((t) => ({ input: t.input, expected: t.answer }));
    const r = await judge(runner, { language: "python3", source: String(p.files![0].content) }, tests, { checker: "tokens", timeMs: 2000, memoryMb: 256 });
    expect([p.slug, r.verdict]).toEqual([p.slug, "AC"]);
  }
}, 120_000);
