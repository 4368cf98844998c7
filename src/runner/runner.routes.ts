/**
 * The runner's HTTP surface: a playground run for logged-in players (rate
 * limited per user), the language list, and the organiser's health view.
 * There is no unauthenticated way to run code.
 */
import { z } from "zod";
import { AppError } from "../lib/errors.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { LANGUAGE_IDS } from "./languages.ts";
import { CLAIM_WAIT_MS, decodeStdout, HEARTBEAT_MS, LEASE_MS } from "./remote.ts";
import { MAX_LIMITS } from "./runner.service.ts";

/** Playground limits: a source the size of any contest solution, input up to half the body limit. */
export const MAX_SOURCE_CHARS = 64 * 1024;
export const MAX_STDIN_CHARS = 256 * 1024;
export const RUNS_PER_MINUTE = 30;
/** Playground runs waiting for a slot, per slot, before new ones are refused. */
export const MAX_WAITING_PER_SLOT = 16;
/** A remote result's outputs were capped by its own limits (at most 8 MiB). */
const MAX_OUTPUT_CHARS = 8 << 20;

const RunBody = z.strictObject({
  language: z.enum(LANGUAGE_IDS as [string, ...string[]]),
  source: z.string().min(1).max(MAX_SOURCE_CHARS),
  stdin: z.string().max(MAX_STDIN_CHARS).default(""),
});

const RunOut = z.object({
  status: z.enum(["OK", "CE", "TLE", "MLE", "RE", "OLE", "IE"]),
  stdout: z.string(),
  stderr: z.string(),
  exitCode: z.number().nullable(),
  timeMs: z.number(),
  memoryKb: z.number(),
  compileOutput: z.string().optional(),
});

export function runnerRoutes(s: Services) {
  const remote = () => {
    if (!s.runner.remote) throw new AppError("not_found", "Remote runners are not available in this process.");
    return s.runner.remote;
  };
  return [
    route({
      method: "post",
      path: "/api/v1/run",
      auth: "user",
      summary: "Run a program once in the sandbox (playground); outputs are truncated at the cap",
      tags: ["runner"],
      body: RunBody,
      response: RunOut,
      async handler(_c, { body, user }) {
        const r = await s.limiter.hit(`run:user:${user.id}`, RUNS_PER_MINUTE, 60_000);
        if (!r.ok) throw new AppError("rate_limited", `At most ${RUNS_PER_MINUTE} runs a minute.`, { retryAfter: r.retryAfter });
        // Playground runs shed load rather than queue without bound behind judging.
        const { slots } = s.runner.health();
        if (slots.waiting >= slots.total * MAX_WAITING_PER_SLOT) throw new AppError("rate_limited", "The code runner is busy; try again in a moment.", { retryAfter: 2 });
        return await s.runner.run({ language: body.language, source: body.source, stdin: body.stdin });
      },
    }),
    route({
      method: "get",
      path: "/api/v1/runner/languages",
      auth: "none",
      summary: "Languages this runner offers (and why one is unavailable)",
      tags: ["runner"],
      handler: () => ({ languages: s.runner.languages() }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/runner/tokens",
      auth: "organiser",
      summary: "Create a token for a remote runner (`gauntlet runner --server URL --token T`); shown once",
      tags: ["runner"],
      body: z.strictObject({ name: z.string().trim().min(1).max(64) }),
      status: 201,
      handler: async (_c, { body }) => await remote().createToken(body.name),
    }),
    route({
      method: "get",
      path: "/api/v1/admin/runner/tokens",
      auth: "organiser",
      summary: "Remote runner tokens (never their secrets)",
      tags: ["runner"],
      handler: () => ({ tokens: remote().listTokens() }),
    }),
    route({
      method: "delete",
      path: "/api/v1/admin/runner/tokens/:id",
      auth: "organiser",
      summary: "Revoke a remote runner token (its runner is refused from its next call)",
      tags: ["runner"],
      params: z.strictObject({ id: z.string().min(1).max(64) }),
      handler: async (_c, { params }) => {
        await remote().revokeToken(params.id);
      },
    }),
    route({
      method: "post",
      path: "/api/v1/runner/remote/claim",
      auth: "none",
      summary: `Remote runner: wait up to ${CLAIM_WAIT_MS / 1000} s for the next run job of the shared queue (Authorization: Bearer runner token); 204 when none. The claim's lease is ${LEASE_MS / 1000} s`,
      tags: ["runner"],
      bodyOptional: true,
      body: z.strictObject({}),
      handler: async (c) => {
        const tokenId = remote().authenticate(c.req.header("authorization"));
        const job = await remote().claim(tokenId, CLAIM_WAIT_MS, c.req.raw.signal);
        return job ? { job } : c.body(null, 204);
      },
    }),
    route({
      method: "post",
      path: "/api/v1/runner/remote/jobs/:id/heartbeat",
      auth: "none",
      summary: `Remote runner: renew the lease of a job it holds (every ${HEARTBEAT_MS / 1000} s while it runs); 404 once the claim is lost`,
      tags: ["runner"],
      params: z.strictObject({ id: z.string().min(1).max(64) }),
      bodyOptional: true,
      body: z.strictObject({}),
      handler: async (c, { params }) => {
        const tokenId = remote().authenticate(c.req.header("authorization"));
        await remote().heartbeat(tokenId, params.id);
      },
    }),
    route({
      method: "post",
      path: "/api/v1/runner/remote/jobs/:id",
      auth: "none",
      summary: "Remote runner: report the result of a job it holds (stdout whole, or gzipped and base64 in stdoutGz); 404 when the claim is no longer its own",
      tags: ["runner"],
      params: z.strictObject({ id: z.string().min(1).max(64) }),
      body: RunOut.extend({
        stdout: z.string().max(MAX_OUTPUT_CHARS),
        stdoutGz: z.string().max(MAX_OUTPUT_CHARS).optional(),
        stderr: z.string().max(MAX_OUTPUT_CHARS),
        compileOutput: z.string().max(MAX_OUTPUT_CHARS).optional(),
      }).strict(),
      handler: async (c, { params, body }) => {
        const tokenId = remote().authenticate(c.req.header("authorization"));
        const { stdoutGz, ...result } = body;
        if (stdoutGz !== undefined) result.stdout = decodeStdout(stdoutGz, MAX_LIMITS.outputBytes);
        await remote().complete(tokenId, params.id, result);
      },
    }),
    route({
      method: "get",
      path: "/api/v1/admin/runner",
      auth: "organiser",
      summary: "Runner health: sandbox mode, slots, warm pools, counts by status",
      tags: ["runner"],
      handler: () => s.runner.health(),
    }),
  ];
}
