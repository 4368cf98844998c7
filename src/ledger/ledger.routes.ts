import { z } from "zod";
import { AppError } from "../lib/errors.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";

const Ev = z.strictObject({ event: z.string().min(1).max(100) });

export function ledgerRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/api/v1/events/:event/ledger/adjust",
      auth: "organiser",
      summary: "Adjust a player's points or XP, with a reason",
      tags: ["ledger"],
      params: Ev,
      body: z.strictObject({
        playerId: z.number().int().positive(),
        amount: z.number().int().min(-1_000_000_000).max(1_000_000_000),
        // XP is the formula of hunt-rules.md (ticks, solves, cap); only points are adjusted by hand.
        currency: z.literal("points"),
        reason: z.string().min(1).max(1000),
        idempotencyKey: z.string().min(1).max(200).optional(),
      }),
      status: 201,
      handler: async (_c, { params, body, user }) => {
        const ev = s.events.get(params.event);
        if (!s.auth.store.findById(body.playerId)) throw new AppError("not_found", "No such player.");
        return { entry: await s.ledger.adjust({ ...body, eventId: ev.row.id, by: user.id }) };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/events/:event/ledger",
      auth: "organiser",
      summary: "A player's ledger entries in an event (newest first)",
      tags: ["ledger"],
      params: Ev,
      query: z.strictObject({ player: z.coerce.number().int().positive() }),
      handler: (_c, { params, query }) => ({ entries: s.ledger.entries(s.events.get(params.event).row.id, query.player) }),
    }),
  ];
}
