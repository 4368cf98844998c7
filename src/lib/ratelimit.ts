/**
 * Sliding-window rate limits: at most `limit` hits per key in any window of
 * `windowMs`. Exact (a log of hit times per key), which the hunt rules need
 * ("any sliding 60 s window"); limits here are small, so the logs are short.
 * Time comes from the injected clock (the fake clock in tests), never from
 * Redis, so both implementations see the same time.
 *
 * Two implementations of one interface: in process (one instance), and Redis
 * (GAUNTLET_REDIS_URL: every instance shares the counts), which falls back to
 * the in-process one while Redis is unreachable.
 */
import type { Clock } from "./clock.ts";
import type { Logger } from "./log.ts";
import { redisScript, type RedisLink } from "./redis.ts";

export interface RateResult {
  ok: boolean;
  /** Whole seconds until one more hit would be allowed (0 when ok). */
  retryAfter: number;
}

export interface RateRule {
  key: string;
  limit: number;
  windowMs: number;
}

export interface RateLimiter {
  readonly kind: "memory" | "redis";
  /** Counts a hit if allowed; a refused hit is not counted. */
  hit(key: string, limit: number, windowMs: number): Promise<RateResult>;
  /** Checks without counting. */
  peek(key: string, limit: number, windowMs: number): Promise<RateResult>;
  /** All or nothing: counts a hit on every rule only if every rule allows it; retryAfter is the longest wait. */
  hitAll(rules: RateRule[]): Promise<RateResult>;
  reset(key: string): Promise<void>;
}

const OK: RateResult = Object.freeze({ ok: true, retryAfter: 0 });

/** Seconds until the hit at `oldestRelevant` leaves the window, at least 1. Both implementations use it. */
export const retryAfterOf = (oldestRelevant: number, windowMs: number, now: number) => Math.max(1, Math.ceil((oldestRelevant + windowMs - now) / 1000));

export function memoryRateLimiter(clock: Clock, maxKeys = 200_000): RateLimiter {
  const logs = new Map<string, number[]>();

  const prune = (key: string, windowMs: number, now: number) => {
    const log = logs.get(key);
    if (!log) return undefined;
    let i = 0;
    while (i < log.length && log[i] <= now - windowMs) i++;
    if (i) log.splice(0, i);
    if (log.length === 0) {
      logs.delete(key);
      return undefined;
    }
    return log;
  };

  const push = (key: string, now: number) => {
    const log = logs.get(key);
    if (log) log.push(now);
    else {
      // Bound memory under a flood of distinct keys: evict the oldest entry.
      if (logs.size >= maxKeys) logs.delete(logs.keys().next().value!);
      logs.set(key, [now]);
    }
  };

  /** Checks every rule, then counts on all of them only if all allow it. */
  const check = (rules: RateRule[], count: boolean): RateResult => {
    const now = clock.now();
    let retryAfter = 0;
    for (const r of rules) {
      const log = prune(r.key, r.windowMs, now);
      if (log && log.length >= r.limit) retryAfter = Math.max(retryAfter, retryAfterOf(log[log.length - r.limit], r.windowMs, now));
    }
    if (retryAfter) return { ok: false, retryAfter };
    if (count) for (const r of rules) push(r.key, now);
    return OK;
  };

  return {
    kind: "memory",
    hit: (key, limit, windowMs) => Promise.resolve(check([{ key, limit, windowMs }], true)),
    peek: (key, limit, windowMs) => Promise.resolve(check([{ key, limit, windowMs }], false)),
    hitAll: (rules) => Promise.resolve(check(rules, true)),
    reset: (key) => Promise.resolve(void logs.delete(key)),
  };
}

/**
 * The same algorithm on Redis sorted sets (score = hit time), one script per
 * call so a check and its count are atomic across instances. Returns, per
 * key, "" when allowed or the time of the hit that must leave the window
 * first; the caller turns it into Retry-After with retryAfterOf.
 * KEYS: the rules' keys. ARGV: now, member, count (1/0), then per key limit,
 * cutoff (now - window: hits at or before it are out) and expiry in ms.
 */
const SLIDING_WINDOW = redisScript(`
local out = {}
local refused = false
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + 3 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[2 + 3 * i])
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    out[i] = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')[2]
    refused = true
  else
    out[i] = ''
  end
end
if ARGV[3] == '1' and not refused then
  for i = 1, #KEYS do
    redis.call('ZADD', KEYS[i], ARGV[1], ARGV[2] .. ':' .. i)
    redis.call('PEXPIRE', KEYS[i], ARGV[3 + 3 * i])
  end
end
return out
`);

const DAY = 24 * 60 * 60_000;

export interface RedisRateLimiterOptions {
  /** Namespace under the link's prefix; tests pass a unique one. */
  prefix?: string;
}

/**
 * Counts shared by every instance through Redis. While Redis is unreachable
 * (down, partitioned, slower than the link's timeout) each call falls back to
 * this process's own limiter, with one warning per outage: failing closed
 * would lock every player out of answering and logging in for the length of
 * the outage, failing open would switch off the brute-force protection. Per
 * process, the configured limits still hold on each instance, so a client
 * spread over N instances gets at most N times the limit meanwhile. Counts
 * made during the outage stay in the process (Redis never learns them), and
 * counts already in Redis are not seen by the fallback: at most one extra
 * window's allowance, once, on each side of an outage.
 */
export function redisRateLimiter(link: RedisLink, clock: Clock, log: Logger, opts: RedisRateLimiterOptions = {}): RateLimiter {
  const ns = link.prefix + (opts.prefix ?? "rl:");
  const local = memoryRateLimiter(clock);
  const origin = crypto.randomUUID().slice(0, 8);
  let seq = 0;
  let degraded = false;

  const lost = (err: unknown) => {
    if (!degraded) log.warn("rate limits: redis unavailable, limiting in this process until it is back", { err: (err as Error).message });
    degraded = true;
  };

  /** Several rules only when counting (hitAll); a peek is always of one rule. */
  async function run(rules: RateRule[], count: boolean): Promise<RateResult> {
    const now = clock.now();
    const args = [String(now), `${origin}:${++seq}`, count ? "1" : "0"];
    // Expiry only collects garbage: the window is enforced by the score cutoff. A frozen fake clock must not lose hits to wall time.
    for (const r of rules) args.push(String(r.limit), String(now - r.windowMs), String(Math.ceil(clock.fake ? Math.max(r.windowMs, DAY) : r.windowMs)));
    let out: string[];
    try {
      out = await link.eval(SLIDING_WINDOW, rules.map((r) => ns + r.key), args);
    } catch (err) {
      lost(err);
      return count ? local.hitAll(rules) : local.peek(rules[0].key, rules[0].limit, rules[0].windowMs);
    }
    if (degraded) log.info("rate limits: shared through redis again");
    degraded = false;
    let retryAfter = 0;
    rules.forEach((r, i) => {
      if (out[i]) retryAfter = Math.max(retryAfter, retryAfterOf(Number(out[i]), r.windowMs, now));
    });
    return retryAfter ? { ok: false, retryAfter } : OK;
  }

  return {
    kind: "redis",
    hit: (key, limit, windowMs) => run([{ key, limit, windowMs }], true),
    peek: (key, limit, windowMs) => run([{ key, limit, windowMs }], false),
    hitAll: (rules) => run(rules, true),
    async reset(key) {
      await local.reset(key);
      try {
        await link.send("DEL", [ns + key]);
      } catch (err) {
        lost(err);
      }
    },
  };
}
