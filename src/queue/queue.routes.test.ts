import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApp } from "../testing.ts";

let t: Awaited<ReturnType<typeof testApp>>;
let org: Awaited<ReturnType<typeof t.organiser>>;
let ids: { queued: number; running: number; done: number; failed: number };
let releaseRunning!: () => void;

beforeAll(async () => {
  t = await testApp();
  org = await t.organiser();
  const gate = new Promise<void>((r) => (releaseRunning = r));
  t.s.queue.register("admin.hold", async () => {
    await gate;
    return { secretResult: "r-123" };
  });
  t.s.queue.register("admin.ok", async () => ({ secretResult: "r-456" }));
  t.s.queue.register("admin.fail", async () => {
    throw new Error("kaput");
  });
  t.s.queue.start({ cron: false });
  ids = {
    queued: await t.s.queue.add("admin.nobody", { secretPayload: "p-1" }),
    running: await t.s.queue.add("admin.hold", { secretPayload: "p-2" }),
    done: await t.s.queue.add("admin.ok", { secretPayload: "p-3" }),
    failed: await t.s.queue.add("admin.fail", null, { maxAttempts: 1 }),
  };
  await t.s.queue.wait(ids.done, 2000);
  await t.s.queue.wait(ids.failed, 2000);
});
afterAll(async () => {
  releaseRunning();
  await t.s.queue.stop(500);
  t.cleanup();
});

describe("admin jobs API", () => {
  test("needs an organiser", async () => {
    expect((await t.client().json("GET", "/api/v1/admin/jobs")).status).toBe(401);
    const p = await t.player();
    expect((await p.json("GET", "/api/v1/admin/jobs")).status).toBe(403);
    expect((await p.json("POST", `/api/v1/admin/jobs/${ids.failed}/retry`)).status).toBe(403);
  });

  test("list filters by status and kind, newest first, without payloads or results", async () => {
    const all = await org.json("GET", "/api/v1/admin/jobs");
    expect(all.status).toBe(200);
    expect(all.body.jobs.map((j: any) => j.id)).toEqual([ids.failed, ids.done, ids.running, ids.queued]);
    expect(all.body.total).toBe(4);
    const text = JSON.stringify(all.body);
    for (const secret of ["p-1", "p-2", "p-3", "r-456", "secretPayload", "secretResult"]) expect(text).not.toContain(secret);
    const running = await org.json("GET", "/api/v1/admin/jobs?status=RUNNING");
    expect(running.body.jobs.map((j: any) => j.id)).toEqual([ids.running]);
    const kind = await org.json("GET", "/api/v1/admin/jobs?kind=admin.ok&limit=1&offset=0");
    expect(kind.body).toMatchObject({ total: 1, limit: 1, offset: 0 });
    expect(kind.body.jobs[0]).toMatchObject({ id: ids.done, status: "SUCCEEDED" });
  });

  test("detail shows payload and result", async () => {
    const r = await org.json("GET", `/api/v1/admin/jobs/${ids.done}`);
    expect(r.status).toBe(200);
    expect(r.body.job).toMatchObject({ id: ids.done, payload: { secretPayload: "p-3" }, result: { secretResult: "r-456" }, status: "SUCCEEDED" });
  });

  test("counts per status and kind", async () => {
    const r = await org.json("GET", "/api/v1/admin/jobs/counts");
    expect(r.status).toBe(200);
    expect(r.body.counts).toMatchObject({ QUEUED: 1, RUNNING: 1, SUCCEEDED: 1, FAILED: 1, DEAD: 0, CANCELLED: 0 });
    expect(r.body.byKind["admin.ok"]).toEqual({ SUCCEEDED: 1 });
  });

  test.each([
    ["unknown status", "/api/v1/admin/jobs?status=DONE"],
    ["lowercase status", "/api/v1/admin/jobs?status=queued"],
    ["limit 0", "/api/v1/admin/jobs?limit=0"],
    ["limit too big", "/api/v1/admin/jobs?limit=501"],
    ["limit not a number", "/api/v1/admin/jobs?limit=ten"],
    ["limit exponent", "/api/v1/admin/jobs?limit=1e2"],
    ["negative offset", "/api/v1/admin/jobs?offset=-1"],
    ["unknown filter", "/api/v1/admin/jobs?owner=me"],
    ["empty kind", "/api/v1/admin/jobs?kind="],
    ["id not a number", "/api/v1/admin/jobs/abc"],
    ["id zero", "/api/v1/admin/jobs/0"],
    ["id with sign", "/api/v1/admin/jobs/-3"],
  ])("bad filter → 400: %s", async (_n, path) => {
    const r = await org.json("GET", path);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("validation_failed");
  });

  test.each([
    ["GET", "/api/v1/admin/jobs/999999"],
    ["POST", "/api/v1/admin/jobs/999999/retry"],
    ["POST", "/api/v1/admin/jobs/999999/cancel"],
  ])("unknown id → 404: %s %s", async (method, path) => {
    const r = await org.json(method, path);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
  });

  test("retry of a RUNNING job → 409; of a SUCCEEDED one → 409; cancel of a finished one → 409", async () => {
    const a = await org.json("POST", `/api/v1/admin/jobs/${ids.running}/retry`);
    expect(a.status).toBe(409);
    expect(a.body.error.code).toBe("job_running");
    const b = await org.json("POST", `/api/v1/admin/jobs/${ids.done}/retry`);
    expect(b.status).toBe(409);
    expect(b.body.error.code).toBe("job_finished");
    const c = await org.json("POST", `/api/v1/admin/jobs/${ids.done}/cancel`);
    expect(c.status).toBe(409);
    // These endpoints take no body; junk in one changes nothing and is never a 500.
    const d = await org.json("POST", `/api/v1/admin/jobs/${ids.done}/cancel`, "{not json", { "content-type": "application/json" });
    expect(d.status).toBe(409);
  });

  test("retry of a FAILED job runs it again; cancel of a QUEUED one cancels it", async () => {
    const r = await org.json("POST", `/api/v1/admin/jobs/${ids.failed}/retry`);
    expect(r.status).toBe(200);
    expect(r.body.job.attempts).toBe(0);
    const failedAgain = await t.s.queue.wait(ids.failed, 2000);
    expect(failedAgain).toMatchObject({ status: "FAILED", attempts: 1 });
    const c = await org.json("POST", `/api/v1/admin/jobs/${ids.queued}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body.job.status).toBe("CANCELLED");
  });
});
