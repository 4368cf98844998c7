/** The only code that touches the events, puzzles and attachments tables. */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db, Drizzle } from "../db/db.ts";
import { attachments, events, progress, puzzles } from "../db/schema/index.ts";

export type EventRow = typeof events.$inferSelect;
export type PuzzleRow = typeof puzzles.$inferSelect;
export type AttachmentRow = typeof attachments.$inferSelect;

export function eventsStore(db: Db) {
  return {
    listEvents: (): EventRow[] => db.r.select().from(events).orderBy(asc(events.startsAt), asc(events.id)).all(),
    eventBySlug: (slug: string): EventRow | undefined => db.r.select().from(events).where(eq(events.slug, slug)).get(),
    eventById: (id: number): EventRow | undefined => db.r.select().from(events).where(eq(events.id, id)).get(),
    insertEvent: (tx: Drizzle, v: typeof events.$inferInsert): EventRow | undefined =>
      tx.insert(events).values(v).onConflictDoNothing({ target: events.slug }).returning().get(),
    updateEvent: (tx: Drizzle, id: number, v: Partial<typeof events.$inferInsert>): EventRow | undefined =>
      tx.update(events).set(v).where(eq(events.id, id)).returning().get(),
    clearDefault: (tx: Drizzle) => tx.update(events).set({ isDefault: false }).where(eq(events.isDefault, true)).run(),

    puzzlesOf: (eventId: number): PuzzleRow[] => db.r.select().from(puzzles).where(eq(puzzles.eventId, eventId)).orderBy(asc(puzzles.position)).all(),
    puzzleById: (id: number): PuzzleRow | undefined => db.r.select().from(puzzles).where(eq(puzzles.id, id)).get(),
    maxPosition: (tx: Drizzle, eventId: number): number =>
      tx.select({ m: sql<number>`coalesce(max(${puzzles.position}), 0)` }).from(puzzles).where(eq(puzzles.eventId, eventId)).get()!.m,
    insertPuzzle: (tx: Drizzle, v: typeof puzzles.$inferInsert): PuzzleRow => tx.insert(puzzles).values(v).returning().get(),
    updatePuzzle: (tx: Drizzle, id: number, v: Partial<typeof puzzles.$inferInsert>): PuzzleRow | undefined =>
      tx.update(puzzles).set(v).where(eq(puzzles.id, id)).returning().get(),
    deletePuzzle: (tx: Drizzle, id: number) => tx.delete(puzzles).where(eq(puzzles.id, id)).run(),
    puzzleHasProgress: (tx: Drizzle, id: number): boolean => !!tx.select({ x: sql`1` }).from(progress).where(eq(progress.puzzleId, id)).limit(1).get(),
    /** Two passes so the UNIQUE (event, position) never sees a duplicate midway. */
    reorder(tx: Drizzle, eventId: number, ids: number[]) {
      ids.forEach((id, i) => tx.update(puzzles).set({ position: -(i + 1) }).where(and(eq(puzzles.id, id), eq(puzzles.eventId, eventId))).run());
      ids.forEach((id, i) => tx.update(puzzles).set({ position: i + 1 }).where(and(eq(puzzles.id, id), eq(puzzles.eventId, eventId))).run());
    },

    attachmentsOf: (puzzleId: number): AttachmentRow[] => db.r.select().from(attachments).where(eq(attachments.puzzleId, puzzleId)).orderBy(asc(attachments.id)).all(),
    attachmentById: (id: number): AttachmentRow | undefined => db.r.select().from(attachments).where(eq(attachments.id, id)).get(),
    upsertAttachment: (tx: Drizzle, v: typeof attachments.$inferInsert): AttachmentRow =>
      tx
        .insert(attachments)
        .values(v)
        .onConflictDoUpdate({ target: [attachments.puzzleId, attachments.name], set: { sha256: v.sha256, size: v.size, contentType: v.contentType } })
        .returning()
        .get(),
  };
}

export type EventsStore = ReturnType<typeof eventsStore>;
