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
  return {
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
      w.query("INSERT OR IGNORE INTO hunt_players (event_id, player_id, joined_at) VALUES (?, ?, ?)").run(e.eventId, e.playerId, e.at);
      if (e.currency === "points") {
        if (e.amount !== 0)
          w.query("UPDATE hunt_players SET points = points + ?, points_at = ? WHERE event_id = ? AND player_id = ?").run(e.amount, e.at, e.eventId, e.playerId);
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

    counts: () => db.reader.query("SELECT (SELECT count(*) FROM ledger) AS entries, (SELECT count(*) FROM hunt_players) AS players").get() as { entries: number; players: number },
  };
}

export type LedgerStore = ReturnType<typeof ledgerStore>;
