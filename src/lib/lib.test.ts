import { describe, expect, test } from "bun:test";
import { fakeClock } from "./clock.ts";
import { clientIp, trustedProxies } from "./ip.ts";
import { memoryRateLimiter } from "./ratelimit.ts";

describe("rate limiter (exact sliding window)", () => {
  test("allows limit hits per window, refuses more without counting them, reports Retry-After", async () => {
    const clock = fakeClock(0);
    const rl = memoryRateLimiter(clock);
    for (let i = 0; i < 3; i++) {
      expect((await rl.hit("k", 3, 60_000)).ok).toBe(true);
      clock.advance(10_000);
    }
    const refused = await rl.hit("k", 3, 60_000);
    expect(refused).toEqual({ ok: false, retryAfter: 30 });
    clock.advance(29_999);
    expect((await rl.hit("k", 3, 60_000)).ok).toBe(false);
    clock.advance(1); // the first hit (t=0) leaves the window at t=60,000
    expect((await rl.hit("k", 3, 60_000)).ok).toBe(true);
    expect((await rl.hit("other", 3, 60_000)).ok).toBe(true);
  });
});

describe("fake clock", () => {
  test("is frozen, moves only forward, tells listeners", () => {
    const c = fakeClock(1000);
    const seen: number[] = [];
    c.onAdvance((n) => seen.push(n));
    expect(c.now()).toBe(1000);
    expect(c.advance(500)).toBe(1500);
    expect(() => c.advance(-1)).toThrow();
    c.syncTo(1200); // behind: ignored
    c.syncTo(2000);
    expect(c.now()).toBe(2000);
    expect(seen).toEqual([1500, 2000]);
  });
});

describe("client IP", () => {
  const trusted = trustedProxies(["127.0.0.1", "::1"]);
  test.each([
    ["direct client, header ignored", "203.0.113.9", "1.2.3.4", "203.0.113.9"],
    ["via trusted proxy", "127.0.0.1", "198.51.100.7", "198.51.100.7"],
    ["spoofed chain via proxy: rightmost untrusted wins", "127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"],
    ["IPv4-mapped peer", "::ffff:127.0.0.1", "198.51.100.8", "198.51.100.8"],
    ["no header", "::1", undefined, "::1"],
  ])("%s", (_n, peer, xff, want) => {
    expect(clientIp(peer, xff, trusted)).toBe(want);
  });
});
