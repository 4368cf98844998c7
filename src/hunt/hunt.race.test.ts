/**
 * Concurrency: requests are held at a barrier and released together, so they
 * reach the group-committed writer in the same turn of the event loop.
 */
import { afterEach, expect, test } from "bun:test";
import { answerOf, HOUR, huntFixture, MIN, type HuntFixture } from "./hunt.fixture.ts";

const A = "/api/v1/events/hunt/hunt";
let f: HuntFixture | null = null;
afterEach(() => {
  f?.cleanup();
  f = null;
});

function barrier() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { wait: () => p, open };
}

async function together<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const b = barrier();
  const all = Array.from({ length: n }, (_, i) => b.wait().then(() => fn(i)));
  b.open();
  return Promise.all(all);
}

test.each(["default", "enigma7"] as const)("%s: 50 concurrent correct answers by one player → one award", async (preset) => {
  f = await huntFixture({ preset, settings: { answersPerMinute: 1000, answersPerMinutePerIp: 100_000 } });
  f.start();
  const p = await f.player();
  await p.json("GET", `${A}/current`);
  const rs = await together(50, () => p.json("POST", `${A}/answer`, { answer: answerOf(1) }));
  const ok = rs.filter((r) => r.status === 200);
  expect(ok.length).toBe(1);
  expect(ok[0].body.outcome).toBe("correct");
  for (const r of rs.filter((r) => r.status !== 200)) {
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("already_solved");
  }
  const cur = await p.json("GET", `${A}/current`);
  expect(cur.body.balances.points).toBe(100);
  const entries = f.s.ledger.entries(f.eventId, p.user.id).filter((e) => e.kind === "solve");
  expect(entries.length).toBe(1);
  expect(f.s.ledger.check().mismatches).toEqual([]);
});

test.each(["hint", "close_enough", "skip"] as const)("50 concurrent %s purchases with XP for one → one spent, balance never negative", async (kind) => {
  f = await huntFixture({ puzzles: 3, hints: 60, settings: { xpPerTick: 60, xpTickMinutes: 60, powerupCosts: { hint: 50, close_enough: 50, skip: 50 } } });
  f.start();
  const p = await f.player();
  await p.json("POST", `${A}/answer`, { answer: "wrong" });
  f.s.clock.advance(HOUR); // 60 XP: one purchase of 50
  const rs = await together(50, () => p.json("POST", `${A}/powerups/${kind}`));
  const ok = rs.filter((r) => r.status === 200);
  expect(ok.length).toBe(1);
  for (const r of rs.filter((r) => r.status !== 200)) {
    expect(r.status).toBe(409);
    // hint: too little XP; close_enough: already active or too little; skip: the skipped puzzle is done, or too little.
    expect(["insufficient_xp", "already_active", "conflict"]).toContain(r.body.error.code);
  }
  const xp = (await p.json("GET", `${A}/current`)).body.balances.xp;
  expect(xp).toEqual({ earned: 60, spent: 50, balance: 10 });
  const spends = f.s.ledger.entries(f.eventId, p.user.id).filter((e) => e.kind === "powerup");
  expect(spends.map((e) => e.amount)).toEqual([-50]);
  expect(f.s.ledger.check().mismatches).toEqual([]);
});

test("order scoring: 30 concurrent first solvers never share a place", async () => {
  f = await huntFixture({ preset: "enigma7", settings: { answersPerMinutePerIp: 100_000 } });
  f.start();
  const players: Awaited<ReturnType<HuntFixture["player"]>>[] = [];
  for (let i = 0; i < 30; i++) players.push(await f.player());
  for (const p of players) await p.json("GET", `${A}/current`);
  f.s.clock.advance(MIN);
  const rs = await together(30, (i) => players[i].json("POST", `${A}/answer`, { answer: answerOf(1).toLowerCase() }));
  expect(rs.every((r) => r.status === 200 && r.body.outcome === "correct")).toBe(true);
  const awards = rs.map((r) => r.body.awarded as number).sort((a, b) => b - a);
  expect(awards).toEqual([...Array(10).fill(100), ...Array(10).fill(90), ...Array(10).fill(85)]);
  const places = f.s.db.reader.query("SELECT place FROM progress WHERE puzzle_id = ? AND solved_at IS NOT NULL ORDER BY place").all(f.puzzleIds[0]) as { place: number }[];
  expect(places.map((r) => r.place)).toEqual(Array.from({ length: 30 }, (_, i) => i));
}, 60_000);

test("the XP ticker writes each tick once, however often and concurrently it runs", async () => {
  f = await huntFixture({ preset: "enigma7", settings: { answersPerMinutePerIp: 100_000 } });
  f.start();
  const ps: Awaited<ReturnType<HuntFixture["player"]>>[] = [];
  for (let i = 0; i < 5; i++) ps.push(await f.player());
  for (const p of ps) await p.json("POST", `${A}/answer`, { answer: "wrong" });
  f.s.clock.advance(3 * HOUR + 5 * MIN);
  const runs = await together(5, () => f!.s.hunt.tickXp());
  expect(runs.reduce((n, r) => n + r.entries, 0)).toBe(15);
  expect((await f.s.hunt.tickXp()).entries).toBe(0);
  f.s.clock.advance(20 * HOUR); // enigma7 caps at 100: 7 more ticks of 10
  expect((await f.s.hunt.tickXp()).entries).toBe(35);
  for (const p of ps) {
    const ticks = f.s.ledger.entries(f.eventId, p.user.id).filter((e) => e.kind === "xp_tick");
    expect(ticks.reduce((n, e) => n + e.amount, 0)).toBe(100);
    expect((await p.json("GET", `${A}/current`)).body.balances.xp.earned).toBe(100);
  }
  expect(f.s.ledger.check().mismatches).toEqual([]);
});

test("check finds a total that drifted from the ledger", async () => {
  f = await huntFixture();
  f.start();
  const p = await f.player();
  await p.json("POST", `${A}/answer`, { answer: answerOf(1) });
  expect(f.s.ledger.check().mismatches).toEqual([]);
  f.s.db.writer.run("UPDATE hunt_players SET points = points + 1");
  const m = f.s.ledger.check().mismatches;
  expect(m).toContainEqual(expect.objectContaining({ playerId: p.user.id, field: "points", shown: 101, ledger: 100 }));
  // The rank buckets no longer match the totals either.
  expect(m.some((x) => x.field.startsWith("rank bucket"))).toBe(true);
});
