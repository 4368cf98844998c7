/**
 * Realtime: a notification stream over websockets that a client can always
 * resynchronise from. The database is authoritative: every message is stored
 * with a per-topic sequence number in the same transaction as the change it
 * describes, and fanned out only after that commit. A client that missed
 * messages resumes from its last sequence number and gets exactly the missing
 * ones, or a `resync` when they have left the retained window.
 *
 * Fan-out keeps, per topic, the last sequence number sent from this process;
 * a message that arrives ahead of it (another instance's publish overtaking
 * through Redis, a hub outage) makes it read the gap from the database first,
 * so each client sees every topic in order, without duplicates.
 *
 * A socket keeps the user of the session it was opened with only while that
 * session lasts: the auth service tells us when a session ends (the socket is
 * closed with 4401; the client reconnects as whoever its cookie now says) or a
 * user changes (ban, password reset, role change: the session is re-read, and
 * each subscription the user may no longer read is dropped). Another instance
 * learns of such changes only through the database, so every authenticated
 * socket also re-reads its session every `sessionRecheckMs`.
 *
 * Socket timings (rate limit, slow-consumer grace, coalescing, session
 * re-checks) use the real monotonic clock: they are about sockets, not game
 * rules, and must keep working while an organiser's fake clock is frozen.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { Context } from "hono";
import type { Drizzle } from "../db/db.ts";
import type { AppEnv, Deps, SessionUser } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import { localHub, pgHub, redisHub, type Hub } from "./hub.ts";
import { parseClientMessage, CLOSE } from "./realtime.protocol.ts";
import { realtimeStore } from "./realtime.store.ts";

/** Decides whether `user` (null: anonymous) may read `<prefix>:<id>`. Must be synchronous. */
export type Authorizer = (user: SessionUser | null, id: string) => boolean;

/**
 * What realtime needs from the auth service (services.ts passes it; only this
 * type is shared, so neither domain imports the other).
 */
export interface SessionSource {
  /** The session's user read afresh from the database; null once it was deleted, has expired, or its user is banned. */
  sessionUser(sessionId: string): SessionUser | null;
  /** After a session ended on this process (logout, replaced at login). Returns the unsubscribe. */
  onSessionEnded(fn: (sessionId: string) => void): () => void;
  /** After a user's sessions or role changed on this process (ban, password reset, role change). Returns the unsubscribe. */
  onUserChanged(fn: (userId: number) => void): () => void;
}

export interface RealtimeOptions {
  hub?: Hub;
  /** Session checks for authenticated sockets; without it a socket keeps the user it was opened with. */
  sessions?: SessionSource;
  /** How often each authenticated socket re-reads its session (ms); bounds how long a ban or logout on another instance takes to reach it. */
  sessionRecheckMs?: number;
  /** Largest client frame in bytes; larger closes with 1009. */
  maxPayloadBytes?: number;
  /** Seconds without any frame from the client (Bun pings before it) before the socket is closed. */
  idleTimeoutSec?: number;
  /** Client frames allowed per second on one connection, and the burst above it. */
  ratePerSec?: number;
  rateBurst?: number;
  /** Bytes queued for one client past which it is dropped as a slow consumer. */
  slowConsumerBytes?: number;
  maxTopicsPerConnection?: number;
  /** Largest reconnect delay told to clients at shutdown; each gets a random share of it. */
  reconnectJitterMs?: number;
  random?: () => number;
}

export interface Conn {
  ws: ServerWebSocket<LiveData> | null;
  user: SessionUser | null;
  ip: string;
  /** topic → last sequence number sent to this client. */
  subs: Map<string, number>;
  tokens: number;
  refilledAt: number;
  closing: boolean;
  /** performance.now() after which the session is re-read (authenticated sockets only). */
  recheckAt: number;
}

export interface LiveData {
  conn: Conn;
}

const TOPIC_RE = /^([a-z][a-z0-9_]{0,31}):([A-Za-z0-9_-]{1,64})(:org)?$/;

export interface Announcement {
  id: number;
  eventId: number;
  title: string | null;
  body: string;
  createdAt: number;
}

/** The author's id stays out of what players see. */
const publicAnnouncement = (a: { id: number; eventId: number; title: string | null; body: string; createdAt: number }): Announcement => ({
  id: a.id,
  eventId: a.eventId,
  title: a.title,
  body: a.body,
  createdAt: a.createdAt,
});

export function parseTopic(topic: string): { prefix: string; id: string; org: boolean } | null {
  const m = TOPIC_RE.exec(topic);
  return m ? { prefix: m[1], id: m[2], org: !!m[3] } : null;
}

/** The organiser-only twin of a topic: leaderboard deltas during a freeze go here. */
export const orgTopic = (topic: string) => (topic.endsWith(":org") ? topic : `${topic}:org`);

const frame = (o: object) => JSON.stringify(o);
const msgFrame = (topic: string, seq: number, data: string) => `{"type":"msg","topic":${JSON.stringify(topic)},"seq":${seq},"data":${data}}`;

export function realtimeService(deps: Deps, opts: RealtimeOptions = {}) {
  const { db, clock, config, log } = deps;
  const store = realtimeStore(db);
  const hub =
    opts.hub ??
    (config.redisUrl ? redisHub(config.redisUrl, log, { channel: `${config.redisPrefix}realtime` }) : config.databaseUrl ? pgHub(config.databaseUrl, log) : localHub());
  const retainCount = config.realtimeRetainCount;
  const retainMs = config.realtimeRetainMinutes * 60_000;
  const maxPayload = opts.maxPayloadBytes ?? 4096;
  const ratePerSec = opts.ratePerSec ?? 10;
  const rateBurst = opts.rateBurst ?? 30;
  const slowBytes = opts.slowConsumerBytes ?? 256 * 1024;
  const maxTopics = opts.maxTopicsPerConnection ?? 64;
  const jitterMs = opts.reconnectJitterMs ?? 5000;
  const random = opts.random ?? Math.random;
  const sessions = opts.sessions ?? null;
  const recheckMs = opts.sessionRecheckMs ?? 30_000;
  // Due sockets are found by a sweep this often: a sweep only compares numbers, the lookups are spread by each socket's own due time.
  const sweepMs = Math.max(20, Math.min(1000, Math.round(recheckMs / 10)));

  const conns = new Set<Conn>();
  const topics = new Map<string, Set<Conn>>();
  /** topic → last sequence number fanned out by this process (only for topics with local subscribers). */
  const lastFanned = new Map<string, number>();
  const authorizers = new Map<string, Authorizer>([
    // Events are public unless the events domain registers a stricter rule.
    ["event", () => true],
    ["user", (user, id) => user !== null && String(user.id) === id],
  ]);

  // ---- publishing -------------------------------------------------------

  let pending: Array<{ topic: string; seq: number; data: string }> = [];
  let checkQueued = false;

  /**
   * Runs after the write batch that appended the messages: a microtask queued
   * inside a synchronous write body runs once that batch has committed or
   * rolled back. Only what is really committed (same payload under the same
   * sequence number) goes out; a rolled-back body's message never does.
   */
  function afterCommit() {
    checkQueued = false;
    const batch = pending;
    pending = [];
    for (const m of batch) {
      if (store.committed(m.topic, m.seq) !== m.data) continue;
      fanOut(m.topic, m.seq, m.data);
      hub.publish(m.topic, m.seq, m.data);
    }
  }

  function serialize(topic: string, data: unknown): string {
    if (!parseTopic(topic)) throw new Error(`realtime: bad topic ${JSON.stringify(topic)}`);
    const json = JSON.stringify(data);
    if (json === undefined) throw new Error("realtime: data must be JSON-serialisable");
    return json;
  }

  /** Inside a domain's db.write body: stores the message in that transaction; fan-out happens after it commits. */
  function publishInTx(tx: Drizzle, topic: string, data: unknown): number {
    return appendJson(tx, topic, serialize(topic, data));
  }

  function appendJson(tx: Drizzle, topic: string, json: string): number {
    const seq = store.append(tx, topic, json, clock.now(), retainCount);
    pending.push({ topic, seq, data: json });
    if (!checkQueued) {
      checkQueued = true;
      queueMicrotask(afterCommit);
    }
    return seq;
  }

  /** Stores then fans out one message; resolves with its sequence number once durable. */
  async function publish(topic: string, data: unknown): Promise<number> {
    const json = serialize(topic, data);
    return await db.write((tx) => appendJson(tx, topic, json));
  }

  // ---- coalescing -------------------------------------------------------

  interface Coalesced {
    items: Map<string, unknown>;
    lastAt: number;
    timer: ReturnType<typeof setTimeout> | null;
  }
  const coalesced = new Map<string, Coalesced>();

  function flushCoalesced(topic: string) {
    const c = coalesced.get(topic);
    if (!c) return;
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
    if (c.items.size === 0) return;
    const batch = [...c.items.values()];
    c.items = new Map();
    c.lastAt = performance.now();
    publish(topic, { batch }).catch((err) => log.error("realtime coalesced publish failed", { topic, err }));
  }

  /**
   * Leaderboard deltas: keeps the latest `data` per `key` and publishes them
   * together as one `{batch: [...]}` message at most `maxPerSecond` times a
   * second per topic, whatever the rate of calls.
   */
  function coalesce(topic: string, key: string, data: unknown, maxPerSecond = 4) {
    serialize(topic, data);
    let c = coalesced.get(topic);
    if (!c) coalesced.set(topic, (c = { items: new Map(), lastAt: -Infinity, timer: null }));
    c.items.delete(key); // re-insert so the batch is in order of latest change
    c.items.set(key, data);
    if (c.timer) return;
    const wait = Math.max(0, c.lastAt + 1000 / Math.max(0.01, maxPerSecond) - performance.now());
    c.timer = setTimeout(() => flushCoalesced(topic), wait);
  }

  // ---- fan-out ----------------------------------------------------------

  function send(conn: Conn, text: string) {
    const ws = conn.ws;
    if (!ws || conn.closing) return;
    const r = ws.send(text);
    // -1: queued behind backpressure; 0: dropped (past Bun's own limit). Either way a client this far behind is cut loose, so the others never wait for it.
    if (r === 0 || (r === -1 && ws.getBufferedAmount() > slowBytes)) drop(conn, CLOSE.slowConsumer, "slow consumer: too far behind");
  }

  function deliver(subs: Set<Conn>, topic: string, seq: number, data: string) {
    const text = msgFrame(topic, seq, data);
    for (const conn of subs) {
      if ((conn.subs.get(topic) ?? 0) >= seq) continue;
      conn.subs.set(topic, seq);
      send(conn, text);
    }
  }

  function fanOut(topic: string, seq: number, data: string | null) {
    const subs = topics.get(topic);
    if (!subs) return;
    const last = lastFanned.get(topic) ?? 0;
    if (seq <= last) return;
    // No data: the hub could not carry it (too large), so the message is read from the database with any gap before it.
    if (data === null) return catchUp(topic, subs, last, seq);
    if (seq > last + 1) catchUp(topic, subs, last, seq - 1);
    lastFanned.set(topic, seq);
    deliver(subs, topic, seq, data);
  }

  /** Sends what this process missed on a topic, from the database; resync when it has left the window. */
  function catchUp(topic: string, subs: Set<Conn>, after: number, upTo: number) {
    const rows = store.range(topic, after, upTo);
    if (rows.length === upTo - after) {
      for (const r of rows) deliver(subs, topic, r.seq, r.data);
    } else {
      for (const conn of subs) {
        if ((conn.subs.get(topic) ?? 0) >= upTo) continue;
        conn.subs.set(topic, upTo);
        send(conn, frame({ type: "resync", topic }));
        send(conn, frame({ type: "subscribed", topic, seq: upTo }));
      }
    }
    lastFanned.set(topic, upTo);
  }

  /** After a hub outage: re-read every topic with local subscribers. */
  function resyncAll() {
    for (const [topic, subs] of topics) {
      const head = store.head(topic);
      const last = lastFanned.get(topic) ?? 0;
      if (head > last) catchUp(topic, subs, last, head);
    }
  }
  hub.onMessage(fanOut);
  hub.onResync(resyncAll);

  // ---- subscriptions ----------------------------------------------------

  function mayRead(user: SessionUser | null, topic: string): "ok" | "bad_topic" | "forbidden" {
    const t = parseTopic(topic);
    if (!t) return "bad_topic";
    const fn = authorizers.get(t.prefix);
    if (!fn) return "bad_topic";
    if (t.org && user?.role !== "organiser") return "forbidden";
    try {
      return fn(user, t.id) === true ? "ok" : "forbidden";
    } catch (err) {
      log.error("realtime authorizer threw", { prefix: t.prefix, err });
      return "forbidden";
    }
  }

  function subscribe(conn: Conn, topic: string, after: number | undefined) {
    const verdict = mayRead(conn.user, topic);
    if (verdict !== "ok") {
      send(conn, frame({ type: "error", code: verdict, topic, message: verdict === "forbidden" ? "You may not read this topic." : "Unknown topic." }));
      return;
    }
    if (!conn.subs.has(topic) && conn.subs.size >= maxTopics) {
      send(conn, frame({ type: "error", code: "too_many_topics", topic, message: `At most ${maxTopics} topics per connection.` }));
      return;
    }
    // Synchronous from here on: no fan-out can interleave between reading the head and joining the topic.
    const head = store.head(topic);
    let subs = topics.get(topic);
    if (!subs) {
      topics.set(topic, (subs = new Set()));
      lastFanned.set(topic, head);
    }
    if (after !== undefined && after !== head) {
      const rows = after < head ? store.range(topic, after, head) : [];
      if (after < head && rows.length === head - after) {
        for (const r of rows) send(conn, msgFrame(topic, r.seq, r.data));
      } else {
        // Older than the window, or ahead of the server (a restored database): refetch over REST.
        send(conn, frame({ type: "resync", topic }));
      }
    }
    conn.subs.set(topic, Math.max(head, lastFanned.get(topic) ?? 0));
    subs.add(conn);
    send(conn, frame({ type: "subscribed", topic, seq: conn.subs.get(topic) }));
  }

  function unsubscribe(conn: Conn, topic: string) {
    conn.subs.delete(topic);
    const subs = topics.get(topic);
    if (!subs) return;
    subs.delete(conn);
    if (subs.size === 0) {
      topics.delete(topic);
      lastFanned.delete(topic);
    }
  }

  function detach(conn: Conn) {
    for (const topic of [...conn.subs.keys()]) unsubscribe(conn, topic);
    conns.delete(conn);
  }

  function drop(conn: Conn, code: number, reason: string) {
    if (conn.closing) return;
    conn.closing = true;
    detach(conn);
    const ws = conn.ws;
    if (!ws) return;
    try {
      ws.close(code, reason);
    } catch {}
    // A client that reads nothing never acknowledges the close frame either.
    setTimeout(() => {
      if (ws.readyState !== 3) ws.terminate();
    }, 2000).unref?.();
  }

  // ---- sessions ---------------------------------------------------------

  /**
   * Re-reads the socket's session: closes the socket once the session is gone
   * (logout, ban, password reset, expiry, on any instance); otherwise takes the
   * current role and, when it changed (or `recheckTopics`), drops each
   * subscription the user may no longer read with a `forbidden` error frame.
   */
  function revalidate(conn: Conn, recheckTopics: boolean) {
    const was = conn.user;
    if (!was || !sessions || conn.closing) return;
    let now: SessionUser | null;
    try {
      now = sessions.sessionUser(was.sessionId);
    } catch (err) {
      // The database is unreadable for a moment: keep the socket, the next sweep asks again.
      log.warn("realtime session re-check failed", { err });
      return;
    }
    if (!now || now.id !== was.id) return drop(conn, CLOSE.unauthenticated, "session ended");
    conn.user = now;
    if (!recheckTopics && now.role === was.role) return;
    for (const topic of [...conn.subs.keys()]) {
      if (mayRead(now, topic) === "ok") continue;
      unsubscribe(conn, topic);
      send(conn, frame({ type: "error", code: "forbidden", topic, message: "You may no longer read this topic." }));
    }
  }

  function sessionEnded(sessionId: string) {
    for (const conn of [...conns]) if (conn.user?.sessionId === sessionId) drop(conn, CLOSE.unauthenticated, "session ended");
  }

  function userChanged(userId: number) {
    for (const conn of [...conns]) if (conn.user?.id === userId) revalidate(conn, true);
  }

  /** Re-reads the session of every authenticated socket that is due (all of them with `all`). */
  function recheckSessions(all = false) {
    const now = performance.now();
    for (const conn of [...conns]) {
      if (!conn.user || (!all && conn.recheckAt > now)) continue;
      conn.recheckAt = now + recheckMs;
      revalidate(conn, false);
    }
  }

  const unlisten = sessions ? [sessions.onSessionEnded(sessionEnded), sessions.onUserChanged(userChanged)] : [];

  // ---- the socket -------------------------------------------------------

  function onMessage(conn: Conn, raw: string | Buffer) {
    if (conn.closing) return;
    const now = performance.now();
    conn.tokens = Math.min(rateBurst, conn.tokens + ((now - conn.refilledAt) / 1000) * ratePerSec);
    conn.refilledAt = now;
    if (conn.tokens < 1) return drop(conn, CLOSE.rateLimited, "rate limit exceeded");
    conn.tokens -= 1;
    if (typeof raw !== "string") return drop(conn, CLOSE.unsupported, "binary frames are not supported; send JSON text");
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) return drop(conn, CLOSE.malformed, parsed.reason);
    const m = parsed.msg;
    switch (m.type) {
      case "ping":
        return send(conn, '{"type":"pong"}');
      case "subscribe":
        return subscribe(conn, m.topic, m.after);
      case "resume":
        return subscribe(conn, m.topic, m.after);
      case "unsubscribe":
        unsubscribe(conn, m.topic);
        return send(conn, frame({ type: "unsubscribed", topic: m.topic }));
    }
  }

  const websocket: WebSocketHandler<LiveData> = {
    maxPayloadLength: maxPayload,
    idleTimeout: opts.idleTimeoutSec ?? 60,
    sendPings: true,
    // Bun's own hard limit, well past ours: `send()` reports -1 long before it, so we choose the close code.
    backpressureLimit: Math.max(slowBytes * 4, 1024 * 1024),
    closeOnBackpressureLimit: false,
    perMessageDeflate: false,
    open(ws) {
      const conn = ws.data.conn;
      conn.ws = ws;
      conns.add(conn);
      // The session may have ended between the request's check and now (a logout racing the upgrade).
      if (conn.user) revalidate(conn, false);
    },
    message(ws, raw) {
      try {
        onMessage(ws.data.conn, raw as string | Buffer);
      } catch (err) {
        log.error("realtime message handler failed", { err });
        drop(ws.data.conn, CLOSE.internal, "internal error");
      }
    },
    close(ws) {
      const conn = ws.data.conn;
      conn.closing = true;
      detach(conn);
    },
  };

  /** The GET /api/v1/live handler: checks Origin, then hands the request to Bun's upgrade. */
  function upgrade(c: Context<AppEnv>, user: SessionUser | null): Response | undefined {
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      let host: string | null = null;
      try {
        host = new URL(origin).host;
      } catch {}
      if (host === null || host !== (c.req.header("host") ?? new URL(c.req.url).host)) throw new AppError("cross_origin", "The Origin of this websocket does not match the Host.");
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new AppError("upgrade_required");
    const srv = c.env as unknown as Server<LiveData> | undefined;
    if (!srv || typeof srv.upgrade !== "function") throw new AppError("upgrade_required", "This server cannot upgrade to a websocket here.");
    if (stopped) throw new AppError("not_ready", "The server is shutting down.");
    const t = performance.now();
    // The first re-check falls at a random point of the second half of the period, so sockets that connect together (after a restart) do not all re-check together.
    const recheckAt = t + recheckMs * (0.5 + random() / 2);
    const conn: Conn = { ws: null, user, ip: c.get("ip"), subs: new Map(), tokens: rateBurst, refilledAt: t, closing: false, recheckAt };
    if (!srv.upgrade(c.req.raw, { data: { conn } })) throw new AppError("bad_request", "Websocket handshake failed.");
    // Bun answers the handshake itself; this response is never sent.
    return new Response(null);
  }

  // ---- lifecycle --------------------------------------------------------

  let stopped = false;
  let pruneTimer: ReturnType<typeof setInterval> | null = null;
  let recheckTimer: ReturnType<typeof setInterval> | null = null;

  /** Age window: drops retained messages older than realtimeRetainMinutes. */
  function prune(): Promise<number> {
    const before = clock.now() - retainMs;
    return db.write((tx) => store.pruneOlderThan(tx, before));
  }

  async function start() {
    await hub.start();
    pruneTimer ??= setInterval(() => void prune().catch((err) => log.warn("realtime prune failed", { err })), 60_000);
    pruneTimer.unref?.();
    if (sessions) {
      recheckTimer ??= setInterval(() => {
        try {
          recheckSessions();
        } catch (err) {
          log.error("realtime session sweep failed", { err });
        }
      }, sweepMs);
      recheckTimer.unref?.();
    }
  }

  /** Shutdown: publish what is coalesced, then tell every client to come back after a random delay. */
  async function stop(_graceMs = 0) {
    if (stopped) return;
    stopped = true;
    if (pruneTimer) clearInterval(pruneTimer);
    if (recheckTimer) clearInterval(recheckTimer);
    for (const off of unlisten) off();
    const flushes: Promise<unknown>[] = [];
    for (const topic of coalesced.keys()) {
      const c = coalesced.get(topic)!;
      if (c.items.size) flushes.push(publish(topic, { batch: [...c.items.values()] }).catch(() => {}));
      if (c.timer) clearTimeout(c.timer);
      c.items = new Map();
      c.timer = null;
    }
    await Promise.all(flushes);
    for (const conn of [...conns]) {
      send(conn, frame({ type: "reconnect", afterMs: Math.round(250 + random() * jitterMs) }));
      drop(conn, CLOSE.restarting, "server restarting");
    }
    await hub.stop();
  }

  // ---- announcements ----------------------------------------------------

  function eventOrThrow(ref: string) {
    const ev = store.findEvent(ref);
    if (!ev) throw new AppError("not_found", "No such event.");
    return ev;
  }

  /** Stores an organiser announcement and pushes it on `event:<id>` in the same transaction. */
  async function announce(eventRef: string, author: SessionUser, input: { title?: string | null; body: string }) {
    const ev = eventOrThrow(eventRef);
    const row = await db.write((tx) => {
      const a = store.insertAnnouncement(tx, { eventId: ev.id, title: input.title ?? null, body: input.body, authorId: author.id, createdAt: clock.now() });
      const out = publicAnnouncement(a);
      publishInTx(tx, `event:${ev.id}`, { kind: "announcement", announcement: out });
      return out;
    });
    return row;
  }

  function listAnnouncements(eventRef: string, limit = 50, beforeId?: number) {
    const ev = eventOrThrow(eventRef);
    return store.listAnnouncements(ev.id, limit, beforeId).map(publicAnnouncement);
  }

  return {
    store,
    hub,
    announce,
    listAnnouncements,
    publish,
    publishInTx,
    coalesce,
    /** Flushes a topic's pending coalesced updates now (tests, shutdown). */
    flushCoalesced,
    orgTopic,
    /** Registers who may read `<prefix>:<id>` topics (e.g. "match"). `user:` topics are fixed: only that user. */
    authorize(prefix: string, fn: Authorizer) {
      if (!/^[a-z][a-z0-9_]{0,31}$/.test(prefix)) throw new Error(`realtime: bad topic prefix ${JSON.stringify(prefix)}`);
      if (prefix === "user") throw new Error("realtime: user topics are readable only by that user; their rule cannot be replaced");
      authorizers.set(prefix, fn);
    },
    /** Re-reads the session of every due authenticated socket now (every one with `all`); the timer does this on its own. */
    recheckSessions,
    /** Open websocket connections on this process. */
    connections: () => conns.size,
    stats: () => ({ connections: conns.size, topics: topics.size, hub: hub.kind }),
    websocket,
    upgrade,
    prune,
    start,
    stop,
  };
}

export type RealtimeService = ReturnType<typeof realtimeService>;
