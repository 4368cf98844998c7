/**
 * MultiVAC's HTTP surface, outside /api (the SRE challenge's paths):
 * GET /multivac, POST /multivac/data (form field `data`), GET /zzz?ms=.
 * Rate-limited per client IP; answers 404 when the `multivac` setting is off.
 *
 * @example
 * mountMultivac(app, s); // before the web fallback
 */
import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import type { Services } from "../services.ts";
import { MAX_DATUM, MAX_SLEEP_MS } from "./multivac.service.ts";

const FORM = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

export function mountMultivac(app: Hono<AppEnv>, s: Services) {
  const { config, limiter, multivac } = s;
  const paths = ["/multivac", "/multivac/data", "/zzz"];
  if (!config.multivac) {
    for (const p of paths) app.all(p, () => { throw new AppError("not_found", "MultiVAC is disabled on this server."); });
    return;
  }
  const limit = async (ip: string) => {
    const r = await limiter.hit(`multivac:${ip}`, config.multivacPerIpPerMinute, 60_000);
    if (!r.ok) throw new AppError("rate_limited", undefined, { retryAfter: r.retryAfter });
  };

  app.get("/multivac", async (c) => {
    await limit(c.get("ip"));
    return c.text(multivac.answer());
  });

  app.post(
    "/multivac/data",
    bodyLimit({ maxSize: MAX_DATUM * 4 + 4096, onError: () => { throw new AppError("payload_too_large"); } }),
    async (c) => {
      await limit(c.get("ip"));
      if (!FORM.test(c.req.header("content-type") ?? "")) throw new AppError("unsupported_media_type", "Send the form field data as application/x-www-form-urlencoded or multipart/form-data.");
      let form: Record<string, unknown>;
      try {
        form = await c.req.parseBody({ all: true });
      } catch {
        throw new AppError("bad_request", "The form body could not be parsed.");
      }
      const unknown = Object.keys(form).filter((k) => k !== "data");
      if (unknown.length) throw new AppError("validation_failed", `unknown field ${unknown[0].slice(0, 40)}`);
      const v = form.data;
      if (typeof v !== "string") throw new AppError("validation_failed", Array.isArray(v) ? "data: give it once" : v === undefined ? "data: required" : "data: must be text, not a file");
      await multivac.submit(v);
      return c.json({ response: "MultiVAC updated!" });
    },
  );

  app.get("/zzz", async (c) => {
    await limit(c.get("ip"));
    const raw = c.req.query("ms") ?? "0";
    if (!/^\d{1,6}$/.test(raw) || Number(raw) > MAX_SLEEP_MS) throw new AppError("validation_failed", `ms: a whole number from 0 to ${MAX_SLEEP_MS}`);
    const ms = Number(raw);
    // A real sleep on purpose: this endpoint exists to exercise proxy and client timeouts.
    await Bun.sleep(ms);
    return c.json({ slept: ms });
  });
}
