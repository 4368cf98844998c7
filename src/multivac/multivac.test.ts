import { afterEach, describe, expect, test } from "bun:test";
import { testApp } from "../testing.ts";
import { INSUFFICIENT, MULTIVAC_JOB, registerMultivacJobs } from "./multivac.service.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function app(overrides: Record<string, string> = {}, worker = true) {
  const t = await testApp(overrides);
  registerMultivacJobs(t.s);
  if (worker) t.s.queue.start({ workers: true });
  cleanups.push(async () => {
    await t.s.queue.stop(500);
    t.cleanup();
  });
  return t;
}

const form = (data: Record<string, string>) => ({ body: new URLSearchParams(data).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });

async function drain(t: Awaited<ReturnType<typeof app>>) {
  for (const j of t.s.queue.list({ kind: MULTIVAC_JOB, limit: 500 }).jobs) await t.s.queue.wait(j.id, 5000);
}

describe("MultiVAC", () => {
  test("insufficient data until processed, then the first datum ever processed", async () => {
    const t = await app();
    const c = t.client();
    const first = await c.req("GET", "/multivac");
    expect(first.status).toBe(200);
    expect(await first.text()).toBe(INSUFFICIENT);
    const f = form({ data: "How can entropy be reversed?" });
    const r = await c.json("POST", "/multivac/data", f.body, f.headers);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ response: "MultiVAC updated!" });
    await drain(t);
    const second = form({ data: "LET THERE BE LIGHT" });
    await c.json("POST", "/multivac/data", second.body, second.headers);
    await drain(t);
    expect(await (await c.req("GET", "/multivac")).text()).toBe("How can entropy be reversed?");
    expect(t.s.multivac.processed()).toBe(2);
  });

  test("multipart form data is accepted too", async () => {
    const t = await app();
    const fd = new FormData();
    fd.set("data", "multipart datum ✓");
    const res = await t.app.request("/multivac/data", { method: "POST", body: fd }, { requestIP: () => ({ address: "10.0.0.1" }) });
    expect(res.status).toBe(200);
    await drain(t);
    expect(t.s.multivac.answer()).toBe("multipart datum ✓");
  });

  test("a posted datum is a durable job before the answer is sent (no worker yet)", async () => {
    const t = await app({}, false);
    const f = form({ data: "queued only" });
    expect((await t.client().req("POST", "/multivac/data", f.body, f.headers)).status).toBe(200);
    const jobs = t.s.queue.list({ kind: MULTIVAC_JOB }).jobs;
    expect(jobs.map((j) => j.status)).toEqual(["QUEUED"]);
    expect(t.s.multivac.answer()).toBe(INSUFFICIENT);
  });

  test.each([
    ["json body", '{"data":"x"}', { "content-type": "application/json" }, 415],
    ["no content type", "data=x", {}, 415],
    ["missing field", "other=x", { "content-type": "application/x-www-form-urlencoded" }, 400],
    ["unknown extra field", "data=x&admin=1", { "content-type": "application/x-www-form-urlencoded" }, 400],
    ["empty datum", "data=", { "content-type": "application/x-www-form-urlencoded" }, 400],
    ["repeated field", "data=a&data=b", { "content-type": "application/x-www-form-urlencoded" }, 400],
    ["too long", "data=" + "x".repeat(10_001), { "content-type": "application/x-www-form-urlencoded" }, 400],
    ["far too large", "data=" + "x".repeat(200_000), { "content-type": "application/x-www-form-urlencoded" }, 413],
    ["bad multipart", "--zz\r\nnonsense", { "content-type": "multipart/form-data; boundary=zz" }, 400],
  ])("POST /multivac/data refuses %s with %p and enqueues nothing", async (_n, body, headers, status) => {
    const t = await app({}, false);
    const r = await t.client().json("POST", "/multivac/data", body, headers as Record<string, string>);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBeString();
    expect(t.s.queue.list({ kind: MULTIVAC_JOB }).total).toBe(0);
  });

  test.each([
    ["?ms=0", 200],
    ["?ms=25", 200],
    ["", 200],
    ["?ms=10001", 400],
    ["?ms=-1", 400],
    ["?ms=1e3", 400],
    ["?ms=abc", 400],
    ["?ms=99999999999999999999", 400],
  ])("GET /zzz%s answers %p", async (q, status) => {
    const t = await app({}, false);
    const started = performance.now();
    const r = await t.client().json("GET", "/zzz" + q);
    expect(r.status).toBe(status);
    if (q === "?ms=25") {
      expect(r.body).toEqual({ slept: 25 });
      expect(performance.now() - started).toBeGreaterThanOrEqual(20);
    }
  });

  test("rate-limited per client IP", async () => {
    const t = await app({ "multivac-per-ip-per-minute": "3" }, false);
    const a = t.client("10.0.0.1");
    for (let i = 0; i < 3; i++) expect((await a.req("GET", "/multivac")).status).toBe(200);
    const limited = await a.json("GET", "/multivac");
    expect(limited.status).toBe(429);
    expect(limited.res.headers.get("retry-after")).toMatch(/^\d+$/);
    const f = form({ data: "x" });
    expect((await a.req("POST", "/multivac/data", f.body, f.headers)).status).toBe(429);
    expect((await t.client("10.0.0.2").req("GET", "/multivac")).status).toBe(200);
    t.s.clock.advance(60_000);
    expect((await a.req("GET", "/multivac")).status).toBe(200);
  });

  test("disabled by the setting: every path is a JSON 404, never the web app", async () => {
    const t = await app({ multivac: "false" }, false);
    for (const [m, p] of [["GET", "/multivac"], ["POST", "/multivac/data"], ["GET", "/zzz?ms=1"]]) {
      const r = await t.client().json(m, p, m === "POST" ? "data=x" : undefined, m === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {});
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("not_found");
    }
    expect(t.s.queue.list({ kind: MULTIVAC_JOB }).total).toBe(0);
  });
});
