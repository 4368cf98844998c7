import { describe, expect, test } from "bun:test";
import { DEFAULT_TIERS, effectiveSettings } from "../events/events.settings.ts";
import { award, cappedGain, judge, levenshtein, normalizeAnswer, orderGross, timeGross, xpBalance, xpEarned, xpTicks } from "./hunt.rules.ts";

describe("normalizeAnswer", () => {
  test.each([
    ["full", "The  Last-Question!", "thelastquestion"],
    ["full", "ＴＨＥ ｌａｓｔ", "thelast"], // NFKC folds full-width letters
    ["full", "Ça va? 42", "çava42"],
    ["full", "  ---  ", ""],
    ["lower", "  The Last-Question! ", "the last-question!"],
    ["exact", "  The Last-Question! ", "The Last-Question!"],
  ] as const)("%s(%j) = %j", (mode, raw, out) => {
    expect(normalizeAnswer(raw, mode)).toBe(out);
  });
});

describe("judge", () => {
  const key = { accepted: ["thelastquestion"], close: ["lastquestion"], closeDistance: 2 };
  test.each([
    ["thelastquestion", "correct"],
    ["lastquestion", "close"], // an organiser's close answer
    ["thelastquestiom", "close"], // distance 1
    ["thelastquestzzz", "wrong"], // distance 3 > closeDistance
    ["asimov", "wrong"],
  ] as const)("%s → %s", (ans, out) => expect(judge(ans, key)).toBe(out));

  test("distance is also bounded by floor(len/4)", () => {
    // "cat": floor(3/4) = 0, so one edit away is wrong, not close.
    expect(judge("bat", { accepted: ["cat"], close: [], closeDistance: 2 })).toBe("wrong");
    // 8 letters: floor(8/4)=2 → two edits close, three wrong.
    expect(judge("abcdefzz", { accepted: ["abcdefgh"], close: [], closeDistance: 5 })).toBe("close");
    expect(judge("abcdezzz", { accepted: ["abcdefgh"], close: [], closeDistance: 5 })).toBe("wrong");
  });

  test("levenshtein", () => {
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(levenshtein("", "abc")).toBe(3);
    expect(levenshtein("abc", "abc")).toBe(0);
    expect(levenshtein("aaaaaaaa", "bbbbbbbb", 2)).toBe(3);
  });
});

describe("points", () => {
  const p = { basePoints: 100, minPoints: 10, decayPerMinute: 1 };
  test.each([
    [0, 100],
    [59_999, 100], // under a full minute
    [60_000, 99],
    [5 * 60_000 + 30_000, 95],
    [89 * 60_000, 11],
    [90 * 60_000, 10],
    [500 * 60_000, 10], // floor at minPoints
  ])("time scoring after %i ms = %i", (elapsed, gross) => expect(timeGross(p, 1000, 1000 + elapsed)).toBe(gross));

  test.each([
    [0, 100],
    [9, 100],
    [10, 90],
    [19, 90],
    [20, 85],
    [29, 85],
    [30, 75],
    [1000, 75],
  ])("order scoring with %i earlier solves = %i", (n, gross) => expect(orderGross(DEFAULT_TIERS, n)).toBe(gross));

  test.each([
    [100, 0, false, 10, 100],
    [100, 20, false, 10, 80],
    [100, 20, true, 10, 70],
    [10, 20, true, 10, 0], // never below zero
  ])("award(gross %i, hints %i, close %p, penalty %i) = %i", (g, h, c, pen, out) => expect(award(g, h, c, pen)).toBe(out));
});

describe("xp", () => {
  const def = effectiveSettings("default", {});
  const e7 = effectiveSettings("enigma7", {});
  const H = 3_600_000;
  test("ticks count full periods from the first attempt, up to endsAt", () => {
    expect(xpTicks(def, null, 10 * H, 100 * H)).toBe(0);
    expect(xpTicks(def, 0, H - 1, 100 * H)).toBe(0);
    expect(xpTicks(def, 0, H, 100 * H)).toBe(1);
    expect(xpTicks(def, 0, 5 * H + 1, 100 * H)).toBe(5);
    expect(xpTicks(def, 0, 500 * H, 100 * H)).toBe(100);
  });
  test("earned: default has no cap and no solve XP; enigma7 gives 5 per solve, capped at 100", () => {
    expect(xpEarned(def, 30, 4)).toBe(300);
    expect(xpEarned(e7, 3, 4)).toBe(50);
    expect(xpEarned(e7, 30, 4)).toBe(100);
    expect(xpBalance(e7, 0, 2, 40, 3 * H, 100 * H)).toEqual({ earned: 40, spent: 40, balance: 0 });
  });
  test("cappedGain stops the ledger at the cap", () => {
    expect(cappedGain(e7, 95, 10)).toBe(5);
    expect(cappedGain(e7, 100, 10)).toBe(0);
    expect(cappedGain(def, 1e6, 10)).toBe(10);
  });
  test("presets", () => {
    expect(e7).toMatchObject({ scoring: "order", xpPerSolve: 5, xpCap: 100, normalize: "lower", powerupCosts: { hint: 50, skip: 75, close_enough: 95 }, closeAnswerPenalty: 10, hintCostPoints: 10 });
    expect(def).toMatchObject({ scoring: "time", basePoints: 100, minPoints: 10, decayPerMinute: 1, xpPerSolve: 0, xpCap: null, closeDistance: 2, answersPerMinute: 10, answersPerMinutePerIp: 60 });
  });
});
