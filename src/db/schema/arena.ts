/**
 * The arena's tables: problems and their test data (bodies in content-addressed
 * blobs), submissions with per-test verdicts, matches, their players, the
 * public matchmaking queue and Elo ratings. Invariants are constraints: one
 * slug per problem, one test name per problem and kind, one seat per user per
 * match, one queue entry per user, one invite code per open room.
 */
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { users } from "./auth.ts";

export const problems = sqliteTable(
  "problems",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    slug: text("slug").notNull().unique(),
    title: text("title").notNull(),
    /** Markdown, or LaTeX kept as text when imported from a .tex statement. */
    statement: text("statement").notNull().default(""),
    statementFormat: text("statement_format", { enum: ["md", "tex"] }).notNull().default("md"),
    difficulty: text("difficulty", { enum: ["easy", "medium", "hard"] }).notNull(),
    /** JSON array of strings. */
    tags: text("tags").notNull().default("[]"),
    timeLimitMs: integer("time_limit_ms").notNull().default(2000),
    memoryLimitMb: integer("memory_limit_mb").notNull().default(256),
    /** exact | tokens | float:EPS | custom */
    checker: text("checker").notNull().default("exact"),
    /** For checker=custom: JSON {language, sourceBlob}. */
    checkerProgram: text("checker_program"),
    /** Kattis problem.yaml fields we keep for export (JSON). */
    meta: text("meta").notNull().default("{}"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    check("problems_difficulty_check", sql`${t.difficulty} IN ('easy', 'medium', 'hard')`),
    check("problems_limits_check", sql`${t.timeLimitMs} > 0 AND ${t.memoryLimitMb} > 0`),
  ],
);

export const problemTests = sqliteTable(
  "problem_tests",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    problemId: integer("problem_id")
      .notNull()
      .references(() => problems.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["sample", "secret"] }).notNull(),
    name: text("name").notNull(),
    ord: integer("ord").notNull(),
    /** sha256 hex of the blob holding the input / the expected answer. */
    inputBlob: text("input_blob").notNull(),
    answerBlob: text("answer_blob").notNull(),
    inputBytes: integer("input_bytes").notNull(),
    answerBytes: integer("answer_bytes").notNull(),
  },
  (t) => [
    uniqueIndex("problem_tests_name_uq").on(t.problemId, t.kind, t.name),
    check("problem_tests_kind_check", sql`${t.kind} IN ('sample', 'secret')`),
  ],
);

/** Other files of a package kept for export (submissions/accepted/*, attribution). */
export const problemFiles = sqliteTable(
  "problem_files",
  {
    problemId: integer("problem_id")
      .notNull()
      .references(() => problems.id, { onDelete: "cascade" }),
    path: text("path").notNull(),
    blob: text("blob").notNull(),
    bytes: integer("bytes").notNull(),
  },
  (t) => [primaryKey({ columns: [t.problemId, t.path] })],
);

export const matches = sqliteTable(
  "matches",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    format: text("format", { enum: ["duel", "pairs"] }).notNull(),
    difficulty: text("difficulty", { enum: ["easy", "medium", "hard"] }).notNull(),
    problemId: integer("problem_id").references(() => problems.id),
    status: text("status", { enum: ["waiting", "countdown", "running", "finished", "cancelled"] }).notNull(),
    /** Private rooms only; cleared when the room closes so codes can be reused. */
    inviteCode: text("invite_code").unique(),
    isPublic: integer("is_public", { mode: "boolean" }).notNull().default(false),
    rated: integer("rated", { mode: "boolean" }).notNull().default(true),
    durationSec: integer("duration_sec").notNull(),
    countdownSec: integer("countdown_sec").notNull(),
    createdBy: integer("created_by").references(() => users.id),
    createdAt: integer("created_at").notNull(),
    startsAt: integer("starts_at"),
    endsAt: integer("ends_at"),
    /** Absolute instant of the pairs role swap; never sent before it happens. */
    swapAt: integer("swap_at"),
    swapped: integer("swapped", { mode: "boolean" }).notNull().default(false),
    finishedAt: integer("finished_at"),
    /** 0 | 1, null for a draw. */
    winnerSide: integer("winner_side"),
    reason: text("reason"),
    /** JSON [scoreSide0, scoreSide1]. */
    scores: text("scores"),
  },
  (t) => [
    check("matches_format_check", sql`${t.format} IN ('duel', 'pairs')`),
    check("matches_status_check", sql`${t.status} IN ('waiting', 'countdown', 'running', 'finished', 'cancelled')`),
    check("matches_winner_check", sql`${t.winnerSide} IS NULL OR ${t.winnerSide} IN (0, 1)`),
    index("matches_status_idx").on(t.status),
  ],
);

export const matchPlayers = sqliteTable(
  "match_players",
  {
    matchId: integer("match_id")
      .notNull()
      .references(() => matches.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id),
    side: integer("side").notNull(),
    /** The role at the start (pairs: coder | tester; duel: solo). The current role flips once the match has swapped. */
    startRole: text("start_role", { enum: ["solo", "coder", "tester"] }).notNull(),
    joinedAt: integer("joined_at").notNull(),
    /** Set while the player has no live connection; forfeit after the grace. */
    disconnectedAt: integer("disconnected_at"),
    ratingBefore: integer("rating_before"),
    ratingDelta: integer("rating_delta"),
  },
  (t) => [
    primaryKey({ columns: [t.matchId, t.userId] }),
    uniqueIndex("match_players_seat_uq").on(t.matchId, t.side, t.startRole),
    check("match_players_side_check", sql`${t.side} IN (0, 1)`),
    index("match_players_user_idx").on(t.userId),
  ],
);

/** The team's working code (the Coder's editor), the thing Tester runs use. */
export const matchCode = sqliteTable(
  "match_code",
  {
    matchId: integer("match_id")
      .notNull()
      .references(() => matches.id, { onDelete: "cascade" }),
    side: integer("side").notNull(),
    language: text("language").notNull(),
    source: text("source").notNull(),
    updatedAt: integer("updated_at").notNull(),
    updatedBy: integer("updated_by").notNull(),
  },
  (t) => [primaryKey({ columns: [t.matchId, t.side] })],
);

export const submissions = sqliteTable(
  "submissions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id),
    problemId: integer("problem_id")
      .notNull()
      .references(() => problems.id),
    matchId: integer("match_id").references(() => matches.id),
    side: integer("side"),
    /** submit: judged on the problem's tests; tester: the Tester's own cases. */
    kind: text("kind", { enum: ["submit", "tester"] }).notNull().default("submit"),
    language: text("language").notNull(),
    source: text("source").notNull(),
    /** tester runs: JSON [{input, expected}] written by the Tester. */
    customTests: text("custom_tests"),
    status: text("status", { enum: ["queued", "running", "done"] }).notNull().default("queued"),
    verdict: text("verdict"),
    testsPassed: integer("tests_passed").notNull().default(0),
    /** Hidden (secret) tests passed and their total: the match score counts these. */
    secretPassed: integer("secret_passed").notNull().default(0),
    secretTotal: integer("secret_total").notNull().default(0),
    testsTotal: integer("tests_total").notNull().default(0),
    runtimeMsPassed: integer("runtime_ms_passed").notNull().default(0),
    /** JSON [{i, kind, verdict, timeMs, memoryKb}]: never inputs or outputs. */
    results: text("results").notNull().default("[]"),
    /** Internal errors seen (retried, never scored). */
    internalErrors: integer("internal_errors").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    judgedAt: integer("judged_at"),
  },
  (t) => [
    index("submissions_user_idx").on(t.userId, t.createdAt),
    index("submissions_match_idx").on(t.matchId, t.side, t.createdAt),
    index("submissions_status_idx").on(t.status),
    check("submissions_kind_check", sql`${t.kind} IN ('submit', 'tester')`),
  ],
);

export const arenaQueue = sqliteTable(
  "arena_queue",
  {
    userId: integer("user_id")
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    format: text("format", { enum: ["duel", "pairs"] }).notNull(),
    difficulty: text("difficulty", { enum: ["easy", "medium", "hard"] }).notNull(),
    rating: integer("rating").notNull(),
    since: integer("since").notNull(),
  },
  (t) => [index("arena_queue_bucket_idx").on(t.format, t.difficulty, t.since)],
);

export const ratings = sqliteTable("ratings", {
  userId: integer("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  rating: integer("rating").notNull().default(1200),
  matches: integer("matches").notNull().default(0),
  wins: integer("wins").notNull().default(0),
  losses: integer("losses").notNull().default(0),
  draws: integer("draws").notNull().default(0),
  updatedAt: integer("updated_at").notNull(),
});
