/**
 * Points and XP move only through here. `post(tx, entry)` runs inside the
 * caller's write body, so an entry commits or rolls back with the effect that
 * caused it; listeners (`onLedger`) hear about entries only after the commit,
 * via `published(entries)` which the caller invokes once its write resolved.
 */
import { AppError } from "../lib/errors.ts";
import type { Deps } from "../lib/context.ts";
import type { Drizzle } from "../db/db.ts";
import { ledgerStore, type LedgerEntry, type LedgerRow } from "./ledger.store.ts";

export type LedgerListener = (entries: LedgerRow[]) => void;

export function ledgerService(deps: Deps) {
  const { db, clock, log } = deps;
  const store = ledgerStore(db);
  const listeners = new Set<LedgerListener>();

  const svc = {
    store,
    /** Inside a write body: the entry, or null when its idempotency key was already used. */
    post: (tx: Drizzle, e: LedgerEntry): LedgerRow | null => store.insert(tx, e),

    /** Subscribe to committed entries (e.g. to push balances live). Returns an unsubscribe function. */
    onLedger(fn: LedgerListener): () => void {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },

    /** Call after the write that posted `entries` committed. */
    published(entries: LedgerRow[]) {
      if (!entries.length) return;
      for (const fn of listeners) {
        try {
          fn(entries);
        } catch (err) {
          log.warn("ledger listener failed", { err });
        }
      }
    },

    /** An organiser's correction, with its reason. */
    async adjust(input: { eventId: number; playerId: number; amount: number; currency: "points" | "xp"; reason: string; by: number; idempotencyKey?: string }) {
      if (!input.reason.trim()) throw new AppError("validation_failed", "An adjustment needs a reason.");
      const row = await db.write((tx) =>
        store.insert(tx, {
          eventId: input.eventId,
          playerId: input.playerId,
          kind: "adjust",
          amount: input.amount,
          currency: input.currency,
          at: clock.now(),
          reason: input.reason,
          createdBy: input.by,
          idempotencyKey: input.idempotencyKey ? `adjust:${input.idempotencyKey}` : null,
        }),
      );
      if (!row) throw new AppError("conflict", "That adjustment was already made (same idempotency key).");
      svc.published([row]);
      return row;
    },

    entries: (eventId: number, playerId: number) => store.entriesOf(eventId, playerId),

    /** Inside a write body: a player's totals row in an event (0 points). */
    join: (tx: Drizzle, eventId: number, playerId: number, at: number) => store.join(tx, eventId, playerId, at),
    /** Inside a write body: the player's first counted attempt, from which they are listed and earn XP. */
    markListed: (tx: Drizzle, eventId: number, playerId: number, at: number) => store.markListed(tx, eventId, playerId, at),

    /** Every total that differs from the sum of its entries, and every rank bucket that differs from the totals (empty: consistent). */
    check() {
      const mismatches = store.mismatches();
      for (const b of store.bucketMismatches())
        mismatches.push({ eventId: b.eventId, playerId: 0, field: `rank bucket ${b.points} (players/listed)`, shown: b.bp ?? 0, ledger: b.rp ?? 0 });
      return { ...store.counts(), mismatches };
    },
  };
  return svc;
}

export type LedgerService = ReturnType<typeof ledgerService>;
