/** The only code that touches the users and sessions tables (and writes the action log's account rows: login, signup). */
import { and, eq, gt, lt, sql } from "drizzle-orm";
import type { Db, Drizzle } from "../db/db.ts";
import { actionLog, sessions, users } from "../db/schema/index.ts";

export type UserRow = typeof users.$inferSelect;

export interface SessionLookup {
  sessionId: string;
  secretHash: Uint8Array;
  expiresAt: number;
  userId: number;
  username: string;
  role: "player" | "organiser";
  bannedAt: number | null;
}
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
  // The hottest query of the server (every authenticated request whose
  // session is not cached): raw prepared statements, no ORM row mapping. Two
  // lookups by key on SQLite, not a JOIN: Bun's SQLite runs the JOIN in ~13 µs
  // against ~3 µs for the two (bench/RESULTS.md, Hunt, session 4). On
  // PostgreSQL each statement is a round trip, so there it stays one JOIN.
  const sessionWithUser = ((): ((id: string) => SessionLookup | null) => {
    if (db.dialect === "postgres") {
      const joined = db.reader.query<SessionLookup, [string]>(
        `SELECT s.id AS sessionId, s.secret_hash AS secretHash, s.expires_at AS expiresAt,
                u.id AS userId, u.username AS username, u.role AS role, u.banned_at AS bannedAt
           FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.id = ?`,
      );
      return (id) => joined.get(id);
    }
    const sessionQ = db.reader.query<{ sessionId: string; secretHash: Buffer; expiresAt: number; userId: number }, [string]>(
      "SELECT id AS sessionId, secret_hash AS secretHash, expires_at AS expiresAt, user_id AS userId FROM sessions WHERE id = ?",
    );
    const userQ = db.reader.query<{ username: string; role: SessionLookup["role"]; bannedAt: number | null }, [number]>(
      "SELECT username, role, banned_at AS bannedAt FROM users WHERE id = ?",
    );
    return (id) => {
      const s = sessionQ.get(id);
      const u = s && userQ.get(s.userId);
      return s && u ? { ...s, ...u } : null;
    };
  })();

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
    getSession: (id: string): SessionLookup | null => sessionWithUser(id),
    /** An account action in the action log; not tied to an event (event_id NULL). */
    logAccountAction: (tx: Drizzle, a: { playerId: number; kind: "login" | "signup"; ip: string | null; userAgent: string | null; at: number }) =>
      tx.insert(actionLog).values({ eventId: null, playerId: a.playerId, kind: a.kind, ip: a.ip, userAgent: a.userAgent, at: a.at }).run(),
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
