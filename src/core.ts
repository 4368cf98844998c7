/**
 * Opens what every command needs: the database (migrated when asked), the
 * clock, the logger, the rate limiter, and the services built on them. With
 * redisUrl set, one Redis connection (opened on first use) shares the rate
 * limits and the leaderboard cache between instances.
 */
import { eq, sql } from "drizzle-orm";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "./config.ts";
import { openDb, type Db } from "./db/db.ts";
import { migrate, pendingMigrations } from "./db/migrate.ts";
import { kv } from "./db/schema/index.ts";
import { fakeClock, systemClock, type Clock } from "./lib/clock.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { memoryRateLimiter, redisRateLimiter } from "./lib/ratelimit.ts";
import { redisLink } from "./lib/redis.ts";
import { createServices, type Services } from "./services.ts";

export const dbPath = (config: Config) => join(config.dataDir, "gauntlet.db");
/** What openDb opens: the PostgreSQL URL when one is configured, else the SQLite file in the data dir. */
export const dbTarget = (config: Config) => config.databaseUrl || dbPath(config);

export class PendingMigrationsError extends Error {
  constructor(readonly pending: string[]) {
    super(`the database needs ${pending.length} migration(s) (${pending.join(", ")}): run \`gauntlet migrate\` first`);
  }
}

/** The fake clock resumes where it was, so a restart never moves time backwards. */
function makeClock(config: Config, db: Db): Clock {
  if (!config.fakeClock) return systemClock();
  const saved = db.r.select().from(kv).where(eq(kv.key, "fake_clock")).get();
  const clock = fakeClock(saved ? Number(saved.value) : Date.now());
  // Never moves the saved time backwards: several processes may share the file.
  const persist = (now: number) =>
    db.transaction((tx) =>
      tx
        .insert(kv)
        .values({ key: "fake_clock", value: String(now) })
        .onConflictDoUpdate({ target: kv.key, set: { value: String(now) }, setWhere: sql`CAST(${kv.value} AS INTEGER) < ${now}` })
        .run(),
    );
  if (!saved) persist(clock.now());
  clock.onAdvance(persist);
  // The scheduler calls this before each tick to follow another process's advance.
  clock.refresh = () => {
    const row = db.r.select().from(kv).where(eq(kv.key, "fake_clock")).get();
    if (row) clock.syncTo(Number(row.value));
  };
  return clock;
}

export interface CoreOptions {
  /** Apply pending migrations. Default: on SQLite yes; on PostgreSQL no (`gauntlet migrate` does), and a pending one is an error. */
  migrate?: boolean;
  log?: Logger;
  clock?: Clock;
  /** Checkpoint the SQLite WAL on a thread of its own (openDb's checkpointThread): the long-running server does. */
  checkpointThread?: boolean;
}

export function openCore(config: Config, opts: CoreOptions = {}): Services {
  const log = opts.log ?? createLogger(config.logLevel);
  // The data dir holds blobs and pid files on PostgreSQL too (SQLite's open creates it for the file).
  mkdirSync(config.dataDir, { recursive: true });
  const db = openDb(dbTarget(config), { checkpointThread: opts.checkpointThread });
  if (opts.migrate ?? db.dialect === "sqlite") {
    const applied = migrate(db);
    if (applied.length) log.info("migrations applied", { applied });
  } else if (db.dialect === "postgres") {
    const pending = pendingMigrations(db);
    if (pending.length) {
      db.close();
      throw new PendingMigrationsError(pending);
    }
  }
  const clock = opts.clock ?? makeClock(config, db);
  const redis = config.redisUrl ? redisLink(config.redisUrl, log, { prefix: config.redisPrefix }) : null;
  const limiter = redis ? redisRateLimiter(redis, clock, log) : memoryRateLimiter(clock);
  return createServices({ config, clock, db, log, limiter, redis });
}
