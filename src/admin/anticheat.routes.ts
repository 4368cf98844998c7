/**
 * The organiser's anti-cheat report for one event: identical wrong answers
 * from different players in a short window, many accounts from one IP, and
 * bursts of solves. Signals for a human to look at, never automatic bans.
 */
import { z } from "zod";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { antiCheatStore } from "./anticheat.store.ts";

const LIMIT = 100;

export function adminAntiCheatRoutes(s: Services) {
  const store = antiCheatStore(s.db);
  return [
    route({
      method: "get",
      path: "/api/v1/events/:event/anticheat",
      auth: "organiser",
      tags: ["admin"],
      summary: "Anti-cheat report: shared wrong answers within windowSec, IPs used by at least minAccounts players, runs of burstSolves solves within burstWindowSec",
      params: z.strictObject({ event: z.string().min(1).max(100) }),
      query: z.strictObject({
        windowSec: z.coerce.number().int().min(1).max(86_400).optional(),
        minAccounts: z.coerce.number().int().min(2).max(1000).optional(),
        burstSolves: z.coerce.number().int().min(2).max(1000).optional(),
        burstWindowSec: z.coerce.number().int().min(1).max(86_400).optional(),
      }),
      handler(_c, { params, query }) {
        const ev = s.events.get(params.event);
        const id = ev.row.id;
        const settings = { windowSec: query.windowSec ?? 120, minAccounts: query.minAccounts ?? 3, burstSolves: query.burstSolves ?? 3, burstWindowSec: query.burstWindowSec ?? 120 };
        return {
          event: { id, slug: ev.row.slug, title: ev.row.title },
          settings,
          sharedWrongAnswers: store.sharedWrongAnswers(id, settings.windowSec * 1000, LIMIT),
          sharedIps: store.sharedIps(id, settings.minAccounts, LIMIT),
          solveBursts: store.solveBursts(id, settings.burstWindowSec * 1000, settings.burstSolves, LIMIT),
        };
      },
    }),
  ];
}
