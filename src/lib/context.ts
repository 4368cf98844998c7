/**
 * What every request handler can reach: the typed Hono env and the
 * application's dependencies (built once in app.ts / server.ts).
 */
import type { Config } from "../config.ts";
import type { Db } from "../db/db.ts";
import type { Clock } from "./clock.ts";
import type { Logger } from "./log.ts";
import type { RateLimiter } from "./ratelimit.ts";
import type { RedisLink } from "./redis.ts";

export interface SessionUser {
  id: number;
  username: string;
  role: "player" | "organiser";
  sessionId: string;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    user: SessionUser | null;
    ip: string;
  };
};

/** The process-wide dependencies; services receive the parts they need. */
export interface Deps {
  config: Config;
  clock: Clock;
  db: Db;
  log: Logger;
  limiter: RateLimiter;
  /** Request-path Redis (shared rate limits, leaderboard cache); null without redisUrl. */
  redis: RedisLink | null;
}
