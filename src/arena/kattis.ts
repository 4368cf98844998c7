/**
 * Kattis problem package format (https://www.kattis.com/problem-package-format/)
 * to and from a problem. A package is handled as a map of relative path →
 * bytes, so the same code serves a directory on disk (`gauntlet import kattis
 * DIR`) and an organiser's upload (JSON map of files).
 *
 * Mapping, where the format and Gauntlet differ:
 * - name: problem.yaml `name` (a string, or a language map: `en` first), else
 *   `\problemname{}` of a .tex statement, else the directory name.
 * - time limit: `limits.time_limit` (seconds, 2023-07 format) or a `.timelimit`
 *   file; legacy packages have neither (Kattis derives it from the accepted
 *   submissions × time_multiplier), so the Gauntlet default applies.
 * - checker: the default validator with `float_tolerance`/
 *   `float_absolute_tolerance`/`float_relative_tolerance` → `float:EPS`;
 *   `case_sensitive`/`space_change_sensitive` → `exact`; otherwise `tokens`.
 *   `validation: custom` keeps its validator files for export and is judged
 *   with `tokens` (the Kattis validator protocol is not run), noted in meta.
 * - difficulty and tags: not in the format; tags from `keywords`, difficulty
 *   from the caller (default medium) or a `gauntlet.difficulty` key we write.
 * - statement: problem.en.md (or problem.md) as Markdown; else .tex kept as text.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { AppError } from "../lib/errors.ts";
import type { Difficulty, ProblemInput, TestIn } from "./problems.service.ts";
import { slugify } from "./problems.service.ts";

export type PackageFiles = Map<string, Uint8Array>;

const dec = new TextDecoder();
const text = (b: Uint8Array | undefined) => (b ? dec.decode(b) : "");

export const LANGUAGE_BY_EXT: Record<string, string> = {
  py: "python3",
  js: "javascript",
  ts: "typescript",
  c: "c",
  cc: "cpp",
  cpp: "cpp",
  cxx: "cpp",
};

export function languageOf(path: string): string | null {
  const ext = path.split(".").pop()?.toLowerCase() ?? "";
  return LANGUAGE_BY_EXT[ext] ?? null;
}

/** Reads a package directory (symlinks followed, as Kattis test data uses them). */
export function readPackageDir(dir: string, maxBytes = 256 * 1024 * 1024): PackageFiles {
  const out: PackageFiles = new Map();
  let total = 0;
  const walk = (d: string, depth: number) => {
    if (depth > 8) return;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p, depth + 1);
      else if (st.isFile()) {
        total += st.size;
        if (total > maxBytes) throw new AppError("payload_too_large", `The package is larger than ${maxBytes} bytes.`);
        out.set(relative(dir, p).split(sep).join("/"), readFileSync(p));
      }
    }
  };
  try {
    walk(dir, 0);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError("bad_request", `Cannot read package directory ${dir}: ${(e as Error).message}`);
  }
  return out;
}

export function writePackageDir(dir: string, files: PackageFiles) {
  for (const [path, content] of files) {
    if (path.split("/").some((seg) => seg === ".." || seg === "")) throw new Error(`unsafe path in package: ${path}`);
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

function checkerFrom(yaml: Record<string, unknown>): { checker: string; note?: string } {
  const validation = String(yaml.validation ?? "default");
  const flagsRaw = yaml.validator_flags ?? (yaml.validation as any)?.flags ?? "";
  const flags = (Array.isArray(flagsRaw) ? flagsRaw.join(" ") : String(flagsRaw)).split(/\s+/).filter(Boolean);
  if (validation.startsWith("custom")) return { checker: "tokens", note: "validation: custom is judged with the tokens checker; the package's validator is kept for export only" };
  for (const k of ["float_tolerance", "float_absolute_tolerance", "float_relative_tolerance"]) {
    const i = flags.indexOf(k);
    if (i >= 0 && flags[i + 1] && Number.isFinite(Number(flags[i + 1]))) return { checker: `float:${flags[i + 1]}` };
  }
  if (flags.includes("case_sensitive") || flags.includes("space_change_sensitive")) return { checker: "exact" };
  return { checker: "tokens" };
}

function testsUnder(files: PackageFiles, prefix: string): TestIn[] {
  const ins = [...files.keys()].filter((p) => p.startsWith(prefix) && p.endsWith(".in")).sort();
  const out: TestIn[] = [];
  for (const p of ins) {
    const ans = p.slice(0, -3) + ".ans";
    if (!files.has(ans)) continue; // interactive or incomplete: no answer file to compare with
    out.push({ name: p.slice(prefix.length, -3), input: text(files.get(p)), answer: text(files.get(ans)) });
  }
  return out;
}

export function fromPackage(files: PackageFiles, opts: { dirName?: string; difficulty?: Difficulty; slug?: string } = {}): ProblemInput {
  const yamlText = text(files.get("problem.yaml"));
  let yaml: Record<string, unknown> = {};
  if (files.has("problem.yaml")) {
    try {
      yaml = (Bun.YAML.parse(yamlText) as Record<string, unknown>) ?? {};
    } catch (e) {
      throw new AppError("validation_failed", `problem.yaml is not valid YAML: ${(e as Error).message}`);
    }
    if (typeof yaml !== "object" || Array.isArray(yaml)) throw new AppError("validation_failed", "problem.yaml must be a mapping.");
  } else throw new AppError("validation_failed", "Not a Kattis package: problem.yaml is missing.");

  const stmtDirs = ["problem_statement/", "statement/"];
  const pick = (names: string[]) => {
    for (const d of stmtDirs) for (const n of names) if (files.has(d + n)) return d + n;
    return null;
  };
  const mdPath = pick(["problem.en.md", "problem.md"]);
  const texPath = mdPath ? null : pick(["problem.en.tex", "problem.tex"]);
  const statement = text(files.get((mdPath ?? texPath) as string));
  const texName = texPath ? /\\problemname\{([^}]*)\}/.exec(statement)?.[1] : undefined;

  const rawName = yaml.name;
  const yamlName = typeof rawName === "string" ? rawName : rawName && typeof rawName === "object" ? String((rawName as any).en ?? Object.values(rawName)[0] ?? "") : "";
  const title = (yamlName || texName || opts.dirName || "Untitled").trim();

  const limits = (yaml.limits ?? {}) as Record<string, unknown>;
  let timeLimitMs: number | undefined;
  if (typeof limits.time_limit === "number") timeLimitMs = Math.round(limits.time_limit * 1000);
  else if (files.has(".timelimit")) {
    const t = Number(text(files.get(".timelimit")).trim());
    if (Number.isFinite(t) && t > 0) timeLimitMs = Math.round(t * 1000);
  }
  const memoryLimitMb = typeof limits.memory === "number" && limits.memory > 0 ? Math.round(limits.memory) : undefined;
  const { checker, note } = checkerFrom(yaml);

  const samples = testsUnder(files, "data/sample/");
  const tests = testsUnder(files, "data/secret/");
  const keywords = yaml.keywords;
  const tags = (Array.isArray(keywords) ? keywords.map(String) : typeof keywords === "string" ? keywords.split(/[\s,]+/) : []).filter(Boolean).slice(0, 20);
  const g = (yaml.gauntlet ?? {}) as Record<string, unknown>;
  const difficulty = (["easy", "medium", "hard"].includes(String(g.difficulty)) ? g.difficulty : opts.difficulty ?? "medium") as Difficulty;

  // Everything else of the package that export should give back (accepted
  // submissions, validators, attribution), minus what became rows.
  const keep: Array<{ path: string; content: Uint8Array }> = [];
  for (const [p, c] of files) {
    if (p === "problem.yaml" || p === mdPath || p === texPath) continue;
    if (/^data\/(sample|secret)\/.*\.(in|ans)$/.test(p)) continue;
    keep.push({ path: p, content: c });
  }

  return {
    slug: opts.slug ?? slugify(opts.dirName ?? title),
    title,
    statement,
    statementFormat: mdPath ? "md" : texPath ? "tex" : "md",
    difficulty,
    tags,
    timeLimitMs,
    memoryLimitMb,
    checker,
    samples,
    tests,
    meta: { kattis: yaml, ...(note ? { importNote: note } : {}) },
    files: keep,
  };
}

export interface ExportableProblem {
  slug: string;
  title: string;
  statement: string;
  statementFormat: "md" | "tex";
  difficulty: string;
  tags: string[];
  timeLimitMs: number;
  memoryLimitMb: number;
  checker: string;
  meta: Record<string, unknown>;
  tests: Array<{ kind: "sample" | "secret"; name: string; input: string; answer: string }>;
  files: Array<{ path: string; content: Uint8Array }>;
}

export function toPackage(p: ExportableProblem): PackageFiles {
  const out: PackageFiles = new Map();
  const enc = new TextEncoder();
  const yaml: Record<string, unknown> = { ...((p.meta.kattis as Record<string, unknown>) ?? {}) };
  yaml.name = p.title;
  const limits = { ...((yaml.limits as Record<string, unknown>) ?? {}) };
  limits.time_limit = p.timeLimitMs / 1000;
  limits.memory = p.memoryLimitMb;
  yaml.limits = limits;
  if (p.tags.length) yaml.keywords = p.tags;
  if (p.checker.startsWith("float:")) yaml.validator_flags = `float_tolerance ${p.checker.slice(6)}`;
  else if (p.checker === "exact") yaml.validator_flags = "case_sensitive space_change_sensitive";
  yaml.gauntlet = { difficulty: p.difficulty, checker: p.checker };
  out.set("problem.yaml", enc.encode(Bun.YAML.stringify(yaml, null, 2) + "\n"));
  out.set(`problem_statement/problem.en.${p.statementFormat}`, enc.encode(p.statement));
  for (const t of p.tests) {
    const base = `data/${t.kind}/${t.name}`;
    out.set(`${base}.in`, enc.encode(t.input));
    out.set(`${base}.ans`, enc.encode(t.answer));
  }
  for (const f of p.files) if (!out.has(f.path)) out.set(f.path, f.content);
  return out;
}

/** Accepted submissions shipped in a package: [path, language, source]. */
export function acceptedSubmissions(files: PackageFiles | Array<{ path: string; content: Uint8Array }>) {
  const entries = files instanceof Map ? [...files].map(([path, content]) => ({ path, content })) : files;
  return entries
    .filter((f) => f.path.startsWith("submissions/accepted/"))
    .map((f) => ({ path: f.path, name: basename(f.path), language: languageOf(f.path), source: text(f.content) }));
}
