/**
 * Problems: organiser CRUD and the two views of a problem. The player view
 * carries samples only; hidden (secret) test data leaves this service only
 * through `judgeData`, which the judge reads and nothing serialises to a
 * client. Test bodies live in content-addressed blobs, written and fsynced
 * before the row that names them.
 */
import { blobStore, type BlobStore } from "../lib/blobs.ts";
import type { Deps } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import { problemsStore, type NewTest, type ProblemRow, type ProblemTestRow } from "./problems.store.ts";

export type Difficulty = "easy" | "medium" | "hard";
export const DIFFICULTIES = ["easy", "medium", "hard"] as const;
export const CHECKER_RE = /^(exact|tokens|custom|float:(\d+(\.\d+)?([eE][-+]?\d+)?))$/;
export const DEFAULT_TIME_LIMIT_MS = 2000;
export const DEFAULT_MEMORY_LIMIT_MB = 256;

export interface TestIn {
  name?: string;
  input: string;
  answer: string;
}

export interface ProblemInput {
  slug?: string;
  title: string;
  statement?: string;
  statementFormat?: "md" | "tex";
  difficulty: Difficulty;
  tags?: string[];
  timeLimitMs?: number;
  memoryLimitMb?: number;
  checker?: string;
  checkerProgram?: { language: string; source: string } | null;
  samples?: TestIn[];
  tests?: TestIn[];
  meta?: Record<string, unknown>;
  /** Extra package files (e.g. submissions/accepted/x.py) kept for export. */
  files?: Array<{ path: string; content: string | Uint8Array }>;
}

export type ProblemPatch = Partial<ProblemInput>;

export interface JudgeTest {
  kind: "sample" | "secret";
  name: string;
  input: string;
  answer: string;
}

export interface JudgeData {
  problem: ProblemRow;
  tests: JudgeTest[];
  checkerProgram: { language: string; source: string } | null;
}

export const slugify = (s: string) =>
  s
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64) || "problem";

const parseJson = <T>(s: string | null, fallback: T): T => {
  if (!s) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
};

export function problemsService(deps: Deps) {
  const { db, clock, config } = deps;
  const store = problemsStore(db);
  const blobs: BlobStore = blobStore(config.dataDir);

  const checkChecker = (checker: string | undefined, program: ProblemInput["checkerProgram"]) => {
    if (checker === undefined) return;
    if (!CHECKER_RE.test(checker)) throw new AppError("validation_failed", "checker must be exact, tokens, float:EPS or custom.");
    if (checker === "custom" && !program) throw new AppError("validation_failed", "A custom checker needs checkerProgram {language, source}.");
  };

  /** Writes each test's blobs (fsynced) and returns rows ready to insert. */
  const prepareTests = (kind: "sample" | "secret", tests: TestIn[], startOrd = 0): NewTest[] => {
    const seen = new Set<string>();
    return tests.map((t, i) => {
      const name = t.name?.trim() || String(startOrd + i + 1).padStart(2, "0");
      if (seen.has(name)) throw new AppError("validation_failed", `Two ${kind} tests are named "${name}".`);
      seen.add(name);
      const input = blobs.put(t.input);
      const answer = blobs.put(t.answer);
      return { kind, name, ord: startOrd + i, inputBlob: input.sha, answerBlob: answer.sha, inputBytes: input.bytes, answerBytes: answer.bytes };
    });
  };

  const program = (p: ProblemRow) => {
    const cp = parseJson<{ language: string; sourceBlob: string } | null>(p.checkerProgram, null);
    if (!cp) return null;
    return { language: cp.language, source: blobs.text(cp.sourceBlob) ?? "" };
  };

  const storeProgram = (cp: ProblemInput["checkerProgram"]) => (cp ? JSON.stringify({ language: cp.language, sourceBlob: blobs.put(cp.source).sha }) : null);


  const sampleView = (t: ProblemTestRow) => ({ name: t.name, input: blobs.text(t.inputBlob) ?? "", answer: blobs.text(t.answerBlob) ?? "" });

  const summary = (p: ProblemRow, c: { sample: number; secret: number }) => ({
    id: p.id,
    slug: p.slug,
    title: p.title,
    difficulty: p.difficulty,
    tags: parseJson<string[]>(p.tags, []),
    timeLimitMs: p.timeLimitMs,
    memoryLimitMb: p.memoryLimitMb,
    sampleCount: c.sample,
    hiddenCount: c.secret,
  });

  const countsOf = (tests: ProblemTestRow[]) => ({ sample: tests.filter((t) => t.kind === "sample").length, secret: tests.filter((t) => t.kind === "secret").length });

  /** The part of a problem both players and organisers see; counts come from the tests already read. */
  const statementView = (p: ProblemRow, tests: ProblemTestRow[]) => ({
    ...summary(p, countsOf(tests)),
    statement: p.statement,
    statementFormat: p.statementFormat,
    checker: p.checker,
  });

  const svc = {
    store,
    blobs,

    get(id: number): ProblemRow {
      const p = store.byId(id);
      if (!p) throw new AppError("not_found", "No such problem.");
      return p;
    },

    /** What a player or spectator may see: statement, limits, samples, and only the count of hidden tests. */
    publicView(id: number) {
      const p = svc.get(id);
      const tests = store.tests(id);
      return {
        ...statementView(p, tests),
        samples: tests.filter((t) => t.kind === "sample").map(sampleView),
      };
    },

    /** The organiser's view, test data included. */
    adminView(id: number) {
      const p = svc.get(id);
      const tests = store.tests(id);
      return {
        ...statementView(p, tests),
        checkerProgram: program(p),
        meta: parseJson<Record<string, unknown>>(p.meta, {}),
        createdAt: p.createdAt,
        updatedAt: p.updatedAt,
        tests: tests.map((t) => ({ ...sampleView(t), id: t.id, kind: t.kind, inputBytes: t.inputBytes, answerBytes: t.answerBytes })),
        files: store.files(id).map((f) => ({ path: f.path, bytes: f.bytes })),
      };
    },

    list(filter: { difficulty?: Difficulty; tag?: string } = {}) {
      const c = store.testCounts();
      return store
        .list()
        .map((p) => summary(p, c.get(p.id) ?? { sample: 0, secret: 0 }))
        .filter((p) => (!filter.difficulty || p.difficulty === filter.difficulty) && (!filter.tag || p.tags.includes(filter.tag)));
    },

    async create(input: ProblemInput): Promise<ProblemRow> {
      checkChecker(input.checker, input.checkerProgram);
      const now = clock.now();
      // Blobs first (fsynced), then the rows that name them, in one transaction.
      const samples = prepareTests("sample", input.samples ?? []);
      const secret = prepareTests("secret", input.tests ?? []);
      const files = (input.files ?? []).map((f) => ({ path: f.path, ...pick(blobs.put(f.content)) }));
      const checkerProgram = storeProgram(input.checkerProgram);
      const slug = input.slug ?? slugify(input.title);
      const row = await db.write((tx) => {
        const p = store.insert(tx, {
          slug,
          title: input.title,
          statement: input.statement ?? "",
          statementFormat: input.statementFormat ?? "md",
          difficulty: input.difficulty,
          tags: JSON.stringify(input.tags ?? []),
          timeLimitMs: input.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS,
          memoryLimitMb: input.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB,
          checker: input.checker ?? "exact",
          checkerProgram,
          meta: JSON.stringify(input.meta ?? {}),
          createdAt: now,
          updatedAt: now,
        });
        if (!p) return undefined;
        store.replaceTests(tx, p.id, "sample", samples);
        store.replaceTests(tx, p.id, "secret", secret);
        store.replaceFiles(tx, p.id, files);
        return p;
      });
      if (!row) throw new AppError("slug_taken", `A problem with slug "${slug}" exists.`);
      return row;
    },

    async update(id: number, patch: ProblemPatch): Promise<ProblemRow> {
      const cur = svc.get(id);
      checkChecker(patch.checker, patch.checkerProgram ?? program(cur));
      const samples = patch.samples ? prepareTests("sample", patch.samples) : null;
      const secret = patch.tests ? prepareTests("secret", patch.tests) : null;
      const files = patch.files ? patch.files.map((f) => ({ path: f.path, ...pick(blobs.put(f.content)) })) : null;
      const set: Record<string, unknown> = { updatedAt: clock.now() };
      for (const k of ["slug", "title", "statement", "statementFormat", "difficulty", "timeLimitMs", "memoryLimitMb", "checker"] as const) {
        if (patch[k] !== undefined) set[k] = patch[k];
      }
      if (patch.tags) set.tags = JSON.stringify(patch.tags);
      if (patch.meta) set.meta = JSON.stringify(patch.meta);
      if (patch.checkerProgram !== undefined) set.checkerProgram = storeProgram(patch.checkerProgram);
      try {
        return await db.write((tx) => {
          const row = store.update(tx, id, set)!;
          if (samples) store.replaceTests(tx, id, "sample", samples);
          if (secret) store.replaceTests(tx, id, "secret", secret);
          if (files) store.replaceFiles(tx, id, files);
          return row;
        });
      } catch (e) {
        if (String(e).includes("UNIQUE") && String(e).includes("slug")) throw new AppError("slug_taken");
        throw e;
      }
    },

    async remove(id: number) {
      svc.get(id);
      try {
        await db.write((tx) => store.delete(tx, id));
      } catch (e) {
        // Submissions and matches reference the problem: history is kept, so deletion is refused.
        if (String(e).includes("FOREIGN KEY")) throw new AppError("problem_in_use");
        throw e;
      }
    },

    /** Adds or replaces one test (file upload). */
    async putTest(id: number, kind: "sample" | "secret", name: string, input: Uint8Array | string, answer: Uint8Array | string) {
      svc.get(id);
      const i = blobs.put(input);
      const a = blobs.put(answer);
      const ord = store.nextOrd(id, kind);
      await db.write((tx) => store.upsertTest(tx, id, { kind, name, ord, inputBlob: i.sha, answerBlob: a.sha, inputBytes: i.bytes, answerBytes: a.bytes }));
      await db.write((tx) => store.update(tx, id, { updatedAt: clock.now() }));
    },

    async deleteTest(id: number, testId: number) {
      svc.get(id);
      const n = await db.write((tx) => store.deleteTest(tx, id, testId));
      if (!n) throw new AppError("not_found", "No such test.");
    },

    /** Everything the judge needs, hidden tests included. Server-side only. */
    judgeData(id: number): JudgeData {
      const problem = svc.get(id);
      const tests = store.tests(id).map((t) => ({
        kind: t.kind,
        name: t.name,
        input: blobs.text(t.inputBlob) ?? "",
        answer: blobs.text(t.answerBlob) ?? "",
      }));
      return { problem, tests, checkerProgram: program(problem) };
    },

    /** Refuses judging a problem that has no test at all (nothing could ever be accepted). */
    requireTests(id: number) {
      const c = countsOf(store.tests(id));
      if (c.sample + c.secret === 0) throw new AppError("problem_no_tests", "This problem has no tests yet.");
      return c;
    },

    files(id: number) {
      return store.files(id).map((f) => ({ path: f.path, content: blobs.get(f.blob) ?? Buffer.alloc(0) }));
    },
  };
  return svc;
}

const pick = (b: { sha: string; bytes: number }) => ({ blob: b.sha, bytes: b.bytes });

export type ProblemsService = ReturnType<typeof problemsService>;
