/**
 * Sliding-window rate limits: at most `limit` hits per key in any window of
 * `windowMs`. Exact (a log of hit times per key), which the hunt rules need
 * ("any sliding 60 s window"); limits here are small, so the logs are short.
 * Time comes from the injected clock. A Redis-backed implementation of the
 * same interface shares counters across instances.
 */
import type { Clock } from "./clock.ts";

export interface RateResult {
  ok: boolean;
  /** Whole seconds until one more hit would be allowed (0 when ok). */
  retryAfter: number;
}

export interface RateLimiter {
  /** Counts a hit if allowed; a refused hit is not counted. */
  hit(key: string, limit: number, windowMs: number): RateResult;
  /** Checks without counting. */
  peek(key: string, limit: number, windowMs: number): RateResult;
  reset(key: string): void;
}

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

  const check = (key: string, limit: number, windowMs: number, count: boolean): RateResult => {
    const now = clock.now();
    const log = prune(key, windowMs, now);
    if (log && log.length >= limit) {
      const oldestRelevant = log[log.length - limit];
      return { ok: false, retryAfter: Math.max(1, Math.ceil((oldestRelevant + windowMs - now) / 1000)) };
    }
    if (count) {
      if (log) log.push(now);
      else {
        // Bound memory under a flood of distinct keys: evict the oldest entry.
        if (logs.size >= maxKeys) logs.delete(logs.keys().next().value!);
        logs.set(key, [now]);
      }
    }
    return { ok: true, retryAfter: 0 };
  };

  return {
    hit: (k, l, w) => check(k, l, w, true),
    peek: (k, l, w) => check(k, l, w, false),
    reset: (k) => void logs.delete(k),
  };
}
