/**
 * Rank queries. Live ranks read hunt_players' totals and the per-total
 * buckets, which only the ledger store changes, in the same transaction as
 * each entry (index hunt_players_rank serves the page and the tie count). Frozen
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
     * How many listed players (ranked or not) are ahead of (points, pointsAt,
     * playerId): those with more points, summed over the per-total buckets,
     * plus those with the same total who reached it first (a short index range).
     */
    ahead(eventId: number, includeIdle: boolean, s: { points: number; pointsAt: number; playerId: number }): number {
      const more = r
        .query("SELECT coalesce(sum(CASE WHEN ?2 THEN players ELSE listed END), 0) AS n FROM hunt_score_buckets WHERE event_id = ?1 AND points > ?3")
        .get(eventId, includeIdle ? 1 : 0, s.points) as { n: number };
      const tied = r
        .query(
          `SELECT count(*) AS n FROM hunt_players WHERE event_id = ?1 AND points = ?3 AND (?2 OR first_attempt_at IS NOT NULL)
           AND (points_at < ?4 OR (points_at = ?4 AND player_id < ?5))`,
        )
        .get(eventId, includeIdle ? 1 : 0, s.points, s.pointsAt, s.playerId) as { n: number };
      return more.n + tied.n;
    },

    /**
     * The id of the newest ledger entry, of any event: one index lookup. Every
     * change of points writes one, and one writer connection appends them, so
     * ids grow in commit order; a page read after this value reflects every
     * points change up to it (the shared leaderboard cache keys pages by it).
     */
    ledgerHead: (): number => (r.query("SELECT coalesce(max(id), 0) AS n FROM ledger").get() as { n: number }).n,

    /** Listed players of the event, ranked or not. */
    listed(eventId: number, includeIdle: boolean): number {
      return (r.query("SELECT coalesce(sum(CASE WHEN ?2 THEN players ELSE listed END), 0) AS n FROM hunt_score_buckets WHERE event_id = ?1").get(eventId, includeIdle ? 1 : 0) as { n: number }).n;
    },

    /** Accounts that are never ranked: organisers and banned players (few). */
    unrankedIds: (): number[] => (r.query("SELECT id FROM users WHERE role <> 'player' OR banned_at IS NOT NULL").all() as { id: number }[]).map((x) => x.id),

    /** Standings of the given players in an event (those listed). */
    standingsOf(eventId: number, includeIdle: boolean, ids: number[]): Array<{ playerId: number; points: number; pointsAt: number }> {
      if (!ids.length) return [];
      return r
        .query(
          `SELECT player_id AS playerId, points, points_at AS pointsAt FROM hunt_players
           WHERE event_id = ?1 AND (?2 = 1 OR first_attempt_at IS NOT NULL) AND player_id IN (SELECT value FROM json_each(?3))`,
        )
        .all(eventId, includeIdle ? 1 : 0, JSON.stringify(ids)) as Array<{ playerId: number; points: number; pointsAt: number }>;
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
