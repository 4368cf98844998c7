import type { Context } from "hono";
import { timingSafeEqual } from "node:crypto";
import type { AppEnv } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import type { Services } from "../services.ts";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;

function sameSecret(a: string, b: string) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * GET /metrics. With a metricsToken configured, a matching Bearer token is
 * required from anywhere; without one, only a loopback client that did not
 * come through a proxy (no X-Forwarded-For) is served, so a Caddy in front
 * never exposes it to the internet by accident.
 *
 * @example
 * app.get("/metrics", metricsHandler(s));
 */
export function metricsHandler(s: Services) {
  const token = s.config.metricsToken;
  return async (c: Context<AppEnv>) => {
    if (token) {
      const m = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "");
      if (!m || !sameSecret(m[1].trim(), token)) {
        c.header("WWW-Authenticate", 'Bearer realm="metrics"');
        throw new AppError("unauthenticated", "A valid metrics token is required.");
      }
    } else if (!LOOPBACK.test(c.get("ip")) || c.req.header("x-forwarded-for") !== undefined) {
      throw new AppError("forbidden", "Metrics are served to loopback only; set metricsToken to scrape remotely.");
    }
    const text = await s.metrics.render(s as never);
    return c.body(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Cache-Control": "no-store" });
  };
}
