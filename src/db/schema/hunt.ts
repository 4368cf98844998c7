/**
 * The hunt: events, puzzles, per-player progress, attempts, the ledger and the
 * per-(event, player) totals the leaderboard reads. Invariants are
 * constraints: one solve entry per (player, puzzle) via the ledger's unique
 * idempotency key, one reveal per hint index, one default event.
 */
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { users } from "./auth.ts";

export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    slug: text("slug").notNull().unique(),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    startsAt: integer("starts_at").notNull(),
    endsAt: integer("ends_at").notNull(),
    freezeAt: integer("freeze_at"),
    preset: text("preset", { enum: ["default", "enigma7"] }).notNull().default("default"),
    /** JSON: only the settings the organiser set; the rest come from the preset. */
    settings: text("settings").notNull().default("{}"),
    registration: text("registration", { enum: ["open", "closed", "invite"] }).notNull().default("open"),
    registrationCode: text("registration_code"),
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    check("events_preset_check", sql`${t.preset} IN ('default', 'enigma7')`),
    check("events_registration_check", sql`${t.registration} IN ('open', 'closed', 'invite')`),
    check("events_window_check", sql`${t.endsAt} > ${t.startsAt}`),
    // At most one default event: a partial unique index on the true value.
    uniqueIndex("events_one_default").on(t.isDefault).where(sql`${t.isDefault} = 1`),
  ],
);

export const puzzles = sqliteTable(
  "puzzles",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventId: integer("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull().default(""),
    story: text("story"),
    /** JSON string[] */
    answers: text("answers").notNull(),
    /** JSON string[] */
    closeAnswers: text("close_answers").notNull().default("[]"),
    /** JSON {text, costPoints}[] */
    hints: text("hints").notNull().default("[]"),
    /** JSON: per-puzzle scoring overrides (basePoints, minPoints, decayPerMinute, …). */
    scoring: text("scoring").notNull().default("{}"),
    normalize: text("normalize", { enum: ["full", "lower", "exact"] }),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("puzzles_event_position").on(t.eventId, t.position)],
);

export const attachments = sqliteTable(
  "attachments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    puzzleId: integer("puzzle_id")
      .notNull()
      .references(() => puzzles.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    contentType: text("content_type").notNull(),
    /** sha256 hex of the content: the file is <dataDir>/blobs/<sha[0:2]>/<sha>. */
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("attachments_puzzle_name").on(t.puzzleId, t.name)],
);

/** One row per (event, player) who joined: progress summary and the totals the ledger maintains. */
export const huntPlayers = sqliteTable(
  "hunt_players",
  {
    eventId: integer("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    playerId: integer("player_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    joinedAt: integer("joined_at").notNull(),
    firstAttemptAt: integer("first_attempt_at"),
    finishedAt: integer("finished_at"),
    /** Totals below change only in the transaction that writes their ledger entry. */
    points: integer("points").notNull().default(0),
    /** Time of the last points-changing ledger entry (tie-break: earlier ranks higher). */
    pointsAt: integer("points_at").notNull().default(0),
    xpEarned: integer("xp_earned").notNull().default(0),
    xpSpent: integer("xp_spent").notNull().default(0),
    /** How many XP ticks the ticker has accounted for (entries stop at the cap). */
    xpTicks: integer("xp_ticks").notNull().default(0),
    solves: integer("solves").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.playerId] }),
    index("hunt_players_rank").on(t.eventId, sql`${t.points} DESC`, t.pointsAt, t.playerId, t.firstAttemptAt),
    index("hunt_players_player").on(t.playerId),
    check("hunt_players_xp_spent_check", sql`${t.xpSpent} >= 0`),
  ],
);

export const progress = sqliteTable(
  "progress",
  {
    playerId: integer("player_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    puzzleId: integer("puzzle_id")
      .notNull()
      .references(() => puzzles.id, { onDelete: "cascade" }),
    eventId: integer("event_id").notNull(),
    unlockedAt: integer("unlocked_at").notNull(),
    solvedAt: integer("solved_at"),
    skippedAt: integer("skipped_at"),
    closeEnoughActive: integer("close_enough_active", { mode: "boolean" }).notNull().default(false),
    awarded: integer("awarded"),
    /** Order scoring: earlier solves of this puzzle when this one was decided. */
    place: integer("place"),
  },
  (t) => [
    primaryKey({ columns: [t.playerId, t.puzzleId] }),
    index("progress_player_event").on(t.playerId, t.eventId),
    index("progress_puzzle_solved").on(t.puzzleId, t.solvedAt),
    check("progress_done_once", sql`${t.solvedAt} IS NULL OR ${t.skippedAt} IS NULL`),
  ],
);

export const hintReveals = sqliteTable(
  "hint_reveals",
  {
    playerId: integer("player_id").notNull(),
    puzzleId: integer("puzzle_id")
      .notNull()
      .references(() => puzzles.id, { onDelete: "cascade" }),
    idx: integer("idx").notNull(),
    at: integer("at").notNull(),
    /** Revealed by the hint powerup (paid in XP): costs no points. */
    viaPowerup: integer("via_powerup", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.playerId, t.puzzleId, t.idx] })],
);

/** Every counted submission; gameplay never deletes one. */
export const attempts = sqliteTable(
  "attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventId: integer("event_id").notNull(),
    puzzleId: integer("puzzle_id").notNull(),
    playerId: integer("player_id").notNull(),
    raw: text("raw").notNull(),
    normalized: text("normalized").notNull(),
    outcome: text("outcome", { enum: ["correct", "close", "wrong"] }).notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    at: integer("at").notNull(),
  },
  (t) => [index("attempts_player_event").on(t.playerId, t.eventId, t.at), index("attempts_puzzle").on(t.puzzleId, t.at)],
);

export const ledger = sqliteTable(
  "ledger",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventId: integer("event_id").notNull(),
    playerId: integer("player_id").notNull(),
    kind: text("kind", { enum: ["solve", "xp_tick", "xp_solve", "powerup", "adjust"] }).notNull(),
    amount: integer("amount").notNull(),
    currency: text("currency", { enum: ["points", "xp"] }).notNull(),
    puzzleId: integer("puzzle_id"),
    at: integer("at").notNull(),
    reason: text("reason"),
    /** Set where a retry could double the entry; the UNIQUE constraint makes it once-only. */
    idempotencyKey: text("idempotency_key").unique(),
    createdBy: integer("created_by"),
  },
  (t) => [
    index("ledger_event_player").on(t.eventId, t.playerId, t.at),
    check("ledger_kind_check", sql`${t.kind} IN ('solve', 'xp_tick', 'xp_solve', 'powerup', 'adjust')`),
    check("ledger_currency_check", sql`${t.currency} IN ('points', 'xp')`),
  ],
);

/** Anti-cheat trail: hints, powerups, skips, logins. */
export const actionLog = sqliteTable(
  "action_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventId: integer("event_id"),
    playerId: integer("player_id").notNull(),
    kind: text("kind").notNull(),
    puzzleId: integer("puzzle_id"),
    detail: text("detail"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    at: integer("at").notNull(),
  },
  (t) => [index("action_log_event_player").on(t.eventId, t.playerId, t.at)],
);

/**
 * How many players of an event hold each points total (all, and listed: with
 * a first attempt). Maintained by the ledger store in the same transaction
 * as hunt_players, so an own rank is a short sum over distinct totals
 * instead of a count over every player.
 */
export const huntScoreBuckets = sqliteTable(
  "hunt_score_buckets",
  {
    eventId: integer("event_id").notNull(),
    points: integer("points").notNull(),
    players: integer("players").notNull().default(0),
    listed: integer("listed").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.points] }), check("hunt_score_buckets_nonneg", sql`${t.players} >= 0 AND ${t.listed} >= 0`)],
);
