/**
 * The typed, frozen Config. Sources, strongest first: command-line flags,
 * `GAUNTLET_*` environment variables, `gauntlet.toml` in the data directory,
 * then the defaults below. Parsed once at boot; a bad value throws a
 * ConfigError naming the setting (main.ts turns it into exit code 2).
 *
 * Each setting is declared once in SETTINGS with its default and doc; the
 * README's configuration table and `gauntlet serve --help` are printed from it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { isPostgresUrl, parsePgUrl } from "./db/pg/url.ts";

type Kind =
  | { type: "string" }
  | { type: "int"; min: number; max: number }
  | { type: "bool" }
  | { type: "enum"; values: readonly string[] }
  | { type: "list" };

interface Setting {
  key: string;
  kind: Kind;
  default: unknown;
  doc: string;
  /** Flag name without dashes; defaults to the key in kebab-case. */
  flag?: string;
}

const S = <K extends string>(key: K, kind: Kind, def: unknown, doc: string, flag?: string) =>
  ({ key, kind, default: def, doc, flag }) as Setting & { key: K };

export const SETTINGS = [
  S("dataDir", { type: "string" }, "./data", "Folder for the database, blobs and backups (never derived from the binary's location).", "data"),
  S("host", { type: "string" }, "127.0.0.1", "Address to listen on. Keep 127.0.0.1 behind Caddy; 0.0.0.0 to serve a LAN directly."),
  S("port", { type: "int", min: 0, max: 65535 }, 3000, "TCP port to listen on (0 picks a free one)."),
  S("env", { type: "enum", values: ["development", "production", "test"] }, "development", "Mode. production refuses the fake clock and marks cookies Secure behind TLS. Also read from NODE_ENV."),
  S("roles", { type: "list" }, ["api", "worker", "cron", "runner"], "Roles this process runs: api, worker, cron, runner."),
  S("demo", { type: "bool" }, false, "Load the demo hunt, problems and users on start if the database is empty."),
  S("fakeClock", { type: "bool" }, false, "Frozen clock that organisers advance with POST /api/v1/admin/clock (refused in production)."),
  S("logLevel", { type: "enum", values: ["debug", "info", "warn", "error", "silent"] }, "info", "Least severe log level written to stdout."),
  S("trustProxy", { type: "list" }, ["127.0.0.1", "::1"], "Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (Caddy on the same box)."),
  S("bodyLimitBytes", { type: "int", min: 1024, max: 64 * 1024 * 1024 }, 1024 * 1024, "Largest request body accepted; larger gets 413."),
  S("requestTimeoutMs", { type: "int", min: 100, max: 600_000 }, 30_000, "Longest a request handler may run before 504."),
  S("shutdownGraceMs", { type: "int", min: 0, max: 600_000 }, 10_000, "How long shutdown waits for in-flight requests and jobs."),
  S("sessionTtlDays", { type: "int", min: 1, max: 365 }, 30, "Idle lifetime of a session; each use slides it forward."),
  S("loginPerIpPerMinute", { type: "int", min: 1, max: 1_000_000 }, 30, "Login attempts per client IP per minute."),
  S("loginFailuresPerAccountIp", { type: "int", min: 1, max: 1_000_000 }, 10, "Failed logins per (account, IP) per 15 minutes."),
  S("loginFailuresPerAccount", { type: "int", min: 1, max: 1_000_000 }, 100, "Failed logins per account from all IPs per hour (a high ceiling against distributed guessing)."),
  S("signupPerIpPerHour", { type: "int", min: 1, max: 1_000_000 }, 60, "Signups per client IP per hour."),
  S("databaseUrl", { type: "string" }, "", "postgres://… to use PostgreSQL instead of the embedded SQLite (`?schema=name` for a schema other than public; run `gauntlet migrate` first)."),
  S("redisUrl", { type: "string" }, "", "redis://… for pub/sub, shared rate limits and the leaderboard cache across instances."),
  S("redisPrefix", { type: "string" }, "gauntlet:", "Prefix of the Redis keys (rate limits, leaderboard cache) and of the realtime pub/sub channel, so several deployments can share one Redis."),
  S("metricsToken", { type: "string" }, "", "Bearer token for /metrics; empty serves it to loopback only."),
  S("realtimeRetainCount", { type: "int", min: 10, max: 1_000_000 }, 1000, "Live messages kept per topic for clients that resume after a disconnect; older gaps get a resync."),
  S("realtimeRetainMinutes", { type: "int", min: 1, max: 10_080 }, 60, "Minutes a live message is kept for resuming clients (whichever of count and age is reached first)."),
  S("analytics", { type: "bool" }, true, "Record every request in the request analytics (batched; /metrics counters stay on either way)."),
  S("analyticsIp", { type: "enum", values: ["truncate", "hash", "full"] }, "truncate", "Client IP in request analytics: truncate (/24, /48), hash (salted SHA-256) or full."),
  S("analyticsRetentionDays", { type: "int", min: 1, max: 3650 }, 30, "Days of request analytics (raw rows and per-minute rollups) kept before pruning."),
  S("backupCron", { type: "string" }, "", "Cron expression for scheduled backups into <data>/backups (empty: none), e.g. \"0 3 * * *\"."),
  S("backupKeep", { type: "int", min: 1, max: 1000 }, 7, "Scheduled backups kept; older ones are deleted."),
  S("queueRetentionDays", { type: "int", min: 1, max: 3650 }, 7, "Days a finished job (and its result) and a cron fire record are kept before the hourly prune deletes them; an idempotency key dedupes only while its job is kept."),
  S("multivac", { type: "bool" }, true, "Serve the MultiVAC pipeline health check (GET /multivac, POST /multivac/data, GET /zzz)."),
  S("multivacPerIpPerMinute", { type: "int", min: 1, max: 1_000_000 }, 600, "Requests per client IP per minute to the MultiVAC endpoints."),
  S("arenaDurationSec", { type: "int", min: 30, max: 14_400 }, 300, "Match time of public-queue arena matches, and the default for private rooms."),
  S("arenaCountdownSec", { type: "int", min: 0, max: 60 }, 5, "Countdown between an arena match being found and its start."),
  S("arenaReconnectGraceSec", { type: "int", min: 0, max: 3600 }, 30, "How long a disconnected arena player has to come back before forfeiting."),
] as const;

type SettingKey = (typeof SETTINGS)[number]["key"];

export interface Config {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly env: "development" | "production" | "test";
  readonly roles: readonly string[];
  readonly demo: boolean;
  readonly fakeClock: boolean;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
  readonly trustProxy: readonly string[];
  readonly bodyLimitBytes: number;
  readonly requestTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly sessionTtlDays: number;
  readonly loginPerIpPerMinute: number;
  readonly loginFailuresPerAccountIp: number;
  readonly loginFailuresPerAccount: number;
  readonly signupPerIpPerHour: number;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly metricsToken: string;
  readonly realtimeRetainCount: number;
  readonly realtimeRetainMinutes: number;
  readonly analytics: boolean;
  readonly analyticsIp: "truncate" | "hash" | "full";
  readonly analyticsRetentionDays: number;
  readonly backupCron: string;
  readonly backupKeep: number;
  readonly queueRetentionDays: number;
  readonly multivac: boolean;
  readonly multivacPerIpPerMinute: number;
  readonly arenaDurationSec: number;
  readonly arenaCountdownSec: number;
  readonly arenaReconnectGraceSec: number;
}

// Compile-time check that Config and SETTINGS name the same keys.
type _Same = [SettingKey] extends [keyof Config] ? ([keyof Config] extends [SettingKey] ? true : never) : never;
const _same: _Same = true;
void _same;

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`invalid setting ${setting}: ${message}`);
    this.name = "ConfigError";
  }
}

const VALID_ROLES = new Set(["api", "worker", "cron", "runner"]);

export const kebab = (s: string) => s.replace(/[A-Z]/g, (m) => "-" + m.toLowerCase());
export const envName = (key: string) => "GAUNTLET_" + kebab(key).replace(/-/g, "_").toUpperCase();
export const flagName = (s: Setting) => s.flag ?? kebab(s.key);

function coerce(s: Setting, raw: unknown, source: string): unknown {
  const where = `${s.key} (from ${source})`;
  const k = s.kind;
  switch (k.type) {
    case "string":
      if (typeof raw !== "string") throw new ConfigError(where, "expected a string");
      return raw;
    case "int": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) throw new ConfigError(where, `expected a whole number, got ${JSON.stringify(raw)}`);
      if (n < k.min || n > k.max) throw new ConfigError(where, `must be between ${k.min} and ${k.max}, got ${n}`);
      return n;
    }
    case "bool": {
      if (typeof raw === "boolean") return raw;
      const v = String(raw).trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off", ""].includes(v)) return false;
      throw new ConfigError(where, `expected true or false, got ${JSON.stringify(raw)}`);
    }
    case "enum": {
      const v = String(raw);
      if (!k.values.includes(v)) throw new ConfigError(where, `expected one of ${k.values.join(", ")}, got ${JSON.stringify(raw)}`);
      return v;
    }
    case "list": {
      const arr = Array.isArray(raw) ? raw.map(String) : String(raw).split(",");
      return arr.map((x) => x.trim()).filter(Boolean);
    }
  }
}

export interface ConfigSources {
  flags?: Record<string, string | boolean>;
  env?: Record<string, string | undefined>;
  /** Skip reading gauntlet.toml (tests). */
  noFile?: boolean;
}

/** Builds the frozen Config. Throws ConfigError on any bad value. */
export function loadConfig(src: ConfigSources = {}): Config {
  const flags = src.flags ?? {};
  const env = src.env ?? process.env;
  const known = new Set(SETTINGS.map(flagName));
  for (const f of Object.keys(flags)) {
    if (!known.has(f)) throw new ConfigError(`--${f}`, "unknown flag");
  }

  // The data dir decides where gauntlet.toml lives, so resolve it first.
  const dataSetting = SETTINGS.find((s) => s.key === "dataDir")!;
  const rawData = flags[flagName(dataSetting)] ?? env[envName("dataDir")] ?? dataSetting.default;
  const dataDir = resolve(String(coerce(dataSetting, rawData, "data dir")));

  let file: Record<string, unknown> = {};
  const tomlPath = join(dataDir, "gauntlet.toml");
  if (!src.noFile && existsSync(tomlPath)) {
    try {
      file = Bun.TOML.parse(readFileSync(tomlPath, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(tomlPath, `not valid TOML: ${(e as Error).message}`);
    }
    for (const k of Object.keys(file)) {
      if (!SETTINGS.some((s) => s.key === k)) throw new ConfigError(`${k} (from ${tomlPath})`, "unknown setting");
    }
  }

  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    if (s.key === "dataDir") {
      out.dataDir = dataDir;
      continue;
    }
    const f = flags[flagName(s)];
    let e = env[envName(s.key)];
    if (s.key === "env" && e === undefined) e = env.NODE_ENV && ["development", "production", "test"].includes(env.NODE_ENV) ? env.NODE_ENV : undefined;
    if (f !== undefined) out[s.key] = coerce(s, f, `--${flagName(s)}`);
    else if (e !== undefined) out[s.key] = coerce(s, e, envName(s.key));
    else if (s.key in file) out[s.key] = coerce(s, file[s.key], "gauntlet.toml");
    else out[s.key] = s.default;
  }

  for (const r of out.roles as string[]) {
    if (!VALID_ROLES.has(r)) throw new ConfigError("roles", `unknown role ${JSON.stringify(r)} (use api, worker, cron, runner)`);
  }
  if (out.fakeClock && out.env === "production") {
    throw new ConfigError("fakeClock", "the fake clock is refused when env is production");
  }
  if (out.databaseUrl) {
    if (!isPostgresUrl(out.databaseUrl as string)) throw new ConfigError("databaseUrl", "expected a postgres:// URL");
    try {
      parsePgUrl(out.databaseUrl as string);
    } catch (e) {
      throw new ConfigError("databaseUrl", (e as Error).message);
    }
  }
  if (out.redisUrl && !/^rediss?:\/\//.test(out.redisUrl as string)) {
    throw new ConfigError("redisUrl", "expected a redis:// URL");
  }
  if (!/^[\w:.{}-]{1,64}$/.test(out.redisPrefix as string)) {
    throw new ConfigError("redisPrefix", "expected 1 to 64 letters, digits or _ : . - { }");
  }
  out.roles = Object.freeze([...(out.roles as string[])]);
  out.trustProxy = Object.freeze([...(out.trustProxy as string[])]);
  return Object.freeze(out) as unknown as Config;
}

/** Markdown table of every setting, for the README and --help. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) => {
    const def = Array.isArray(s.default) ? s.default.join(",") : String(s.default);
    return `| \`--${flagName(s)}\` | \`${envName(s.key)}\` | \`${s.key}\` | \`${def === "" ? '""' : def}\` | ${s.doc} |`;
  });
  return ["| flag | environment | gauntlet.toml | default | meaning |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}
