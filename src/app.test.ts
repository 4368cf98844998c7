/**
 * The app's two middlewares (src/app.ts): request id, security headers, body
 * size, same origin, session and handler timeout, on answers that succeed and
 * on answers an error produced before or inside the handler.
 */
import { afterEach, expect, test } from "bun:test";
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { buildApp } from "./app.ts";
import { route } from "./lib/route.ts";
import { testApp, testServices } from "./testing.ts";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

async function app() {
  const t = await testApp();
  cleanup = t.cleanup;
  return t;
}

/** What Hono's secureHeaders sets with its defaults: every one of these must be on every answer. */
async function honoDefaults() {
  const h = new Hono();
  h.use(secureHeaders());
  h.get("/", (c) => c.body(null));
  return [...(await h.request("/")).headers.keys()].filter((k) => k !== "content-type");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test("every answer carries the security headers and a request id: JSON, 404, errors before and inside the handler", async () => {
  const t = await app();
  const expected = (await honoDefaults()).filter((k) => k !== "strict-transport-security" && k !== "cross-origin-embedder-policy");
  expect(expected.length).toBeGreaterThan(5);
  const answers = [
    await t.app.request("/healthz"),
    await t.app.request("/api/v1/nope"),
    await t.app.request("/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json", origin: "https://evil.example", host: "localhost" }, body: "{}" }),
    await t.app.request("/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json", "content-length": String(10 * 1024 * 1024) }, body: "{}" }),
    await t.app.request("/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
  ];
  expect(answers.map((r) => r.status)).toEqual([200, 404, 403, 413, 400]);
  for (const r of answers) {
    for (const k of expected) expect([k, r.headers.has(k)]).toEqual([k, true]);
    expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-request-id")).toMatch(UUID);
    // HSTS is Caddy's to set (README, TLS); COEP would break nothing we serve but is off on purpose.
    expect(r.headers.has("strict-transport-security")).toBe(false);
  }
  expect((await answers[2].json()).error.code).toBe("cross_origin");
  expect((await answers[3].json()).error.code).toBe("payload_too_large");
  expect((await answers[4].json()).error.code).toBe("invalid_json");
});

test("a plain X-Request-Id from the client is kept; anything else is replaced by a fresh one", async () => {
  const t = await app();
  const id = async (v: string) => (await t.app.request("/healthz", { headers: { "x-request-id": v } })).headers.get("x-request-id")!;
  expect(await id("abc-123_DEF=")).toBe("abc-123_DEF=");
  expect(await id("has space")).toMatch(UUID);
  expect(await id("<script>")).toMatch(UUID);
  expect(await id("x".repeat(256))).toMatch(UUID);
  expect(await id("x".repeat(255))).toBe("x".repeat(255));
});

test("a handler past requestTimeoutMs answers 504 timeout, with the headers; a fast one is untouched", async () => {
  const s = testServices({ "request-timeout-ms": "100" });
  cleanup = s.cleanup;
  const slow = route({ method: "get", path: "/api/v1/test/slow", auth: "none", summary: "slow", handler: () => Bun.sleep(400).then(() => ({ late: true })) });
  const fast = route({ method: "get", path: "/api/v1/test/fast", auth: "none", summary: "fast", handler: () => ({ ok: true }) });
  const { app } = buildApp(s, [slow, fast]);
  const t0 = performance.now();
  const r = await app.request("/api/v1/test/slow");
  expect(performance.now() - t0).toBeLessThan(350);
  expect(r.status).toBe(504);
  expect((await r.json()).error.code).toBe("timeout");
  expect(r.headers.get("x-request-id")).toMatch(UUID);
  expect(r.headers.get("x-content-type-options")).toBe("nosniff");
  const ok = await app.request("/api/v1/test/fast");
  expect([ok.status, await ok.json()]).toEqual([200, { ok: true }]);
});

test("a session cookie with the right id and a wrong secret is no session", async () => {
  const t = await app();
  const p = await t.player("ann");
  expect((await p.json("GET", "/api/v1/me")).status).toBe(200);
  const [id] = p.cookie!.split("=")[1].split(".");
  const forged = t.client();
  forged.cookie = `gauntlet_session=${id}.${"A".repeat(43)}`;
  expect((await forged.json("GET", "/api/v1/me")).status).toBe(401);
});
