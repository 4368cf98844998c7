/**
 * State-changing requests must come from our own pages. Browsers send
 * Sec-Fetch-Site (and Origin) on every POST; when present they must say
 * same-origin. A request with neither header is not from a browser page
 * (curl, the test clients, a remote runner) and cannot carry a victim's
 * cookie cross-site, so it passes. Hono's csrf() checks only form-like
 * content types and refuses header-less requests, which is the wrong way
 * round for a JSON API with non-browser clients.
 *
 * @example checkSameOrigin(c); // in the API middleware (src/app.ts): throws 403 cross_origin
 */
import type { Context } from "hono";
import { AppError } from "./errors.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** Throws AppError cross_origin for a state-changing request that a browser says came from another site. */
export function checkSameOrigin(c: Context): void {
  if (SAFE.has(c.req.method)) return;
  const headers = c.req.raw.headers;
  const site = headers.get("sec-fetch-site");
  const origin = headers.get("origin");
  if (site !== null && site !== "same-origin" && site !== "none") throw new AppError("cross_origin");
  if (origin !== null) {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {}
    const expected = headers.get("host") ?? new URL(c.req.url).host;
    if (host !== expected) throw new AppError("cross_origin");
  }
}

