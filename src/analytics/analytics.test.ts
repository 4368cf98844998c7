import { afterEach, describe, expect, test } from "bun:test";
import { z } from "zod";
import { buildApp } from "../app.ts";
import { route } from "../lib/route.ts";
import { testApp, testServices, T0 } from "../testing.ts";
import { LATENCY_BUCKETS_MS, parseWindow, percentile, sanitizeQuery, sanitizeReferer, truncateIp } from "./analytics.service.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const ANALYTICS_TABLES = ["request_log", "request_rollup", "request_latency"];

function dumpAnalytics(s: { db: { reader: { query(sql: string): { all(): unknown[] } } } }) {
  return ANALYTICS_TABLES.map((t) => JSON.stringify(s.db.reader.query(`SELECT * FROM ${t}`).all())).join("\n");
}

describe("privacy helpers", () => {
  test.each([
    ["203.0.113.77", "203.0.113.0/24"],
    ["10.1.2.3", "10.1.2.0/24"],
    ["2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"],
    ["2001:db8::1", "2001:db8:0::/48"],
    ["::1", "0:0:0::/48"],
    ["fe80::1%eth0", "fe80:0:0::/48"],
    ["garbage", "invalid"],
  ])("truncateIp(%p) = %p", (ip, want) => expect(truncateIp(ip)).toBe(want));

  test.each([
    ["http://x/api?token=secret&limit=5", "token&limit=5"],
    ["http://x/api?password=hunter2", "password"],
    ["http://x/api?status=solved&kind=a&offset=10", "status=solved&kind=a&offset=10"],
    ["http://x/api", null],
    ["http://x/api?", null],
    ["http://x/api?limit=1#frag=secret", "limit=1"],
  ])("sanitizeQuery(%p) = %p", (url, want) => expect(sanitizeQuery(url)).toBe(want));

  test.each([
    ["https://example.org/page?session=abc#x", "https://example.org/page"],
    ["javascript:alert(1)", null],
    ["not a url", null],
    [undefined, null],
  ])("sanitizeReferer(%p) = %p", (ref, want) => expect(sanitizeReferer(ref as string | undefined)).toBe(want));

  test("percentile interpolates inside the bucket and caps at the last finite bound", () => {
    expect(percentile([], 0.5)).toBeNull();
    // 100 requests all in the (5, 10] bucket: the median sits halfway.
    expect(percentile([{ le: 10, count: 100 }], 0.5)).toBe(7.5);
    expect(percentile([{ le: 1, count: 50 }, { le: 100, count: 50 }], 0.95)).toBe(95);
    expect(percentile([{ le: -1, count: 3 }], 0.5)).toBe(LATENCY_BUCKETS_MS.at(-1)!);
  });

  test.each(["", "1", "0m", "1w", "100000d", "-5m", "1h; DROP TABLE"])("parseWindow refuses %p", (w) => {
    expect(() => parseWindow(w, 30 * 86_400_000)).toThrow();
  });
  test("parseWindow accepts minutes, hours, days within retention", () => {
    expect(parseWindow("15m", 86_400_000)).toBe(900_000);
    expect(parseWindow("1d", 86_400_000)).toBe(86_400_000);
    expect(() => parseWindow("2d", 86_400_000)).toThrow();
  });
});

describe("request recording", () => {
  test("never stores a body, a password or a sensitive query value", async () => {
    const t = await testApp({ "analytics-ip": "full" });
    cleanups.push(t.cleanup);
    const c = t.client("198.51.100.23");
    const secretPassword = "correct horse battery staple 42";
    await c.json("POST", "/api/v1/auth/signup", { username: "alice", password: secretPassword, email: "alice@example.org" });
    await c.json("POST", "/api/v1/auth/logout");
    await c.json("POST", "/api/v1/auth/login?token=supersecretvalue&limit=5&next=%2Fprivate-path", { username: "alice", password: secretPassword }, {
      referer: "https://elsewhere.example/cb?code=referersecret",
      "user-agent": "analytics-test-agent",
    });
    await c.json("POST", "/api/v1/auth/login", { username: "alice", password: "wrong password guess" });
    await c.json("GET", "/api/v1/me?access_token=tokensecret2");
    await t.s.analytics.flush();

    const rows = t.s.db.reader.query("SELECT * FROM request_log ORDER BY id").all() as Record<string, unknown>[];
    expect(rows.length).toBe(5);
    const all = dumpAnalytics(t.s);
    for (const forbidden of [secretPassword, "wrong password guess", "supersecretvalue", "referersecret", "tokensecret2", "private-path", "alice@example.org", '"username"']) {
      expect(all).not.toContain(forbidden);
    }
    const login = rows.find((r) => r.query !== null && String(r.query).includes("limit"))!;
    expect(login).toMatchObject({
      method: "POST",
      route: "/api/v1/auth/login",
      status: 200,
      query: "token&limit=5&next",
      referer: "https://elsewhere.example/cb",
    });
    expect(login.user_agent).toBe("analytics-test-agent");
    expect(login.ip).toBe("198.51.100.23");
    expect(String(login.request_id)).toMatch(/.+/);
    const me = rows.find((r) => r.route === "/api/v1/me")!;
    expect(me.user_id).toBeNumber();
    expect(me.query).toBe("access_token");
  });

  test("truncate (default) and hash modes never store the full address", async () => {
    for (const mode of ["truncate", "hash"]) {
      const t = await testApp({ "analytics-ip": mode });
      cleanups.push(t.cleanup);
      await t.client("198.51.100.23").req("GET", "/api/v1/nothing-here");
      await t.client("198.51.100.23").req("GET", "/api/v1/nothing-here");
      await t.client("198.51.100.24").req("GET", "/api/v1/nothing-here");
      await t.s.analytics.flush();
      const ips = (t.s.db.reader.query("SELECT ip FROM request_log ORDER BY id").all() as { ip: string }[]).map((r) => r.ip);
      expect(dumpAnalytics(t.s)).not.toContain("198.51.100.23");
      if (mode === "truncate") expect(ips).toEqual(["198.51.100.0/24", "198.51.100.0/24", "198.51.100.0/24"]);
      else {
        expect(ips[0]).toMatch(/^h:[0-9a-f]{16}$/);
        expect(ips[0]).toBe(ips[1]);
        expect(ips[2]).not.toBe(ips[0]);
      }
    }
  });

  test("analytics=false records no rows but /metrics still counts", async () => {
    const t = await testApp({ analytics: "false" });
    cleanups.push(t.cleanup);
    await t.client().req("GET", "/api/v1/me");
    await t.s.analytics.flush();
    expect(t.s.db.reader.query("SELECT COUNT(*) AS n FROM request_log").get()).toEqual({ n: 0 });
    expect(await t.s.metrics.render()).toContain('route="/api/v1/me",status="401"} 1');
  });

  test("records the route pattern, not the concrete path; statuses of errors too", async () => {
    const s = testServices();
    cleanups.push(s.cleanup);
    const { app } = buildApp(s, [
      route({ method: "get", path: "/api/v1/things/:id", auth: "none", summary: "t", params: z.strictObject({ id: z.string().regex(/^\d+$/) }), handler: () => ({ ok: true }) }),
      route({ method: "get", path: "/api/v1/boom", auth: "none", summary: "t", handler: () => { throw new Error("boom"); } }),
    ]);
    const env = { requestIP: () => ({ address: "10.0.0.9" }) };
    expect((await app.request("/api/v1/things/12345", {}, env)).status).toBe(200);
    expect((await app.request("/api/v1/things/secret-slug", {}, env)).status).toBe(400);
    expect((await app.request("/api/v1/boom", {}, env)).status).toBe(500);
    await s.analytics.flush();
    const rows = s.db.reader.query("SELECT route, status FROM request_log ORDER BY id").all();
    expect(rows).toEqual([
      { route: "/api/v1/things/:id", status: 200 },
      { route: "/api/v1/things/:id", status: 400 },
      { route: "/api/v1/boom", status: 500 },
    ]);
    expect(dumpAnalytics(s)).not.toContain("12345");
    expect(dumpAnalytics(s)).not.toContain("secret-slug");
  });

  test("rollups match the raw rows, minute by minute, across batches", async () => {
    const s = testServices();
    cleanups.push(s.cleanup);
    const { app } = buildApp(s, [
      route({ method: "get", path: "/api/v1/ok/:n", auth: "none", summary: "t", handler: () => ({ ok: 1 }) }),
    ]);
    const env = { requestIP: () => ({ address: "10.0.0.9" }) };
    const paths = ["/api/v1/ok/1", "/api/v1/ok/2", "/api/v1/missing", "/healthz", "/api/v1/me"];
    let n = 0;
    for (let minute = 0; minute < 4; minute++) {
      for (let i = 0; i < 300; i++) {
        await app.request(paths[(i * 7 + minute) % paths.length], {}, env);
        n++;
        if (i % 97 === 0) s.clock.advance(7_000);
      }
      s.clock.advance(60_000);
    }
    await s.analytics.flush();
    const raw = s.db.reader
      .query("SELECT (ts / 60000) * 60000 AS minute, method, route, status, COUNT(*) AS count FROM request_log GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")
      .all();
    const rolled = s.db.reader.query("SELECT minute, method, route, status, count FROM request_rollup ORDER BY 1, 2, 3, 4").all();
    expect(raw.length).toBeGreaterThan(8);
    expect(rolled).toEqual(raw);
    const hist = s.db.reader.query("SELECT minute, SUM(count) AS count FROM request_latency GROUP BY minute ORDER BY minute").all();
    expect(hist).toEqual(s.analytics.store.rawPerMinute(0, Number.MAX_SAFE_INTEGER));
    const total = (s.db.reader.query("SELECT COUNT(*) AS n FROM request_log").get() as { n: number }).n;
    expect(total).toBe(n);
    // More than one batch was written, so the upserts really accumulated.
    expect(s.analytics.stats().written).toBe(n);
  });

  test("rows recorded in one burst are written whole and in order (multi-row inserts and the remainder)", async () => {
    const s = testServices({ "analytics-ip": "full" });
    cleanups.push(s.cleanup);
    for (let i = 0; i < 237; i++) s.analytics.record({ method: "GET", route: `/r/${i}`, status: 200 + (i % 3), durationMs: i, ip: `10.0.${i % 256}.1`, requestId: `id-${i}` });
    await s.analytics.flush();
    const rows = s.db.reader.query("SELECT route, status, duration_ms AS d, ip, request_id AS rid FROM request_log ORDER BY id").all() as { route: string; status: number; d: number; ip: string; rid: string }[];
    expect(rows.length).toBe(237);
    rows.forEach((r, i) => expect(r).toEqual({ route: `/r/${i}`, status: 200 + (i % 3), d: i, ip: `10.0.${i % 256}.1`, rid: `id-${i}` }));
  });

  test("retention prunes rows and rollups older than the setting, keeps newer ones", async () => {
    const s = testServices({ "analytics-retention-days": "2" });
    cleanups.push(s.cleanup);
    s.analytics.record({ method: "GET", route: "/old", status: 200, durationMs: 3 });
    await s.analytics.flush();
    s.clock.advance(2 * 86_400_000 + 120_000);
    s.analytics.record({ method: "GET", route: "/new", status: 200, durationMs: 3 });
    await s.analytics.flush();
    const r = await s.analytics.prune();
    expect(r.raw).toBe(1);
    expect(r.rollups).toBe(2);
    expect(s.db.reader.query("SELECT route FROM request_log").all()).toEqual([{ route: "/new" }]);
    expect(s.db.reader.query("SELECT route FROM request_rollup").all()).toEqual([{ route: "/new" }]);
  });
});

describe("GET /api/v1/admin/analytics", () => {
  test("organisers get series, percentiles, statuses, top routes and referers", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    const org = await t.organiser();
    const anon = t.client();
    for (let i = 0; i < 10; i++) await anon.req("GET", "/api/v1/me", undefined, { referer: `https://ref.example/p?i=${i}` });
    t.s.clock.advance(60_000);
    for (let i = 0; i < 5; i++) await anon.req("GET", "/healthz");
    await t.s.analytics.flush();
    const r = await org.json("GET", "/api/v1/admin/analytics?window=15m");
    expect(r.status).toBe(200);
    const b = r.body;
    expect(b.series.length).toBe(16);
    expect(b.series.reduce((a: number, x: { count: number }) => a + x.count, 0)).toBe(b.total);
    expect(b.series.find((x: { minute: number }) => x.minute === T0).count).toBe(11); // the organiser's login + 10
    expect(b.statuses).toContainEqual({ status: 401, count: 10 });
    expect(b.topRoutes[0]).toMatchObject({ method: "GET", route: "/api/v1/me", count: 10 });
    expect(b.topReferers).toEqual([{ referer: "https://ref.example/p", count: 10 }]);
    expect(b.latencyMs.p50).toBeNumber();
    expect(b.latencyMs.p95).toBeGreaterThanOrEqual(b.latencyMs.p50);
    // The answer matches the schema the OpenAPI document publishes.
    const def = t.routes.find((x) => x.path === "/api/v1/admin/analytics")!;
    expect(def.response!.safeParse(b).success).toBe(true);
  });

  test.each([
    ["?window=1w", 400],
    ["?window=99999d", 400],
    ["?window=1h&extra=1", 400],
    ["?window=" + "9".repeat(50), 400],
    ["", 200],
  ])("query %p answers %p", async (q, status) => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    const org = await t.organiser();
    const r = await org.json("GET", "/api/v1/admin/analytics" + q);
    expect(r.status).toBe(status);
    if (status >= 400) expect(r.body.error.code).toBe("validation_failed");
  });

  test("players and anonymous clients are refused", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    expect((await t.client().json("GET", "/api/v1/admin/analytics")).status).toBe(401);
    const p = await t.player();
    expect((await p.json("GET", "/api/v1/admin/analytics")).status).toBe(403);
  });
});
