/**
 * Accounts and sessions: the rules, no HTTP and no SQL.
 *
 * Session token `<id>.<secret>`: the id finds the row, only SHA-256(secret) is
 * stored and compared in constant time, so a leaked database holds no usable
 * token. A new session is made at every login (rotation); logout deletes it;
 * each use slides the expiry (written at most once an hour per session).
 */
import { timingSafeEqual } from "node:crypto";
import { AppError } from "../lib/errors.ts";
import type { Deps, SessionUser } from "../lib/context.ts";
import { authStore, type Role, type SessionLookup, type UserRow } from "./auth.store.ts";
import COMMON_PASSWORDS_TEXT from "./common-passwords.txt" with { type: "text" };

const COMMON = new Set(COMMON_PASSWORDS_TEXT.split("\n").map((s) => s.trim()).filter(Boolean));

// OWASP's argon2id floor: 19 MiB, 2 passes, 1 lane. Cheap enough that 200
// concurrent signups on 2 cores do not exhaust memory, costly enough offline.
const HASH_OPTS = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** NFKC for display; NFKC + case fold (then NFKC again, as case folding can denormalize) for identity. */
export function normalizeUsername(raw: string): { display: string; key: string } {
  const display = raw.normalize("NFKC").trim();
  const key = display.toLowerCase().normalize("NFKC");
  return { display, key };
}

export function usernameProblem(display: string): string | null {
  const len = [...display].length;
  if (len < USERNAME_MIN || len > USERNAME_MAX) return `must be ${USERNAME_MIN} to ${USERNAME_MAX} characters`;
  if (!/^[\p{L}\p{N}_.-]+$/u.test(display)) return "may contain only letters, digits, '_', '.' and '-'";
  return null;
}

export function passwordProblem(pw: string): string | null {
  const len = [...pw].length;
  if (len < PASSWORD_MIN || len > PASSWORD_MAX) return `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`;
  return null;
}

export const isCommonPassword = (pw: string) => COMMON.has(pw.toLowerCase());

const sha256 = (s: string) => Bun.CryptoHasher.hash("sha256", s) as Buffer;
const randomToken = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");

export const SESSION_COOKIE = "gauntlet_session";
const HOUR = 3_600_000;

export interface PublicUser {
  id: number;
  username: string;
  role: Role;
  email: string | null;
  createdAt: number;
}

export const publicUser = (u: UserRow): PublicUser => ({ id: u.id, username: u.username, role: u.role, email: u.email, createdAt: u.createdAt });

export function authService(deps: Deps) {
  const { db, clock, limiter, config, log } = deps;
  const store = authStore(db);
  const ttlMs = config.sessionTtlDays * 24 * HOUR;
  // Verified against when the username is unknown, so the response takes as
  // long as a wrong password would and reveals nothing about which accounts exist.
  const dummyHash = Bun.password.hash(randomToken(16), HASH_OPTS);

  // Validated sessions are cached briefly: the lookup is on every request.
  // This process drops entries the moment it ends or changes a session or
  // user (logout, ban, password reset, role change), so a stolen cookie dies
  // at logout; another instance sharing the database may honour it for at
  // most SESSION_CACHE_MS more.
  const SESSION_CACHE_MS = 2000;
  const SESSION_CACHE_MAX = 50_000;
  const cache = new Map<string, { row: SessionLookup; at: number }>();
  const forgetSession = (id: string) => cache.delete(id);
  const forgetUser = (userId: number) => {
    for (const [k, v] of cache) if (v.row.userId === userId) cache.delete(k);
  };
  // Others holding state derived from a session (the live websockets, src/realtime) are told once a change has committed:
  // a session ended (logout, login rotation), or a user's sessions or role changed (ban, unban, password reset, role change).
  const sessionEnded = new Set<(sessionId: string) => void>();
  const userChanged = new Set<(userId: number) => void>();
  const listen = <T>(set: Set<(x: T) => void>, fn: (x: T) => void) => {
    set.add(fn);
    return () => void set.delete(fn);
  };
  const emit = <T>(set: Set<(x: T) => void>, x: T) => {
    for (const fn of set) {
      try {
        fn(x);
      } catch (err) {
        log.error("session listener failed", { err });
      }
    }
  };
  const lookup = (id: string): SessionLookup | null => {
    const hit = cache.get(id);
    const t = performance.now();
    if (hit && t - hit.at < SESSION_CACHE_MS) return hit.row;
    const row = store.getSession(id);
    if (!row) {
      cache.delete(id);
      return null;
    }
    if (cache.size >= SESSION_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(id, { row, at: t });
    return row;
  };

  async function limit(key: string, max: number, windowMs: number, count = true) {
    const r = count ? await limiter.hit(key, max, windowMs) : await limiter.peek(key, max, windowMs);
    if (!r.ok) throw new AppError("rate_limited", undefined, { retryAfter: r.retryAfter });
  }

  /** A new session; `action` also writes it to the action log (anti-cheat: who logs in from where), in the same transaction. */
  async function createSession(userId: number, meta: { ip?: string; userAgent?: string }, replaces?: string, action?: "login" | "signup") {
    const id = randomToken(15);
    const secret = randomToken(32);
    const now = clock.now();
    await db.write((tx) => {
      if (replaces) {
        forgetSession(replaces);
        store.deleteSession(tx, replaces);
      }
      store.insertSession(tx, {
        id,
        userId,
        secretHash: sha256(secret),
        createdAt: now,
        expiresAt: now + ttlMs,
        ip: meta.ip ?? null,
        userAgent: meta.userAgent?.slice(0, 256) ?? null,
      });
      if (action) store.logAccountAction(tx, { playerId: userId, kind: action, ip: meta.ip ?? null, userAgent: meta.userAgent?.slice(0, 256) ?? null, at: now });
    });
    if (replaces) emit(sessionEnded, replaces);
    return { token: `${id}.${secret}`, expiresAt: now + ttlMs };
  }

  async function createUser(input: { username: string; password: string; email?: string | null; role?: Role }): Promise<UserRow> {
    const { display, key } = normalizeUsername(input.username);
    const uProblem = usernameProblem(display);
    if (uProblem) throw new AppError("validation_failed", `username ${uProblem}`, { details: [{ path: "username", message: uProblem }] });
    const pProblem = passwordProblem(input.password);
    if (pProblem) throw new AppError("validation_failed", `password ${pProblem}`, { details: [{ path: "password", message: pProblem }] });
    if (isCommonPassword(input.password)) throw new AppError("weak_password");
    if (store.findByKey(key)) throw new AppError("username_taken");
    const passwordHash = await Bun.password.hash(input.password, HASH_OPTS);
    const row = await db.write((tx) =>
      store.insertUser(tx, { username: display, usernameKey: key, email: input.email ?? null, passwordHash, role: input.role ?? "player", createdAt: clock.now() }),
    );
    // The constraint, not the lookup above, is what decides a race between two signups.
    if (!row) throw new AppError("username_taken");
    return row;
  }

  /** The session's user for a cookie token, or null for anything missing, forged or expired. */
  function validateToken(token: string | undefined): SessionUser | null {
    if (!token || token.length > 200) return null;
    const dot = token.indexOf(".");
    if (dot <= 0) return null;
    const id = token.slice(0, dot);
    const secret = token.slice(dot + 1);
    const row = lookup(id);
    if (!row) return null;
    const given = sha256(secret);
    if (given.length !== row.secretHash.length || !timingSafeEqual(given, row.secretHash)) return null;
    const now = clock.now();
    if (row.expiresAt <= now) return null;
    if (row.bannedAt) return null;
    // Slide the expiry, but write at most once an hour per session.
    if (now + ttlMs - row.expiresAt > HOUR) {
      row.expiresAt = now + ttlMs;
      db.write((tx) => store.extendSession(tx, id, now + ttlMs)).catch((err) => log.warn("session extend failed", { err }));
    }
    return { id: row.userId, username: row.username, role: row.role, sessionId: id };
  }

  return {
    store,
    createUser,
    createSession,

    async signup(input: { username: string; password: string; email?: string | null }, meta: { ip: string; userAgent?: string }) {
      await limit(`signup:ip:${meta.ip}`, config.signupPerIpPerHour, HOUR);
      const user = await createUser(input);
      const session = await createSession(user.id, meta, undefined, "signup");
      log.info("signup", { userId: user.id, ip: meta.ip });
      return { user, session };
    },

    async login(input: { username: string; password: string }, meta: { ip: string; userAgent?: string; currentSessionId?: string }) {
      const { key } = normalizeUsername(input.username);
      // Per-IP on every attempt; per (account, IP) and per account on failures
      // only. No single limit lets one attacker lock everyone out: the account
      // limits only ever lock one account, and the per-account one is a high
      // ceiling against distributed guessing.
      await limit(`login:ip:${meta.ip}`, config.loginPerIpPerMinute, 60_000);
      const pairKey = `login:fail:${key}:${meta.ip}`;
      const acctKey = `login:fail:${key}`;
      await limit(pairKey, config.loginFailuresPerAccountIp, 15 * 60_000, false);
      await limit(acctKey, config.loginFailuresPerAccount, HOUR, false);

      const user = key.length <= USERNAME_MAX * 4 ? store.findByKey(key) : undefined;
      const ok = await Bun.password.verify(input.password, user ? user.passwordHash : await dummyHash);
      if (!user || !ok) {
        await Promise.all([limiter.hit(pairKey, config.loginFailuresPerAccountIp, 15 * 60_000), limiter.hit(acctKey, config.loginFailuresPerAccount, HOUR)]);
        throw new AppError("invalid_credentials");
      }
      if (user.bannedAt) throw new AppError("banned");
      await limiter.reset(pairKey);
      const session = await createSession(user.id, meta, meta.currentSessionId, "login");
      log.info("login", { userId: user.id, ip: meta.ip });
      return { user, session };
    },

    async logout(sessionId: string) {
      forgetSession(sessionId);
      await db.write((tx) => store.deleteSession(tx, sessionId));
      forgetSession(sessionId);
      emit(sessionEnded, sessionId);
    },

    /** The session's user for a cookie token, or null: synchronous, the API middleware calls it on every request. */
    validate: validateToken,

    /**
     * The user of a session whose token was already checked (a live socket's), read
     * afresh from the database: null once it was deleted (logout, ban, password reset,
     * on any instance), has expired, or its user is banned. Does not slide the expiry.
     */
    sessionUser(sessionId: string): SessionUser | null {
      const row = store.getSession(sessionId);
      if (!row) {
        forgetSession(sessionId);
        return null;
      }
      if (cache.has(sessionId)) cache.set(sessionId, { row, at: performance.now() });
      if (row.expiresAt <= clock.now() || row.bannedAt) return null;
      return { id: row.userId, username: row.username, role: row.role, sessionId };
    },

    /** Called after a session ends (logout, or replaced at login); returns the unsubscribe. */
    onSessionEnded: (fn: (sessionId: string) => void) => listen(sessionEnded, fn),
    /** Called after a user's sessions or role changed (ban, unban, password reset, role change); returns the unsubscribe. */
    onUserChanged: (fn: (userId: number) => void) => listen(userChanged, fn),

    me(userId: number): PublicUser {
      const u = store.findById(userId);
      if (!u) throw new AppError("unauthenticated");
      return publicUser(u);
    },

    async setRole(userId: number, role: Role) {
      const u = await db.write((tx) => store.setRole(tx, userId, role));
      forgetUser(userId);
      if (!u) throw new AppError("not_found", "No such user.");
      emit(userChanged, userId);
      return publicUser(u);
    },

    async setPassword(userId: number, password: string) {
      const p = passwordProblem(password);
      if (p) throw new AppError("validation_failed", `password ${p}`);
      if (isCommonPassword(password)) throw new AppError("weak_password");
      const hash = await Bun.password.hash(password, HASH_OPTS);
      // A reset signs the user out everywhere.
      await db.write((tx) => {
        store.setPasswordHash(tx, userId, hash);
        store.deleteUserSessions(tx, userId);
      });
      forgetUser(userId);
      emit(userChanged, userId);
    },

    async setBanned(userId: number, banned: boolean) {
      const u = await db.write((tx) => {
        const row = store.setBanned(tx, userId, banned ? clock.now() : null);
        if (row && banned) store.deleteUserSessions(tx, userId);
        return row;
      });
      forgetUser(userId);
      if (!u) throw new AppError("not_found", "No such user.");
      emit(userChanged, userId);
      return publicUser(u);
    },

    async pruneSessions() {
      await db.write((tx) => store.deleteExpiredSessions(tx, clock.now()));
    },
  };
}

export type AuthService = ReturnType<typeof authService>;
export { randomToken };
