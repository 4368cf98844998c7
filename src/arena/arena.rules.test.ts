import { describe, expect, test } from "bun:test";
import {
  decideAtTimeout,
  eloChange,
  eloExpected,
  INVITE_RE,
  inviteCode,
  matchScore,
  normalizeInvite,
  pickPair,
  runtimeScore,
  submissionVerdict,
  swapOffsetMs,
  timeScore,
  type SideResult,
} from "./arena.rules.ts";

const side = (testsPassed: number, secs: number | null, runtime: number, totalTests = 10): SideResult => ({
  testsPassed,
  totalTests,
  secondsToLastSubmission: secs,
  runtimeMsOverPassed: runtime,
});

describe("verdicts", () => {
  test.each([
    [["AC", "AC"], "AC"],
    [["AC", "WA", "TLE"], "WA"],
    [["TLE", "WA"], "TLE"],
    [[], "AC"],
  ] as const)("%p → %p", (per, v) => expect(submissionVerdict(per)).toBe(v));
});

describe("match score (arena-rules.md)", () => {
  test.each([
    [0, 1],
    [29, 1],
    [30, 0.9],
    [59, 0.9],
    [60, 0.8],
    [299, 0.1],
    [300, 0],
    [1000, 0],
  ])("timeScore(%p s) = %p", (s, want) => expect(timeScore(s)).toBeCloseTo(want, 10));

  test.each([
    ["more than 10% faster", side(5, 10, 89), side(5, 10, 100), 1],
    ["exactly 10% faster is not more than 10%", side(5, 10, 90), side(5, 10, 100), 0.5],
    ["more than 10% slower", side(5, 10, 111), side(5, 10, 100), 0],
    ["exactly 10% slower", side(5, 10, 110), side(5, 10, 100), 0.5],
    ["I passed nothing", side(0, 10, 0), side(5, 10, 100), 0.5],
    ["opponent passed nothing", side(5, 10, 10), side(0, null, 0), 0.5],
  ])("runtimeScore: %s", (_n, me, opp, want) => expect(runtimeScore(me, opp)).toBe(want));

  test("score = round(1000 × (0.70 tests + 0.15 runtime + 0.15 time))", () => {
    // 7/10 tests, faster by >10 %, last submission at 95 s (timeScore 0.7)
    expect(matchScore(side(7, 95, 50), side(3, 40, 100))).toBe(Math.round(1000 * (0.7 * 0.7 + 0.15 * 1 + 0.15 * 0.7)));
    expect(matchScore(side(10, 0, 10), side(10, 0, 10))).toBe(1000 - 75); // runtime tie gives 0.5
    expect(matchScore(side(0, null, 0), side(0, null, 0))).toBe(75); // nothing at all: only the runtime half point
  });

  test("at the timer's end: higher score wins; tie → earlier last submission; else draw", () => {
    expect(decideAtTimeout(side(8, 100, 50), side(5, 100, 50))).toMatchObject({ winner: 0, reason: "score" });
    expect(decideAtTimeout(side(5, 100, 50), side(8, 100, 50))).toMatchObject({ winner: 1, reason: "score" });
    // Same score (time buckets equal: 60–89 s), different instants.
    expect(decideAtTimeout(side(5, 61, 50), side(5, 80, 50))).toMatchObject({ winner: 0, reason: "earlier_submission" });
    expect(decideAtTimeout(side(5, 80, 50), side(5, 61, 50))).toMatchObject({ winner: 1, reason: "earlier_submission" });
    expect(decideAtTimeout(side(5, 61, 50), side(5, 61, 50))).toMatchObject({ winner: null, reason: "draw" });
    expect(decideAtTimeout(side(0, null, 0), side(0, null, 0))).toMatchObject({ winner: null, reason: "draw" });
  });
});

describe("Elo (K = 32, start 1200)", () => {
  test("equal ratings: ±16 for a win, 0 for a draw", () => {
    expect(eloChange([1200], [1200], 1)).toEqual([16, -16]);
    expect(eloChange([1200], [1200], 0)).toEqual([-16, 16]);
    expect(eloChange([1200], [1200], 0.5)).toEqual([0, 0]);
  });
  test("an upset moves more than an expected win", () => {
    const [up] = eloChange([1000], [1400], 1);
    const [exp] = eloChange([1400], [1000], 1);
    expect(up).toBe(Math.round(32 * (1 - eloExpected(1000, 1400))));
    expect(up).toBeGreaterThan(exp);
  });
  test("a pair uses its average: both members move alike", () => {
    // Team A average 1300 vs team B average 1300 → ±16
    expect(eloChange([1200, 1400], [1300, 1300], 1)).toEqual([16, -16]);
  });
});

describe("role swap instant", () => {
  test.each([
    [0, 90_000],
    [0.5, 150_000],
    [0.999999, 209_999.7],
    [1, 210_000],
  ])("random %p → within 30–70 %% of 300 s", (u, want) => {
    const ms = swapOffsetMs(300, () => u);
    expect(ms).toBeCloseTo(want, -1);
    expect(ms).toBeGreaterThanOrEqual(90_000);
    expect(ms).toBeLessThanOrEqual(210_000);
  });
});

describe("invite codes", () => {
  test("six unambiguous characters, normalized when typed", () => {
    for (let i = 0; i < 200; i++) expect(inviteCode((n) => crypto.getRandomValues(new Uint8Array(n)))).toMatch(INVITE_RE);
    expect(inviteCode((n) => new Uint8Array(n))).toBe("AAAAAA");
    expect(normalizeInvite("  abc23x ")).toBe("ABC23X");
  });
});

describe("matchmaking", () => {
  const w = (id: string, rating: number, since: number) => ({ id, rating, since });
  test("FIFO: the two who waited longest", () => {
    expect(pickPair([w("c", 1500, 30), w("a", 1200, 10), w("b", 2000, 20)], 100, false)!.map((x) => x.id)).toEqual(["a", "b"]);
  });
  test("rating-aware only once the oldest has waited 10 s", () => {
    const q = [w("a", 1200, 0), w("b", 2000, 1), w("c", 1250, 2)];
    expect(pickPair(q, 9_999, true)!.map((x) => x.id)).toEqual(["a", "b"]);
    expect(pickPair(q, 10_000, true)!.map((x) => x.id)).toEqual(["a", "c"]);
  });
  test("fewer than two: nobody", () => {
    expect(pickPair([w("a", 1200, 0)], 0, true)).toBeNull();
  });
});
