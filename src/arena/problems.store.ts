/** The only code that touches the problems, problem_tests and problem_files tables. */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db, Drizzle } from "../db/db.ts";

/** bun:sqlite returns { changes } from run(); drizzle types it as void. */
const changes = (q: { run(): unknown }): number => (q.run() as { changes: number }).changes;
import { problemFiles, problems, problemTests } from "../db/schema/index.ts";

export type ProblemRow = typeof problems.$inferSelect;
export type ProblemTestRow = typeof problemTests.$inferSelect;
export type NewProblem = typeof problems.$inferInsert;
export type NewTest = Omit<typeof problemTests.$inferInsert, "problemId" | "id">;
export type ProblemFileRow = typeof problemFiles.$inferSelect;

export function problemsStore(db: Db) {
  const byId = db.r.select().from(problems).where(eq(problems.id, sql.placeholder("id"))).prepare();
  const bySlug = db.r.select().from(problems).where(eq(problems.slug, sql.placeholder("slug"))).prepare();
  const testsOf = db.r.select().from(problemTests).where(eq(problemTests.problemId, sql.placeholder("id"))).orderBy(asc(problemTests.kind), asc(problemTests.ord), asc(problemTests.name)).prepare();

  return {
    byId: (id: number): ProblemRow | undefined => byId.get({ id }),
    bySlug: (slug: string): ProblemRow | undefined => bySlug.get({ slug }),
    list: (): ProblemRow[] => db.r.select().from(problems).orderBy(asc(problems.id)).all(),
    /** Samples first, then secret tests, each in their order. */
    tests: (problemId: number): ProblemTestRow[] => testsOf.all({ id: problemId }),
    testCounts(): Map<number, { sample: number; secret: number }> {
      const rows = db.r
        .select({ problemId: problemTests.problemId, kind: problemTests.kind, n: sql<number>`count(*)` })
        .from(problemTests)
        .groupBy(problemTests.problemId, problemTests.kind)
        .all();
      const out = new Map<number, { sample: number; secret: number }>();
      for (const r of rows) {
        const c = out.get(r.problemId) ?? { sample: 0, secret: 0 };
        c[r.kind] = r.n;
        out.set(r.problemId, c);
      }
      return out;
    },
    files: (problemId: number): ProblemFileRow[] => db.r.select().from(problemFiles).where(eq(problemFiles.problemId, problemId)).orderBy(asc(problemFiles.path)).all(),

    /** Undefined when the slug is taken (the UNIQUE constraint decides). */
    insert: (tx: Drizzle, p: NewProblem): ProblemRow | undefined => tx.insert(problems).values(p).onConflictDoNothing({ target: problems.slug }).returning().get(),
    update: (tx: Drizzle, id: number, set: Partial<NewProblem>): ProblemRow | undefined => tx.update(problems).set(set).where(eq(problems.id, id)).returning().get(),
    delete: (tx: Drizzle, id: number) => changes(tx.delete(problems).where(eq(problems.id, id))),

    replaceTests(tx: Drizzle, problemId: number, kind: "sample" | "secret", tests: NewTest[]) {
      tx.delete(problemTests).where(and(eq(problemTests.problemId, problemId), eq(problemTests.kind, kind))).run();
      for (const t of tests) tx.insert(problemTests).values({ ...t, problemId }).run();
    },
    upsertTest(tx: Drizzle, problemId: number, t: NewTest) {
      tx.insert(problemTests)
        .values({ ...t, problemId })
        .onConflictDoUpdate({
          target: [problemTests.problemId, problemTests.kind, problemTests.name],
          set: { inputBlob: t.inputBlob, answerBlob: t.answerBlob, inputBytes: t.inputBytes, answerBytes: t.answerBytes },
        })
        .run();
    },
    deleteTest: (tx: Drizzle, problemId: number, testId: number) =>
      changes(tx.delete(problemTests).where(and(eq(problemTests.problemId, problemId), eq(problemTests.id, testId)))),
    nextOrd(problemId: number, kind: "sample" | "secret"): number {
      return db.w.select({ n: sql<number>`coalesce(max(${problemTests.ord}), -1) + 1` }).from(problemTests).where(and(eq(problemTests.problemId, problemId), eq(problemTests.kind, kind))).get()!.n;
    },
    replaceFiles(tx: Drizzle, problemId: number, files: Array<{ path: string; blob: string; bytes: number }>) {
      tx.delete(problemFiles).where(eq(problemFiles.problemId, problemId)).run();
      for (const f of files) tx.insert(problemFiles).values({ ...f, problemId }).run();
    },
  };
}

export type ProblemsStore = ReturnType<typeof problemsStore>;
