/** Points entries of a few players, in order: the raw material of the score-over-time chart. */
import type { Db } from "../db/db.ts";

export interface PointsStep {
  playerId: number;
  at: number;
  amount: number;
}

export function leaderboardHistoryStore(db: Db) {
  return {
    /** Non-zero points entries of these players up to `until` (inclusive), oldest first. */
    steps(eventId: number, playerIds: number[], until: number): PointsStep[] {
      if (!playerIds.length) return [];
      const marks = playerIds.map(() => "?").join(",");
      return db.reader
        .query(
          `SELECT player_id AS playerId, at, amount FROM ledger
           WHERE event_id = ? AND currency = 'points' AND amount <> 0 AND at <= ? AND player_id IN (${marks})
           ORDER BY at, id`,
        )
        .all(eventId, until, ...playerIds) as PointsStep[];
    },
  };
}
