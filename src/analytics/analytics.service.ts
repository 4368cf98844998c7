/**
 * Request analytics: one row per request, written in batches so recording
 * costs a request only an object push. better-queue is the in-memory batcher
 * (batchSize/batchDelay); each batch becomes one group-committed write that
 * inserts the raw rows and folds them into the per-minute rollups, so rollups
 * always match the rows they summarise. Best-effort by design: rows still in
 * memory when the process is killed are lost, which is acceptable for
 * statistics and never for game state (that goes through the durable queue).
 *
 * Privacy: no bodies, ever; the query string keeps values only for
 * allow-listed parameters; the referer loses its query and fragment; the
 * client IP is truncated (/24, /48), hashed with a per-install salt, or kept
 * in full, per `analyticsIp`.
 */
import BetterQueue from "better-queue";
// Passed explicitly: better-queue otherwise require()s "better-queue-" + name at run
// time, which a compiled binary cannot resolve outside the repository.
import MemoryStore from "better-queue-memory";
import type { Deps } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import type { MetricsService } from "../metrics/metrics.service.ts";
import { analyticsStore, type LatencyDelta, type RequestRow, type RollupDelta } from "./analytics.store.ts";

/** Latency histogram bounds in ms, shared with /metrics. */
export const LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

/** Query parameters whose values are harmless to keep (paging and filters). */
export const QUERY_ALLOW = new Set(["limit", "offset", "page", "status", "kind", "window", "sort", "order", "format"]);

export interface RequestFacts {
  method: string;
  route: string;
  status: number;
  durationMs: number;
  requestId?: string | null;
  ip?: string | null;
  /** The full request URL; only its allow-listed query values are kept. */
  url?: string | null;
  referer?: string | null;
  host?: string | null;
  userAgent?: string | null;
  userId?: number | null;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const cap = (s: string | null | undefined, n: number) => (s ? (s.length > n ? s.slice(0, n) : s) : null);

/** `fn` with its results remembered for up to `max` distinct inputs (then forgotten all at once); empty input maps to null. */
function memoized<T>(max: number, fn: (key: string) => T): (key: string | null | undefined) => T | null {
  const cache = new Map<string, T>();
  return (key) => {
    if (!key) return null;
    let v = cache.get(key);
    if (v === undefined) {
      v = fn(key);
      if (cache.size >= max) cache.clear();
      cache.set(key, v);
    }
    return v;
  };
}

/** Keeps allow-listed values; other parameters appear by name only, so nobody learns their value. */
export function sanitizeQuery(url: string | null | undefined): string | null {
  if (!url) return null;
  const q = url.indexOf("?");
  if (q < 0 || q === url.length - 1) return null;
  const hash = url.indexOf("#", q);
  const params = new URLSearchParams(url.slice(q + 1, hash < 0 ? undefined : hash));
  const parts: string[] = [];
  for (const [k, v] of params) {
    if (parts.length >= 20) break;
    const key = cap(k, 32)!;
    parts.push(QUERY_ALLOW.has(k) ? `${encodeURIComponent(key)}=${encodeURIComponent(cap(v, 64) ?? "")}` : encodeURIComponent(key));
  }
  return parts.length ? parts.join("&") : null;
}

/** Origin and path only: a referer's query string can carry tokens of another site. */
export function sanitizeReferer(ref: string | null | undefined): string | null {
  if (!ref) return null;
  try {
    const u = new URL(ref);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    return cap(u.origin + u.pathname, 256);
  } catch {
    return null;
  }
}

function expandV6(ip: string): string[] | null {
  const [head, tail] = ip.split("::");
  if (ip.split("::").length > 2) return null;
  const h = head ? head.split(":") : [];
  const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
  if (tail === undefined && h.length !== 8) return null;
  const fill = 8 - h.length - t.length;
  if (fill < 0) return null;
  return [...h, ...Array(fill).fill("0"), ...t];
}

/** /24 for IPv4, /48 for IPv6. */
export function truncateIp(ip: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(ip);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (ip.includes(":")) {
    const g = expandV6(ip.replace(/%.*$/, ""));
    if (g) return `${g.slice(0, 3).map((x) => x.toLowerCase().replace(/^0+(?=.)/, "")).join(":")}::/48`;
  }
  return "invalid";
}

export function bucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]) return i;
  return LATENCY_BUCKETS_MS.length;
}

/** Percentile from a histogram, interpolated linearly inside the bucket that holds it. */
export function percentile(buckets: { le: number; count: number }[], q: number): number | null {
  const bounds = [...LATENCY_BUCKETS_MS, -1];
  const counts = bounds.map((le) => buckets.find((b) => b.le === le)?.count ?? 0);
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    if (cum + counts[i] >= rank && counts[i] > 0) {
      const lo = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1];
      if (i === LATENCY_BUCKETS_MS.length) return lo; // +Inf bucket: the last finite bound is all we know
      const hi = LATENCY_BUCKETS_MS[i];
      return Math.round((lo + ((rank - cum) / counts[i]) * (hi - lo)) * 100) / 100;
    }
    cum += counts[i];
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1];
}

const WINDOW_RE = /^(\d{1,4})([mhd])$/;
const UNIT = { m: MINUTE, h: 60 * MINUTE, d: DAY } as const;

export function parseWindow(w: string, maxMs: number): number {
  const m = WINDOW_RE.exec(w);
  if (!m) throw new AppError("validation_failed", "window: use a number and a unit, e.g. 15m, 1h, 7d");
  const ms = Number(m[1]) * UNIT[m[2] as keyof typeof UNIT];
  if (ms < MINUTE || ms > maxMs) throw new AppError("validation_failed", `window: between 1m and ${Math.round(maxMs / DAY)}d`);
  return ms;
}

export interface AnalyticsOptions {
  /** Chunks per write; a chunk holds the rows recorded in one event-loop turn (at most 100). */
  batchSize?: number;
  batchDelayMs?: number;
  /** Rows waiting in memory beyond this are dropped (and counted) rather than growing without bound. */
  maxPending?: number;
  metrics?: MetricsService;
}

export function analyticsService(deps: Deps, opts: AnalyticsOptions = {}) {
  const { db, clock, config, log } = deps;
  const store = analyticsStore(db);
  const maxPending = opts.maxPending ?? 50_000;
  const mode = config.analyticsIp;
  const enabled = config.analytics;
  let salt: string | null = null;
  let pending = 0;
  let dropped = 0;
  let written = 0;
  let failed = 0;
  let stopped = false;
  const idle: Array<() => void> = [];

  const hashIp = (ip: string) => {
    if (salt === null) salt = store.saltRow()?.value ?? store.createSalt(Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex"));
    return "h:" + new Bun.CryptoHasher("sha256").update(salt).update(ip).digest("hex").slice(0, 16);
  };
  // The same few clients and pages send most requests: remember each mapped form (bounded).
  const ipOf = memoized(10_000, (ip: string) => (mode === "hash" ? hashIp(ip) : truncateIp(ip)));
  const privacyIp = (ip: string | null | undefined) => (!ip ? null : mode === "full" ? cap(ip, 64) : ipOf(ip));
  const refererOf = memoized(1_000, sanitizeReferer);

  const writeBatch = (rows: RequestRow[]) => {
    const roll = new Map<string, RollupDelta>();
    const lat = new Map<string, LatencyDelta>();
    for (const r of rows) {
      const minute = Math.floor(r.ts / MINUTE) * MINUTE;
      const k = `${minute}\u0000${r.method}\u0000${r.route}\u0000${r.status}`;
      const d = roll.get(k);
      if (d) {
        d.count++;
        d.totalMs += r.durationMs;
      } else roll.set(k, { minute, method: r.method, route: r.route, status: r.status, count: 1, totalMs: r.durationMs });
      const bi = bucketIndex(r.durationMs);
      const le = bi < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[bi] : -1;
      const lk = `${minute}:${le}`;
      const l = lat.get(lk);
      if (l) l.count++;
      else lat.set(lk, { minute, le, count: 1 });
    }
    return db.write(() => store.insertBatch(rows, [...roll.values()], [...lat.values()]));
  };

  const settle = (n: number) => {
    pending -= n;
    if (pending === 0) for (const f of idle.splice(0)) f();
  };

  // Rows recorded in one turn of the event loop travel as one chunk: better-queue's
  // per-task bookkeeping (an id, a ticket, events) then costs once per chunk, not per request.
  type Chunk = { rows: RequestRow[] };
  const batcher = new BetterQueue<Chunk, void>(
    (batch: Chunk | Chunk[], cb: (err?: unknown) => void) => {
      const rows = (Array.isArray(batch) ? batch : [batch]).flatMap((c) => c.rows);
      writeBatch(rows).then(
        () => {
          written += rows.length;
          settle(rows.length);
          cb();
        },
        (err) => {
          failed += rows.length;
          settle(rows.length);
          log.warn("analytics batch not written", { err, rows: rows.length });
          cb();
        },
      );
    },
    // No `id` option and no `id` field in a row: better-queue would merge rows sharing one.
    // Small, frequent batches: the insert runs on the event loop, so 10,000 rows
    // written once a second would stall every request for ~20 ms (a p99 spike);
    // ≤ 1,000 rows every 100 ms costs the same in total and stalls ~2 ms.
    { batchSize: opts.batchSize ?? 10, batchDelay: opts.batchDelayMs ?? 100, maxRetries: 0, store: new MemoryStore() },
  );

  const CHUNK_ROWS = 100;
  let chunk: Chunk | null = null;
  const pushChunk = () => {
    if (!chunk) return;
    batcher.push(chunk);
    chunk = null;
  };

  const pruneOnce = async () => {
    const now = clock.now();
    const cutoff = now - config.analyticsRetentionDays * DAY;
    const r = await db.write(() => store.prune(cutoff, Math.floor(cutoff / MINUTE) * MINUTE));
    if (r.raw || r.rollups) log.info("analytics pruned", { ...r, before: cutoff });
    return r;
  };
  // Pruning is idempotent, so every instance may run it; hourly keeps each delete small.
  const pruneTimer = setInterval(() => void pruneOnce().catch((err) => log.warn("analytics prune failed", { err })), 3_600_000);
  pruneTimer.unref?.();

  const service = {
    /** Never throws, never waits: the request has already been answered. */
    record(f: RequestFacts) {
      opts.metrics?.observeRequest(f.method, f.route, f.status, f.durationMs);
      if (stopped || !enabled) return;
      if (pending >= maxPending) {
        dropped++;
        return;
      }
      try {
        const row: RequestRow = {
          ts: clock.now(),
          method: cap(f.method, 16)!,
          route: cap(f.route, 200) || "unknown",
          status: f.status,
          durationMs: Math.round(f.durationMs * 1000) / 1000,
          requestId: cap(f.requestId, 64),
          ip: privacyIp(f.ip),
          query: sanitizeQuery(f.url),
          referer: refererOf(f.referer),
          host: cap(f.host, 128),
          userAgent: cap(f.userAgent, 256),
          userId: f.userId ?? null,
        };
        pending++;
        if (!chunk) {
          chunk = { rows: [] };
          setImmediate(pushChunk);
        }
        chunk.rows.push(row);
        if (chunk.rows.length >= CHUNK_ROWS) pushChunk();
      } catch (err) {
        log.warn("analytics record failed", { err });
      }
    },

    /** Resolves once every row recorded so far is committed. */
    flush(): Promise<void> {
      if (pending === 0) return Promise.resolve();
      return new Promise((r) => idle.push(r));
    },

    async stop() {
      stopped = true;
      clearInterval(pruneTimer);
      const t = new Promise<void>((r) => setTimeout(r, 5000).unref?.());
      await Promise.race([service.flush(), t]);
      batcher.destroy(() => {});
    },

    prune: pruneOnce,

    stats: () => ({ pending, written, dropped, failed }),

    /** The organiser's view of the last `windowMs`. */
    summary(windowMs: number) {
      const to = clock.now();
      const from = to - windowMs;
      const fromMin = Math.floor(from / MINUTE) * MINUTE;
      const toMin = Math.floor(to / MINUTE) * MINUTE + MINUTE;
      const perMinute = store.perMinute(fromMin, toMin);
      const byMinute = new Map(perMinute.map((r) => [r.minute, r.count]));
      const series: { minute: number; count: number }[] = [];
      for (let m = fromMin; m < toMin; m += MINUTE) series.push({ minute: m, count: byMinute.get(m) ?? 0 });
      const buckets = store.latencyBuckets(fromMin, toMin);
      const total = perMinute.reduce((a, r) => a + r.count, 0);
      return {
        window: { from: fromMin, to: toMin, ms: windowMs },
        total,
        series,
        latencyMs: {
          p50: percentile(buckets, 0.5),
          p95: percentile(buckets, 0.95),
          p99: percentile(buckets, 0.99),
          mean: total ? Math.round((perMinute.reduce((a, r) => a + r.totalMs, 0) / total) * 100) / 100 : null,
        },
        statuses: store.statuses(fromMin, toMin),
        topRoutes: store.topRoutes(fromMin, toMin, 20).map((r) => ({ ...r, avgMs: Math.round(r.avgMs * 100) / 100 })),
        topReferers: store.topReferers(fromMin, toMin, 20),
        recorder: { pending, written, dropped, failed },
      };
    },

    store,
  };
  return service;
}

export type AnalyticsService = ReturnType<typeof analyticsService>;
