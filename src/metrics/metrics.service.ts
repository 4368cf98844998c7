/**
 * Process metrics in the Prometheus text exposition format (version 0.0.4).
 * Request counters and the latency histogram live in memory (fed by the
 * analytics recorder for every request); gauges are read when scraped, from
 * the services that exist in this build (optional chaining, so the page works
 * before a domain lands) and from collectors other domains register.
 *
 * @example
 * s.metrics.register({ name: "gauntlet_things", help: "Things.", type: "gauge", collect: () => [{ value: 3 }] });
 */
import { statSync } from "node:fs";
import type { Db } from "../db/db.ts";
import { LATENCY_BUCKETS_MS } from "../analytics/analytics.service.ts";

export interface Sample {
  labels?: Record<string, string | number>;
  value: number;
}

export interface Collector {
  name: string;
  help: string;
  type: "gauge" | "counter";
  collect(): Sample[];
}

const escLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const fmt = (n: number) => (Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n));
const labelStr = (l?: Record<string, string | number>) => {
  if (!l) return "";
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escLabel(String(v))}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

interface RouteStats {
  method: string;
  route: string;
  /** Per status code. */
  byStatus: Map<number, number>;
  /** Non-cumulative bucket counts; the last is +Inf. */
  buckets: number[];
  sumMs: number;
  count: number;
}

/** Loose views of other domains' services; each is optional until that domain lands. */
interface Others {
  realtime?: { stats?(): { connections?: number }; connections?: number | (() => number) };
  queue?: { counts?(): unknown; depth?(): Record<string, number> };
  runner?: { health?(): { slots?: Record<string, number> } };
}

export function metricsService(deps: { db: Db }) {
  const { db } = deps;
  const routes = new Map<string, RouteStats>();
  const collectors: Collector[] = [];
  const started = Date.now();

  const tableExists = (name: string) =>
    db.dialect === "postgres"
      ? !!db.reader.query("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?").get(name)
      : !!db.reader.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);

  const service = {
    observeRequest(method: string, route: string, status: number, ms: number) {
      const key = `${method} ${route}`;
      let r = routes.get(key);
      if (!r) {
        // Route patterns are a bounded set; an unmatched path is "*", never the raw path.
        if (routes.size >= 2000) return;
        r = { method, route, byStatus: new Map(), buckets: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 };
        routes.set(key, r);
      }
      r.byStatus.set(status, (r.byStatus.get(status) ?? 0) + 1);
      let i = 0;
      while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]) i++;
      r.buckets[i]++;
      r.sumMs += ms;
      r.count++;
    },

    register(c: Collector) {
      const at = collectors.findIndex((x) => x.name === c.name);
      if (at >= 0) collectors[at] = c;
      else collectors.push(c);
    },

    /** The exposition text. `s` is the whole services object, read loosely. */
    async render(s: Others = {}): Promise<string> {
      const out: string[] = [];
      const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${escHelp(help)}`, `# TYPE ${name} ${type}`);
      const sample = (name: string, value: number, labels?: Record<string, string | number>) => out.push(`${name}${labelStr(labels)} ${fmt(value)}`);

      family("gauntlet_http_requests_total", "counter", "HTTP requests answered, by method, route pattern and status.");
      for (const r of routes.values()) for (const [status, n] of r.byStatus) sample("gauntlet_http_requests_total", n, { method: r.method, route: r.route, status });

      family("gauntlet_http_request_duration_seconds", "histogram", "Time to answer an HTTP request, by method and route pattern.");
      for (const r of routes.values()) {
        let cum = 0;
        for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
          cum += r.buckets[i];
          sample("gauntlet_http_request_duration_seconds_bucket", cum, { method: r.method, route: r.route, le: String(LATENCY_BUCKETS_MS[i] / 1000) });
        }
        cum += r.buckets[LATENCY_BUCKETS_MS.length];
        sample("gauntlet_http_request_duration_seconds_bucket", cum, { method: r.method, route: r.route, le: "+Inf" });
        sample("gauntlet_http_request_duration_seconds_sum", r.sumMs / 1000, { method: r.method, route: r.route });
        sample("gauntlet_http_request_duration_seconds_count", r.count, { method: r.method, route: r.route });
      }

      // Other domains' gauges are read loosely; a fault there must not take the whole page down.
      try {
        const ws = s.realtime;
        if (ws) {
          const n = typeof ws.stats === "function" ? ws.stats()?.connections : typeof ws.connections === "function" ? ws.connections() : ws.connections;
          if (typeof n === "number") {
            family("gauntlet_websocket_connections", "gauge", "Open websocket connections.");
            sample("gauntlet_websocket_connections", n);
          }
        }

        let depth: Record<string, number> | null = null;
        if (typeof s.queue?.counts === "function") {
          const c = (await s.queue.counts()) as Record<string, unknown>;
          // The queue answers { counts: {status: n}, byKind }; a flat {status: n} is accepted too.
          depth = (c && typeof c.counts === "object" ? c.counts : c) as Record<string, number>;
        }
        else if (typeof s.queue?.depth === "function") depth = s.queue.depth();
        else if (tableExists("jobs")) {
          // The queue's table per the design (a status column); read directly until its service offers counts().
          const rows = db.reader.query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").all() as { status: string; n: number }[];
          depth = Object.fromEntries(rows.map((r) => [r.status, r.n]));
        }
        if (depth) {
          family("gauntlet_queue_jobs", "gauge", "Durable jobs by status.");
          for (const [status, n] of Object.entries(depth)) if (typeof n === "number") sample("gauntlet_queue_jobs", n, { status });
        }

        const slots = typeof s.runner?.health === "function" ? s.runner.health()?.slots : undefined;
        if (slots && typeof slots === "object") {
          family("gauntlet_runner_slots", "gauge", "Code-runner sandbox slots by state.");
          for (const [state, n] of Object.entries(slots)) if (typeof n === "number") sample("gauntlet_runner_slots", n, { state });
        }
      } catch {}

      if (db.dialect === "postgres") {
        // The schema's tables and indexes (the database may hold other schemas and other apps).
        const { bytes } = db.reader
          .query("SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'")
          .get() as { bytes: number };
        family("gauntlet_database_bytes", "gauge", "Size of the PostgreSQL schema's tables with their indexes and TOAST.");
        sample("gauntlet_database_bytes", bytes, { file: "main" });
      } else {
        const { page_count } = db.reader.query("PRAGMA page_count").get() as { page_count: number };
        const { page_size } = db.reader.query("PRAGMA page_size").get() as { page_size: number };
        let wal = 0;
        try {
          wal = statSync(db.path + "-wal").size;
        } catch {}
        family("gauntlet_database_bytes", "gauge", "Size of the SQLite store: main file (pages) and write-ahead log.");
        sample("gauntlet_database_bytes", page_count * page_size, { file: "main" });
        sample("gauntlet_database_bytes", wal, { file: "wal" });
      }
      family("gauntlet_database_commits_total", "counter", "Group commits and the write bodies they carried.");
      sample("gauntlet_database_commits_total", db.stats.batches, { kind: "batches" });
      sample("gauntlet_database_commits_total", db.stats.writes, { kind: "writes" });

      const mem = process.memoryUsage();
      family("gauntlet_process_memory_bytes", "gauge", "Process memory by kind.");
      sample("gauntlet_process_memory_bytes", mem.rss, { kind: "rss" });
      sample("gauntlet_process_memory_bytes", mem.heapUsed, { kind: "heap_used" });
      sample("gauntlet_process_memory_bytes", mem.heapTotal, { kind: "heap_total" });
      sample("gauntlet_process_memory_bytes", mem.external, { kind: "external" });
      family("gauntlet_process_uptime_seconds", "gauge", "Seconds since this process built its metrics.");
      sample("gauntlet_process_uptime_seconds", (Date.now() - started) / 1000);

      for (const c of collectors) {
        let samples: Sample[];
        try {
          samples = c.collect();
        } catch {
          continue;
        }
        family(c.name, c.type, c.help);
        for (const x of samples) sample(c.name, x.value, x.labels);
      }
      return out.join("\n") + "\n";
    },
  };
  return service;
}

export type MetricsService = ReturnType<typeof metricsService>;
