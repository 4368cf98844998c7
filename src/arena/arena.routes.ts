/**
 * The arena over HTTP: submissions (practice and in a match), rooms with
 * invite codes, the public queue, match state, the team's code, tester runs,
 * and profiles with rating and history. Live events go over /api/v1/live
 * (topics `match:<id>` and `user:<id>`); these routes are the authoritative
 * reads a reconnecting client starts from.
 */
import { z } from "zod";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { MAX_SOURCE } from "./arena.service.ts";

const IdParams = z.strictObject({ id: z.coerce.number().int().positive() });
const Code = z.strictObject({ language: z.string().min(1).max(32), source: z.string().min(1).max(MAX_SOURCE) });
const Difficulty = z.enum(["easy", "medium", "hard"]);
const Format = z.enum(["duel", "pairs"]);

export function arenaRoutes(s: Services) {
  const a = s.arena;
  return [
    route({
      method: "post",
      path: "/api/v1/problems/:id/submissions",
      auth: "user",
      summary: "Submit a solution (practice, or the running match on this problem); judged by a queued job",
      params: IdParams,
      body: Code,
      status: 202,
      handler: async (_c, { params, body, user }) => ({ submission: await a.submitPractice(user, params.id, body.language, body.source) }),
    }),
    route({
      method: "get",
      path: "/api/v1/submissions",
      auth: "user",
      summary: "My recent submissions (verdicts only)",
      handler: (_c, { user }) => ({ submissions: a.mySubmissions(user.id) }),
    }),
    route({
      method: "get",
      path: "/api/v1/submissions/:id",
      auth: "user",
      summary: "A submission with its per-test verdicts (never test data)",
      params: IdParams,
      handler: (_c, { params, user }) => ({ submission: a.getSubmission(user, params.id) }),
    }),
    route({
      method: "post",
      path: "/api/v1/arena/rooms",
      auth: "user",
      summary: "Create a private room; share its 6-character invite code",
      body: z.strictObject({
        format: Format,
        difficulty: Difficulty,
        durationSec: z.number().int().min(30).max(4 * 3600).optional(),
        countdownSec: z.number().int().min(0).max(60).optional(),
        problemId: z.number().int().positive().optional(),
        rated: z.boolean().optional(),
        isPublic: z.boolean().optional(),
      }),
      status: 201,
      handler: async (_c, { body, user }) => ({ match: await a.createRoom(user, body) }),
    }),
    route({
      method: "post",
      path: "/api/v1/arena/rooms/join",
      auth: "user",
      summary: "Join a room by invite code (case-insensitive)",
      body: z.strictObject({ code: z.string().min(1).max(32), side: z.union([z.literal(0), z.literal(1)]).optional(), role: z.enum(["coder", "tester", "solo"]).optional() }),
      handler: async (_c, { body, user }) => ({ match: await a.joinRoom(user, body.code, { side: body.side, role: body.role }) }),
    }),
    route({
      method: "post",
      path: "/api/v1/arena/rooms/:id/leave",
      auth: "user",
      summary: "Leave a room before its match starts",
      params: IdParams,
      status: 204,
      bodyOptional: true,
      body: z.strictObject({}),
      handler: async (_c, { params, user }) => {
        await a.leaveRoom(user, params.id);
      },
    }),
    route({
      method: "post",
      path: "/api/v1/arena/queue",
      auth: "user",
      summary: "Join the public queue for a format and difficulty",
      body: z.strictObject({ format: Format, difficulty: Difficulty }),
      handler: async (_c, { body, user }) => a.joinQueue(user, body.format, body.difficulty),
    }),
    route({
      method: "get",
      path: "/api/v1/arena/queue",
      auth: "user",
      summary: "My place in the queue, or my current match",
      handler: (_c, { user }) => ({ queued: a.queueStatus(user.id), match: a.myMatch(user) }),
    }),
    route({
      method: "delete",
      path: "/api/v1/arena/queue",
      auth: "user",
      summary: "Leave the queue (immediate)",
      status: 204,
      handler: async (_c, { user }) => {
        await a.leaveQueue(user);
      },
    }),
    route({
      method: "get",
      path: "/api/v1/arena/matches",
      auth: "optional",
      summary: "Public matches in progress (to spectate)",
      handler: () => ({ matches: a.liveMatches() }),
    }),
    route({
      method: "get",
      path: "/api/v1/arena/matches/:id",
      auth: "user",
      summary: "Match state: players, roles, timer, progress; the problem once started; result and replay once over",
      params: IdParams,
      handler: (_c, { params, user }) => ({ match: a.match(params.id, user) }),
    }),
    route({
      method: "post",
      path: "/api/v1/arena/matches/:id/submissions",
      auth: "user",
      summary: "Submit in a match (Coder or duel player)",
      params: IdParams,
      body: Code,
      status: 202,
      handler: async (_c, { params, body, user }) => ({ submission: await a.submitMatch(user, params.id, body.language, body.source) }),
    }),
    route({
      method: "put",
      path: "/api/v1/arena/matches/:id/code",
      auth: "user",
      summary: "Save the team's current code (Coder)",
      params: IdParams,
      body: Code,
      handler: async (_c, { params, body, user }) => a.putCode(user, params.id, body.language, body.source),
    }),
    route({
      method: "get",
      path: "/api/v1/arena/matches/:id/code",
      auth: "user",
      summary: "The team's current code (the Coder only; everyone's once the match is over)",
      params: IdParams,
      handler: (_c, { params, user }) => a.getCode(user, params.id),
    }),
    route({
      method: "post",
      path: "/api/v1/arena/matches/:id/tests",
      auth: "user",
      summary: "Tester: run test cases against the Coder's current code (results go to the Coder)",
      params: IdParams,
      body: z.strictObject({ tests: z.array(z.strictObject({ input: z.string().max(64 * 1024), expected: z.string().max(64 * 1024) })).min(1).max(10) }),
      status: 202,
      handler: async (_c, { params, body, user }) => a.testerRun(user, params.id, body.tests),
    }),
    route({
      method: "post",
      path: "/api/v1/arena/matches/:id/presence",
      auth: "user",
      summary: "Tell the server this player is back (a client that reconnects calls it after its websocket is up)",
      params: IdParams,
      bodyOptional: true,
      body: z.strictObject({ online: z.boolean().optional() }),
      handler: async (_c, { params, body, user }) => {
        const m = a.match(params.id, user);
        await a.presence(user.id, body.online ?? true);
        return { match: m.status === "finished" ? m : a.match(params.id, user) };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/users/:id/profile",
      auth: "optional",
      summary: "A player's rating and match history",
      params: IdParams,
      handler: (_c, { params }) => ({ profile: a.profile(params.id) }),
    }),
  ];
}
