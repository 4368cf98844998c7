import { afterEach, expect, test } from "bun:test";
import { T0, testApp } from "../testing.ts";
import { liveLeaderboard } from "./leaderboard.live.ts";

let t: Awaited<ReturnType<typeof testApp>>;
afterEach(() => t?.cleanup());

/** Everything published on a topic so far, parsed. */
const published = (topic: string) => t.s.realtime.store.range(topic, 0, t.s.realtime.store.head(topic)).map((m) => JSON.parse(m.data));

test("a solve becomes one coalesced, score-free delta on the event topic; during a freeze only organisers get it", async () => {
  t = await testApp();
  const off = liveLeaderboard(t.s);
  const org = await t.organiser("boss");
  const ev = await org.json("POST", "/api/v1/events", { slug: "lb", title: "LB", startsAt: T0 - 1000, endsAt: T0 + 86_400_000 });
  const id = ev.body.event.id;
  for (const a of ["one", "two"]) await org.json("POST", "/api/v1/events/lb/puzzles", { title: a, answers: [a] });
  const p = await t.player("ann");
  expect((await p.json("POST", "/api/v1/events/lb/hunt/answer", { answer: "wrong" })).body.outcome).toBe("wrong");
  expect((await p.json("POST", "/api/v1/events/lb/hunt/answer", { answer: "one" })).body.outcome).toBe("correct");
  t.s.realtime.flushCoalesced(`event:${id}`);
  await Bun.sleep(50);
  const msgs = published(`event:${id}`);
  expect(msgs).toEqual([{ batch: [{ kind: "leaderboard", playerId: p.user.id }] }]);
  expect(JSON.stringify(msgs)).not.toContain("points");

  expect((await org.json("PATCH", "/api/v1/events/lb", { freezeAt: T0 })).status).toBe(200);
  expect((await p.json("POST", "/api/v1/events/lb/hunt/answer", { answer: "two" })).body.outcome).toBe("correct");
  t.s.realtime.flushCoalesced(`event:${id}`);
  t.s.realtime.flushCoalesced(`event:${id}:org`);
  await Bun.sleep(50);
  expect(published(`event:${id}`)).toHaveLength(1);
  expect(published(`event:${id}:org`)).toEqual([{ batch: [{ kind: "leaderboard", playerId: p.user.id }] }]);
  off();
});
