/**
 * deploy/Caddyfile.instances in front of two real instances sharing one data
 * directory: real Caddy (Debian's, `caddy run`) with only the site address,
 * the two upstream ports and the log path changed for the test (plain HTTP
 * on a free port, admin API off). Both instances get requests; after a
 * kill -9 of one, every request started afterwards still succeeds through
 * Caddy, and live clients that were on the dead instance come back on the
 * other and resume without a gap (no sticky sessions needed).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "bun";
import { CADDY, caddyEnv, runCaddy, type CaddyProc } from "../helpers/caddy.ts";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { liveClient, type LiveClient } from "../helpers/live.ts";
import { command, freePort, httpClient, openDataDb, startServer, type ServerProc } from "../helpers/server.ts";

const ROOT = join(import.meta.dir, "..", "..");
const EXAMPLE = join(ROOT, "deploy", "Caddyfile.instances");
setDefaultTimeout(60_000);
const caddy = CADDY;
if (!caddy) console.log("caddy-instances.test: skipping: caddy is not installed (apt-get install caddy)");



describe("deploy/Caddyfile.instances", () => {
  // Directives only: comments explain them in words that would match too.
  const text = readFileSync(EXAMPLE, "utf8").replace(/^\s*#.*$/gm, "");

  test("two loopback upstreams, no stickiness, active /readyz checks, passive health, retries on another instance", () => {
    expect(text).toMatch(/^\s*reverse_proxy 127\.0\.0\.1:3001 127\.0\.0\.1:3002 \{/m);
    expect(text).toMatch(/^\s*lb_policy least_conn$/m);
    expect(text).not.toMatch(/lb_policy (cookie|ip_hash|client_ip_hash|header)/);
    expect(text).toMatch(/^\s*health_uri \/readyz$/m);
    expect(text).toMatch(/^\s*health_interval \d+s$/m);
    expect(text).toMatch(/^\s*fail_duration \d+s$/m);
    expect(text).toMatch(/^\s*max_fails 1$/m);
    expect(text).toMatch(/^\s*lb_try_duration \d+s$/m);
    // As in the single-instance files: Caddy's own X-Forwarded-For, no trusted client headers.
    expect(text).not.toMatch(/header_up\s+X-Forwarded-For/i);
    expect(text).not.toMatch(/trusted_proxies/);
  });

  test.skipIf(!caddy)("caddy validate accepts it (domain filled in)", () => {
    const dir = mkdtempSync(join(tmpdir(), "gauntlet-caddy-inst-"));
    try {
      const file = join(dir, "Caddyfile");
      writeFileSync(file, readFileSync(EXAMPLE, "utf8").replace(/^gauntlet\.example\.com \{/m, "hunt.example.org {"));
      const r = Bun.spawnSync([caddy!, "validate", "--adapter", "caddyfile", "--config", file], { stdout: "pipe", stderr: "pipe", env: caddyEnv(dir) });
      expect(r.stdout.toString() + r.stderr.toString()).toContain("Valid configuration");
      expect(r.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!caddy)("two instances behind Caddy with the example configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "gauntlet-caddy-instances-"));
  const dataDir = join(dir, "data");
  const env = { GAUNTLET_SIGNUP_PER_IP_PER_HOUR: "100000", GAUNTLET_LOGIN_PER_IP_PER_MINUTE: "100000" };
  let A: ServerProc;
  let B: ServerProc;
  let proxy: CaddyProc | undefined;
  let port = 0;
  let base = "";
  const requestsOf = (s: ServerProc, path: string) => s.logs.filter((l) => l.includes('"msg":"request"') && l.includes(`"path":"${path}"`)).length;

  beforeAll(async () => {
    const mk = spawn(command(["user", "create", "caddyorg", "--admin", "--password", "organiser passphrase", "--data", dataDir]), { env: { ...process.env, GAUNTLET_ENV: "test" }, stdout: "ignore", stderr: "inherit" });
    expect(await mk.exited).toBe(0);
    [A, B] = await Promise.all([startServer({ dataDir, env, args: ["--roles", "api"] }), startServer({ dataDir, env, args: ["--roles", "api"] })]);
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config =
      "{\n\tadmin off\n}\n\n" +
      readFileSync(EXAMPLE, "utf8")
        .replace(/^gauntlet\.example\.com \{/m, `${base} {`)
        .replace("reverse_proxy 127.0.0.1:3001 127.0.0.1:3002", `reverse_proxy 127.0.0.1:${A.port} 127.0.0.1:${B.port}`)
        .replace("/var/log/caddy/gauntlet-access.log", join(dir, "access.log"));
    expect(config).toContain(`reverse_proxy 127.0.0.1:${A.port} 127.0.0.1:${B.port}`);
    proxy = await runCaddy(dir, config, async () => (await fetch(`${base}/readyz`)).status === 200);
  });

  afterAll(async () => {
    await proxy?.stop();
    A?.cleanup();
    B?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("requests are spread over both instances", async () => {
    for (let i = 0; i < 40; i++) expect((await fetch(`${base}/api/v1/events`)).status).toBe(200);
    // Concurrent ones too: least_conn picks the idler instance.
    const rs = await Promise.all(Array.from({ length: 40 }, () => fetch(`${base}/api/v1/events`)));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    await Bun.sleep(100); // the request log line is written after the response
    const a = requestsOf(A, "/api/v1/events");
    const b = requestsOf(B, "/api/v1/events");
    console.log(`caddy-instances: 80 requests → A ${a}, B ${b}`);
    expect(a + b).toBe(80);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  });

  test("kill -9 of one instance: every request started afterwards succeeds through Caddy; live clients resume on the other", async () => {
    const org = httpClient(base);
    expect((await org.json("POST", "/api/v1/auth/login", { username: "caddyorg", password: "organiser passphrase" })).status).toBe(200);
    const ev = await org.json("POST", "/api/v1/events", {
      slug: "lb",
      title: "Load balanced",
      startsAt: Date.now() - 60_000,
      endsAt: Date.now() + 3_600_000,
      settings: { answersPerMinute: 100_000, answersPerMinutePerIp: null },
    });
    expect(ev.status).toBe(201);
    const eventId = ev.body.event.id as number;
    expect((await org.json("POST", "/api/v1/events/lb/puzzles", { title: "P1", answers: ["never guessed"] })).status).toBe(201);
    // Each instance caches an event for up to a second (src/events/events.service.ts): the one that did
    // not add the puzzle may still answer "You have finished the hunt" until then.
    await Bun.sleep(1100);
    const topic = `event:${eventId}`;

    // Live clients through Caddy: some land on each instance.
    const lives: LiveClient[] = [];
    for (let i = 0; i < 6; i++) {
      const l = await liveClient(base, { maxBackoffMs: 500 });
      expect((await l.subscribe(topic)).type).toBe("subscribed");
      lives.push(l);
    }
    await Bun.sleep(100);
    const liveOnA = requestsOf(A, "/api/v1/live");
    expect(liveOnA).toBeGreaterThan(0);
    expect(requestsOf(B, "/api/v1/live")).toBeGreaterThan(0);

    const players = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const c = httpClient(base);
        const r = await c.json("POST", "/api/v1/auth/signup", { username: `lbplayer${i}`, password: "load balanced player" });
        expect(r.status).toBe(201);
        return { c, id: r.body.user.id as number, acked: 0, inFlightFailures: 0 };
      }),
    );
    let killedAt = 0;
    let stop = false;
    const afterKill = { ok: 0, failed: [] as string[] };
    const inFlight: string[] = [];
    const loops = players.map(async (p) => {
      while (!stop) {
        const started = performance.now();
        let status: number;
        let detail = "";
        try {
          const r = await p.c.json("POST", "/api/v1/events/lb/hunt/answer", { answer: `guess ${Math.random()}` });
          status = r.status;
          if (status !== 200) detail = JSON.stringify(r.body).slice(0, 160);
        } catch (e) {
          status = 0;
          detail = (e as Error).message;
        }
        if (status === 200) p.acked++;
        const startedAfterKill = killedAt > 0 && started > killedAt;
        if (startedAfterKill) {
          if (status === 200) afterKill.ok++;
          else afterKill.failed.push(`${status} ${detail}`);
        } else if (status !== 200) {
          // Sent to the killed instance before the kill and cut off by it: Caddy cannot replay it.
          p.inFlightFailures++;
          inFlight.push(`${status} ${detail}`);
        }
      }
    });
    const acked = () => players.reduce((n, p) => n + p.acked, 0);
    const deadline = Date.now() + 15_000;
    while (acked() < 300 && Date.now() < deadline) await Bun.sleep(10);
    expect(acked()).toBeGreaterThanOrEqual(300);
    const answersOnA = requestsOf(A, "/api/v1/events/lb/hunt/answer");
    await A.kill();
    // From the moment it is gone: a request sent a moment before may still have been on its way to it.
    killedAt = performance.now();
    // Published while the clients that were on A are reconnecting: they must get it by resuming.
    expect((await org.json("POST", `/api/v1/events/${eventId}/announcements`, { body: "after the kill" })).status).toBe(201);
    while (performance.now() - killedAt < 2000) await Bun.sleep(20);
    stop = true;
    await Promise.all(loops);
    expect((await org.json("POST", `/api/v1/events/${eventId}/announcements`, { body: "later" })).status).toBe(201);
    await Promise.all(lives.map((l) => l.waitFor(() => l.messages(topic).length >= 2, 10_000)));
    const reconnected = lives.filter((l) => l.stats.reconnects > 0).length;
    console.log(
      `caddy-instances: ${answersOnA} answers had gone to A before its kill -9; requests started after it: ${afterKill.ok} ok, ${afterKill.failed.length} failed; ` +
        `cut off in flight at the kill: ${inFlight.length} ${JSON.stringify(inFlight.slice(0, 3))}; after: ${JSON.stringify(afterKill.failed.slice(0, 3))}; live clients: ${liveOnA} on A, ${reconnected} reconnected through Caddy`,
    );
    expect(answersOnA).toBeGreaterThan(0);
    expect(afterKill.failed).toEqual([]);
    expect(afterKill.ok).toBeGreaterThan(100);
    // At most the one request each client had outstanding at the kill.
    expect(inFlight.length).toBeLessThanOrEqual(players.length);
    expect(reconnected).toBe(liveOnA);
    for (const l of lives) {
      expect(l.messages(topic).map((m) => m.data.announcement.body)).toEqual(["after the kill", "later"]);
      expect(l.messages(topic).map((m) => m.seq)).toEqual([1, 2]);
      l.close();
    }

    // Every acknowledged answer is in the database; a cut-off one may or may not have committed.
    const db = openDataDb(dataDir, { readonly: true });
    try {
      for (const p of players) {
        const n = (db.query("SELECT count(*) AS n FROM attempts WHERE player_id = ?").get(p.id) as { n: number }).n;
        expect(n).toBeGreaterThanOrEqual(p.acked);
        expect(n).toBeLessThanOrEqual(p.acked + p.inFlightFailures);
      }
    } finally {
      db.close();
    }
  });
});
