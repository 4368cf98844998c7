/**
 * The only SQL of the realtime domain: sequence numbers assigned in the write
 * transaction (so every instance sharing the database gets a gapless,
 * monotonic sequence per topic), the retained window, and announcements.
 */
import { and, desc, eq, lt, lte, sql } from "drizzle-orm";
import type { Db, Drizzle } from "../db/db.ts";
import { announcements, events, realtimeMessages, realtimeTopics } from "../db/schema/index.ts";

export interface StoredMessage {
  seq: number;
  data: string;
}

export type AnnouncementRow = typeof announcements.$inferSelect;

export function realtimeStore(db: Db) {
  const headQ = db.reader.query<{ seq: number }, [string]>("SELECT seq FROM realtime_topics WHERE topic = ?");
  const oldestQ = db.reader.query<{ seq: number }, [string]>("SELECT MIN(seq) AS seq FROM realtime_messages WHERE topic = ?");
  const rangeQ = db.reader.query<StoredMessage, [string, number, number]>(
    "SELECT seq, data FROM realtime_messages WHERE topic = ? AND seq > ? AND seq <= ? ORDER BY seq",
  );
  const oneQ = db.reader.query<{ data: string }, [string, number]>("SELECT data FROM realtime_messages WHERE topic = ? AND seq = ?");

  return {
    /** Inside a write body: next sequence number for the topic, and the message stored under it. */
    append(tx: Drizzle, topic: string, data: string, now: number, retainCount: number): number {
      const row = tx
        .insert(realtimeTopics)
        .values({ topic, seq: 1 })
        .onConflictDoUpdate({ target: realtimeTopics.topic, set: { seq: sql`${realtimeTopics.seq} + 1` } })
        .returning({ seq: realtimeTopics.seq })
        .get();
      tx.insert(realtimeMessages).values({ topic, seq: row.seq, data, createdAt: now }).run();
      // Count window, trimmed as we go: one indexed range delete on the primary key.
      if (row.seq > retainCount) {
        tx.delete(realtimeMessages).where(and(eq(realtimeMessages.topic, topic), lte(realtimeMessages.seq, row.seq - retainCount))).run();
      }
      return row.seq;
    },

    /** Last sequence number assigned on the topic (0 when none yet). Committed data only. */
    head(topic: string): number {
      return headQ.get(topic)?.seq ?? 0;
    },

    /** Oldest retained sequence number, or null when the window is empty. */
    oldest(topic: string): number | null {
      return oldestQ.get(topic)?.seq ?? null;
    },

    /** Messages with after < seq <= upTo, in order. */
    range(topic: string, after: number, upTo: number): StoredMessage[] {
      return rangeQ.all(topic, after, upTo);
    },

    /** The committed payload at (topic, seq), or null (rolled back, or pruned). */
    committed(topic: string, seq: number): string | null {
      return oneQ.get(topic, seq)?.data ?? null;
    },

    /** Age window: drops messages older than `before` (epoch ms). */
    pruneOlderThan(tx: Drizzle, before: number): number {
      return (tx.delete(realtimeMessages).where(lt(realtimeMessages.createdAt, before)).run() as unknown as { changes: number }).changes;
    },

    /** An event by numeric id or slug (the hunt engine owns the table; read only here). */
    findEvent(ref: string): { id: number; slug: string } | null {
      const byId = /^\d{1,15}$/.test(ref);
      return (
        db.r
          .select({ id: events.id, slug: events.slug })
          .from(events)
          .where(byId ? eq(events.id, Number(ref)) : eq(events.slug, ref))
          .get() ?? null
      );
    },

    insertAnnouncement(tx: Drizzle, a: { eventId: number; title: string | null; body: string; authorId: number | null; createdAt: number }): AnnouncementRow {
      return tx.insert(announcements).values(a).returning().get();
    },

    listAnnouncements(eventId: number, limit: number, beforeId?: number): AnnouncementRow[] {
      return db.r
        .select()
        .from(announcements)
        .where(beforeId ? and(eq(announcements.eventId, eventId), lt(announcements.id, beforeId)) : eq(announcements.eventId, eventId))
        .orderBy(desc(announcements.id))
        .limit(limit)
        .all();
    },
  };
}

export type RealtimeStore = ReturnType<typeof realtimeStore>;
