/**
 * One Redis connection per process for request-path commands (shared rate
 * limits, the leaderboard cache). Built to fail fast: a command sent while
 * Redis is down rejects at once, and one Redis leaves unanswered for
 * `timeoutMs` rejects and drops the connection (a hung or partitioned Redis
 * looks the same as a dead one). The connection is rebuilt in the background
 * with backoff; callers decide what a failure means (they fall back to
 * per-process state and never wait on Redis longer than the timeout).
 *
 * The realtime hub keeps its own connections (a subscriber cannot send
 * commands). Keys are namespaced by `prefix` (default `gauntlet:`).
 *
 * @example
 * const link = redisLink(config.redisUrl, log);
 * await link.eval(script, ["gauntlet:rl:k"], ["1"]);
 */
import { RedisClient } from "bun";
import type { Logger } from "./log.ts";

export interface RedisScript {
  source: string;
  sha: string;
}

export const redisScript = (source: string): RedisScript => ({ source, sha: new Bun.CryptoHasher("sha1").update(source).digest("hex") });

export class RedisUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisUnavailable";
  }
}

export interface RedisLink {
  /** Key namespace, e.g. "gauntlet:". */
  readonly prefix: string;
  /** Rejects with RedisUnavailable while disconnected or after the timeout. */
  send(command: string, args: string[]): Promise<any>;
  /** EVALSHA, loading the script with EVAL when Redis does not have it (first use, or after a Redis restart). */
  eval(script: RedisScript, keys: string[], args: string[]): Promise<any>;
  readonly connected: boolean;
  close(): void;
}

export interface RedisLinkOptions {
  prefix?: string;
  /** Longest wait for one reply (ms). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
}

export function redisLink(url: string, log: Logger, opts: RedisLinkOptions = {}): RedisLink {
  const timeoutMs = opts.timeoutMs ?? 500;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 1000;
  let client: RedisClient | null = null;
  /** The first connection: commands wait for it (once) instead of failing during boot. */
  let first: Promise<void> | null = null;
  let retryMs = 100;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let down = false;

  function markDown(reason: string) {
    if (!down) log.warn("redis unavailable; retrying in the background", { reason });
    down = true;
    scheduleRetry();
  }

  async function connect(): Promise<void> {
    if (closed) return;
    const c = new RedisClient(url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: connectTimeoutMs });
    client = c;
    c.onclose = () => {
      if (closed || client !== c) return;
      client = null;
      markDown("connection closed");
    };
    try {
      await c.connect();
      if (client !== c) return;
      retryMs = 100;
      if (down) log.info("redis reachable again");
      down = false;
    } catch (err) {
      if (client === c) {
        client = null;
        try {
          c.close();
        } catch {}
        markDown((err as Error).message);
      }
    }
  }

  function scheduleRetry() {
    if (closed || retryTimer) return;
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, 5000);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, wait);
    retryTimer.unref?.();
  }

  async function send(command: string, args: string[]): Promise<any> {
    if (closed) throw new RedisUnavailable("redis link closed");
    if (!first) first = connect();
    if (!client?.connected) await first;
    const c = client;
    if (!c?.connected) throw new RedisUnavailable("redis not connected");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailable(`redis did not answer in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([c.send(command, args), late]);
    } catch (err) {
      if (err instanceof RedisUnavailable) {
        // Unanswered: drop this connection (its pending commands reject) and rebuild it.
        if (client === c) {
          client = null;
          try {
            c.close();
          } catch {}
          markDown(err.message);
        }
        throw err;
      }
      // A server error reply (ERR_REDIS_SERVER_ERROR) is an answer; anything else means the connection failed.
      if ((err as { code?: string }).code === "ERR_REDIS_SERVER_ERROR") throw err;
      throw new RedisUnavailable((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    prefix: opts.prefix ?? "gauntlet:",
    send,
    async eval(script, keys, args) {
      const rest = [String(keys.length), ...keys, ...args];
      try {
        return await send("EVALSHA", [script.sha, ...rest]);
      } catch (err) {
        if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
        return await send("EVAL", [script.source, ...rest]);
      }
    },
    get connected() {
      return !!client?.connected;
    },
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      try {
        client?.close();
      } catch {}
      client = null;
    },
  };
}
