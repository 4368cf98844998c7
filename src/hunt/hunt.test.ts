import { afterEach, describe, expect, test } from "bun:test";
import { dbTarget } from "../core.ts";
import { openDb } from "../db/db.ts";
import { answerOf, bodyOf, closeOf, hintOf, HOUR, huntFixture, MIN, storyOf, titleOf, type HuntFixture } from "./hunt.fixture.ts";

const A = "/api/v1/events/hunt/hunt";
let f: HuntFixture | null = null;
afterEach(() => {
  f?.cleanup();
  f = null;
});

async function setup(opts: Parameters<typeof huntFixture>[0] = {}) {
  f = await huntFixture(opts);
  return f;
}

const PRESETS = ["default", "enigma7"] as const;

describe.each(PRESETS)("preset %s", (preset) => {
  test("before startsAt and after endsAt: writes are refused with 409, reads work", async () => {
    const h = await setup({ preset });
    const p = await h.player();
    const cur = await p.json("GET", `${A}/current`);
    expect(cur.status).toBe(200);
    expect(cur.body.status).toBe("not_started");
    expect(cur.body.puzzle).toBeNull();
    for (const [path, body] of [["answer", { answer: "x" }], ["hint", undefined], ["powerups/skip", undefined], ["powerups/hint", undefined], ["powerups/close_enough", undefined]] as const) {
      const r = await p.json("POST", `${A}/${path}`, body);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe("event_not_started");
    }
    h.s.clock.advance(h.endsAt - h.s.clock.now());
    for (const [path, body] of [["answer", { answer: "x" }], ["hint", undefined], ["powerups/skip", undefined]] as const) {
      const r = await p.json("POST", `${A}/${path}`, body);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe("event_over");
    }
    expect((await p.json("GET", "/api/v1/events/hunt/leaderboard")).status).toBe(200);
  });

  test("the first puzzle unlocks at the first request; a correct answer unlocks the next at that instant", async () => {
    const h = await setup({ preset });
    h.start();
    h.s.clock.advance(10 * MIN); // the event started 10 min ago; the player arrives now
    const p = await h.player();
    const c1 = await p.json("GET", `${A}/current`);
    expect(c1.body.status).toBe("playing");
    expect(c1.body.puzzle).toMatchObject({ number: 1, title: titleOf(1), body: bodyOf(1), story: storyOf(1), unlockedAt: h.s.clock.now(), hints: [], hintsLeft: 2 });
    h.s.clock.advance(5 * MIN + 30_000);
    const ans = preset === "enigma7" ? answerOf(1).toLowerCase() : "quokka-1 ZEBRA!";
    const r = await p.json("POST", `${A}/answer`, { answer: ans });
    expect(r.status).toBe(200);
    // time: 100 - 1*5 = 95; order: first solver = 100.
    expect(r.body).toMatchObject({ outcome: "correct", awarded: preset === "enigma7" ? 100 : 95, next: { number: 2, title: titleOf(2) }, finished: false });
    const c2 = await p.json("GET", `${A}/current`);
    expect(c2.body.puzzle).toMatchObject({ number: 2, unlockedAt: h.s.clock.now() });
    expect(c2.body.balances.points).toBe(preset === "enigma7" ? 100 : 95);
    const story = await p.json("GET", `${A}/story`);
    expect(story.body.blocks.map((b: { story: string }) => b.story)).toEqual([storyOf(1), storyOf(2)]);
  });

  test("normalization per preset", async () => {
    const h = await setup({ preset });
    h.start();
    const p = await h.player();
    // "Quokka1Zebra" with spaces/punctuation: correct under full normalization, wrong under "lower".
    const r = await p.json("POST", `${A}/answer`, { answer: " Q-U-O-K-K-A 1 zebra! " });
    expect(r.body.outcome).toBe(preset === "enigma7" ? "wrong" : "correct");
    const e = await p.json("POST", `${A}/answer`, { answer: preset === "enigma7" ? "   " : " !?- " });
    expect(e.status).toBe(400);
    expect(e.body.error.code).toBe("empty_answer");
  });

  test("close answers: the organiser's list and Levenshtein; nothing awarded; close_enough turns close into correct less the penalty", async () => {
    const h = await setup({ preset, settings: { xpPerTick: 100, xpTickMinutes: 1, xpCap: null } });
    h.start();
    const p = await h.player();
    const near = preset === "enigma7" ? "quokka1zebrx" : "Quokka1 Zebrx";
    expect((await p.json("POST", `${A}/answer`, { answer: closeOf(1) })).body).toMatchObject({ outcome: "close", awarded: 0, next: null });
    expect((await p.json("POST", `${A}/answer`, { answer: near })).body).toMatchObject({ outcome: "close", awarded: 0 });
    h.s.clock.advance(MIN); // one tick: 100 XP
    const buy = await p.json("POST", `${A}/powerups/close_enough`);
    expect(buy.status).toBe(200);
    expect(buy.body.xp).toEqual({ earned: 100, spent: 95, balance: 5 });
    expect((await p.json("POST", `${A}/powerups/close_enough`)).body.error.code).toBe("already_active");
    const r = await p.json("POST", `${A}/answer`, { answer: near });
    // time: 100 - 1 (one minute) - 10 penalty = 89; order: 100 - 10 = 90.
    expect(r.body).toMatchObject({ outcome: "correct", awarded: preset === "enigma7" ? 90 : 89 });
    expect((await p.json("GET", `${A}/current`)).body.puzzle.closeEnoughActive).toBe(false);
  });

  test("hints: revealed in order, costs come off the award, no_hint_left", async () => {
    const h = await setup({ preset });
    h.start();
    const p = await h.player();
    const h0 = await p.json("POST", `${A}/hint`);
    expect(h0.body).toMatchObject({ index: 0, text: hintOf(1, 0), costPoints: 10, hintsLeft: 1 });
    const cur = await p.json("GET", `${A}/current`);
    expect(cur.body.puzzle.hints).toEqual([{ index: 0, text: hintOf(1, 0), costPoints: 10, viaPowerup: false }]);
    expect(JSON.stringify(cur.body)).not.toContain(hintOf(1, 1));
    expect((await p.json("POST", `${A}/hint`)).body).toMatchObject({ index: 1, costPoints: 20 });
    const none = await p.json("POST", `${A}/hint`);
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe("no_hint_left");
    const r = await p.json("POST", `${A}/answer`, { answer: answerOf(1) });
    expect(r.body.awarded).toBe(100 - 30);
  });

  test("rate limits: per player per puzzle, 429 with Retry-After, refused attempts not counted", async () => {
    const h = await setup({ preset });
    h.start();
    const p = await h.player();
    for (let i = 0; i < 10; i++) expect((await p.json("POST", `${A}/answer`, { answer: `wrong${i}` })).status).toBe(200);
    const r = await p.json("POST", `${A}/answer`, { answer: "wrong again" });
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("rate_limited");
    expect(Number(r.res.headers.get("retry-after"))).toBe(60);
    h.s.clock.advance(30_000);
    expect(Number((await p.json("POST", `${A}/answer`, { answer: "x" })).res.headers.get("retry-after"))).toBe(30);
    expect((await p.json("GET", `${A}/attempts`)).body.attempts.length).toBe(10);
    h.s.clock.advance(30_000);
    expect((await p.json("POST", `${A}/answer`, { answer: answerOf(1) })).body.outcome).toBe("correct");
  });

  test("rate limit per IP across players", async () => {
    const h = await setup({ preset, settings: { answersPerMinutePerIp: 3 } });
    h.start();
    const a = await h.playerAt("aaa1", "10.9.9.9");
    const b = await h.playerAt("bbb1", "10.9.9.9");
    expect((await a.json("POST", `${A}/answer`, { answer: "w1" })).status).toBe(200);
    expect((await a.json("POST", `${A}/answer`, { answer: "w2" })).status).toBe(200);
    expect((await b.json("POST", `${A}/answer`, { answer: "w3" })).status).toBe(200);
    expect((await b.json("POST", `${A}/answer`, { answer: "w4" })).status).toBe(429);
    // null lifts the per-IP limit (a lab behind one NAT address); the per-player one still holds.
    await h.org.json("PATCH", "/api/v1/events/hunt", { settings: { answersPerMinutePerIp: null } });
    h.s.events.invalidate(h.eventId);
    expect((await b.json("POST", `${A}/answer`, { answer: "w5" })).status).toBe(200);
  });

  test("already_solved for a solved puzzle named by id; future puzzles look unknown", async () => {
    const h = await setup({ preset });
    h.start();
    const p = await h.player();
    const future = await p.json("POST", `${A}/answer`, { answer: answerOf(2), puzzleId: h.puzzleIds[1] });
    expect(future.status).toBe(404);
    expect((await p.json("POST", `${A}/answer`, { answer: answerOf(1) })).body.outcome).toBe("correct");
    const again = await p.json("POST", `${A}/answer`, { answer: answerOf(1), puzzleId: h.puzzleIds[0] });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_solved");
  });

  test("XP: ticks from the first attempt, per-solve XP and cap per preset; powerups priced per preset", async () => {
    const h = await setup({ preset, puzzles: 4 });
    h.start();
    const p = await h.player();
    const xp = async () => (await p.json("GET", `${A}/current`)).body.balances.xp;
    expect(await xp()).toEqual({ earned: 0, spent: 0, balance: 0 });
    h.s.clock.advance(3 * HOUR); // no attempt yet: nothing earned
    expect((await xp()).earned).toBe(0);
    await p.json("POST", `${A}/answer`, { answer: "wrong" });
    h.s.clock.advance(HOUR - 1);
    expect((await xp()).earned).toBe(0);
    h.s.clock.advance(1);
    expect((await xp()).earned).toBe(10);
    expect((await p.json("POST", `${A}/powerups/hint`)).body.error.code).toBe("insufficient_xp");
    await p.json("POST", `${A}/answer`, { answer: answerOf(1) });
    expect((await xp()).earned).toBe(preset === "enigma7" ? 15 : 10);
    h.s.clock.advance(20 * HOUR);
    expect((await xp()).earned).toBe(preset === "enigma7" ? 100 : 210); // enigma7 caps at 100
    const hint = await p.json("POST", `${A}/powerups/hint`);
    expect(hint.status).toBe(200);
    expect(hint.body.hint).toMatchObject({ index: 0, costPoints: 0, viaPowerup: true });
    expect(hint.body.xp.spent).toBe(50);
    const skip = await p.json("POST", `${A}/powerups/skip`);
    if (preset === "enigma7") {
      // Capped at 100 earned, 50 spent: a 75 XP skip is out of reach, and nothing is spent.
      expect(skip.body.error.code).toBe("insufficient_xp");
      expect((await xp()).spent).toBe(50);
    } else {
      expect(skip.body).toMatchObject({ kind: "skip", next: { number: 3 } });
      expect(skip.body.xp.spent).toBe(125);
    }
    // The skipped puzzle awards nothing; its hint costs nothing.
    expect((await p.json("GET", `${A}/current`)).body.balances.points).toBe(preset === "enigma7" ? 100 : 10);
    const e = await h.s.hunt.tickXp();
    expect(e.entries).toBeGreaterThanOrEqual(0);
    expect(h.s.ledger.check().mismatches).toEqual([]);
  });

  test("finishing the hunt", async () => {
    const h = await setup({ preset, puzzles: 2 });
    h.start();
    const p = await h.player();
    await p.json("POST", `${A}/answer`, { answer: answerOf(1) });
    const r = await p.json("POST", `${A}/answer`, { answer: answerOf(2) });
    expect(r.body).toMatchObject({ outcome: "correct", next: null, finished: true });
    const cur = await p.json("GET", `${A}/current`);
    expect(cur.body.status).toBe("finished");
    expect(cur.body.puzzle).toBeNull();
    expect((await p.json("POST", `${A}/answer`, { answer: "x" })).body.error.code).toBe("already_solved");
  });
});

describe("order scoring tiers", () => {
  test("places 1..12 get 100 ×10 then 90", async () => {
    const h = await setup({ preset: "enigma7", settings: { answersPerMinutePerIp: 1000 } });
    h.start();
    const got: number[] = [];
    for (let i = 0; i < 12; i++) {
      const p = await h.player();
      got.push((await p.json("POST", `${A}/answer`, { answer: answerOf(1).toLowerCase() })).body.awarded);
    }
    expect(got).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 90, 90]);
  });
});

describe("time scoring decay", () => {
  test.each([
    [0, 100],
    [MIN - 1, 100],
    [42 * MIN, 58],
    [95 * MIN, 10],
  ])("solved %i ms after unlock → %i", async (ms, pts) => {
    const h = await setup();
    h.start();
    const p = await h.player();
    await p.json("GET", `${A}/current`);
    h.s.clock.advance(ms);
    expect((await p.json("POST", `${A}/answer`, { answer: answerOf(1) })).body.awarded).toBe(pts);
  });
});

describe("leaderboard", () => {
  test("points desc, earlier last change first, idle hidden, organisers unranked, own rank", async () => {
    const h = await setup({ settings: { answersPerMinutePerIp: 1000 } });
    h.start();
    const a = await h.player("ann");
    const b = await h.player("bob");
    const c = await h.player("cyd");
    const idle = await h.player("ida");
    await idle.json("GET", `${A}/current`);
    await h.org.json("POST", `${A}/answer`, { answer: answerOf(1) }); // organiser plays, unranked
    await b.json("POST", `${A}/answer`, { answer: answerOf(1) }); // 100 at t0
    h.s.clock.advance(MIN);
    await a.json("POST", `${A}/answer`, { answer: answerOf(1) }); // 99 at t1
    await c.json("POST", `${A}/answer`, { answer: "nope" }); // 0, listed
    h.s.clock.advance(2 * MIN);
    await a.json("POST", `${A}/answer`, { answer: answerOf(2) }); // 100 + 98 (unlocked t1, solved t1+2min) = 198
    const lb = await c.json("GET", "/api/v1/events/hunt/leaderboard");
    expect(lb.status).toBe(200);
    expect(lb.body.ranks.map((r: { username: string; points: number }) => [r.username, r.points])).toEqual([
      ["ann", 198],
      ["bob", 100],
      ["cyd", 0],
    ]);
    expect(lb.body.me).toMatchObject({ rank: 3, points: 0 });
    expect(lb.body.total).toBe(3);
    // Tie: bob reaches 198 later than ann → ann stays first.
    await h.s.ledger.adjust({ eventId: h.eventId, playerId: b.user.id, amount: 98, currency: "points", reason: "test tie", by: h.org.user.id });
    const lb2 = await b.json("GET", "/api/v1/events/hunt/leaderboard?limit=2&offset=0");
    expect(lb2.body.ranks.map((r: { username: string; rank: number }) => [r.rank, r.username])).toEqual([
      [1, "ann"],
      [2, "bob"],
    ]);
    expect(lb2.body.me.rank).toBe(2);
    const off = await b.json("GET", "/api/v1/events/hunt/leaderboard?limit=1&offset=1");
    expect(off.body.ranks).toEqual([expect.objectContaining({ rank: 2, username: "bob" })]);
    const anon = await h.client().json("GET", "/api/v1/events/hunt/leaderboard");
    expect(anon.body.me).toBeNull();
  });

  test("listIdlePlayers lists players with no attempt", async () => {
    const h = await setup({ settings: { listIdlePlayers: true } });
    h.start();
    const idle = await h.player("ida");
    await idle.json("GET", `${A}/current`);
    const lb = await idle.json("GET", "/api/v1/events/hunt/leaderboard");
    expect(lb.body.ranks.map((r: { username: string }) => r.username)).toEqual(["ida"]);
    expect(lb.body.me.rank).toBe(1);
  });

  test("freeze: changes after freezeAt are hidden from players (not organisers) until the end; own score visible", async () => {
    const h = await setup({ freezeAt: undefined, settings: { answersPerMinutePerIp: 1000 } });
    await h.org.json("PATCH", "/api/v1/events/hunt", { freezeAt: h.startsAt + 10 * MIN });
    h.start();
    const a = await h.player("ann");
    const b = await h.player("bob");
    await a.json("POST", `${A}/answer`, { answer: answerOf(1) }); // 100 before the freeze
    h.s.clock.advance(20 * MIN);
    await b.json("POST", `${A}/answer`, { answer: answerOf(1) }); // 80 after the freeze
    await a.json("POST", `${A}/answer`, { answer: "wrong" });
    const lb = await b.json("GET", "/api/v1/events/hunt/leaderboard");
    expect(lb.body.frozen).toBe(true);
    expect(lb.body.ranks.map((r: { username: string; points: number }) => [r.username, r.points])).toEqual([["ann", 100]]);
    expect(lb.body.me).toMatchObject({ points: 100, rank: null });
    const org = await h.org.json("GET", "/api/v1/events/hunt/leaderboard");
    expect(org.body.frozen).toBe(false);
    expect(org.body.ranks.map((r: { username: string }) => r.username)).toEqual(["ann", "bob"]);
    h.s.clock.advance(h.endsAt - h.s.clock.now());
    const after = await b.json("GET", "/api/v1/events/hunt/leaderboard");
    expect(after.body.frozen).toBe(false);
    expect(after.body.ranks.length).toBe(2);
  });

  test("banned players are not ranked", async () => {
    const h = await setup();
    h.start();
    const a = await h.player("ann");
    const b = await h.player("bob");
    await a.json("POST", `${A}/answer`, { answer: answerOf(1) });
    await b.json("POST", `${A}/answer`, { answer: "x" });
    await h.s.auth.setBanned(a.user.id, true);
    const lb = await h.client().json("GET", "/api/v1/events/hunt/leaderboard");
    expect(lb.body.ranks.map((r: { username: string }) => r.username)).toEqual(["bob"]);
  });
});

describe("secrecy: no player response holds an accepted answer, a close answer, an unrevealed hint or a future puzzle", () => {
  test.each(PRESETS)("%s: a whole play-through", async (preset) => {
    const h = await setup({ preset, puzzles: 3, settings: { xpPerTick: 100, xpTickMinutes: 1 } });
    h.start();
    const p = await h.player();
    const seen: string[] = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await p.req(method, path, body);
      seen.push(await r.text());
    };
    await call("GET", `${A}/current`);
    await call("GET", "/api/v1/events");
    await call("GET", "/api/v1/events/hunt");
    await call("POST", `${A}/answer`, { answer: "wrong guess" });
    await call("POST", `${A}/answer`, { answer: closeOf(1) });
    await call("POST", `${A}/hint`);
    h.s.clock.advance(2 * MIN);
    await call("POST", `${A}/powerups/close_enough`);
    await call("POST", `${A}/answer`, { answer: answerOf(1) });
    await call("GET", `${A}/current`);
    await call("GET", `${A}/story`);
    await call("GET", `${A}/attempts`);
    await call("GET", "/api/v1/events/hunt/leaderboard");
    await call("GET", "/api/v1/events/hunt/puzzles"); // organisers only: 403
    await call("GET", "/api/v1/openapi.json");
    const all = seen.join("\n");
    for (const s of h.secrets()) expect(all).not.toContain(s);
    expect(all).not.toContain(answerOf(1).toLowerCase());
    expect(all).not.toContain(hintOf(1, 1)); // only hint 0 was revealed
    for (const i of [3]) {
      expect(all).not.toContain(titleOf(i));
      expect(all).not.toContain(bodyOf(i));
      expect(all).not.toContain(storyOf(i));
      expect(all).not.toContain(hintOf(i, 0));
    }
    expect(all).not.toContain(hintOf(2, 0));
    expect(all).not.toContain(bodyOf(2).replace("2", "3"));
    // The organiser view does hold them.
    expect(JSON.stringify((await h.org.json("GET", "/api/v1/events/hunt/puzzles")).body)).toContain(answerOf(3));
  });
});

describe("bad input gets 4xx JSON", () => {
  test.each([
    ["empty answer", "POST", `${A}/answer`, { answer: "" }, 400, "empty_answer"],
    ["100 kB answer", "POST", `${A}/answer`, { answer: "a".repeat(100_000) }, 400, "validation_failed"],
    ["answer not a string", "POST", `${A}/answer`, { answer: 42 }, 400, "validation_failed"],
    ["answer array", "POST", `${A}/answer`, { answer: ["a"] }, 400, "validation_failed"],
    ["unknown field", "POST", `${A}/answer`, { answer: "a", points: 1000 }, 400, "validation_failed"],
    ["no body", "POST", `${A}/answer`, undefined, 400, "invalid_json"],
    ["not json", "POST", `${A}/answer`, "{nope", 415, "unsupported_media_type"],
    ["puzzleId string", "POST", `${A}/answer`, { answer: "a", puzzleId: "1" }, 400, "validation_failed"],
    ["unknown puzzle", "POST", `${A}/answer`, { answer: "a", puzzleId: 999999 }, 404, "not_found"],
    ["unknown event", "POST", "/api/v1/events/nope/hunt/answer", { answer: "a" }, 404, "not_found"],
    ["unknown event id", "GET", "/api/v1/events/424242/hunt/current", undefined, 404, "not_found"],
    ["unknown powerup", "POST", `${A}/powerups/teleport`, undefined, 400, "validation_failed"],
    ["bad limit", "GET", "/api/v1/events/hunt/leaderboard?limit=abc", undefined, 400, "validation_failed"],
    ["huge limit", "GET", "/api/v1/events/hunt/leaderboard?limit=100000", undefined, 400, "validation_failed"],
    ["negative offset", "GET", "/api/v1/events/hunt/leaderboard?offset=-1", undefined, 400, "validation_failed"],
    ["player creates event", "POST", "/api/v1/events", { slug: "x", title: "x", startsAt: 1, endsAt: 2 }, 403, "forbidden"],
    ["player adjusts ledger", "POST", "/api/v1/events/hunt/ledger/adjust", { playerId: 1, amount: 5, currency: "points", reason: "x" }, 403, "forbidden"],
  ] as const)("%s", async (_name, method, path, body, status, code) => {
    const h = f ?? (await setup());
    h.start();
    const p = await h.player();
    const r = await p.json(method, path, body);
    expect(r.status).toBe(status);
    expect(r.res.headers.get("content-type")).toContain("application/json");
    expect(r.body.error.code).toBe(code);
  });

  test("unauthenticated play is 401", async () => {
    const h = await setup();
    h.start();
    const r = await h.client().json("GET", `${A}/current`);
    expect(r.status).toBe(401);
  });
});

describe("organiser CRUD", () => {
  test("events: slug conflict, window check, default flag moves, invite registration", async () => {
    const h = await setup();
    const dup = await h.org.json("POST", "/api/v1/events", { slug: "hunt", title: "x", startsAt: 1, endsAt: 2 });
    expect(dup.status).toBe(409);
    const bad = await h.org.json("POST", "/api/v1/events", { slug: "other", title: "x", startsAt: 5, endsAt: 2 });
    expect(bad.status).toBe(400);
    const inv = await h.org.json("POST", "/api/v1/events", { slug: "secret", title: "x", startsAt: h.startsAt, endsAt: h.endsAt, registration: "invite", registrationCode: "open-sesame", isDefault: true });
    expect(inv.status).toBe(201);
    expect(JSON.stringify(inv.body)).not.toContain("open-sesame");
    const list = await h.client().json("GET", "/api/v1/events");
    expect(list.body.events.filter((e: { isDefault: boolean }) => e.isDefault).map((e: { slug: string }) => e.slug)).toEqual(["secret"]);
    h.start();
    const p = await h.player();
    expect((await p.json("GET", "/api/v1/events/secret/hunt/current")).status).toBe(403);
    expect((await p.json("POST", "/api/v1/events/secret/join", { code: "wrong" })).status).toBe(403);
    expect((await p.json("POST", "/api/v1/events/secret/join", { code: "open-sesame" })).status).toBe(200);
    expect((await p.json("GET", `/api/v1/events/${inv.body.event.id}/hunt/current`)).status).toBe(200);
  });

  test("puzzles: update answers and hints, reorder, delete only when unreached", async () => {
    const h = await setup({ puzzles: 3 });
    const [p1, p2, p3] = h.puzzleIds;
    const up = await h.org.json("PATCH", `/api/v1/events/hunt/puzzles/${p1}`, { answers: ["new answer"], hints: [{ text: "only hint" }, "bare string hint"] });
    expect(up.body.puzzle).toMatchObject({ answers: ["new answer"], hints: [{ text: "only hint" }, { text: "bare string hint" }] });
    const re = await h.org.json("PUT", "/api/v1/events/hunt/puzzles/order", { order: [p3, p1, p2] });
    expect(re.body.puzzles.map((p: { id: number; position: number }) => [p.id, p.position])).toEqual([
      [p3, 1],
      [p1, 2],
      [p2, 3],
    ]);
    expect((await h.org.json("PUT", "/api/v1/events/hunt/puzzles/order", { order: [p3, p1] })).status).toBe(400);
    h.start();
    const pl = await h.player();
    const cur = await pl.json("GET", `${A}/current`);
    expect(cur.body.puzzle.id).toBe(p3);
    expect(cur.body.puzzle.hintsLeft).toBe(2);
    expect((await h.org.json("DELETE", `/api/v1/events/hunt/puzzles/${p3}`)).status).toBe(409);
    expect((await h.org.json("DELETE", `/api/v1/events/hunt/puzzles/${p2}`)).status).toBe(204);
    expect((await h.org.json("GET", `/api/v1/events/hunt/puzzles/${p2}`)).status).toBe(404);
  });

  test("attachments are content-addressed blobs, readable once the puzzle is reached", async () => {
    const h = await setup({ puzzles: 2 });
    const data = Buffer.from("hello attachment");
    const r = await h.org.json("POST", `/api/v1/events/hunt/puzzles/${h.puzzleIds[1]}/attachments`, { name: "map.txt", contentType: "text/plain", dataBase64: data.toString("base64") });
    expect(r.status).toBe(201);
    const id = r.body.attachment.id;
    expect(r.body.attachment.sha256).toBe(new Bun.CryptoHasher("sha256").update(data).digest("hex"));
    h.start();
    const p = await h.player();
    expect((await p.req("GET", `/api/v1/events/hunt/attachments/${id}`)).status).toBe(404);
    await p.json("POST", `${A}/answer`, { answer: answerOf(1) });
    const got = await p.req("GET", `/api/v1/events/hunt/attachments/${id}`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("hello attachment");
  });

  test("ledger adjust needs a reason and shows in balances; check-ledger stays clean", async () => {
    const h = await setup();
    h.start();
    const p = await h.player();
    await p.json("GET", `${A}/current`);
    const bad = await h.org.json("POST", "/api/v1/events/hunt/ledger/adjust", { playerId: p.user.id, amount: 5, currency: "points" });
    expect(bad.status).toBe(400);
    const ok = await h.org.json("POST", "/api/v1/events/hunt/ledger/adjust", { playerId: p.user.id, amount: 7, currency: "points", reason: "bonus" });
    expect(ok.status).toBe(201);
    // XP is the formula of hunt-rules.md; organisers adjust points only.
    const xp = await h.org.json("POST", "/api/v1/events/hunt/ledger/adjust", { playerId: p.user.id, amount: 30, currency: "xp", reason: "xp bonus" });
    expect(xp.status).toBe(400);
    const ok2 = await h.org.json("POST", "/api/v1/events/hunt/ledger/adjust", { playerId: p.user.id, amount: -2, currency: "points", reason: "penalty" });
    expect(ok2.status).toBe(201);
    const cur = await p.json("GET", `${A}/current`);
    expect(cur.body.balances.points).toBe(5);
    const entries = await h.org.json("GET", `/api/v1/events/hunt/ledger?player=${p.user.id}`);
    expect(entries.body.entries.map((e: { reason: string }) => e.reason)).toEqual(["penalty", "bonus"]);
    expect(h.s.ledger.check().mismatches).toEqual([]);
  });
});

describe("the answer path's kept reads (the player's row and progress) follow every commit", () => {
  test("another process's commit: the next answer binds to what it committed", async () => {
    const h = await setup();
    h.start();
    const p = await h.player();
    // Bound to puzzle 1; the first attempt lists the player, the second leaves the view kept.
    for (const answer of ["nope", "nope again"]) expect((await p.json("POST", `${A}/answer`, { answer })).status).toBe(200);
    // Another instance solves puzzle 1 for this player and unlocks puzzle 2, on a connection of its own.
    const other = openDb(dbTarget(h.s.config));
    const now = h.s.clock.now();
    other.transaction(() => {
      other.writer.query("UPDATE progress SET solved_at = ?, awarded = 0, place = 1 WHERE player_id = ? AND puzzle_id = ?").run(now, p.user.id, h.puzzleIds[0]);
      other.writer.query("INSERT INTO progress (player_id, puzzle_id, event_id, unlocked_at) VALUES (?, ?, ?, ?)").run(p.user.id, h.puzzleIds[1], h.eventId, now);
    });
    other.close();
    const r = await p.json("POST", `${A}/answer`, { answer: "still nope" });
    expect(r.status).toBe(200); // not already_solved for a puzzle view from before that commit
    const attempts = await p.json("GET", `${A}/attempts`);
    expect(attempts.body.attempts.map((a: { puzzleId: number }) => a.puzzleId)).toEqual([h.puzzleIds[1], h.puzzleIds[0], h.puzzleIds[0]]);
  });

  test("this process's own writes: solve, skip and a join each move the next answer on", async () => {
    const h = await setup({ puzzles: 4 });
    h.start();
    const p = await h.player();
    const puzzleOf = async () => (await p.json("GET", `${A}/attempts`)).body.attempts[0].puzzleId;
    await p.json("POST", `${A}/answer`, { answer: "nope" });
    expect(await puzzleOf()).toBe(h.puzzleIds[0]);
    expect((await p.json("POST", `${A}/answer`, { answer: answerOf(1) })).body.outcome).toBe("correct");
    await p.json("POST", `${A}/answer`, { answer: "nope" });
    expect(await puzzleOf()).toBe(h.puzzleIds[1]);
    h.s.clock.advance(10 * HOUR); // XP for a skip (75 at 10 an hour); the ticker's pass also writes the player's rows
    await h.s.hunt.tickXp();
    await p.json("POST", `${A}/answer`, { answer: "nope" });
    expect(await puzzleOf()).toBe(h.puzzleIds[1]);
    expect((await p.json("POST", `${A}/powerups/skip`)).status).toBe(200);
    await p.json("POST", `${A}/answer`, { answer: "nope" });
    expect(await puzzleOf()).toBe(h.puzzleIds[2]);
  });
});
