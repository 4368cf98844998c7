/**
 * The Redis rate limiter against the real Redis on 127.0.0.1:6379 (skipped,
 * saying so, when it is unreachable): the same answers as the in-process one,
 * counts shared by two instances, atomic under concurrency, keys namespaced
 * and expiring, and the per-process fallback while Redis is down.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { REDIS, redisTestKeys } from "../../test/helpers/redis.ts";
import { fakeClock, type Clock } from "./clock.ts";
import { createLogger, silentLogger } from "./log.ts";
import { memoryRateLimiter, redisRateLimiter, type RateLimiter, type RateResult } from "./ratelimit.ts";
import { redisLink, type RedisLink } from "./redis.ts";

const URL = REDIS;
const { up, prefix: RUN, admin, drop } = await redisTestKeys("the Redis rate limiter tests do not run");

const links: RedisLink[] = [];
const link = (url = URL, opts: { timeoutMs?: number } = {}, log = silentLogger()) => {
  const l = redisLink(url, log, { prefix: RUN, ...opts });
  links.push(l);
  return l;
};

afterAll(async () => {
  for (const l of links) l.close();
  await drop();
});

/** Plays one script of hits on a limiter; returns every answer. */
async function scenario(rl: RateLimiter, clock: Clock): Promise<RateResult[]> {
  const out: RateResult[] = [];
  for (let i = 0; i < 3; i++) {
    out.push(await rl.hit("k", 3, 60_000));
    clock.advance(10_000);
  }
  out.push(await rl.hit("k", 3, 60_000)); // refused, 30 s left
  out.push(await rl.peek("k", 3, 60_000));
  clock.advance(29_999);
  out.push(await rl.hit("k", 3, 60_000)); // 1 ms left: Retry-After rounds up to 1
  clock.advance(1);
  out.push(await rl.hit("k", 3, 60_000)); // the t=0 hit has left the window
  out.push(await rl.peek("k", 3, 60_000));
  // All or nothing: a full rule refuses the call and the other rule is not counted.
  out.push(await rl.hitAll([{ key: "a", limit: 1, windowMs: 5_000 }, { key: "k", limit: 3, windowMs: 60_000 }]));
  out.push(await rl.peek("a", 1, 5_000));
  out.push(await rl.hitAll([{ key: "a", limit: 1, windowMs: 5_000 }, { key: "b", limit: 2, windowMs: 120_000 }]));
  out.push(await rl.hitAll([{ key: "a", limit: 1, windowMs: 5_000 }, { key: "b", limit: 2, windowMs: 120_000 }]));
  clock.advance(4_500);
  out.push(await rl.hit("a", 1, 5_000));
  await rl.reset("k");
  out.push(await rl.hit("k", 3, 60_000));
  return out;
}

describe.skipIf(!up)("redis rate limiter", () => {
  test("answers exactly as the in-process limiter, Retry-After included, on the fake clock", async () => {
    const c1 = fakeClock(1_900_000_000_000);
    const c2 = fakeClock(1_900_000_000_000);
    const mem = await scenario(memoryRateLimiter(c1), c1);
    const red = await scenario(redisRateLimiter(link(), c2, silentLogger(), { prefix: "same:" }), c2);
    expect(red).toEqual(mem);
    // The script is not vacuous: it refuses, with the waits the window gives.
    expect(mem.map((r) => r.retryAfter)).toEqual([0, 0, 0, 30, 30, 1, 0, 10, 10, 0, 0, 5, 1, 0]);
  });

  test("two instances share one count: hits split between them reach the limit together, with the same Retry-After", async () => {
    const clock = fakeClock(1_900_000_000_000);
    const a = redisRateLimiter(link(), clock, silentLogger(), { prefix: "two:" });
    const b = redisRateLimiter(link(), clock, silentLogger(), { prefix: "two:" });
    const mem = memoryRateLimiter(clock);
    for (let i = 0; i < 5; i++) {
      expect((await (i % 2 ? b : a).hit("login:ip:1.2.3.4", 5, 60_000)).ok).toBe(true);
      expect((await mem.hit("login:ip:1.2.3.4", 5, 60_000)).ok).toBe(true);
      clock.advance(1_500);
    }
    const expected = await mem.hit("login:ip:1.2.3.4", 5, 60_000);
    expect(expected).toEqual({ ok: false, retryAfter: 53 });
    expect(await a.hit("login:ip:1.2.3.4", 5, 60_000)).toEqual(expected);
    expect(await b.hit("login:ip:1.2.3.4", 5, 60_000)).toEqual(expected);
    expect(await b.peek("login:ip:1.2.3.4", 5, 60_000)).toEqual(expected);
    // Window expiry on the fake clock: one ms before the first hit leaves, still refused; at that ms, allowed on either.
    clock.advance(60_000 - 5 * 1_500 - 1);
    expect(await b.hit("login:ip:1.2.3.4", 5, 60_000)).toEqual({ ok: false, retryAfter: 1 });
    clock.advance(1);
    expect((await b.hit("login:ip:1.2.3.4", 5, 60_000)).ok).toBe(true);
    expect((await a.hit("login:ip:1.2.3.4", 5, 60_000)).ok).toBe(false);
    // A reset on one instance clears the count for both.
    await a.reset("login:ip:1.2.3.4");
    expect((await b.peek("login:ip:1.2.3.4", 5, 60_000)).ok).toBe(true);
  });

  test("atomic across instances: 60 concurrent hits through two connections, limit 10, exactly 10 allowed", async () => {
    const clock = fakeClock(1_900_000_000_000);
    const a = redisRateLimiter(link(), clock, silentLogger(), { prefix: "race:" });
    const b = redisRateLimiter(link(), clock, silentLogger(), { prefix: "race:" });
    const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).hitAll([{ key: "p", limit: 10, windowMs: 60_000 }, { key: "ip", limit: 40, windowMs: 60_000 }])));
    expect(rs.filter((r) => r.ok).length).toBe(10);
    // Refused calls counted on neither rule.
    const card = async (k: string) => Number(await admin.send("ZCARD", [`${RUN}race:${k}`]));
    expect(await card("p")).toBe(10);
    expect(await card("ip")).toBe(10);
  });

  test("keys are namespaced and expire with their window", async () => {
    const clock = fakeClock(1_900_000_000_000);
    const system: Clock = { ...clock, fake: false };
    const rl = redisRateLimiter(link(), system, silentLogger(), { prefix: "ttl:" });
    await rl.hit("multivac:9.9.9.9", 600, 60_000);
    const ttl = Number(await admin.send("PTTL", [`${RUN}ttl:multivac:9.9.9.9`]));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // A frozen fake clock keeps hits for a day of wall time: wall time must not end a fake minute.
    const frozen = redisRateLimiter(link(), clock, silentLogger(), { prefix: "ttl:" });
    await frozen.hit("fake", 1, 60_000);
    expect(Number(await admin.send("PTTL", [`${RUN}ttl:fake`]))).toBeGreaterThan(23 * 3600_000);
  });
});

/** A TCP proxy in front of Redis that the test can cut (connections refused and dropped) or silence (Redis stops answering). */
function redisProxy() {
  let mode: "pass" | "silent" = "pass";
  type Data = { up: Socket<any> | null; early: Uint8Array[] };
  const open = new Set<Socket<Data>>();
  let server: TCPSocketListener<Data> | null = null;
  let port = 0;
  const listen = () => {
    server = Bun.listen<Data>({
      hostname: "127.0.0.1",
      port,
      socket: {
        async open(s) {
          s.data = { up: null, early: [] };
          open.add(s);
          try {
            const upstream = await Bun.connect({
              hostname: "127.0.0.1",
              port: 6379,
              socket: {
                data(_u, d) {
                  if (mode === "pass") s.write(d);
                },
                close() {
                  s.end();
                },
              },
            });
            s.data.up = upstream;
            for (const b of s.data.early) upstream.write(b);
          } catch {
            s.end();
          }
        },
        data(s, d) {
          if (mode !== "pass") return;
          if (s.data.up) s.data.up.write(d);
          else s.data.early.push(new Uint8Array(d));
        },
        close(s) {
          open.delete(s);
          s.data.up?.end();
        },
      },
    });
    port = server.port;
  };
  listen();
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    cut() {
      server?.stop(true);
      server = null;
      for (const s of open) s.end();
    },
    restore() {
      mode = "pass";
      if (!server) listen();
    },
    silence() {
      mode = "silent";
    },
    stop() {
      server?.stop(true);
      for (const s of open) s.end();
    },
  };
}

describe("redis down: each instance limits on its own", () => {
  test("unreachable from the start: the configured limit still holds per process, one warning", async () => {
    const lines: string[] = [];
    const clock = fakeClock(1_900_000_000_000);
    const rl = redisRateLimiter(link("redis://127.0.0.1:1"), clock, createLogger("info", {}, (l) => lines.push(l)));
    const t = performance.now();
    const rs: RateResult[] = [];
    for (let i = 0; i < 4; i++) rs.push(await rl.hit("login:ip:5.6.7.8", 3, 60_000));
    // Never locked out, never unlimited: the in-process limiter answers, with its Retry-After.
    expect(rs).toEqual([{ ok: true, retryAfter: 0 }, { ok: true, retryAfter: 0 }, { ok: true, retryAfter: 0 }, { ok: false, retryAfter: 60 }]);
    expect(performance.now() - t).toBeLessThan(2_000);
    expect(lines.filter((l) => l.includes("rate limits: redis unavailable"))).toHaveLength(1);
  }, 10_000);

  test.skipIf(!up)("lost mid-event: falls back to this process at once, waits at most the timeout on a silent Redis, shares counts again once back", async () => {
    const proxy = redisProxy();
    const lines: string[] = [];
    const log = createLogger("info", {}, (l) => lines.push(l));
    const clock = fakeClock(1_900_000_000_000);
    const viaProxy = redisRateLimiter(link(proxy.url, { timeoutMs: 300 }, log), clock, log, { prefix: "down:" });
    const direct = redisRateLimiter(link(), clock, silentLogger(), { prefix: "down:" });
    try {
      expect((await viaProxy.hit("k", 3, 60_000)).ok).toBe(true);
      expect((await direct.hit("k", 3, 60_000)).ok).toBe(true);

      proxy.cut();
      await Bun.sleep(50);
      // The fallback has not seen Redis's two hits: it allows up to the limit in this process, then refuses.
      const during: boolean[] = [];
      for (let i = 0; i < 4; i++) during.push((await viaProxy.hit("k", 3, 60_000)).ok);
      expect(during).toEqual([true, true, true, false]);
      expect(lines.filter((l) => l.includes("rate limits: redis unavailable"))).toHaveLength(1);
      // Redis never learnt the outage's hits.
      expect(Number(await admin.send("ZCARD", [`${RUN}down:k`]))).toBe(2);

      proxy.restore();
      const end = Date.now() + 5_000;
      while (!lines.some((l) => l.includes("redis reachable again")) && Date.now() < end) await Bun.sleep(20);
      expect(lines.filter((l) => l.includes("redis unavailable; retrying"))).toHaveLength(1);
      expect((await viaProxy.hit("k", 3, 60_000)).ok).toBe(true); // Redis's third
      expect(await direct.hit("k", 3, 60_000)).toEqual({ ok: false, retryAfter: 60 });
      expect(lines.some((l) => l.includes("rate limits: shared through redis again"))).toBe(true);

      // A Redis that stops answering costs one timeout, then the connection is dropped and calls fall back at once.
      proxy.silence();
      let t = performance.now();
      expect((await viaProxy.hit("quiet", 2, 60_000)).ok).toBe(true);
      const first = performance.now() - t;
      expect(first).toBeGreaterThanOrEqual(250);
      expect(first).toBeLessThan(1_500);
      t = performance.now();
      expect((await viaProxy.hit("quiet", 2, 60_000)).ok).toBe(true);
      expect((await viaProxy.hit("quiet", 2, 60_000)).ok).toBe(false);
      expect(performance.now() - t).toBeLessThan(100);
    } finally {
      proxy.stop();
    }
  }, 20_000);
});
