/**
 * The only code that touches hunt_players (outside the ledger's totals),
 * progress, hint_reveals, attempts and action_log (but its login and signup
 * rows, which src/auth writes). Functions taking `tx` run
 * inside a write body on the writer connection; the others read committed
 * data through the reader. Hot statements are cached by bun:sqlite's query().
 */
import type { Database } from "bun:sqlite";
import type { Db, Drizzle } from "../db/db.ts";

export interface HuntPlayerRow {
  eventId: number;
  playerId: number;
  joinedAt: number;
  firstAttemptAt: number | null;
  finishedAt: number | null;
  points: number;
  pointsAt: number;
  xpEarned: number;
  xpSpent: number;
  xpTicks: number;
  solves: number;
}

export interface ProgressRow {
  puzzleId: number;
  unlockedAt: number;
  solvedAt: number | null;
  skippedAt: number | null;
  closeEnoughActive: number;
  awarded: number | null;
  place: number | null;
}

export interface RevealRow {
  idx: number;
  at: number;
  viaPowerup: number;
}

export interface AttemptInput {
  eventId: number;
  puzzleId: number;
  playerId: number;
  raw: string;
  normalized: string;
  outcome: "correct" | "close" | "wrong";
  ip: string | null;
  userAgent: string | null;
  at: number;
}

const PLAYER_COLS = `event_id AS eventId, player_id AS playerId, joined_at AS joinedAt, first_attempt_at AS firstAttemptAt, finished_at AS finishedAt,
  points, points_at AS pointsAt, xp_earned AS xpEarned, xp_spent AS xpSpent, xp_ticks AS xpTicks, solves`;
const PROGRESS_COLS = `puzzle_id AS puzzleId, unlocked_at AS unlockedAt, solved_at AS solvedAt, skipped_at AS skippedAt,
  close_enough_active AS closeEnoughActive, awarded, place`;

export function huntStore(db: Db) {
  const w = db.writer;
  const r = db.reader;
  const player = (c: Database, eventId: number, playerId: number) =>
    c.query(`SELECT ${PLAYER_COLS} FROM hunt_players WHERE event_id = ? AND player_id = ?`).get(eventId, playerId) as HuntPlayerRow | null;
  const progressOf = (c: Database, eventId: number, playerId: number) =>
    c.query(`SELECT ${PROGRESS_COLS} FROM progress WHERE player_id = ? AND event_id = ?`).all(playerId, eventId) as ProgressRow[];
  const revealsOf = (c: Database, playerId: number, puzzleId: number) =>
    c.query("SELECT idx, at, via_powerup AS viaPowerup FROM hint_reveals WHERE player_id = ? AND puzzle_id = ? ORDER BY idx").all(playerId, puzzleId) as RevealRow[];

  // On the writer: its data_version moves only when another connection (another process) commits.
  const dataVersion = w.prepare("PRAGMA data_version");

  return {
    /** Changes when another process has committed since the last call (SQLite; see the answer path's cache). */
    dataVersion: () => (dataVersion.get() as { data_version: number }).data_version,
    player: (eventId: number, playerId: number) => player(r, eventId, playerId),
    progress: (eventId: number, playerId: number) => progressOf(r, eventId, playerId),
    reveals: (playerId: number, puzzleId: number) => revealsOf(r, playerId, puzzleId),

    txPlayer: (_tx: Drizzle, eventId: number, playerId: number) => player(w, eventId, playerId),
    txProgressOne: (_tx: Drizzle, playerId: number, puzzleId: number) =>
      w.query(`SELECT ${PROGRESS_COLS} FROM progress WHERE player_id = ? AND puzzle_id = ?`).get(playerId, puzzleId) as ProgressRow | null,
    txProgress: (_tx: Drizzle, eventId: number, playerId: number) => progressOf(w, eventId, playerId),
    txReveals: (_tx: Drizzle, playerId: number, puzzleId: number) => revealsOf(w, playerId, puzzleId),

    /** Unlocks a puzzle for a player once; a second unlock keeps the first time. */
    unlock: (_tx: Drizzle, eventId: number, playerId: number, puzzleId: number, now: number) =>
      w.query("INSERT OR IGNORE INTO progress (player_id, puzzle_id, event_id, unlocked_at) VALUES (?, ?, ?, ?)").run(playerId, puzzleId, eventId, now),
    /** 1 when this call solved it; 0 when it was already solved or skipped. */
    markSolved: (_tx: Drizzle, playerId: number, puzzleId: number, now: number, awarded: number, place: number) =>
      w
        .query("UPDATE progress SET solved_at = ?, awarded = ?, place = ?, close_enough_active = 0 WHERE player_id = ? AND puzzle_id = ? AND solved_at IS NULL AND skipped_at IS NULL")
        .run(now, awarded, place, playerId, puzzleId).changes,
    markSkipped: (_tx: Drizzle, playerId: number, puzzleId: number, now: number) =>
      w.query("UPDATE progress SET skipped_at = ?, close_enough_active = 0 WHERE player_id = ? AND puzzle_id = ? AND solved_at IS NULL AND skipped_at IS NULL").run(now, playerId, puzzleId)
        .changes,
    setCloseEnough: (_tx: Drizzle, playerId: number, puzzleId: number) =>
      w.query("UPDATE progress SET close_enough_active = 1 WHERE player_id = ? AND puzzle_id = ? AND close_enough_active = 0").run(playerId, puzzleId).changes,
    /** Solves of a puzzle already decided: the order-scoring place of the next solver. */
    solvesOf: (_tx: Drizzle, puzzleId: number) => (w.query("SELECT count(*) AS n FROM progress WHERE puzzle_id = ? AND solved_at IS NOT NULL").get(puzzleId) as { n: number }).n,
    countSolve: (_tx: Drizzle, eventId: number, playerId: number) => w.query("UPDATE hunt_players SET solves = solves + 1 WHERE event_id = ? AND player_id = ?").run(eventId, playerId),
    setFinished: (_tx: Drizzle, eventId: number, playerId: number, now: number) =>
      w.query("UPDATE hunt_players SET finished_at = ? WHERE event_id = ? AND player_id = ? AND finished_at IS NULL").run(now, eventId, playerId),
    setXpTicks: (_tx: Drizzle, eventId: number, playerId: number, ticks: number) =>
      w.query("UPDATE hunt_players SET xp_ticks = ? WHERE event_id = ? AND player_id = ? AND xp_ticks < ?").run(ticks, eventId, playerId, ticks),
    insertReveal: (_tx: Drizzle, playerId: number, puzzleId: number, idx: number, now: number, viaPowerup: boolean) =>
      w.query("INSERT INTO hint_reveals (player_id, puzzle_id, idx, at, via_powerup) VALUES (?, ?, ?, ?, ?)").run(playerId, puzzleId, idx, now, viaPowerup ? 1 : 0),
    insertAttempt: (_tx: Drizzle, a: AttemptInput) =>
      w
        .query("INSERT INTO attempts (event_id, puzzle_id, player_id, raw, normalized, outcome, ip, user_agent, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .run(a.eventId, a.puzzleId, a.playerId, a.raw, a.normalized, a.outcome, a.ip, a.userAgent, a.at),
    logAction: (_tx: Drizzle, a: { eventId: number | null; playerId: number; kind: string; puzzleId?: number | null; detail?: string | null; ip?: string | null; userAgent?: string | null; at: number }) =>
      w
        .query("INSERT INTO action_log (event_id, player_id, kind, puzzle_id, detail, ip, user_agent, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(a.eventId, a.playerId, a.kind, a.puzzleId ?? null, a.detail ?? null, a.ip ?? null, a.userAgent ?? null, a.at),

    attemptsOf: (eventId: number, playerId: number, limit: number) =>
      r
        .query("SELECT id, puzzle_id AS puzzleId, raw, outcome, at FROM attempts WHERE player_id = ? AND event_id = ? ORDER BY at DESC, id DESC LIMIT ?")
        .all(playerId, eventId, limit) as Array<{ id: number; puzzleId: number; raw: string; outcome: string; at: number }>,

    /** Players whose XP ticks lag the formula (the ticker's work list). */
    lagging: (eventId: number, tickMs: number, until: number, limit: number) =>
      r
        .query(
          `SELECT player_id AS playerId FROM hunt_players
           WHERE event_id = ? AND first_attempt_at IS NOT NULL AND xp_ticks < (? - first_attempt_at) / ? LIMIT ?`,
        )
        .all(eventId, until, tickMs, limit) as Array<{ playerId: number }>,
  };
}

export type HuntStore = ReturnType<typeof huntStore>;
