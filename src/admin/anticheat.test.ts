import { afterEach, describe, expect, test } from "bun:test";
import { T0, testApp } from "../testing.ts";

let t: Awaited<ReturnType<typeof testApp>>;
afterEach(() => t?.cleanup());

async function setup() {
  t = await testApp();
  const org = await t.organiser("boss");
  const ev = await org.json("POST", "/api/v1/events", { slug: "ac", title: "AC", startsAt: T0 - 1000, endsAt: T0 + 86_400_000 });
  expect(ev.status).toBe(201);
  for (const a of ["one", "two", "three", "four"]) expect((await org.json("POST", "/api/v1/events/ac/puzzles", { title: a, answers: [a] })).status).toBe(201);
  return org;
}
const answer = (c: any, a: string) => c.json("POST", "/api/v1/events/ac/hunt/answer", { answer: a });

describe("anti-cheat report", () => {
  test("shared wrong answers, shared IPs and solve bursts are reported; honest play is not", async () => {
    const org = await setup();
    const a = await t.player("ann", "10.0.0.7");
    const b = await t.player("ben", "10.0.0.7");
    const c = await t.player("cat", "10.0.0.7");
    const d = await t.player("dan", "10.9.9.9");
    // ann and ben share an odd wrong answer within seconds; dan gives the same one an hour later.
    expect((await answer(a, "zebra crossing")).body.outcome).toBe("wrong");
    t.s.clock.advance(5_000);
    expect((await answer(b, "Zebra-Crossing")).body.outcome).toBe("wrong");
    t.s.clock.advance(3_600_000);
    await answer(d, "zebra crossing");
    await answer(c, "something else");
    // cat solves three puzzles in a minute; dan solves two, slowly.
    for (const x of ["one", "two", "three"]) {
      expect((await answer(c, x)).body.outcome).toBe("correct");
      t.s.clock.advance(20_000);
    }
    await answer(d, "one");
    t.s.clock.advance(600_000);
    await answer(d, "two");

    const r = await org.json("GET", "/api/v1/events/ac/anticheat");
    expect(r.status).toBe(200);
    expect(r.body.sharedWrongAnswers).toEqual([expect.objectContaining({ answer: "zebracrossing", players: 2, usernames: ["ann", "ben"], puzzleTitle: "one" })]);
    expect(r.body.sharedIps).toEqual([{ ip: "10.0.0.7", count: 3, usernames: ["ann", "ben", "cat"] }]);
    expect(r.body.solveBursts).toEqual([expect.objectContaining({ username: "cat", solves: 3 })]);
    // A wider window catches dan too; a lower threshold lists dan's slow pair only with a long window.
    const wide = await org.json("GET", "/api/v1/events/ac/anticheat?windowSec=7200&burstSolves=2&burstWindowSec=60");
    expect(wide.body.sharedWrongAnswers[0].usernames).toEqual(["ann", "ben", "dan"]);
    expect(wide.body.solveBursts.map((x: any) => x.username)).toEqual(["cat"]);
  });

  test("logins and signups are in the action log, and an address two players only logged in from is a shared IP", async () => {
    const org = await setup();
    // eve and fay sign up (and eve later logs in) from one address, then play from two others.
    const eve = await t.player("eve", "10.5.5.5");
    await t.player("fay", "10.5.5.5");
    const again = t.client("10.5.5.5");
    expect((await again.json("POST", "/api/v1/auth/login", { username: "eve", password: "a strong passphrase" })).status).toBe(200);
    const eveAway = t.client("10.6.0.1");
    eveAway.cookie = eve.cookie;
    const fayAway = t.client("10.7.0.1");
    expect((await fayAway.json("POST", "/api/v1/auth/login", { username: "fay", password: "a strong passphrase" })).status).toBe(200);
    await answer(eveAway, "nope");
    await answer(fayAway, "nope either");

    const rows = t.s.db.reader.query("SELECT u.username, a.kind, a.ip, a.event_id AS eventId FROM action_log a JOIN users u ON u.id = a.player_id WHERE u.username IN ('eve', 'fay') ORDER BY a.id").all();
    expect(rows).toEqual([
      { username: "eve", kind: "signup", ip: "10.5.5.5", eventId: null },
      { username: "fay", kind: "signup", ip: "10.5.5.5", eventId: null },
      { username: "eve", kind: "login", ip: "10.5.5.5", eventId: null },
      { username: "fay", kind: "login", ip: "10.7.0.1", eventId: null },
    ]);
    const r = await org.json("GET", "/api/v1/events/ac/anticheat?minAccounts=2");
    expect(r.body.sharedIps).toEqual([{ ip: "10.5.5.5", count: 2, usernames: ["eve", "fay"] }]);
    // The organiser's own login is account activity too, but the organiser never played this event: not listed.
    expect(JSON.stringify(r.body.sharedIps)).not.toContain("boss");
  });

  test("organisers only; bad input is a 4xx", async () => {
    await setup();
    const p = await t.player("pleb");
    expect((await p.json("GET", "/api/v1/events/ac/anticheat")).status).toBe(403);
    const org = await t.organiser("boss2");
    for (const q of ["windowSec=0", "windowSec=abc", "minAccounts=1", "nope=1"]) expect((await org.json("GET", "/api/v1/events/ac/anticheat?" + q)).status).toBe(400);
    expect((await org.json("GET", "/api/v1/events/nope/anticheat")).status).toBe(404);
  });
});
