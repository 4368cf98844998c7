import { z } from "zod";
import { AppError } from "../lib/errors.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { adminUserRoutes } from "./users.routes.ts";
import { adminLiveRoutes } from "./live.routes.ts";
import { adminAntiCheatRoutes } from "./anticheat.routes.ts";

export function adminRoutes(s: Services) {
  return [
    ...adminUserRoutes(s),
    ...adminLiveRoutes(s),
    ...adminAntiCheatRoutes(s),
    route({
      method: "get",
      path: "/api/v1/admin/clock",
      auth: "organiser",
      summary: "The server clock (and whether it is the fake one)",
      handler: () => ({ now: s.clock.now(), fake: s.clock.fake }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/clock",
      auth: "organiser",
      summary: "Advance the fake clock (GAUNTLET_FAKE_CLOCK=1 only)",
      body: z.strictObject({ advanceMs: z.number().int().min(0).max(366 * 24 * 3_600_000) }),
      handler(_c, { body }) {
        if (!s.clock.fake) throw new AppError("conflict", "The clock is real; start the server with GAUNTLET_FAKE_CLOCK=1 to advance it.");
        return { now: s.clock.advance(body.advanceMs), fake: true };
      },
    }),
  ];
}
