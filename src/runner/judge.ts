/**
 * Verdicts and checkers (arena-rules.md): a submission is compiled once, run
 * on every test in order in a fresh sandbox each, and each output is checked.
 * Per test: AC, WA, TLE, MLE, RE, OLE, CE, IE with time and peak memory; the
 * submission's verdict is the first non-AC, or AC.
 *
 * Checkers: `exact` (byte-equal after trimming trailing whitespace on each
 * line and trailing blank lines), `tokens`, `float:EPS` (tokens; numbers
 * within absolute or relative EPS), `custom` (a checker program run in the
 * sandbox; it reads one JSON object {input, expected, output} on stdin and
 * exits 0 for AC (or 42, the Kattis convention), anything else for WA).
 */
import type { Limits, RunnerService, RunResult } from "./runner.service.ts";

export type Verdict = "AC" | "WA" | "TLE" | "MLE" | "RE" | "OLE" | "CE" | "IE";

export interface Submission {
  language: string;
  source: string;
}

export interface TestCase {
  input: string;
  expected: string;
}

export type Checker = "exact" | "tokens" | `float:${string}` | "custom";

export interface JudgeLimits extends Partial<Limits> {
  checker?: Checker;
  /** For `custom`: the checker program. */
  customChecker?: Submission;
  /** Stop after the first non-AC test (the rest are reported as not run). */
  stopOnFailure?: boolean;
}

export interface TestResult {
  index: number;
  verdict: Verdict;
  timeMs: number;
  memoryKb: number;
}

export interface JudgeResult {
  verdict: Verdict;
  tests: TestResult[];
  passed: number;
  /** Total CPU time over passed tests (the arena's runtime score). */
  timeMs: number;
  maxMemoryKb: number;
  compileOutput?: string;
}

const trimLines = (s: string) => {
  const lines = s.replace(/\r\n/g, "\n").split("\n").map((l) => l.replace(/[ \t\r\f\v]+$/, ""));
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
};
const tokens = (s: string) => s.split(/\s+/).filter(Boolean);

export function checkExact(output: string, expected: string): boolean {
  return trimLines(output) === trimLines(expected);
}

export function checkTokens(output: string, expected: string): boolean {
  const a = tokens(output);
  const b = tokens(expected);
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

const NUM = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function checkFloat(output: string, expected: string, eps: number): boolean {
  const a = tokens(output);
  const b = tokens(expected);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (!NUM.test(a[i]) || !NUM.test(b[i])) return false;
    const x = Number(a[i]);
    const y = Number(b[i]);
    const diff = Math.abs(x - y);
    if (!(diff <= eps || diff <= eps * Math.abs(y))) return false;
  }
  return true;
}

export function parseChecker(c: string | undefined): { kind: "exact" | "tokens" | "float" | "custom"; eps: number } {
  if (!c || c === "exact") return { kind: "exact", eps: 0 };
  if (c === "tokens") return { kind: "tokens", eps: 0 };
  if (c === "custom") return { kind: "custom", eps: 0 };
  const m = /^float:(.+)$/.exec(c);
  const eps = m ? Number(m[1]) : NaN;
  if (!m || !Number.isFinite(eps) || eps < 0) throw new Error(`unknown checker ${c}`);
  return { kind: "float", eps };
}

const fromRun = (r: RunResult): Verdict => (r.status === "OK" ? "AC" : r.status);

/** Judges one submission. `runner` is `s.runner`. */
export async function judge(runner: RunnerService, submission: Submission, tests: TestCase[], limits: JudgeLimits = {}): Promise<JudgeResult> {
  const checker = parseChecker(limits.checker);
  const compiled = await runner.compile(submission.language, submission.source);
  const compileFailed = (f: RunResult): JudgeResult => {
    const v: Verdict = f.status === "IE" ? "IE" : "CE";
    return { verdict: v, tests: tests.map((_, index) => ({ index, verdict: v, timeMs: 0, memoryKb: 0 })), passed: 0, timeMs: 0, maxMemoryKb: 0, compileOutput: f.compileOutput };
  };
  if (compiled.failed) return compileFailed(compiled.failed);
  const customCompiled = checker.kind === "custom" ? await runner.compile(limits.customChecker?.language ?? "", limits.customChecker?.source ?? "") : null;
  const out: TestResult[] = [];
  let verdict: Verdict = "AC";
  let passed = 0;
  let time = 0;
  let mem = 0;
  for (let i = 0; i < tests.length; i++) {
    const t = tests[i];
    const r = await runner.execute(compiled, t.input, limits);
    // Runs through the queue compile where they run: a compile failure comes back with the first run.
    if (i === 0 && r.compileOutput !== undefined && (r.status === "CE" || r.status === "IE")) return compileFailed(r);
    let v = fromRun(r);
    if (v === "AC") {
      let ok: boolean;
      if (checker.kind === "exact") ok = checkExact(r.stdout, t.expected);
      else if (checker.kind === "tokens") ok = checkTokens(r.stdout, t.expected);
      else if (checker.kind === "float") ok = checkFloat(r.stdout, t.expected, checker.eps);
      else {
        if (!customCompiled || customCompiled.failed) v = "IE";
        const c = v === "IE" ? null : await runner.execute(customCompiled!, JSON.stringify({ input: t.input, expected: t.expected, output: r.stdout }), { timeMs: 10_000, memoryMb: 512 });
        ok = !!c && c.status !== "IE" && (c.exitCode === 0 || c.exitCode === 42);
        if (c && c.status !== "OK" && c.status !== "RE") v = "IE";
      }
      if (v === "AC" && !ok!) v = "WA";
    }
    out.push({ index: i, verdict: v, timeMs: r.timeMs, memoryKb: r.memoryKb });
    mem = Math.max(mem, r.memoryKb);
    if (v === "AC") {
      passed++;
      time += r.timeMs;
    } else if (verdict === "AC") {
      verdict = v;
      if (limits.stopOnFailure) break;
    }
  }
  return { verdict, tests: out, passed, timeMs: time, maxMemoryKb: mem };
}
