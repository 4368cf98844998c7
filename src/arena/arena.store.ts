/** The only code that touches submissions, matches, match_players, match_code, arena_queue and ratings. */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db, Drizzle } from "../db/db.ts";

/** bun:sqlite returns { changes } from run(); drizzle types it as void. */
const changes = (q: { run(): unknown }): number => (q.run() as { changes: number }).changes;
import { arenaQueue, matchCode, matches, matchPlayers, problems, problemTests, ratings, submissions, users } from "../db/schema/index.ts";

export type SubmissionRow = typeof submissions.$inferSelect;
export type MatchRow = typeof matches.$inferSelect;
export type PlayerRow = typeof matchPlayers.$inferSelect;
export type QueueRow = typeof arenaQueue.$inferSelect;
type Status = MatchRow["status"];

export function arenaStore(db: Db) {
  const subById = db.r.select().from(submissions).where(eq(submissions.id, sql.placeholder("id"))).prepare();
  const matchById = db.r.select().from(matches).where(eq(matches.id, sql.placeholder("id"))).prepare();

  return {
    // ---- submissions
    insertSubmission: (tx: Drizzle, s: typeof submissions.$inferInsert): SubmissionRow => tx.insert(submissions).values(s).returning().get(),
    submission: (id: number): SubmissionRow | undefined => subById.get({ id }),
    submissionTx: (tx: Drizzle, id: number): SubmissionRow | undefined => tx.select().from(submissions).where(eq(submissions.id, id)).get(),
    /** Claims a queued submission for judging; undefined when someone else already finished it. */
    markRunning: (tx: Drizzle, id: number) =>
      tx.update(submissions).set({ status: "running" }).where(and(eq(submissions.id, id), inArray(submissions.status, ["queued", "running"]))).returning().get(),
    requeue: (tx: Drizzle, id: number) =>
      tx.update(submissions).set({ status: "queued", internalErrors: sql`${submissions.internalErrors} + 1` }).where(eq(submissions.id, id)).run(),
    finishSubmission: (tx: Drizzle, id: number, set: Partial<typeof submissions.$inferInsert>) =>
      tx.update(submissions).set({ ...set, status: "done" }).where(and(eq(submissions.id, id), inArray(submissions.status, ["queued", "running"]))).returning().get(),
    submissionsOfUser: (userId: number, limit = 50) =>
      db.r.select().from(submissions).where(and(eq(submissions.userId, userId), eq(submissions.kind, "submit"))).orderBy(desc(submissions.id)).limit(limit).all(),
    submissionsOfMatch: (matchId: number): SubmissionRow[] => db.r.select().from(submissions).where(eq(submissions.matchId, matchId)).orderBy(asc(submissions.id)).all(),
    submissionsOfMatchTx: (tx: Drizzle, matchId: number): SubmissionRow[] => tx.select().from(submissions).where(eq(submissions.matchId, matchId)).orderBy(asc(submissions.id)).all(),
    unfinishedSubmissions: (): SubmissionRow[] => db.r.select().from(submissions).where(inArray(submissions.status, ["queued", "running"])).all(),

    // ---- matches
    insertMatch: (tx: Drizzle, m: typeof matches.$inferInsert): MatchRow | undefined =>
      tx.insert(matches).values(m).onConflictDoNothing({ target: matches.inviteCode }).returning().get(),
    match: (id: number): MatchRow | undefined => matchById.get({ id }),
    matchTx: (tx: Drizzle, id: number): MatchRow | undefined => tx.select().from(matches).where(eq(matches.id, id)).get(),
    matchByInvite: (code: string): MatchRow | undefined => db.r.select().from(matches).where(eq(matches.inviteCode, code)).get(),
    /** Moves a match only from the expected status: the UPDATE decides who wins a race. */
    transition: (tx: Drizzle, id: number, from: Status[], set: Partial<typeof matches.$inferInsert>): MatchRow | undefined =>
      tx.update(matches).set(set).where(and(eq(matches.id, id), inArray(matches.status, from))).returning().get(),
    setSwapped: (tx: Drizzle, id: number): MatchRow | undefined =>
      tx.update(matches).set({ swapped: true }).where(and(eq(matches.id, id), eq(matches.status, "running"), eq(matches.swapped, false))).returning().get(),
    openMatches: (): MatchRow[] => db.r.select().from(matches).where(inArray(matches.status, ["countdown", "running"])).all(),
    liveMatches: (limit = 50): MatchRow[] =>
      db.r.select().from(matches).where(and(eq(matches.isPublic, true), inArray(matches.status, ["countdown", "running"]))).orderBy(desc(matches.id)).limit(limit).all(),

    players: (matchId: number) =>
      db.r
        .select({ userId: matchPlayers.userId, username: users.username, side: matchPlayers.side, startRole: matchPlayers.startRole, disconnectedAt: matchPlayers.disconnectedAt, ratingBefore: matchPlayers.ratingBefore, ratingDelta: matchPlayers.ratingDelta })
        .from(matchPlayers)
        .innerJoin(users, eq(users.id, matchPlayers.userId))
        .where(eq(matchPlayers.matchId, matchId))
        .orderBy(asc(matchPlayers.side), asc(matchPlayers.joinedAt))
        .all(),
    playersTx: (tx: Drizzle, matchId: number): PlayerRow[] => tx.select().from(matchPlayers).where(eq(matchPlayers.matchId, matchId)).all(),
    /** Undefined when the seat is taken or the user is already in the room (constraints decide). */
    addPlayer: (tx: Drizzle, p: typeof matchPlayers.$inferInsert): PlayerRow | undefined => tx.insert(matchPlayers).values(p).onConflictDoNothing().returning().get(),
    removePlayer: (tx: Drizzle, matchId: number, userId: number) => changes(tx.delete(matchPlayers).where(and(eq(matchPlayers.matchId, matchId), eq(matchPlayers.userId, userId)))),
    setDisconnected: (tx: Drizzle, matchId: number, userId: number, at: number | null) =>
      changes(tx.update(matchPlayers).set({ disconnectedAt: at }).where(and(eq(matchPlayers.matchId, matchId), eq(matchPlayers.userId, userId)))),
    setRating: (tx: Drizzle, matchId: number, userId: number, before: number, delta: number) =>
      tx.update(matchPlayers).set({ ratingBefore: before, ratingDelta: delta }).where(and(eq(matchPlayers.matchId, matchId), eq(matchPlayers.userId, userId))).run(),
    /** Matches the user sits in that are not over. */
    activeMatchesOf: (userId: number): MatchRow[] =>
      db.r
        .select({ m: matches })
        .from(matchPlayers)
        .innerJoin(matches, eq(matches.id, matchPlayers.matchId))
        .where(and(eq(matchPlayers.userId, userId), inArray(matches.status, ["waiting", "countdown", "running"])))
        .all()
        .map((r) => r.m),
    activeMatchesOfTx: (tx: Drizzle, userId: number): MatchRow[] =>
      tx
        .select({ m: matches })
        .from(matchPlayers)
        .innerJoin(matches, eq(matches.id, matchPlayers.matchId))
        .where(and(eq(matchPlayers.userId, userId), inArray(matches.status, ["waiting", "countdown", "running"])))
        .all()
        .map((r) => r.m),
    historyOf: (userId: number, limit = 50) =>
      db.r
        .select({ match: matches, side: matchPlayers.side, startRole: matchPlayers.startRole, ratingBefore: matchPlayers.ratingBefore, ratingDelta: matchPlayers.ratingDelta })
        .from(matchPlayers)
        .innerJoin(matches, eq(matches.id, matchPlayers.matchId))
        .where(and(eq(matchPlayers.userId, userId), eq(matches.status, "finished")))
        .orderBy(desc(matches.finishedAt))
        .limit(limit)
        .all(),

    // ---- team code
    code: (matchId: number, side: number) => db.r.select().from(matchCode).where(and(eq(matchCode.matchId, matchId), eq(matchCode.side, side))).get(),
    codeTx: (tx: Drizzle, matchId: number, side: number) => tx.select().from(matchCode).where(and(eq(matchCode.matchId, matchId), eq(matchCode.side, side))).get(),
    putCode: (tx: Drizzle, c: typeof matchCode.$inferInsert) =>
      tx
        .insert(matchCode)
        .values(c)
        .onConflictDoUpdate({ target: [matchCode.matchId, matchCode.side], set: { language: c.language, source: c.source, updatedAt: c.updatedAt, updatedBy: c.updatedBy } })
        .run(),

    // ---- problems with tests, for picking one at match start
    problemsWithTests: (tx: Drizzle, difficulty: string): number[] =>
      tx
        .selectDistinct({ id: problems.id })
        .from(problems)
        .innerJoin(problemTests, eq(problemTests.problemId, problems.id))
        .where(eq(problems.difficulty, difficulty as "easy"))
        .orderBy(asc(problems.id))
        .all()
        .map((r) => r.id),

    // ---- matchmaking queue
    enqueue: (tx: Drizzle, q: QueueRow): boolean => changes(tx.insert(arenaQueue).values(q).onConflictDoNothing()) === 1,
    dequeue: (tx: Drizzle, userId: number) => changes(tx.delete(arenaQueue).where(eq(arenaQueue.userId, userId))),
    dequeueMany: (tx: Drizzle, ids: number[]) => changes(tx.delete(arenaQueue).where(inArray(arenaQueue.userId, ids))),
    waiting: (tx: Drizzle, format: string, difficulty: string): QueueRow[] =>
      tx.select().from(arenaQueue).where(and(eq(arenaQueue.format, format as "duel"), eq(arenaQueue.difficulty, difficulty as "easy"))).orderBy(asc(arenaQueue.since)).all(),
    buckets: () => db.r.selectDistinct({ format: arenaQueue.format, difficulty: arenaQueue.difficulty }).from(arenaQueue).all(),
    queueEntry: (userId: number) => db.r.select().from(arenaQueue).where(eq(arenaQueue.userId, userId)).get(),

    // ---- ratings
    rating: (userId: number) => db.r.select().from(ratings).where(eq(ratings.userId, userId)).get(),
    ratingTx: (tx: Drizzle, userId: number) => tx.select().from(ratings).where(eq(ratings.userId, userId)).get(),
    applyRating: (tx: Drizzle, userId: number, rating: number, outcome: "win" | "loss" | "draw", now: number) =>
      tx
        .insert(ratings)
        .values({ userId, rating, matches: 1, wins: outcome === "win" ? 1 : 0, losses: outcome === "loss" ? 1 : 0, draws: outcome === "draw" ? 1 : 0, updatedAt: now })
        .onConflictDoUpdate({
          target: ratings.userId,
          set: {
            rating,
            matches: sql`${ratings.matches} + 1`,
            wins: sql`${ratings.wins} + ${outcome === "win" ? 1 : 0}`,
            losses: sql`${ratings.losses} + ${outcome === "loss" ? 1 : 0}`,
            draws: sql`${ratings.draws} + ${outcome === "draw" ? 1 : 0}`,
            updatedAt: now,
          },
        })
        .run(),
    user: (id: number) => db.r.select({ id: users.id, username: users.username, createdAt: users.createdAt }).from(users).where(eq(users.id, id)).get(),
  };
}

export type ArenaStore = ReturnType<typeof arenaStore>;
