/**
 * The leaderboard cache shared through the real Redis on 127.0.0.1:6379
 * (skipped, saying so, when unreachable): two services on one database, as
 * two instances would be, compute a page once between them; a points change
 * is seen at once by both; the own rank stays exact; the frozen ranking is
 * shared too; without Redis the board is computed in the process.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { loadConfig } from "../config.ts";
import { openCore } from "../core.ts";
import { fakeClock } from "../lib/clock.ts";
import type { SessionUser } from "../lib/context.ts";
import { silentLogger } from "../lib/log.ts";
import type { Services } from "../services.ts";
import { T0, testApp } from "../testing.ts";
import { REDIS, redisTestKeys } from "../../test/helpers/redis.ts";

const URL = REDIS;
const { up, prefix: RUN, drop } = await redisTestKeys("the shared leaderboard cache tests do not run");
afterAll(drop);

let t: Awaited<ReturnType<typeof testApp>> | undefined;
let others: Services[] = [];
afterEach(() => {
  for (const o of others) {
    o.redis?.close();
    o.db.close();
  }
  others = [];
  t?.s.redis?.close();
  t?.cleanup();
  t = undefined;
});

/** Instance A (with an HTTP app to set the event up) and instance B on the same data dir, both on Redis. */
async function twoInstances(redisUrl = URL) {
  const prefix = `${RUN}${crypto.randomUUID().slice(0, 6)}:`;
  t = await testApp({ "redis-url": redisUrl, "redis-prefix": prefix });
  const config = loadConfig({ flags: { data: t.s.config.dataDir, ...(t.s.config.databaseUrl ? { "database-url": t.s.config.databaseUrl } : {}), "redis-url": redisUrl, "redis-prefix": prefix }, env: { GAUNTLET_ENV: "test" }, noFile: true });
  const b = openCore(config, { migrate: false, log: silentLogger(), clock: fakeClock(T0) });
  others.push(b);
  const org = await t.organiser("boss");
  expect((await org.json("POST", "/api/v1/events", { slug: "lb", title: "LB", startsAt: T0 - 1000, endsAt: T0 + 86_400_000 })).status).toBe(201);
  for (const a of ["one", "two", "three"]) await org.json("POST", "/api/v1/events/lb/puzzles", { title: a, answers: [a] });
  const ann = await t.player("ann");
  const bob = await t.player("bob");
  const cy = await t.player("cyd");
  for (const [p, answers] of [[ann, ["one", "two"]], [bob, ["one"]], [cy, ["nope"]]] as const) {
    for (const answer of answers) expect((await p.json("POST", "/api/v1/events/lb/hunt/answer", { answer })).status).toBe(200);
  }
  const viewer = (p: { user: { id: number; username: string } }): SessionUser => ({ id: p.user.id, username: p.user.username, role: "player", sessionId: "s" });
  return { a: t.s, b, org, ann, bob, cy, viewer };
}

const rename = (s: Services, id: number, name: string) => s.db.write(() => void s.db.writer.query("UPDATE users SET username = ? WHERE id = ?").run(name, id));
const names = (board: { ranks: Array<{ username: string; points: number }> }) => board.ranks.map((r) => `${r.username}:${r.points}`);

describe.skipIf(!up)("shared leaderboard cache", () => {
  test("live: two instances share one computed page; a points change is seen at once by both; the own rank stays exact", async () => {
    const { a, b, bob, cy, viewer } = await twoInstances();
    const first = await a.leaderboard.board("lb", null);
    expect(names(first)).toEqual(["ann:200", "bob:100", "cyd:0"]);
    expect(a.leaderboard.sharedStats()).toEqual({ hits: 0, local: 0, computed: 1 });

    // A change no ledger entry records: B still answers with A's page, so B did not query.
    await rename(a, cy.user.id, "cyrus");
    const fromB = await b.leaderboard.board("lb", viewer(cy));
    expect(fromB.ranks).toEqual(first.ranks);
    expect(b.leaderboard.sharedStats()).toEqual({ hits: 1, local: 0, computed: 0 });
    // The caller's own line is read afresh.
    expect(fromB.me).toMatchObject({ rank: 3, username: "cyd", points: 0 });
    // Read again: B's own parsed copy (kept no longer than the Redis one), no round trip.
    expect((await b.leaderboard.board("lb", null)).ranks).toEqual(first.ranks);
    expect(b.leaderboard.sharedStats()).toEqual({ hits: 1, local: 1, computed: 0 });

    // A points change (a ledger entry) makes a new page for both at once, whatever the cache's age.
    expect((await bob.json("POST", "/api/v1/events/lb/hunt/answer", { answer: "two" })).body.outcome).toBe("correct");
    const afterB = await b.leaderboard.board("lb", viewer(bob));
    expect(names(afterB)).toEqual(["ann:200", "bob:200", "cyrus:0"]);
    expect(afterB.me).toMatchObject({ rank: 2, points: 200 });
    const afterA = await a.leaderboard.board("lb", null);
    expect(afterA.ranks).toEqual(afterB.ranks);
    expect(b.leaderboard.sharedStats()!.computed + a.leaderboard.sharedStats()!.computed).toBe(2);

    // A cold page asked of both instances at once is computed once between them.
    const before = a.leaderboard.sharedStats()!.computed + b.leaderboard.sharedStats()!.computed;
    const [x, y] = await Promise.all([a.leaderboard.board("lb", null, 2, 1), b.leaderboard.board("lb", null, 2, 1)]);
    expect(x.ranks).toEqual(y.ranks);
    expect(names(x)).toEqual(["bob:200", "cyrus:0"]);
    expect(a.leaderboard.sharedStats()!.computed + b.leaderboard.sharedStats()!.computed - before).toBe(1);
  });

  test("frozen: the ranking at freezeAt is computed once for both instances; the own current points stay live", async () => {
    const { a, b, org, bob, viewer } = await twoInstances();
    expect((await org.json("PATCH", "/api/v1/events/lb", { freezeAt: T0 + 500 })).status).toBe(200);
    for (const s of [a, b]) s.clock.advance(1000);
    expect((await bob.json("POST", "/api/v1/events/lb/hunt/answer", { answer: "two" })).body.outcome).toBe("correct");
    const fromA = await a.leaderboard.board("lb", viewer(bob));
    expect(fromA.frozen).toBe(true);
    expect(names(fromA)).toEqual(["ann:200", "bob:100", "cyd:0"]);
    expect(a.leaderboard.sharedStats()).toEqual({ hits: 0, local: 0, computed: 1 });
    await rename(a, bob.user.id, "robert");
    const fromB = await b.leaderboard.board("lb", viewer(bob));
    expect(fromB.ranks).toEqual(fromA.ranks);
    expect(b.leaderboard.sharedStats()).toEqual({ hits: 1, local: 0, computed: 0 });
    expect(fromB.me).toMatchObject({ rank: 2, points: 200, frozenPoints: 100 });
  });

  test("Redis unreachable: each instance computes its own board, as without Redis", async () => {
    const { a, b } = await twoInstances("redis://127.0.0.1:1");
    expect(names(await a.leaderboard.board("lb", null))).toEqual(["ann:200", "bob:100", "cyd:0"]);
    expect(names(await b.leaderboard.board("lb", null))).toEqual(["ann:200", "bob:100", "cyd:0"]);
    expect(a.leaderboard.sharedStats()).toEqual({ hits: 0, local: 0, computed: 1 });
    expect(b.leaderboard.sharedStats()).toEqual({ hits: 0, local: 0, computed: 1 });
  }, 10_000);
});
