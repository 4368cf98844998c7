/**
 * Rank queries. Live ranks read hunt_players' totals, which only the ledger
 * store changes, in the same transaction as each entry (index
 * hunt_players_rank serves both the page and the own-rank count). Frozen
 * ranks are summed from the ledger entries up to freezeAt.
 */
import type { Db } from "../db/db.ts";

export interface RankRow {
  playerId: number;
  username: string;
  points: number;
  pointsAt: number;
}

export interface Standing {
  points: number;
  pointsAt: number;
  listed: boolean;
}

export function leaderboardStore(db: Db) {
  const r = db.reader;
  return {
    /** One page of ranked players: no organisers, no banned, no idle unless listed. */
    page(eventId: number, includeIdle: boolean, limit: number, offset: number): RankRow[] {
      return r
        .query(
          `SELECT h.player_id AS playerId, u.username AS username, h.points AS points, h.points_at AS pointsAt
           FROM hunt_players h JOIN users u ON u.id = h.player_id
           WHERE h.event_id = ?1 AND (?2 OR h.first_attempt_at IS NOT NULL) AND u.role = 'player' AND u.banned_at IS NULL
           ORDER BY h.points DESC, h.points_at ASC, h.player_id ASC LIMIT ?3 OFFSET ?4`,
        )
        .all(eventId, includeIdle ? 1 : 0, limit, offset) as RankRow[];
    },

    standing(eventId: number, playerId: number): Standing | null {
      const row = r.query("SELECT points, points_at AS pointsAt, first_attempt_at AS f FROM hunt_players WHERE event_id = ? AND player_id = ?").get(eventId, playerId) as {
        points: number;
        pointsAt: number;
        f: number | null;
      } | null;
      return row ? { points: row.points, pointsAt: row.pointsAt, listed: row.f !== null } : null;
    },

    /**
     * How many ranked players are ahead of (points, pointsAt, playerId). The
     * covering index answers the first count; the few unranked players
     * (organisers, banned) ahead are subtracted rather than joined row by row.
     */
    ahead(eventId: number, includeIdle: boolean, s: { points: number; pointsAt: number; playerId: number }): number {
      const all = r
        .query(
          `SELECT count(*) AS n FROM hunt_players WHERE event_id = ?1 AND (?2 OR first_attempt_at IS NOT NULL)
           AND (points > ?3 OR (points = ?3 AND (points_at < ?4 OR (points_at = ?4 AND player_id < ?5))))`,
        )
        .get(eventId, includeIdle ? 1 : 0, s.points, s.pointsAt, s.playerId) as { n: number };
      const unranked = r
        .query(
          `SELECT count(*) AS n FROM users u JOIN hunt_players h ON h.player_id = u.id AND h.event_id = ?1
           WHERE (u.role <> 'player' OR u.banned_at IS NOT NULL) AND (?2 OR h.first_attempt_at IS NOT NULL)
           AND (h.points > ?3 OR (h.points = ?3 AND (h.points_at < ?4 OR (h.points_at = ?4 AND h.player_id < ?5))))`,
        )
        .get(eventId, includeIdle ? 1 : 0, s.points, s.pointsAt, s.playerId) as { n: number };
      return all.n - unranked.n;
    },

    total(eventId: number, includeIdle: boolean): number {
      return (
        r
          .query(
            `SELECT count(*) AS n FROM hunt_players h JOIN users u ON u.id = h.player_id
             WHERE h.event_id = ?1 AND (?2 OR h.first_attempt_at IS NOT NULL) AND u.role = 'player' AND u.banned_at IS NULL`,
          )
          .get(eventId, includeIdle ? 1 : 0) as { n: number }
      ).n;
    },

    /** The whole ranking as it stood at `at`, from the ledger (for a frozen board). */
    rankingAt(eventId: number, at: number, includeIdle: boolean): RankRow[] {
      return r
        .query(
          `SELECT h.player_id AS playerId, u.username AS username,
             coalesce((SELECT sum(amount) FROM ledger l WHERE l.event_id = h.event_id AND l.player_id = h.player_id AND l.currency = 'points' AND l.at <= ?2), 0) AS points,
             coalesce((SELECT max(at) FROM ledger l WHERE l.event_id = h.event_id AND l.player_id = h.player_id AND l.currency = 'points' AND l.amount <> 0 AND l.at <= ?2), 0) AS pointsAt
           FROM hunt_players h JOIN users u ON u.id = h.player_id
           WHERE h.event_id = ?1 AND u.role = 'player' AND u.banned_at IS NULL
             AND (?3 OR (h.first_attempt_at IS NOT NULL AND h.first_attempt_at <= ?2))
           ORDER BY points DESC, pointsAt ASC, playerId ASC`,
        )
        .all(eventId, at, includeIdle ? 1 : 0) as RankRow[];
    },
  };
}
