/**
 * One organiser read for the live dashboard: connections, answers in the last
 * minute, queue depth and runner health, gathered from each domain's service
 * so the page polls one endpoint instead of four.
 */
import { z } from "zod";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";

const ANSWER_ROUTE = "/api/v1/events/:event/hunt/answer";

export function adminLiveRoutes(s: Services) {
  return [
    route({
      method: "get",
      path: "/api/v1/admin/live",
      auth: "organiser",
      tags: ["admin"],
      summary: "Live dashboard numbers: websocket connections, answers and requests in the last minute, queue depth, runner pool health",
      response: z.object({
        now: z.number(),
        connections: z.number(),
        answersLastMinute: z.number(),
        requestsLastMinute: z.number(),
        queue: z.object({ queued: z.number(), running: z.number(), dead: z.number() }),
        runner: z.unknown(),
      }),
      async handler() {
        const traffic = s.analytics.summary(60_000);
        const answers = traffic.topRoutes.filter((r: { route: string }) => r.route === ANSWER_ROUTE).reduce((a: number, r: { count: number }) => a + r.count, 0);
        const counts = s.queue.counts().counts as Record<string, number>;
        const c = (k: string) => Number(counts[k] ?? 0);
        return {
          now: s.clock.now(),
          connections: s.realtime.stats().connections,
          answersLastMinute: answers,
          requestsLastMinute: traffic.total,
          queue: { queued: c("QUEUED"), running: c("RUNNING"), dead: c("DEAD") },
          runner: s.runner.health(),
        };
      },
    }),
  ];
}
