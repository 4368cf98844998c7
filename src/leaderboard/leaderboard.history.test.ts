import { afterEach, expect, test } from "bun:test";
import { T0, testApp } from "../testing.ts";

let t: Awaited<ReturnType<typeof testApp>>;
afterEach(() => t?.cleanup());

test("score over time: cumulative points per top player; frozen for players except their own line", async () => {
  t = await testApp();
  const org = await t.organiser("boss");
  await org.json("POST", "/api/v1/events", { slug: "h", title: "H", startsAt: T0 - 1000, endsAt: T0 + 86_400_000 });
  for (const a of ["one", "two", "three"]) await org.json("POST", "/api/v1/events/h/puzzles", { title: a, answers: [a] });
  const ann = await t.player("ann");
  const ben = await t.player("ben");
  const solve = async (c: any, a: string) => expect((await c.json("POST", "/api/v1/events/h/hunt/answer", { answer: a })).body.outcome).toBe("correct");
  await ann.json("GET", "/api/v1/events/h/hunt/current");
  await ben.json("GET", "/api/v1/events/h/hunt/current");
  await solve(ann, "one");
  t.s.clock.advance(60_000);
  await solve(ben, "one");
  t.s.clock.advance(60_000);
  await solve(ann, "two");

  const r = await ann.json("GET", "/api/v1/events/h/leaderboard/history");
  expect(r.status).toBe(200);
  const byName = Object.fromEntries(r.body.series.map((s: any) => [s.username, s.points]));
  expect(byName.ann).toEqual([
    [T0, 100],
    [T0 + 120_000, 198],
  ]);
  expect(byName.ben).toEqual([[T0 + 60_000, 99]]);

  // Freeze now: ben's later solve is hidden from ann, but ben sees his own line move.
  expect((await org.json("PATCH", "/api/v1/events/h", { freezeAt: T0 + 120_000 })).status).toBe(200);
  t.s.clock.advance(60_000);
  await solve(ben, "two");
  const annView = await ann.json("GET", "/api/v1/events/h/leaderboard/history");
  expect(annView.body.frozen).toBe(true);
  expect(annView.body.series.find((s: any) => s.username === "ben").points).toEqual([[T0 + 60_000, 99]]);
  const benView = await ben.json("GET", "/api/v1/events/h/leaderboard/history");
  expect(benView.body.series.find((s: any) => s.username === "ben").points).toHaveLength(2);
  const orgView = await org.json("GET", "/api/v1/events/h/leaderboard/history");
  expect(orgView.body.frozen).toBe(false);
  expect(orgView.body.series.find((s: any) => s.username === "ben").points).toHaveLength(2);

  expect((await ann.json("GET", "/api/v1/events/h/leaderboard/history?limit=0")).status).toBe(400);
  expect((await ann.json("GET", "/api/v1/events/h/leaderboard/history?limit=21")).status).toBe(400);
  expect((await ann.json("GET", "/api/v1/events/nope/leaderboard/history")).status).toBe(404);
});
