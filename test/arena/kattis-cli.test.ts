/** `gauntlet import kattis DIR` and `gauntlet export kattis ID DIR` as a user runs them. */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command } from "../helpers/server.ts";

const dir = mkdtempSync(join(tmpdir(), "gauntlet-kattis-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIX = join(import.meta.dir, "..", "fixtures", "kattis");
const run = (args: string[]) => {
  const r = Bun.spawnSync(command([...args, "--data", join(dir, "data")]), { env: { ...process.env, GAUNTLET_ENV: "test" } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};

test("import a package, export it back, refuse bad usage", () => {
  const imp = run(["import", "kattis", join(FIX, "oddecho"), "--difficulty", "easy"]);
  expect(imp.err).toBe("");
  expect(imp.code).toBe(0);
  expect(imp.out).toContain('"Odd Echo" (slug oddecho): 0 sample, 2 hidden test(s), checker tokens');
  // Same slug again: refused, nothing changed.
  expect(run(["import", "kattis", join(FIX, "oddecho")]).code).toBe(1);
  const out = join(dir, "exported");
  const exp = run(["export", "kattis", "oddecho", out]);
  expect(exp.code).toBe(0);
  expect(readFileSync(join(out, "data/secret/subtask2/05.in"), "utf8")).toBe(readFileSync(join(FIX, "oddecho/data/secret/subtask2/05.in"), "utf8"));
  expect(readFileSync(join(out, "problem.yaml"), "utf8")).toContain("name: Odd Echo");
  expect(existsSync(join(out, "submissions/accepted/js.py"))).toBe(true);
  expect(run(["import", "kattis"]).code).toBe(2);
  expect(run(["import", "kattis", join(dir, "nope")]).code).toBe(2);
  expect(run(["import", "kattis", join(FIX, "different"), "--difficulty", "impossible"]).code).toBe(2);
  expect(run(["export", "kattis", "no-such-problem", join(dir, "x")]).code).toBe(1);
}, 60_000);
