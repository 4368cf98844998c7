/**
 * Problems over HTTP: organiser CRUD (tests inline as JSON, or one test at a
 * time as a file upload), Kattis package import/export, and the player's
 * list/get (samples only; hidden tests never leave the server).
 */
import { z } from "zod";
import { AppError } from "../lib/errors.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { fromPackage, toPackage, type PackageFiles } from "./kattis.ts";
import type { ProblemsService } from "./problems.service.ts";

const MAX_TEST_CHARS = 8 * 1024 * 1024;
const Difficulty = z.enum(["easy", "medium", "hard"]);
const TestIn = z.strictObject({ name: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9_.\-/]+$/).optional(), input: z.string().max(MAX_TEST_CHARS), answer: z.string().max(MAX_TEST_CHARS) });
const Checker = z.string().regex(/^(exact|tokens|custom|float:\d+(\.\d+)?([eE][-+]?\d+)?)$/, "exact, tokens, float:EPS or custom");
const Program = z.strictObject({ language: z.string().min(1).max(32), source: z.string().min(1).max(256 * 1024) });

const ProblemBody = z.strictObject({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/).optional(),
  title: z.string().trim().min(1).max(200),
  statement: z.string().max(256 * 1024).optional(),
  statementFormat: z.enum(["md", "tex"]).optional(),
  difficulty: Difficulty,
  tags: z.array(z.string().trim().min(1).max(40)).max(20).optional(),
  timeLimitMs: z.number().int().min(100).max(10_000).optional(),
  memoryLimitMb: z.number().int().min(16).max(1024).optional(),
  checker: Checker.optional(),
  checkerProgram: Program.nullish(),
  samples: z.array(TestIn).max(50).optional(),
  tests: z.array(TestIn).max(500).optional(),
});
const PatchBody = ProblemBody.partial();
const IdParams = z.strictObject({ id: z.coerce.number().int().positive() });
const TestParams = z.strictObject({ id: z.coerce.number().int().positive(), testId: z.coerce.number().int().positive() });

const PackageBody = z.strictObject({
  /** Relative path → file content; `base64:` prefix for binary files. */
  files: z.record(z.string().min(1).max(300), z.string()),
  difficulty: Difficulty.optional(),
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/).optional(),
});

export function decodePackage(files: Record<string, string>): PackageFiles {
  const out: PackageFiles = new Map();
  const enc = new TextEncoder();
  for (const [path, content] of Object.entries(files)) {
    if (path.startsWith("/") || path.split("/").some((s) => s === ".." || s === "." || s === "")) throw new AppError("validation_failed", `Unsafe path in package: ${path}`);
    out.set(path, content.startsWith("base64:") ? new Uint8Array(Buffer.from(content.slice(7), "base64")) : enc.encode(content));
  }
  return out;
}

export function exportProblem(problems: ProblemsService, id: number): PackageFiles {
  const v = problems.adminView(id);
  const data = problems.judgeData(id);
  return toPackage({
    slug: v.slug,
    title: v.title,
    statement: v.statement,
    statementFormat: v.statementFormat,
    difficulty: v.difficulty,
    tags: v.tags,
    timeLimitMs: v.timeLimitMs,
    memoryLimitMb: v.memoryLimitMb,
    checker: v.checker,
    meta: v.meta,
    tests: data.tests,
    files: problems.files(id).map((f) => ({ path: f.path, content: new Uint8Array(f.content) })),
  });
}

export function problemRoutes(s: Services) {
  const problems = s.arena.problems;
  return [
    route({
      method: "get",
      path: "/api/v1/problems",
      auth: "user",
      summary: "List problems (no test data)",
      query: z.strictObject({ difficulty: Difficulty.optional(), tag: z.string().max(40).optional() }),
      handler: (_c, { query }) => ({ problems: problems.list(query) }),
    }),
    route({
      method: "get",
      path: "/api/v1/problems/:id",
      auth: "user",
      summary: "A problem: statement, limits and sample tests (hidden tests are never sent)",
      params: IdParams,
      handler: (_c, { params }) => ({ problem: problems.publicView(params.id) }),
    }),
    route({
      method: "get",
      path: "/api/v1/admin/problems",
      auth: "organiser",
      summary: "List problems (organiser)",
      handler: () => ({ problems: problems.list() }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/problems",
      auth: "organiser",
      summary: "Create a problem with its tests inline",
      body: ProblemBody,
      status: 201,
      async handler(_c, { body }) {
        const p = await problems.create(body);
        return { problem: problems.adminView(p.id) };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/admin/problems/:id",
      auth: "organiser",
      summary: "A problem with all its tests",
      params: IdParams,
      handler: (_c, { params }) => ({ problem: problems.adminView(params.id) }),
    }),
    route({
      method: "patch",
      path: "/api/v1/admin/problems/:id",
      auth: "organiser",
      summary: "Update a problem; samples/tests, when given, replace that kind",
      params: IdParams,
      body: PatchBody,
      async handler(_c, { params, body }) {
        await problems.update(params.id, body);
        return { problem: problems.adminView(params.id) };
      },
    }),
    route({
      method: "delete",
      path: "/api/v1/admin/problems/:id",
      auth: "organiser",
      summary: "Delete a problem never used in a submission or match",
      params: IdParams,
      status: 204,
      async handler(_c, { params }) {
        await problems.remove(params.id);
      },
    }),
    route({
      method: "post",
      path: "/api/v1/admin/problems/:id/tests",
      auth: "organiser",
      summary: "Upload one test as multipart/form-data: kind (sample|secret), name, input (file), answer (file)",
      params: IdParams,
      status: 201,
      async handler(c, { params }) {
        const type = c.req.header("content-type") ?? "";
        if (!/^multipart\/form-data/i.test(type)) throw new AppError("unsupported_media_type", "Send the test as multipart/form-data.");
        let form: FormData;
        try {
          form = await c.req.formData();
        } catch {
          throw new AppError("bad_request", "The form data could not be parsed.");
        }
        const kind = String(form.get("kind") ?? "");
        const name = String(form.get("name") ?? "");
        if (kind !== "sample" && kind !== "secret") throw new AppError("validation_failed", "kind must be sample or secret.");
        if (!/^[A-Za-z0-9_.\-/]{1,64}$/.test(name)) throw new AppError("validation_failed", "name must be 1–64 of A-Z a-z 0-9 _ . - /.");
        const read = async (k: string) => {
          const v = form.get(k);
          if (v === null) throw new AppError("validation_failed", `${k} is missing.`);
          return typeof v === "string" ? v : new Uint8Array(await v.arrayBuffer());
        };
        await problems.putTest(params.id, kind, name, await read("input"), await read("answer"));
        return { problem: problems.adminView(params.id) };
      },
    }),
    route({
      method: "delete",
      path: "/api/v1/admin/problems/:id/tests/:testId",
      auth: "organiser",
      summary: "Delete one test",
      params: TestParams,
      status: 204,
      async handler(_c, { params }) {
        await problems.deleteTest(params.id, params.testId);
      },
    }),
    route({
      method: "post",
      path: "/api/v1/admin/problems/import/kattis",
      auth: "organiser",
      summary: "Import a Kattis problem package sent as a JSON map of files",
      body: PackageBody,
      status: 201,
      async handler(_c, { body }) {
        const input = fromPackage(decodePackage(body.files), { difficulty: body.difficulty, slug: body.slug });
        const p = await problems.create(input);
        return { problem: problems.adminView(p.id) };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/admin/problems/:id/export/kattis",
      auth: "organiser",
      summary: "Export a problem as a Kattis package (JSON map of files; binary ones base64:)",
      params: IdParams,
      handler(_c, { params }) {
        const files: Record<string, string> = {};
        const dec = new TextDecoder("utf-8", { fatal: true });
        for (const [path, content] of exportProblem(problems, params.id)) {
          try {
            files[path] = dec.decode(content);
          } catch {
            files[path] = "base64:" + Buffer.from(content).toString("base64");
          }
        }
        return { files };
      },
    }),
  ];
}
