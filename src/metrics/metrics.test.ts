import { afterEach, describe, expect, test } from "bun:test";
import { testApp } from "../testing.ts";
import { parsePrometheus } from "./prom-parse.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe("the strict parser refuses malformed text", () => {
  test.each([
    ["no newline", "# TYPE a counter\na 1"],
    ["sample before TYPE", "a 1\n"],
    ["bad value", "# TYPE a gauge\na one\n"],
    ["bad label", '# TYPE a gauge\na{1x="y"} 1\n'],
    ["unescaped quote", '# TYPE a gauge\na{x="a"b"} 1\n'],
    ["repeated series", "# TYPE a gauge\na 1\na 2\n"],
    ["non-cumulative histogram", '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 3\n'],
    ["count mismatch", '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 4\n'],
  ])("%s", (_n, text) => expect(() => parsePrometheus(text)).toThrow());
});

describe("GET /metrics", () => {
  test("parses strictly and carries requests, latencies, database size and memory", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    const c = t.client("127.0.0.1");
    await c.req("GET", "/api/v1/me");
    await c.req("GET", "/api/v1/me");
    await c.req("GET", "/healthz");
    // A label value that needs escaping must not break the format.
    t.s.metrics.observeRequest("GET", 'we"ird\\route\nx', 200, 3);
    t.s.metrics.register({ name: "gauntlet_test_things", help: "Things with a \\ backslash.\nand a newline", type: "gauge", collect: () => [{ value: 3, labels: { a: "b" } }] });
    const res = await c.req("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const text = await res.text();
    const { types, samples } = parsePrometheus(text);
    expect(types.get("gauntlet_http_requests_total")).toBe("counter");
    expect(types.get("gauntlet_http_request_duration_seconds")).toBe("histogram");
    const me = samples.find((s) => s.name === "gauntlet_http_requests_total" && s.labels.route === "/api/v1/me")!;
    expect(me).toMatchObject({ labels: { method: "GET", status: "401" }, value: 2 });
    expect(samples.find((s) => s.name === "gauntlet_http_request_duration_seconds_count" && s.labels.route === "/api/v1/me")!.value).toBe(2);
    expect(samples.find((s) => s.name === "gauntlet_http_requests_total" && s.labels.route === 'we"ird\\route\nx')!.value).toBe(1);
    expect(samples.find((s) => s.name === "gauntlet_database_bytes" && s.labels.file === "main")!.value).toBeGreaterThan(0);
    expect(samples.find((s) => s.name === "gauntlet_process_memory_bytes" && s.labels.kind === "rss")!.value).toBeGreaterThan(0);
    expect(samples.find((s) => s.name === "gauntlet_test_things")!.value).toBe(3);
    // A concrete path never becomes a label value.
    expect(text).not.toContain("/metrics?");
  });

  test("without a token: loopback only, and never through a proxy", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    expect((await t.client("127.0.0.1").req("GET", "/metrics")).status).toBe(200);
    expect((await t.client("::1").req("GET", "/metrics")).status).toBe(200);
    const remote = await t.client("203.0.113.5").json("GET", "/metrics");
    expect(remote.status).toBe(403);
    expect(remote.body.error.code).toBe("forbidden");
    expect(JSON.stringify(remote.body)).not.toContain("gauntlet_");
    // Caddy on the same box forwards a remote client: refused.
    expect((await t.client("127.0.0.1").req("GET", "/metrics", undefined, { "x-forwarded-for": "203.0.113.5" })).status).toBe(403);
  });

  test("with a token: Bearer required from anywhere, compared exactly", async () => {
    const t = await testApp({ "metrics-token": "s3cret-token" });
    cleanups.push(t.cleanup);
    const c = t.client("203.0.113.5");
    for (const h of [undefined, "Bearer wrong", "Bearer s3cret-toke", "Basic s3cret-token", "s3cret-token"]) {
      const r = await c.json("GET", "/metrics", undefined, h ? { authorization: h } : {});
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthenticated");
    }
    expect((await t.client("127.0.0.1").req("GET", "/metrics")).status).toBe(401);
    const ok = await c.req("GET", "/metrics", undefined, { authorization: "Bearer s3cret-token" });
    expect(ok.status).toBe(200);
    parsePrometheus(await ok.text());
  });

  test("queue depth per status once a jobs table exists, and runner/realtime gauges when present", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    const text = await t.s.metrics.render({
      realtime: { stats: () => ({ connections: 7 }) },
      queue: { counts: () => ({ queued: 3, running: 1, succeeded: 10 }) },
      runner: { health: () => ({ slots: { total: 4, busy: 1, waiting: 0 } }) },
    });
    const { samples } = parsePrometheus(text);
    expect(samples.find((s) => s.name === "gauntlet_websocket_connections")!.value).toBe(7);
    expect(samples.find((s) => s.name === "gauntlet_queue_jobs" && s.labels.status === "queued")!.value).toBe(3);
    expect(samples.find((s) => s.name === "gauntlet_runner_slots" && s.labels.state === "busy")!.value).toBe(1);
  });

  test("the real queue's counts appear per status", async () => {
    const t = await testApp();
    cleanups.push(t.cleanup);
    await t.s.queue.add("metrics.test", { x: 1 });
    await t.s.queue.add("metrics.test", { x: 2 });
    const { samples } = parsePrometheus(await t.s.metrics.render(t.s as never));
    expect(samples.find((s) => s.name === "gauntlet_queue_jobs" && s.labels.status === "QUEUED")!.value).toBe(2);
  });
});
