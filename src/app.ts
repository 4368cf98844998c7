/**
 * Builds the Hono app: the middleware chain, then each domain's routes.
 * Everything it needs arrives in `services`, so tests build it in process
 * with a temporary database and a fake clock and call `app.request()`.
 */
import { Hono, type Context, type Next } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { timeout } from "hono/timeout";
import { adminRoutes } from "./admin/admin.routes.ts";
import { queueRoutes } from "./queue/queue.routes.ts";
import { eventsRoutes } from "./events/events.routes.ts";
import { huntRoutes } from "./hunt/hunt.routes.ts";
import { ledgerRoutes } from "./ledger/ledger.routes.ts";
import { leaderboardRoutes } from "./leaderboard/leaderboard.routes.ts";
import { authRoutes } from "./auth/auth.routes.ts";
import { analyticsRoutes, requestRecorder } from "./analytics/analytics.routes.ts";
import { metricsHandler } from "./metrics/metrics.routes.ts";
import { mountMultivac } from "./multivac/multivac.routes.ts";
import { runnerRoutes } from "./runner/runner.routes.ts";
import { realtimeRoutes } from "./realtime/realtime.routes.ts";
import { arenaRoutes } from "./arena/arena.routes.ts";
import { problemRoutes } from "./arena/problems.routes.ts";
import { SESSION_COOKIE } from "./auth/auth.service.ts";
import { pendingMigrations } from "./db/migrate.ts";
import type { AppEnv } from "./lib/context.ts";
import { AppError, isAppError } from "./lib/errors.ts";
import { clientIp, trustedProxies } from "./lib/ip.ts";
import { checkSameOrigin } from "./lib/same-origin.ts";
import { mount, openApiDocument, type RouteDef } from "./lib/route.ts";
import type { Services } from "./services.ts";
import { VERSION } from "./version.ts";
import { webHandler } from "./web/serve.ts";

interface BunEnv {
  requestIP?: (req: Request) => { address: string } | null;
}

export function buildApp(s: Services, extraRoutes: RouteDef[] = []) {
  const app = new Hono<AppEnv>();
  const { config, log } = s;

  // Every API route of every domain, declared as data. Later domains add theirs here.
  const routes: RouteDef[] = [...authRoutes(s), ...adminRoutes(s), ...queueRoutes(s), ...eventsRoutes(s), ...huntRoutes(s), ...ledgerRoutes(s), ...leaderboardRoutes(s), ...analyticsRoutes(s), ...runnerRoutes(s), ...realtimeRoutes(s), ...problemRoutes(s), ...arenaRoutes(s), ...extraRoutes];

  // The middleware is two functions, not seven: every Hono middleware is an
  // async frame per request, and on the hunt's answer path the chain cost as
  // much as the answer itself (bench/RESULTS.md, Hunt, session 4). What each
  // step does is unchanged; the Hono pieces it replaces are named where they are.
  const accessLog = log.level === "info" || log.level === "debug";
  const record = requestRecorder(s);
  const trusted = trustedProxies(config.trustProxy);
  // Hono's secureHeaders with our policy. It has no per-request part (no nonce), so the
  // headers it sets are taken from it once, on the first request, and set on every response.
  const secure = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      connectSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      // CodeMirror injects its theme as <style> elements.
      styleSrc: ["'self'", "'unsafe-inline'"],
      scriptSrc: ["'self'"],
      objectSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
    },
    crossOriginEmbedderPolicy: false,
    // Caddy sets HSTS where it terminates TLS; the app cannot know a LAN box will stay on HTTPS.
    strictTransportSecurity: false,
  });
  let secureList: Array<[string, string]> | null = null;
  let secureListing: Promise<Array<[string, string]>> | null = null;
  const secureHeaderList = async () => {
    const probe = new Hono();
    probe.use(secure);
    probe.get("/", (c) => c.body(null));
    const res = await probe.request("/");
    return (secureList = [...res.headers.entries()].filter(([k]) => k !== "content-type" && k !== "content-length"));
  };

  // Client address, request id and security headers; then, once answered, one
  // analytics row (batched off the request path) and one JSON access-log line
  // (never bodies, never query values). An error thrown further in has become
  // its JSON answer by the time next() returns (Hono's compose calls onError).
  app.use(async (c, next) => {
    const headers = c.req.raw.headers;
    const peer = (c.env as BunEnv | undefined)?.requestIP?.(c.req.raw)?.address;
    c.set("ip", clientIp(peer, headers.get("x-forwarded-for") ?? undefined, trusted));
    c.set("user", null);
    // Hono's requestId: a client's X-Request-Id is kept when it is short and plain.
    let reqId = headers.get("x-request-id");
    if (!reqId || reqId.length > 255 || /[^\w\-=]/.test(reqId)) reqId = crypto.randomUUID();
    c.set("requestId", reqId);
    const list = secureList ?? (await (secureListing ??= secureHeaderList()));
    const start = performance.now();
    await next();
    const ms = performance.now() - start;
    const res = c.res.headers;
    res.set("X-Request-Id", reqId);
    for (let i = 0; i < list.length; i++) res.set(list[i][0], list[i][1]);
    // Hono builds the matched-route list anew on each read: once for both records.
    const route = c.req.routePath;
    record(c, route, ms);
    // The access line only at info or below; its fields are not even gathered otherwise.
    if (!accessLog) return;
    log.info("request", {
      reqId,
      method: c.req.method,
      path: c.req.path,
      route,
      status: c.res.status,
      ms: Math.round(ms * 100) / 100,
      ip: c.get("ip"),
      userId: c.get("user")?.id,
    });
  });

  // Every API request: the body's size, then where it comes from (sameOrigin),
  // who sends it (the session cookie), and how long its handler may take.
  //
  // Hono's bodyLimit reads `request.body` first, which makes Bun build a
  // ReadableStream for every request (a few µs, then a slower body read). A
  // declared Content-Length (without Transfer-Encoding) is checked as a
  // number: the HTTP parser reads exactly that many bytes, never more.
  // Anything else (chunked, or a Request built in process) takes Hono's path.
  const tooLarge = () => {
    throw new AppError("payload_too_large", `The request body is larger than ${config.bodyLimitBytes} bytes.`);
  };
  const limitStream = bodyLimit({ maxSize: config.bodyLimitBytes, onError: tooLarge });
  const limitTime = timeout(config.requestTimeoutMs, () => new HTTPException(504, { cause: new AppError("timeout") }));
  // Called, not registered: one middleware frame for the four steps; Hono's timeout() races the handler against a timer.
  const gate = async (c: Context<AppEnv>, next: Next) => {
    checkSameOrigin(c);
    c.set("user", s.auth.validate(getCookie(c, SESSION_COOKIE)));
    await limitTime(c, next);
  };
  app.use("/api/*", (c, next) => {
    const headers = c.req.raw.headers;
    const len = headers.get("content-length");
    if (len === null || headers.has("transfer-encoding")) return limitStream(c, () => gate(c, next));
    if (!(Number(len) <= config.bodyLimitBytes)) tooLarge();
    return gate(c, next);
  });

  mount(app, routes);

  // Built on first request: converting every zod schema is the largest cost of
  // start-up (bench/RESULTS.md, Startup), and most processes never serve it.
  let openapi: ReturnType<typeof openApiDocument> | null = null;
  app.get("/api/v1/openapi.json", (c) => c.json((openapi ??= openApiDocument(routes, { title: "Gauntlet API", version: VERSION }))));

  app.get("/metrics", metricsHandler(s));
  mountMultivac(app, s);
  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));
  app.get("/readyz", (c) => {
    try {
      s.db.reader.query("SELECT 1").get();
      const pending = pendingMigrations(s.db);
      if (pending.length) return c.json({ error: { code: "not_ready", message: `pending migrations: ${pending.join(", ")}` } }, 503);
      return c.json({ status: "ready" });
    } catch (err) {
      log.warn("readyz failed", { err });
      return c.json({ error: { code: "not_ready", message: "database unavailable" } }, 503);
    }
  });

  app.all("/api/*", () => {
    throw new AppError("not_found", "No such endpoint.");
  });
  app.get("*", webHandler());

  app.notFound((c) => c.json(new AppError("not_found").toJSON(), 404));

  app.onError((err, c) => {
    let e: unknown = err;
    if (err instanceof HTTPException) {
      if (isAppError(err.cause)) e = err.cause;
      else if (err.status === 413) e = new AppError("payload_too_large");
      else if (err.status < 500) e = new AppError("bad_request", err.message || undefined);
    }
    if (isAppError(e)) {
      if (e.retryAfter !== undefined) c.header("Retry-After", String(e.retryAfter));
      return c.json(e.toJSON(), e.status as 400);
    }
    const reqId = c.get("requestId");
    log.error("unhandled error", { reqId, method: c.req.method, path: c.req.path, err });
    return c.json({ error: { code: "internal", message: "Internal server error.", requestId: reqId } }, 500);
  });

  return { app, routes };
}
