/**
 * The only code that touches the ledger table, and the per-(event, player)
 * totals in hunt_players that move with it: every insert updates the totals
 * in the same transaction, so ranks read from the totals can never drift.
 */
import type { Db, Drizzle } from "../db/db.ts";

export interface LedgerEntry {
  eventId: number;
  playerId: number;
  kind: "solve" | "xp_tick" | "xp_solve" | "powerup" | "adjust";
  amount: number;
  currency: "points" | "xp";
  puzzleId?: number | null;
  at: number;
  reason?: string | null;
  idempotencyKey?: string | null;
  createdBy?: number | null;
}

export interface LedgerRow extends LedgerEntry {
  id: number;
}

export interface Mismatch {
  eventId: number;
  playerId: number;
  field: string;
  shown: number | null;
  ledger: number | null;
}

export function ledgerStore(db: Db) {
  const w = db.writer;
  // A decrement is a plain UPDATE: the row exists, and an upsert's VALUES would
  // meet the CHECK (>= 0) before the conflict turns it into an update.
  const bucket = (eventId: number, points: number, players: number, listed: number) =>
    players <= 0 && listed <= 0
      ? w.query("UPDATE hunt_score_buckets SET players = players + ?3, listed = listed + ?4 WHERE event_id = ?1 AND points = ?2").run(eventId, points, players, listed)
      : w
          .query(
            `INSERT INTO hunt_score_buckets (event_id, points, players, listed) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(event_id, points) DO UPDATE SET players = hunt_score_buckets.players + ?3, listed = hunt_score_buckets.listed + ?4`,
          )
          .run(eventId, points, players, listed);
  /** The totals row of a player in an event, created with 0 points (counted in the 0 bucket). */
  const join = (eventId: number, playerId: number, at: number) => {
    const r = w.query("INSERT OR IGNORE INTO hunt_players (event_id, player_id, joined_at) VALUES (?, ?, ?)").run(eventId, playerId, at);
    if (r.changes) bucket(eventId, 0, 1, 0);
    return r.changes === 1;
  };
  return {
    join: (_tx: Drizzle, eventId: number, playerId: number, at: number) => join(eventId, playerId, at),
    /** Records the first counted attempt (once): from then on the player is listed. */
    markListed(_tx: Drizzle, eventId: number, playerId: number, at: number) {
      const row = w
        .query("UPDATE hunt_players SET first_attempt_at = ? WHERE event_id = ? AND player_id = ? AND first_attempt_at IS NULL RETURNING points")
        .get(at, eventId, playerId) as { points: number } | null;
      if (row) bucket(eventId, row.points, 0, 1);
    },

    /**
     * Inserts the entry unless its idempotency key exists; returns the new row
     * or null. `tx` proves the caller is inside a write body.
     */
    insert(_tx: Drizzle, e: LedgerEntry): LedgerRow | null {
      const row = w
        .query(
          `INSERT INTO ledger (event_id, player_id, kind, amount, currency, puzzle_id, at, reason, idempotency_key, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(idempotency_key) DO NOTHING RETURNING id`,
        )
        .get(e.eventId, e.playerId, e.kind, e.amount, e.currency, e.puzzleId ?? null, e.at, e.reason ?? null, e.idempotencyKey ?? null, e.createdBy ?? null) as { id: number } | null;
      if (!row) return null;
      join(e.eventId, e.playerId, e.at);
      if (e.currency === "points") {
        if (e.amount !== 0) {
          const h = w
            .query("UPDATE hunt_players SET points = points + ?, points_at = ? WHERE event_id = ? AND player_id = ? RETURNING points, first_attempt_at AS f")
            .get(e.amount, e.at, e.eventId, e.playerId) as { points: number; f: number | null };
          const listed = h.f === null ? 0 : 1;
          bucket(e.eventId, h.points - e.amount, -1, -listed);
          bucket(e.eventId, h.points, 1, listed);
        }
      } else if (e.kind === "powerup") {
        w.query("UPDATE hunt_players SET xp_spent = xp_spent - ? WHERE event_id = ? AND player_id = ?").run(e.amount, e.eventId, e.playerId);
      } else {
        w.query("UPDATE hunt_players SET xp_earned = xp_earned + ? WHERE event_id = ? AND player_id = ?").run(e.amount, e.eventId, e.playerId);
      }
      return { ...e, id: row.id };
    },

    entriesOf: (eventId: number, playerId: number, limit = 500): LedgerRow[] =>
      db.reader
        .query(
          `SELECT id, event_id AS eventId, player_id AS playerId, kind, amount, currency, puzzle_id AS puzzleId, at, reason, idempotency_key AS idempotencyKey, created_by AS createdBy
           FROM ledger WHERE event_id = ? AND player_id = ? ORDER BY id DESC LIMIT ?`,
        )
        .all(eventId, playerId, limit) as LedgerRow[],

    /** Every (event, player) whose totals differ from the sums of their ledger entries. */
    mismatches(): Mismatch[] {
      const rows = db.reader
        .query(
          `WITH sums AS (
             SELECT event_id, player_id,
               coalesce(sum(CASE WHEN currency = 'points' THEN amount END), 0) AS points,
               coalesce(max(CASE WHEN currency = 'points' AND amount <> 0 THEN at END), 0) AS points_at,
               coalesce(sum(CASE WHEN currency = 'xp' AND kind <> 'powerup' THEN amount END), 0) AS xp_earned,
               coalesce(-sum(CASE WHEN currency = 'xp' AND kind = 'powerup' THEN amount END), 0) AS xp_spent
             FROM ledger GROUP BY event_id, player_id)
           SELECT h.event_id AS eventId, h.player_id AS playerId,
             h.points AS p, coalesce(s.points, 0) AS lp,
             h.points_at AS pa, coalesce(s.points_at, 0) AS lpa,
             h.xp_earned AS xe, coalesce(s.xp_earned, 0) AS lxe,
             h.xp_spent AS xs, coalesce(s.xp_spent, 0) AS lxs
           FROM hunt_players h LEFT JOIN sums s ON s.event_id = h.event_id AND s.player_id = h.player_id
           WHERE h.points <> coalesce(s.points, 0) OR h.xp_earned <> coalesce(s.xp_earned, 0) OR h.xp_spent <> coalesce(s.xp_spent, 0)
              OR (h.points_at <> coalesce(s.points_at, 0) AND coalesce(s.points_at, 0) <> 0)
           UNION ALL
           SELECT s.event_id, s.player_id, NULL, s.points, NULL, NULL, NULL, s.xp_earned, NULL, s.xp_spent
           FROM sums s LEFT JOIN hunt_players h ON s.event_id = h.event_id AND s.player_id = h.player_id WHERE h.player_id IS NULL`,
        )
        .all() as Array<{ eventId: number; playerId: number; p: number | null; lp: number; pa: number | null; lpa: number | null; xe: number | null; lxe: number; xs: number | null; lxs: number }>;
      const out: Mismatch[] = [];
      for (const r of rows) {
        if (r.p === null) {
          out.push({ eventId: r.eventId, playerId: r.playerId, field: "totals row missing", shown: null, ledger: r.lp });
          continue;
        }
        if (r.p !== r.lp) out.push({ eventId: r.eventId, playerId: r.playerId, field: "points", shown: r.p, ledger: r.lp });
        if (r.lpa && r.pa !== r.lpa) out.push({ eventId: r.eventId, playerId: r.playerId, field: "points_at", shown: r.pa, ledger: r.lpa });
        if (r.xe !== r.lxe) out.push({ eventId: r.eventId, playerId: r.playerId, field: "xp_earned", shown: r.xe, ledger: r.lxe });
        if (r.xs !== r.lxs) out.push({ eventId: r.eventId, playerId: r.playerId, field: "xp_spent", shown: r.xs, ledger: r.lxs });
      }
      return out;
    },

    /** Score buckets that differ from a recount of hunt_players. */
    bucketMismatches: () =>
      db.reader
        .query(
          `WITH real AS (SELECT event_id, points, count(*) AS players, count(first_attempt_at) AS listed FROM hunt_players GROUP BY event_id, points)
           SELECT coalesce(b.event_id, r.event_id) AS eventId, coalesce(b.points, r.points) AS points, b.players AS bp, r.players AS rp, b.listed AS bl, r.listed AS rl
           FROM hunt_score_buckets b FULL OUTER JOIN real r ON r.event_id = b.event_id AND r.points = b.points
           WHERE coalesce(b.players, 0) <> coalesce(r.players, 0) OR coalesce(b.listed, 0) <> coalesce(r.listed, 0)`,
        )
        .all() as Array<{ eventId: number; points: number; bp: number | null; rp: number | null; bl: number | null; rl: number | null }>,

    counts: () => db.reader.query("SELECT (SELECT count(*) FROM ledger) AS entries, (SELECT count(*) FROM hunt_players) AS players").get() as { entries: number; players: number },
  };
}

export type LedgerStore = ReturnType<typeof ledgerStore>;
