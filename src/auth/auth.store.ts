/** The only code that touches the users and sessions tables. */
import { and, eq, gt, lt, sql } from "drizzle-orm";
import type { Db, Drizzle } from "../db/db.ts";
import { sessions, users } from "../db/schema/index.ts";

export type UserRow = typeof users.$inferSelect;
export type Role = UserRow["role"];

export interface NewUser {
  username: string;
  usernameKey: string;
  email: string | null;
  passwordHash: string;
  role: Role;
  createdAt: number;
}

export function authStore(db: Db) {
  const byKey = db.r.select().from(users).where(eq(users.usernameKey, sql.placeholder("key"))).prepare();
  const byId = db.r.select().from(users).where(eq(users.id, sql.placeholder("id"))).prepare();
  const sessionWithUser = db.r
    .select({
      sessionId: sessions.id,
      secretHash: sessions.secretHash,
      expiresAt: sessions.expiresAt,
      userId: users.id,
      username: users.username,
      role: users.role,
      bannedAt: users.bannedAt,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sql.placeholder("id")))
    .prepare();

  return {
    findByKey: (key: string): UserRow | undefined => byKey.get({ key }),
    findById: (id: number): UserRow | undefined => byId.get({ id }),

    /** Inserts a user; returns undefined when the username key is taken (the UNIQUE constraint decides). */
    insertUser(tx: Drizzle, u: NewUser): UserRow | undefined {
      return tx.insert(users).values(u).onConflictDoNothing({ target: users.usernameKey }).returning().get();
    },

    setRole: (tx: Drizzle, id: number, role: Role) => tx.update(users).set({ role }).where(eq(users.id, id)).returning().get(),
    setPasswordHash: (tx: Drizzle, id: number, passwordHash: string) => tx.update(users).set({ passwordHash }).where(eq(users.id, id)).run(),
    setBanned: (tx: Drizzle, id: number, bannedAt: number | null) => tx.update(users).set({ bannedAt }).where(eq(users.id, id)).returning().get(),
    countUsers: (): number => db.r.select({ n: sql<number>`count(*)` }).from(users).get()!.n,

    insertSession(tx: Drizzle, s: typeof sessions.$inferInsert) {
      tx.insert(sessions).values(s).run();
    },
    getSession: (id: string) => sessionWithUser.get({ id }),
    deleteSession: (tx: Drizzle, id: string) => tx.delete(sessions).where(eq(sessions.id, id)).run(),
    deleteUserSessions: (tx: Drizzle, userId: number) => tx.delete(sessions).where(eq(sessions.userId, userId)).run(),
    /** Slides expiry forward, never backward. */
    extendSession: (tx: Drizzle, id: string, expiresAt: number) =>
      tx.update(sessions).set({ expiresAt }).where(and(eq(sessions.id, id), lt(sessions.expiresAt, expiresAt))).run(),
    deleteExpiredSessions: (tx: Drizzle, now: number) => tx.delete(sessions).where(lt(sessions.expiresAt, now)).run(),
    countLiveSessions: (now: number): number => db.r.select({ n: sql<number>`count(*)` }).from(sessions).where(gt(sessions.expiresAt, now)).get()!.n,
  };
}

export type AuthStore = ReturnType<typeof authStore>;
