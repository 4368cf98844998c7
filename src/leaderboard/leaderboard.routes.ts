import { z } from "zod";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";

export function leaderboardRoutes(s: Services) {
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
  ];
}
