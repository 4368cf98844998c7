/**
 * The formulas of hunt-rules.md as pure functions: normalization, answer
 * checking, points, XP. No clock, no database: callers pass the times.
 */
import { timingSafeEqual } from "node:crypto";
import type { NormalizeMode, PuzzleSettings, EventSettings, Tier } from "../events/events.settings.ts";

const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]/gu;

/** full: NFKC, lower case, then only Unicode letters and digits; lower: trimmed, lower case; exact: trimmed. */
export function normalizeAnswer(raw: string, mode: NormalizeMode): string {
  switch (mode) {
    case "exact":
      return raw.trim();
    case "lower":
      return raw.trim().toLowerCase();
    default:
      return raw.normalize("NFKC").toLowerCase().replace(NOT_LETTER_OR_DIGIT, "");
  }
}

const digest = (s: string) => Bun.CryptoHasher.hash("sha256", s) as Buffer;

/**
 * Equality whose time does not depend on where the strings differ or on how
 * long a prefix matches: both sides are hashed to fixed-size digests first.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Levenshtein distance over code points, giving up (returning limit+1) once it must exceed `limit`. */
export function levenshtein(a: string, b: string, limit = Infinity): number {
  const s = [...a];
  const t = [...b];
  if (Math.abs(s.length - t.length) > limit) return limit + 1;
  let prev = new Array<number>(t.length + 1);
  let cur = new Array<number>(t.length + 1);
  for (let j = 0; j <= t.length; j++) prev[j] = j;
  for (let i = 1; i <= s.length; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (cur[j] < rowMin) rowMin = cur[j];
    }
    if (rowMin > limit) return limit + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[t.length];
}

export type Outcome = "correct" | "close" | "wrong";

export interface AnswerKey {
  /** Already normalized with the puzzle's mode. */
  accepted: string[];
  close: string[];
  closeDistance: number;
}

/**
 * correct if it equals an accepted answer; close if it equals a close answer,
 * or is within closeDistance and floor(len(accepted)/4) edits of an accepted one.
 * Every accepted and close answer is compared (no early exit) so timing says
 * nothing about which one matched.
 */
export function judge(normalized: string, key: AnswerKey): Outcome {
  const d = keyDigests(key);
  const given = digest(normalized);
  let correct = false;
  for (const a of d.accepted) correct = timingSafeEqual(given, a) || correct;
  if (correct) return "correct";
  let close = false;
  for (const c of d.close) close = timingSafeEqual(given, c) || close;
  if (close) return "close";
  for (const a of key.accepted) {
    const allowed = Math.min(key.closeDistance, Math.floor([...a].length / 4));
    if (levenshtein(normalized, a, allowed) <= allowed) return "close";
  }
  return "wrong";
}

/** A key's answers hashed once per key object (the events cache keeps one per puzzle), not on every submission. */
const digests = new WeakMap<AnswerKey, { accepted: Buffer[]; close: Buffer[] }>();
function keyDigests(key: AnswerKey) {
  let d = digests.get(key);
  if (!d) digests.set(key, (d = { accepted: key.accepted.map(digest), close: key.close.map(digest) }));
  return d;
}

export function timeGross(p: Pick<PuzzleSettings, "basePoints" | "minPoints" | "decayPerMinute">, unlockedAt: number, solvedAt: number): number {
  const elapsedMin = Math.floor((solvedAt - unlockedAt) / 60_000);
  return Math.max(p.minPoints, p.basePoints - p.decayPerMinute * elapsedMin);
}

/** n = earlier solves of this puzzle (0 for the first solver). */
export function orderGross(tiers: Tier[], n: number): number {
  for (const t of tiers) if (t.upTo === undefined || t.upTo >= n + 1) return t.points;
  return tiers.length ? tiers[tiers.length - 1].points : 0;
}

export function award(gross: number, hintCosts: number, close: boolean, closeAnswerPenalty: number): number {
  return Math.max(0, gross - hintCosts - (close ? closeAnswerPenalty : 0));
}

export type XpSettings = Pick<EventSettings, "xpPerTick" | "xpTickMinutes" | "xpPerSolve" | "xpCap">;

export function xpTicks(s: XpSettings, firstAttemptAt: number | null, now: number, endsAt: number): number {
  if (firstAttemptAt === null) return 0;
  const t = Math.floor((Math.min(now, endsAt) - firstAttemptAt) / (s.xpTickMinutes * 60_000));
  return Math.max(0, t);
}

export function xpEarned(s: XpSettings, ticks: number, solves: number): number {
  const raw = ticks * s.xpPerTick + solves * s.xpPerSolve;
  return s.xpCap === null ? raw : Math.min(s.xpCap, raw);
}

export interface XpBalance {
  earned: number;
  spent: number;
  balance: number;
}

export function xpBalance(s: XpSettings, firstAttemptAt: number | null, solves: number, spent: number, now: number, endsAt: number): XpBalance {
  const earned = xpEarned(s, xpTicks(s, firstAttemptAt, now, endsAt), solves);
  return { earned, spent, balance: earned - spent };
}

/** How much of an XP gain the ledger may record without passing the cap. */
export function cappedGain(s: XpSettings, earnedSoFar: number, gain: number): number {
  if (s.xpCap === null) return gain;
  return Math.max(0, Math.min(gain, s.xpCap - earnedSoFar));
}

export const POWERUPS = ["close_enough", "hint", "skip"] as const;
export type Powerup = (typeof POWERUPS)[number];
