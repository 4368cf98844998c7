/**
 * A short-lived cache shared by every instance through Redis, for results
 * that are costly to compute and the same for everyone (a leaderboard page).
 * A miss is computed once across instances: the first to miss takes a lock
 * (SET NX, in the same round trip as the read) and computes; the others poll
 * for its value for up to `waitMs`, then compute themselves. Within a process,
 * concurrent misses of one key share one computation, and a value read or
 * computed is kept (parsed) until its Redis copy expires, never longer, so a
 * hot key costs no round trip and no parse.
 *
 * Redis only ever saves work: when it is unreachable the value is computed
 * here, as without Redis, with one warning per outage.
 *
 * @example
 * const cache = sharedCache(link, log, { prefix: "lb:" });
 * const page = await cache.get(`live:${eventId}:${version}`, 1000, () => store.page(eventId));
 */
import type { Logger } from "./log.ts";
import { redisScript, type RedisLink } from "./redis.ts";

export interface SharedCache {
  /** The value stored under key in the last ttlMs, or compute() stored there for the next ttlMs. */
  get<T>(key: string, ttlMs: number, compute: () => T | Promise<T>): Promise<T>;
  /** Counts since start: answered from Redis, from this process's copy, computed here. */
  readonly stats: { hits: number; local: number; computed: number };
}

/** KEYS: value, lock. ARGV: lock token, lock ms. {1, value, ms left} | {2} (lock taken: compute) | {0} (someone else computes). */
const READ_OR_LOCK = redisScript(`
local v = redis.call('GET', KEYS[1])
if v then return {1, v, redis.call('PTTL', KEYS[1])} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`);

/** KEYS: value, lock. ARGV: value, ttl ms, lock token. Stores the value and frees the lock if still ours. */
const STORE = redisScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
`);

export interface SharedCacheOptions {
  /** Namespace under the link's prefix, e.g. "lb:". */
  prefix?: string;
  /** How long a miss waits for another instance's computation before computing itself. */
  waitMs?: number;
  /** How long a lock holder may take before another instance computes. */
  lockMs?: number;
  /** Most values kept parsed in the process. */
  localMax?: number;
}

export function sharedCache(link: RedisLink, log: Logger, opts: SharedCacheOptions = {}): SharedCache {
  const ns = link.prefix + (opts.prefix ?? "cache:");
  const waitMs = opts.waitMs ?? 1000;
  const lockMs = opts.lockMs ?? 5000;
  const localMax = opts.localMax ?? 256;
  const inflight = new Map<string, Promise<unknown>>();
  const local = new Map<string, { value: unknown; until: number }>();
  const stats = { hits: 0, local: 0, computed: 0 };
  let degraded = false;

  const keep = (key: string, value: unknown, ms: number) => {
    if (ms <= 0) return;
    if (local.size >= localMax) {
      const t = performance.now();
      for (const [k, v] of local) if (v.until <= t) local.delete(k);
      if (local.size >= localMax) local.delete(local.keys().next().value!);
    }
    local.set(key, { value, until: performance.now() + ms });
  };

  const failed = (err: unknown) => {
    if (!degraded) log.warn("shared cache: redis unavailable, computing in this process until it is back", { err: (err as Error).message });
    degraded = true;
  };

  async function load<T>(key: string, ttlMs: number, compute: () => T | Promise<T>): Promise<T> {
    const k = ns + key;
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const lock = k + ":lock";
    const token = crypto.randomUUID();
    const own = async () => {
      stats.computed++;
      return await compute();
    };
    let r: [number, string?, number?];
    try {
      r = await link.eval(READ_OR_LOCK, [k, lock], [token, String(lockMs)]);
    } catch (err) {
      failed(err);
      return await own();
    }
    if (degraded) log.info("shared cache: redis reachable again");
    degraded = false;
    if (r[0] === 1) {
      stats.hits++;
      const value = JSON.parse(r[1]!) as T;
      keep(key, value, Math.min(ttl, r[2] ?? 0));
      return value;
    }
    if (r[0] === 0) {
      // Another instance computes it: wait for its value (it usually lands within a few ms).
      const end = performance.now() + waitMs;
      for (let pause = 2; performance.now() < end; pause = Math.min(pause * 2, 50)) {
        await Bun.sleep(pause);
        let v: string | null;
        try {
          v = await link.send("GET", [k]);
        } catch (err) {
          failed(err);
          break;
        }
        if (v !== null) {
          stats.hits++;
          // Kept in the process only from its next read, which says how long it has left.
          return JSON.parse(v) as T;
        }
      }
    }
    const t = performance.now();
    const value = await own();
    try {
      await link.eval(STORE, [k, lock], [JSON.stringify(value), String(ttl), token]);
      keep(key, value, ttl - (performance.now() - t));
    } catch (err) {
      failed(err);
    }
    return value;
  }

  return {
    stats,
    get<T>(key: string, ttlMs: number, compute: () => T | Promise<T>): Promise<T> {
      const mine = local.get(key);
      if (mine) {
        if (performance.now() < mine.until) {
          stats.local++;
          return Promise.resolve(mine.value as T);
        }
        local.delete(key);
      }
      const pending = inflight.get(key);
      if (pending) return pending as Promise<T>;
      const p = load(key, ttlMs, compute).finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },
  };
}
