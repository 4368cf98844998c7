import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../lib/context.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { POWERUPS } from "./hunt.rules.ts";
import { MAX_ANSWER_LENGTH } from "./hunt.service.ts";

export const EventParam = z.strictObject({ event: z.string().min(1).max(100) });
const meta = (c: Context<AppEnv>) => ({ ip: c.get("ip") ?? null, userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null });

export function huntRoutes(s: Services) {
  const { hunt } = s;
  const base = "/api/v1/events/:event/hunt";
  return [
    route({
      method: "get",
      path: `${base}/current`,
      auth: "user",
      summary: "The current puzzle with its story and revealed hints, the status and balances",
      tags: ["hunt"],
      params: EventParam,
      handler: (_c, { params, user }) => hunt.current(params.event, user),
    }),
    route({
      method: "post",
      path: `${base}/answer`,
      auth: "user",
      summary: "Submit an answer to the current puzzle (or the unlocked puzzle named by puzzleId)",
      tags: ["hunt"],
      params: EventParam,
      body: z.strictObject({ answer: z.string().max(MAX_ANSWER_LENGTH), puzzleId: z.number().int().positive().optional() }),
      handler: (c, { params, body, user }) => hunt.answer(params.event, user, body, meta(c)),
    }),
    route({
      method: "post",
      path: `${base}/hint`,
      auth: "user",
      summary: "Reveal the next hint of the current puzzle (its cost comes off the award)",
      tags: ["hunt"],
      params: EventParam,
      bodyOptional: true,
      body: z.strictObject({}),
      handler: (c, { params, user }) => hunt.hint(params.event, user, meta(c)),
    }),
    route({
      method: "post",
      path: `${base}/powerups/:kind`,
      auth: "user",
      summary: "Buy a powerup with XP: close_enough, hint or skip",
      tags: ["hunt"],
      params: EventParam.extend({ kind: z.enum(POWERUPS) }),
      bodyOptional: true,
      body: z.strictObject({}),
      handler: (c, { params, user }) => hunt.powerup(params.event, user, params.kind, meta(c)),
    }),
    route({
      method: "get",
      path: `${base}/story`,
      auth: "user",
      summary: "Story blocks of the puzzles unlocked so far",
      tags: ["hunt"],
      params: EventParam,
      handler: (_c, { params, user }) => hunt.story(params.event, user),
    }),
    route({
      method: "get",
      path: `${base}/attempts`,
      auth: "user",
      summary: "Your own attempts (accepted and close answers are not echoed)",
      tags: ["hunt"],
      params: EventParam,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).optional() }),
      handler: (_c, { params, query, user }) => hunt.attempts(params.event, user, query.limit),
    }),
    route({
      method: "post",
      path: "/api/v1/events/:event/join",
      auth: "user",
      summary: "Join an event (invite-only events need the code)",
      tags: ["events"],
      params: EventParam,
      bodyOptional: true,
      body: z.strictObject({ code: z.string().max(200).optional() }),
      handler: (_c, { params, body, user }) => hunt.join(params.event, user, body.code),
    }),
  ];
}
