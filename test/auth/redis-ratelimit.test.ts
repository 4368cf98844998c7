/**
 * Two real server processes sharing one Redis (GAUNTLET_REDIS_URL, real Redis
 * on 127.0.0.1:6379; skipped, saying so, when unreachable): login attempts
 * from one client IP, split between the instances, are counted together, so
 * the per-IP login limit triggers after the configured number of attempts in
 * total, on both instances.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REDIS, redisTestKeys } from "../helpers/redis.ts";
import { startServer, type ServerProc } from "../helpers/server.ts";

const LIMIT = 6;
const { up, prefix: PREFIX, admin, drop } = await redisTestKeys("the shared login limit e2e test does not run");

const procs: ServerProc[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of procs) p.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await drop();
});

test.skipIf(!up)(`login attempts from one IP split between two instances hit the per-IP limit after ${LIMIT} in all`, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-rl-"));
  dirs.push(dataDir);
  const env = { GAUNTLET_REDIS_URL: REDIS, GAUNTLET_REDIS_PREFIX: PREFIX, GAUNTLET_LOGIN_PER_IP_PER_MINUTE: String(LIMIT) };
  const a = await startServer({ dataDir, env });
  procs.push(a);
  const b = await startServer({ dataDir, env });
  procs.push(b);

  // The servers trust 127.0.0.1 as their proxy, so the client IP is the forwarded one: unique to this run.
  const ip = `198.51.100.${1 + Math.floor(Math.random() * 250)}`;
  const login = async (base: string, i: number) => {
    const res = await fetch(`${base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify({ username: `nobody${i}`, password: "wrong password here" }),
    });
    const body = (await res.json()) as { error?: { code: string } };
    return { status: res.status, code: body.error?.code, retryAfter: res.headers.get("retry-after") };
  };

  const seen: Array<{ status: number; code?: string }> = [];
  for (let i = 0; i < LIMIT; i++) seen.push(await login(i % 2 ? b.url : a.url, i));
  // Three on each instance, all counted; none refused yet (each instance alone is far from the limit).
  expect(seen.map((r) => r.code)).toEqual(Array(LIMIT).fill("invalid_credentials"));

  const fromA = await login(a.url, 100);
  const fromB = await login(b.url, 101);
  for (const r of [fromA, fromB]) {
    expect(r.status).toBe(429);
    expect(r.code).toBe("rate_limited");
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(55);
    expect(Number(r.retryAfter)).toBeLessThanOrEqual(60);
  }
  // The counts live in Redis under the configured prefix, with an expiry; refused attempts are not counted.
  const key = `${PREFIX}rl:login:ip:${ip}`;
  expect(Number(await admin.send("ZCARD", [key]))).toBe(LIMIT);
  const ttl = Number(await admin.send("PTTL", [key]));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(60_000);

  await a.stop();
  await b.stop();
}, 60_000);
