/**
 * The arena's rules as pure functions (../shared/spec/arena-rules.md): match
 * score, winner, Elo, the role-swap instant, invite codes and matchmaking.
 * No I/O, no clock, no randomness of their own: callers pass time and a
 * random source, so every rule is tested exactly.
 */

export type Verdict = "AC" | "WA" | "TLE" | "MLE" | "RE" | "OLE" | "CE" | "IE";

/** A submission's verdict: the first non-AC test verdict, or AC. */
export function submissionVerdict(perTest: readonly Verdict[]): Verdict {
  return perTest.find((v) => v !== "AC") ?? "AC";
}

export interface SideResult {
  /** Hidden tests passed by the side's last submission. */
  testsPassed: number;
  totalTests: number;
  /** Seconds from match start to the side's last submission (null: never submitted). */
  secondsToLastSubmission: number | null;
  /** Total run time in ms over the tests the last submission passed. */
  runtimeMsOverPassed: number;
}

export function timeScore(seconds: number | null): number {
  if (seconds === null) return 0;
  return Math.max(0, 1 - 0.1 * Math.floor(Math.max(0, seconds) / 30));
}

/**
 * 1 if my run time is more than 10 % below the opponent's, 0 if more than
 * 10 % above, 0.5 otherwise or when either side passed nothing.
 */
export function runtimeScore(me: SideResult, opp: SideResult): number {
  if (me.testsPassed === 0 || opp.testsPassed === 0) return 0.5;
  if (me.runtimeMsOverPassed < opp.runtimeMsOverPassed * 0.9) return 1;
  if (me.runtimeMsOverPassed > opp.runtimeMsOverPassed * 1.1) return 0;
  return 0.5;
}

export function matchScore(me: SideResult, opp: SideResult): number {
  const testsFraction = me.totalTests > 0 ? me.testsPassed / me.totalTests : 0;
  return Math.round(1000 * (0.7 * testsFraction + 0.15 * runtimeScore(me, opp) + 0.15 * timeScore(me.secondsToLastSubmission)));
}

export type Outcome = { winner: 0 | 1; reason: "score" | "earlier_submission" } | { winner: null; reason: "draw" };

/** At the timer's end: higher score wins; ties go to the earlier last submission; else a draw. */
export function decideAtTimeout(a: SideResult, b: SideResult): Outcome & { scores: [number, number] } {
  const scores: [number, number] = [matchScore(a, b), matchScore(b, a)];
  if (scores[0] !== scores[1]) return { winner: scores[0] > scores[1] ? 0 : 1, reason: "score", scores };
  const ta = a.secondsToLastSubmission;
  const tb = b.secondsToLastSubmission;
  if (ta !== tb && !(ta === null && tb === null)) {
    if (ta === null) return { winner: 1, reason: "earlier_submission", scores };
    if (tb === null) return { winner: 0, reason: "earlier_submission", scores };
    return { winner: ta < tb ? 0 : 1, reason: "earlier_submission", scores };
  }
  return { winner: null, reason: "draw", scores };
}

export const ELO_K = 32;
export const ELO_START = 1200;

export const eloExpected = (ra: number, rb: number) => 1 / (1 + 10 ** ((rb - ra) / 400));

/**
 * New ratings after a rated match. Each side is a list of player ratings; a
 * pair's members each use the team average as their own (arena-rules.md), so
 * both members of a team move by the same amount. `scoreA` is 1, 0.5 or 0.
 * Returns the integer change for each side (rounded half away from zero).
 */
export function eloChange(sideA: readonly number[], sideB: readonly number[], scoreA: 0 | 0.5 | 1): [number, number] {
  const avg = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ra = avg(sideA);
  const rb = avg(sideB);
  const da = ELO_K * (scoreA - eloExpected(ra, rb));
  const db = ELO_K * (1 - scoreA - eloExpected(rb, ra));
  const r = (x: number) => Math.sign(x) * Math.round(Math.abs(x));
  return [r(da), r(db)];
}

/** The role-swap instant for `pairs`: uniform in [30 %, 70 %] of the match, in whole ms from the start. */
export function swapOffsetMs(durationSec: number, random: () => number): number {
  const u = Math.min(Math.max(random(), 0), 1);
  return Math.round(durationSec * 1000 * (0.3 + 0.4 * u));
}

// No 0/O, 1/I/L: codes are read aloud and typed from a projector.
export const INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
export const INVITE_RE = new RegExp(`^[${INVITE_ALPHABET}]{6}$`);

export function inviteCode(randomBytes: (n: number) => Uint8Array): string {
  // Rejection sampling keeps every character equally likely.
  const out: string[] = [];
  const limit = 256 - (256 % INVITE_ALPHABET.length);
  while (out.length < 6) {
    for (const b of randomBytes(12)) {
      if (b < limit && out.length < 6) out.push(INVITE_ALPHABET[b % INVITE_ALPHABET.length]);
    }
  }
  return out.join("");
}

/** Invite codes are typed by people: accept lower case and surrounding space. */
export const normalizeInvite = (raw: string) => raw.trim().toUpperCase();

export interface Waiting {
  id: string;
  rating: number;
  /** When they joined the queue (ms). */
  since: number;
}

export const RATING_AWARE_AFTER_MS = 10_000;

/**
 * Picks the next pair from a public queue (oldest first). The oldest waiter
 * is matched with the next in line, unless ratings are enabled and they have
 * waited at least 10 s: then with the waiting opponent nearest in rating
 * (ties to whoever waited longer). Returns null when fewer than two wait.
 */
export function pickPair(queue: readonly Waiting[], now: number, ratingAware: boolean): [Waiting, Waiting] | null {
  if (queue.length < 2) return null;
  const byAge = [...queue].sort((a, b) => a.since - b.since || (a.id < b.id ? -1 : 1));
  const first = byAge[0];
  if (!ratingAware || now - first.since < RATING_AWARE_AFTER_MS) return [first, byAge[1]];
  let best = byAge[1];
  for (const w of byAge.slice(2)) {
    if (Math.abs(w.rating - first.rating) < Math.abs(best.rating - first.rating)) best = w;
  }
  return [first, best];
}
