/**
 * A Hub carries committed messages between server processes. Each process
 * fans out its own publishes directly and hears the others' through the hub.
 * The hub may lose messages (Redis restart, network blip): the database is
 * authoritative, so a receiver that sees a gap reads the missing messages from
 * it, and `onResync` asks the service to re-read every live topic after the
 * hub reconnects.
 *
 * Redis when configured, else PostgreSQL's LISTEN/NOTIFY when that is the
 * database, else one process needs no hub.
 *
 * @example
 * const hub = config.redisUrl ? redisHub(config.redisUrl, log) : localHub();
 * hub.onMessage((topic, seq, data) => fanOut(topic, seq, data));
 */
import { RedisClient } from "bun";
import postgres from "postgres";
import { parsePgUrl, schemaKey } from "../db/pg/url.ts";
import type { Logger } from "../lib/log.ts";

/** `data` null: the hub could not carry the payload (too large); read (topic, seq) from the database. */
export type HubListener = (topic: string, seq: number, data: string | null) => void;

export interface Hub {
  readonly kind: "local" | "redis" | "postgres";
  /** Tells the other processes; never delivers back to this one. */
  publish(topic: string, seq: number, data: string): void;
  onMessage(fn: HubListener): void;
  /** Called after a reconnect, when messages may have been missed. */
  onResync(fn: () => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** One process: nothing to tell anyone. */
export function localHub(): Hub {
  return {
    kind: "local",
    publish() {},
    onMessage() {},
    onResync() {},
    async start() {},
    async stop() {},
  };
}

export const REDIS_CHANNEL = "gauntlet:realtime";

/** A seq field ending in this says the data was left out (too large for the hub); see pgHub. */
const OMITTED = "*";

/** Parses one hub frame and hands it to the listeners, unless it is this process's own. */
/**
 * Follows a hub's publishes: the first failure of an outage is logged once and
 * a success ends the outage (receivers recover from the database on their next
 * message or resync, so one line per outage says enough). A publish still in
 * flight when the hub stops fails by design and is not news (`quiet`).
 */
function publishWatcher(log: Logger, message: string, quiet: () => boolean) {
  let warned = false;
  return (p: Promise<unknown>) => {
    p.then(
      () => {
        warned = false;
      },
      (err) => {
        if (!warned && !quiet()) log.warn(message, { err: (err as Error)?.message ?? String(err) });
        warned = true;
      },
    );
  };
}

function receiver(origin: string, listeners: HubListener[], log: Logger) {
  return (raw: string) => {
    // origin \n topic \n seq \n data: split on the first three newlines only, data is JSON and may hold none.
    const a = raw.indexOf("\n");
    const b = raw.indexOf("\n", a + 1);
    const c = raw.indexOf("\n", b + 1);
    if (a < 0 || b < 0 || c < 0) return;
    if (raw.slice(0, a) === origin) return;
    const topic = raw.slice(a + 1, b);
    const omitted = raw[c - 1] === OMITTED;
    const seq = Number(raw.slice(b + 1, omitted ? c - 1 : c));
    if (!Number.isSafeInteger(seq) || seq < 1) return;
    const data = omitted ? null : raw.slice(c + 1);
    for (const fn of listeners) {
      try {
        fn(topic, seq, data);
      } catch (err) {
        log.error("realtime hub listener failed", { err });
      }
    }
  };
}

/**
 * Redis pub/sub with Bun's built-in client. One channel for every topic: an
 * appliance has few instances and few topics, and one channel means a
 * subscriber never has to track which topics another process serves.
 *
 * Bun's client reconnects but does not resubscribe (checked on 1.4.5), so the
 * subscriber runs with autoReconnect off and is rebuilt with backoff instead.
 */
export function redisHub(url: string, log: Logger, opts: { channel?: string } = {}): Hub {
  const channel = opts.channel ?? REDIS_CHANNEL;
  const origin = crypto.randomUUID().slice(0, 12);
  const listeners: HubListener[] = [];
  const resyncs: Array<() => void> = [];
  let pub: RedisClient | null = null;
  let sub: RedisClient | null = null;
  let stopped = false;
  let retryMs = 100;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  const watchPublish = publishWatcher(log, "realtime redis publish failed", () => stopped);

  const onRaw = receiver(origin, listeners, log);

  async function connectSub(first: boolean): Promise<void> {
    const client = new RedisClient(url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 3000 });
    sub = client;
    client.onclose = () => {
      if (stopped || sub !== client) return;
      sub = null;
      log.warn("realtime redis subscriber lost; reconnecting", { retryMs });
      scheduleRetry();
    };
    try {
      // With the offline queue off, subscribe needs an open connection first.
      await client.connect();
      await client.subscribe(channel, onRaw);
      retryMs = 100;
      if (!first) {
        log.info("realtime redis subscriber back");
        for (const fn of resyncs) fn();
      }
    } catch (err) {
      // Redis down at boot must not stop the server: it serves its own clients and joins the others once Redis is back.
      log.warn("realtime redis subscriber could not connect; retrying", { err: (err as Error).message, first });
      if (sub === client) {
        sub = null;
        try {
          client.close();
        } catch {}
        scheduleRetry();
      }
    }
  }

  function scheduleRetry() {
    if (stopped || retryTimer) return;
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, 5000);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connectSub(false);
    }, wait);
    retryTimer.unref?.();
  }

  return {
    kind: "redis",
    publish(topic, seq, data) {
      if (!pub || stopped) return;
      watchPublish(pub.publish(channel, `${origin}\n${topic}\n${seq}\n${data}`));
    },
    onMessage(fn) {
      listeners.push(fn);
    },
    onResync(fn) {
      resyncs.push(fn);
    },
    async start() {
      pub = new RedisClient(url, { connectionTimeout: 3000 });
      // In parallel: an unreachable Redis costs one connection timeout at boot, not two.
      // Bun's client may keep retrying inside connect(), so boot waits at most a few seconds for it.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ready = Promise.all([
        pub.connect().catch((err) => log.warn("realtime redis publisher could not connect; it keeps retrying", { err: (err as Error).message })),
        connectSub(true),
      ]);
      const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), 3500)));
      if ((await Promise.race([ready, late])) === "late") log.warn("realtime redis not reachable yet; serving local clients meanwhile");
      clearTimeout(timer);
    },
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      for (const c of [sub, pub]) {
        try {
          c?.close();
        } catch {}
      }
      sub = pub = null;
    },
  };
}

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
const PG_NOTIFY_MAX = 7999;

/** The default LISTEN channel: one per schema, so test schemas sharing a database never hear each other. */
export const pgChannel = (schema: string) => `gauntlet_rt_${(schemaKey(schema) >>> 0).toString(16)}`;

/**
 * LISTEN/NOTIFY on the PostgreSQL that already holds the data: several
 * instances fan out without Redis. Same frames and origin filter as redisHub.
 *
 * A frame too large for NOTIFY goes out without its data (seq marked
 * OMITTED); receivers get data null and read the message from the database.
 *
 * postgres-js LISTENs on a connection of its own and, when that connection
 * drops, reconnects and LISTENs again by itself, calling onlisten each time
 * (checked on 3.4.9, also when the first attempt failed at boot). Any
 * onlisten after start() is such a re-listen, and asks for a resync.
 * Publishing shares the client's one pooled connection.
 */
export function pgHub(databaseUrl: string, log: Logger, opts: { channel?: string } = {}): Hub {
  const target = parsePgUrl(databaseUrl);
  const channel = opts.channel ?? pgChannel(target.schema);
  const origin = crypto.randomUUID().slice(0, 12);
  const listeners: HubListener[] = [];
  const resyncs: Array<() => void> = [];
  let sql: postgres.Sql | null = null;
  let started = false;
  let stopped = false;
  const watchPublish = publishWatcher(log, "realtime postgres notify failed", () => stopped);

  const onListen = () => {
    if (stopped || !started) return;
    log.info("realtime postgres listener back");
    for (const fn of resyncs) fn();
  };

  return {
    kind: "postgres",
    publish(topic, seq, data) {
      if (!sql || stopped) return;
      let payload = `${origin}\n${topic}\n${seq}\n${data}`;
      if (Buffer.byteLength(payload) > PG_NOTIFY_MAX) payload = `${origin}\n${topic}\n${seq}${OMITTED}\n`;
      watchPublish(sql`SELECT pg_notify(${channel}, ${payload})`);
    },
    onMessage(fn) {
      listeners.push(fn);
    },
    onResync(fn) {
      resyncs.push(fn);
    },
    async start() {
      sql = postgres(target.url, {
        max: 1,
        fetch_types: false,
        onnotice: () => {},
        connect_timeout: 3,
        // Reconnects (the listener's too) back off to at most 5 s, as redisHub does.
        backoff: (n: number) => Math.min(0.1 * 2 ** n, 5),
        connection: { application_name: "gauntlet-realtime" },
      });
      const onRaw = receiver(origin, listeners, log);
      // Postgres down at boot must not stop the server: postgres-js keeps retrying the LISTEN, and onListen resyncs when it lands.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ready = sql.listen(channel, onRaw, onListen).then(
        () => "ok" as const,
        (err) => log.warn("realtime postgres listener could not connect; retrying", { err: (err as Error).message }),
      );
      const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), 3500)));
      if ((await Promise.race([ready, late])) === "late") log.warn("realtime postgres not reachable yet; serving local clients meanwhile");
      clearTimeout(timer);
      started = true;
    },
    async stop() {
      stopped = true;
      const s = sql;
      sql = null;
      await s?.end({ timeout: 1 }).catch(() => {});
    },
  };
}
