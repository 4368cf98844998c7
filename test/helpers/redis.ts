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

/**
 * One test file's own corner of Redis: a unique key prefix, and an admin
 * client to look at keys and, at the end, delete the file's keys. When Redis
 * is unreachable it prints why the file's Redis tests skip (`skipped`: what
 * does not run) and `up` is false.
 *
 * @example
 * const { up, prefix, admin, drop } = await redisTestKeys("the shared login limit e2e test does not run");
 * afterAll(drop);
 */
export async function redisTestKeys(skipped: string, url = REDIS) {
  const prefix = `gauntlet-test:${crypto.randomUUID().slice(0, 8)}:`;
  const admin = new RedisClient(url, { connectionTimeout: 1000, autoReconnect: false });
  const up = await admin.connect().then(
    () => true,
    () => false,
  );
  if (!up) console.log(`SKIP: Redis on 127.0.0.1:6379 is unreachable; ${skipped}`);
  return {
    up,
    prefix,
    admin,
    /** Deletes every key under the prefix and closes the admin client. */
    async drop() {
      if (!up) return;
      const keys: string[] = await admin.send("KEYS", [`${prefix}*`]);
      if (keys.length) await admin.send("DEL", keys);
      admin.close();
    },
  };
}
