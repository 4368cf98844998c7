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

/** Playground limits: a source the size of any contest solution, input up to half the body limit. */
export const MAX_SOURCE_CHARS = 64 * 1024;
export const MAX_STDIN_CHARS = 256 * 1024;
export const RUNS_PER_MINUTE = 30;

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
        const r = s.limiter.hit(`run:user:${user.id}`, RUNS_PER_MINUTE, 60_000);
        if (!r.ok) throw new AppError("rate_limited", `At most ${RUNS_PER_MINUTE} runs a minute.`, { retryAfter: r.retryAfter });
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
      method: "get",
      path: "/api/v1/admin/runner",
      auth: "organiser",
      summary: "Runner health: sandbox mode, slots, warm pools, counts by status",
      tags: ["runner"],
      handler: () => s.runner.health(),
    }),
  ];
}
