/**
 * State-changing requests must come from our own pages. Browsers send
 * Sec-Fetch-Site (and Origin) on every POST; when present they must say
 * same-origin. A request with neither header is not from a browser page
 * (curl, the test clients, a remote runner) and cannot carry a victim's
 * cookie cross-site, so it passes. Hono's csrf() checks only form-like
 * content types and refuses header-less requests, which is the wrong way
 * round for a JSON API with non-browser clients.
 *
 * @example app.use("/api/*", sameOrigin());
 */
import type { MiddlewareHandler } from "hono";
import { AppError } from "./errors.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function sameOrigin(): MiddlewareHandler {
  return async (c, next) => {
    if (!SAFE.has(c.req.method)) {
      const site = c.req.header("sec-fetch-site");
      const origin = c.req.header("origin");
      if (site !== undefined && site !== "same-origin" && site !== "none") throw new AppError("cross_origin");
      if (origin !== undefined) {
        let host: string | null = null;
        try {
          host = new URL(origin).host;
        } catch {}
        const expected = c.req.header("host") ?? new URL(c.req.url).host;
        if (host !== expected) throw new AppError("cross_origin");
      }
    }
    await next();
  };
}
