import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../lib/log.ts";
import { judge } from "../runner/judge.ts";
import { runnerService, type RunnerService } from "../runner/runner.service.ts";
import { testServices } from "../testing.ts";
import { acceptedSubmissions, fromPackage, readPackageDir, toPackage, writePackageDir } from "./kattis.ts";
import { problemsService } from "./problems.service.ts";
import { exportProblem } from "./problems.routes.ts";

const FIXTURES = join(import.meta.dir, "..", "..", "test", "fixtures", "kattis");
const PACKAGES = ["oddecho", "different"];

describe("Kattis package mapping", () => {
  test("oddecho (Kattis/problemtools example) maps name, statement, tests, submissions", () => {
    const files = readPackageDir(join(FIXTURES, "oddecho"));
    const p = fromPackage(files, { dirName: "oddecho", difficulty: "easy" });
    expect(p.title).toBe("Odd Echo");
    expect(p.slug).toBe("oddecho");
    expect(p.statementFormat).toBe("tex");
    expect(p.statement).toContain("\\problemname{Odd Echo}");
    expect(p.checker).toBe("tokens");
    expect(p.samples).toEqual([]);
    expect(p.tests!.map((t) => t.name)).toEqual(["subtask2/05", "subtask2/2"]);
    expect(acceptedSubmissions(files).map((s) => [s.name, s.language])).toEqual([["js.py", "python3"]]);
    // What did not become rows is kept for export (attribution, submissions).
    expect(p.files!.map((f) => f.path).sort()).toEqual(["ATTRIBUTION.md", "LICENSE", "submissions/accepted/js.py"]);
  });

  test("different: validation custom is judged with tokens and says so", () => {
    const p = fromPackage(readPackageDir(join(FIXTURES, "different")), { dirName: "different" });
    expect(p).toMatchObject({ title: "A Different Problem", checker: "tokens", statementFormat: "tex" });
    expect(String(p.meta!.importNote)).toContain("custom");
    expect(p.tests!.map((t) => t.name)).toEqual(["01", "02_extreme_cases"]);
  });

  test("limits and validator flags", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const p = fromPackage(
      new Map([
        ["problem.yaml", enc("name: {en: Floaty, sv: Flytande}\nkeywords: [math, geometry]\nvalidator_flags: float_tolerance 1e-6\nlimits:\n  time_limit: 1.5\n  memory: 512\n")],
        ["problem_statement/problem.en.md", enc("# Floaty")],
        ["data/sample/1.in", enc("1\n")],
        ["data/sample/1.ans", enc("1.0\n")],
        ["data/secret/a.in", enc("2\n")],
        ["data/secret/lonely.in", enc("no answer file: skipped\n")],
        ["data/secret/a.ans", enc("2.0\n")],
      ]),
    );
    expect(p).toMatchObject({ title: "Floaty", statementFormat: "md", checker: "float:1e-6", timeLimitMs: 1500, memoryLimitMb: 512, tags: ["math", "geometry"] });
    expect(p.tests).toHaveLength(1);
    expect(() => fromPackage(new Map([["data/secret/a.in", enc("1")]]))).toThrow(/problem.yaml/);
    expect(() => fromPackage(new Map([["problem.yaml", enc("- just\n- a list\n")]]))).toThrow();
  });
});

describe("Kattis import judges its own accepted submissions", () => {
  let runner: RunnerService | null = null;
  let skip: string | null = null;
  const s = testServices();
  beforeAll(async () => {
    const r = runnerService({ config: s.config, log: silentLogger() }, { slots: 2, warm: {} });
    try {
      await r.start();
      runner = r;
    } catch (err) {
      skip = `runner cannot sandbox on this host: ${(err as Error).message}`;
      console.log(`SKIP Kattis judging: ${skip}`);
    }
  });
  afterAll(async () => {
    await runner?.stop();
    s.cleanup();
  });

  for (const name of PACKAGES) {
    test(`${name}: import, every accepted submission is AC, export round-trips`, async () => {
      const problems = problemsService(s);
      const files = readPackageDir(join(FIXTURES, name));
      const row = await problems.create(fromPackage(files, { dirName: name }));
      const data = problems.judgeData(row.id);
      expect(data.tests.length).toBeGreaterThan(0);
      const subs = acceptedSubmissions(problems.files(row.id).map((f) => ({ path: f.path, content: new Uint8Array(f.content) })));
      expect(subs.length).toBeGreaterThan(0);
      if (runner) {
        for (const sub of subs) {
          if (!sub.language) continue;
          const r = await judge(runner, { language: sub.language, source: sub.source }, data.tests.map((t) => ({ input: t.input, expected: t.answer })), {
            timeMs: row.timeLimitMs,
            memoryMb: row.memoryLimitMb,
            checker: row.checker as "tokens",
          });
          expect([sub.name, r.verdict, r.passed]).toEqual([sub.name, "AC", data.tests.length]);
        }
        // And the same tests do reject a wrong program (the judging is real).
        const wrong = await judge(runner, { language: "python3", source: "print(input())" }, data.tests.map((t) => ({ input: t.input, expected: t.answer })), { checker: row.checker as "tokens" });
        expect(wrong.verdict).toBe("WA");
      } else console.log(`SKIP judging ${name}: ${skip}`);

      // Export, re-import: the same problem.
      const out = mkdtempSync(join(tmpdir(), "kattis-export-"));
      try {
        writePackageDir(out, exportProblem(problems, row.id));
        const again = fromPackage(readPackageDir(out), { dirName: name });
        expect(again.title).toBe(row.title);
        expect(again.checker).toBe(row.checker);
        expect(again.timeLimitMs).toBe(row.timeLimitMs);
        expect(again.difficulty).toBe(row.difficulty);
        expect(again.tests).toEqual(data.tests.filter((t) => t.kind === "secret").map((t) => ({ name: t.name, input: t.input, answer: t.answer })));
        expect(again.files!.map((f) => f.path).sort()).toEqual([...files.keys()].filter((p) => !/^data\/|^problem/.test(p)).sort());
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 60_000);
  }
});
