/**
 * The Redis the tests use for real (127.0.0.1:6379, already running here and
 * in CI); tests that need it skip with a printed reason when it is not.
 *
 * @example
 * if (!(await redisUp())) console.log("SKIP: Redis on 127.0.0.1:6379 is unreachable; …");
 */
import { RedisClient } from "bun";

export const REDIS = "redis://127.0.0.1:6379";

/** True when Redis answers PING within a second. */
export async function redisUp(url = REDIS): Promise<boolean> {
  const c = new RedisClient(url, { connectionTimeout: 1000, autoReconnect: false });
  try {
    await c.connect();
    return (await c.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    c.close();
  }
}
