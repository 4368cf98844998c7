/**
 * /metrics of a real server: scraped from loopback it parses strictly and
 * counts the requests just made; with a metrics token it wants the token.
 */
import { expect, test } from "bun:test";
import { parsePrometheus } from "../../src/metrics/prom-parse.ts";
import { startServer } from "../helpers/server.ts";

test("a real server's /metrics parses and carries requests, queue depth, database size and memory", async () => {
  const s = await startServer();
  try {
    for (let i = 0; i < 3; i++) await fetch(s.url + "/api/v1/me");
    const res = await fetch(s.url + "/metrics");
    expect(res.status).toBe(200);
    const { samples } = parsePrometheus(await res.text());
    const me = samples.find((x) => x.name === "gauntlet_http_requests_total" && x.labels.route === "/api/v1/me" && x.labels.status === "401");
    expect(me?.value).toBe(3);
    expect(samples.some((x) => x.name === "gauntlet_queue_jobs")).toBe(true);
    expect(samples.find((x) => x.name === "gauntlet_database_bytes" && x.labels.file === "main")!.value).toBeGreaterThan(0);
    expect(samples.find((x) => x.name === "gauntlet_process_memory_bytes" && x.labels.kind === "rss")!.value).toBeGreaterThan(1e6);
    // Through a proxy (X-Forwarded-For) it is refused even from loopback.
    expect((await fetch(s.url + "/metrics", { headers: { "x-forwarded-for": "203.0.113.9" } })).status).toBe(403);
  } finally {
    s.cleanup();
  }
}, 60_000);

test("with GAUNTLET_METRICS_TOKEN the token is required", async () => {
  const s = await startServer({ env: { GAUNTLET_METRICS_TOKEN: "tok-123" } });
  try {
    expect((await fetch(s.url + "/metrics")).status).toBe(401);
    const ok = await fetch(s.url + "/metrics", { headers: { authorization: "Bearer tok-123" } });
    expect(ok.status).toBe(200);
    parsePrometheus(await ok.text());
  } finally {
    s.cleanup();
  }
}, 60_000);
