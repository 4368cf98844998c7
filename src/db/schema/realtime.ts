/**
 * Realtime: the per-topic sequence counter, the retained message window and
 * organiser announcements. The counter lives in its own table so pruning old
 * messages can never make a topic's sequence go backwards.
 */
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { users } from "./auth.ts";
import { events } from "./hunt.ts";

export const realtimeTopics = sqliteTable(
  "realtime_topics",
  {
    topic: text("topic").primaryKey(),
    /** Last sequence number assigned on this topic. */
    seq: integer("seq").notNull(),
  },
  (t) => [check("realtime_topics_seq_check", sql`${t.seq} >= 1`)],
);

export const realtimeMessages = sqliteTable(
  "realtime_messages",
  {
    topic: text("topic").notNull(),
    seq: integer("seq").notNull(),
    /** The message payload as JSON text, sent to clients verbatim. */
    data: text("data").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.topic, t.seq] }), index("realtime_messages_created_idx").on(t.createdAt)],
);

export const announcements = sqliteTable(
  "announcements",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventId: integer("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    title: text("title"),
    body: text("body").notNull(),
    authorId: integer("author_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("announcements_event_idx").on(t.eventId, t.createdAt)],
);
