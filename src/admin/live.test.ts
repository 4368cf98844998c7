import { afterEach, expect, test } from "bun:test";
import { testApp } from "../testing.ts";

let t: Awaited<ReturnType<typeof testApp>>;
afterEach(() => t?.cleanup());

test("the live dashboard numbers are organiser-only and well-formed", async () => {
  t = await testApp();
  const org = await t.organiser("boss");
  const p = await t.player("pleb");
  expect((await p.json("GET", "/api/v1/admin/live")).status).toBe(403);
  expect((await t.client().json("GET", "/api/v1/admin/live")).status).toBe(401);
  const r = await org.json("GET", "/api/v1/admin/live");
  expect(r.status).toBe(200);
  expect(r.body.connections).toBe(0);
  expect(r.body.answersLastMinute).toBe(0);
  expect(r.body.queue).toEqual({ queued: expect.any(Number), running: expect.any(Number), dead: expect.any(Number) });
  expect(typeof r.body.runner).toBe("object");
});
