import { z } from "zod";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { leaderboardHistory } from "./leaderboard.history.ts";

export function leaderboardRoutes(s: Services) {
  const history = leaderboardHistory(s);
  return [
    route({
      method: "get",
      path: "/api/v1/events/:event/leaderboard",
      auth: "optional",
      summary: "Ranks with points and the tie-break time, plus the caller's own rank",
      tags: ["leaderboard"],
      params: z.strictObject({ event: z.string().min(1).max(100) }),
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).optional(), offset: z.coerce.number().int().min(0).max(10_000_000).optional() }),
      handler: (_c, { params, query, user }) => s.leaderboard.board(params.event, user, query.limit ?? 100, query.offset ?? 0),
    }),
    route({
      method: "get",
      path: "/api/v1/events/:event/leaderboard/history",
      auth: "optional",
      summary: "Score over time of the top players (cumulative points at each change); frozen like the board",
      tags: ["leaderboard"],
      params: z.strictObject({ event: z.string().min(1).max(100) }),
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(20).optional() }),
      handler: (_c, { params, query, user }) => history(params.event, user, query.limit ?? 10),
    }),
  ];
}
