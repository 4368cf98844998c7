import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../lib/context.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { parseWindow } from "./analytics.service.ts";

/**
 * Records one request after its answer is built. Called by the app's first
 * middleware (src/app.ts), which already times the request for the access
 * log: a middleware of its own cost an async frame per request, about a
 * third of what request logging cost in all (bench/answer-cost.ts).
 *
 * @example
 * const record = requestRecorder(s);
 * app.use(async (c, next) => { const t = performance.now(); await next(); record(c, c.req.routePath, performance.now() - t); });
 */
export function requestRecorder(s: Services): (c: Context<AppEnv>, route: string, durationMs: number) => void {
  const { analytics } = s;
  return (c, route, durationMs) => {
    // Static assets of the web UI would drown the API's numbers; they are the "*" fallback.
    if (route === "*" && c.req.method === "GET" && !c.req.path.startsWith("/api/")) return;
    analytics.record({
      method: c.req.method,
      route,
      status: c.res.status,
      durationMs,
      requestId: c.get("requestId"),
      ip: c.get("ip"),
      url: c.req.url,
      referer: c.req.header("referer"),
      host: c.req.header("host"),
      userAgent: c.req.header("user-agent"),
      userId: c.get("user")?.id ?? null,
    });
  };
}

export function analyticsRoutes(s: Services) {
  const { analytics, config } = s;
  return [
    route({
      method: "get",
      path: "/api/v1/admin/analytics",
      auth: "organiser",
      summary: "Request analytics over a window: requests/min, latency percentiles, status codes, top routes and referers",
      tags: ["admin"],
      query: z.strictObject({ window: z.string().max(8).optional().describe("e.g. 15m, 1h, 24h, 7d (default 1h; at most the retention)") }),
      response: z.object({
        window: z.object({ from: z.number(), to: z.number(), ms: z.number() }),
        total: z.number(),
        series: z.array(z.object({ minute: z.number(), count: z.number() })),
        latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable(), mean: z.number().nullable() }),
        statuses: z.array(z.object({ status: z.number(), count: z.number() })),
        topRoutes: z.array(z.object({ method: z.string(), route: z.string(), count: z.number(), avgMs: z.number(), errors: z.number() })),
        topReferers: z.array(z.object({ referer: z.string(), count: z.number() })),
        recorder: z.object({ pending: z.number(), written: z.number(), dropped: z.number(), failed: z.number() }),
      }),
      handler(_c, { query }) {
        const ms = parseWindow(query.window ?? "1h", config.analyticsRetentionDays * 86_400_000);
        return analytics.summary(ms);
      },
    }),
  ];
}
