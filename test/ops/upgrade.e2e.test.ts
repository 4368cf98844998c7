/**
 * Zero-downtime upgrade of the compiled binary under load: for LOAD_MS, HTTP
 * clients on keep-alive connections send a mix of GETs and POSTs (a sleeping
 * GET keeps requests in flight across the drain) and WEBSOCKETS live clients
 * follow an event's announcements, while `gauntlet upgrade --binary NEW` swaps
 * the installed binary and hands the server over. Some clients open a
 * connection per request, and a burst of them runs while the upgrade does, so
 * new connections reach the old listener up to the instant it closes (the
 * case net.ipv4.tcp_migrate_req is for: with it 0, runs of this test saw up
 * to 12 of them reset).
 *
 * Asserted: no request failed (any status but the expected one, and any
 * connection refused, reset or closed before its response, counts; clients
 * never retry, see test/helpers/http1.ts); every websocket got the reconnect
 * frame, reconnected at the first attempt and has every sequence number once,
 * in order; the old process exited 0 and released its job leases; the new one
 * runs the swapped binary and serves.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_ORGANISER } from "../../src/demo/seed.ts";
import { KeepAliveClient, type Http1Response } from "../helpers/http1.ts";
import { liveClient, type LiveClient } from "../helpers/live.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BIN = process.env.GAUNTLET_BIN ?? (existsSync(join(ROOT, "dist", "gauntlet")) ? join(ROOT, "dist", "gauntlet") : "");
if (!BIN) console.log("upgrade.e2e: skipped: no binary (run `npm run build` or set GAUNTLET_BIN)");

/** The load test: 60 s of load with the upgrade in the middle. */
const LOAD_MS = Number(process.env.UPGRADE_LOAD_MS ?? 60_000);
const UPGRADE_AT_MS = Math.min(20_000, LOAD_MS / 3);
const HTTP_CLIENTS = 24;
const ONE_SHOT_CLIENTS = 4;
const BURST_CLIENTS = Number(process.env.UPGRADE_BURST ?? 48);
const WEBSOCKETS = Number(process.env.UPGRADE_WEBSOCKETS ?? 1000);
const ANNOUNCE_EVERY_MS = 250;

const tmp = mkdtempSync(join(tmpdir(), "gauntlet-upgrade-e2e-"));
const pids: number[] = [];
afterAll(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  rmSync(tmp, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
const readPid = (dataDir: string) => {
  try {
    const [pid, json] = readFileSync(join(dataDir, "gauntlet.pid"), "utf8").split("\n");
    return { pid: Number(pid), ...JSON.parse(json) } as { pid: number; url: string; port: number };
  } catch {
    return null;
  }
};
/**
 * A copy of the binary with bytes after the ELF image (Bun keeps its payload in
 * the .bun section, so it still runs): a different file, as a new release is,
 * which `upgrade` must install and whose successor must be running it.
 */
function newRelease(path: string, marker: string) {
  copyFileSync(BIN, path);
  appendFileSync(path, marker);
}
const endsWith = (path: string, marker: string) => readFileSync(path).subarray(-marker.length).toString() === marker;

async function until<T>(what: string, f: () => T | null | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

test.skipIf(!BIN)(
  `upgrade during ${LOAD_MS / 1000} s of HTTP load and ${WEBSOCKETS} websockets: no failed request, every websocket resumes without a gap`,
  async () => {
    // The installed binary and the new one: copies, so the shared dist/gauntlet is never replaced.
    const installed = join(tmp, "bin", "gauntlet");
    const incoming = join(tmp, "new", "gauntlet");
    const dataDir = join(tmp, "data");
    for (const d of ["bin", "new", "data"]) mkdirSync(join(tmp, d), { recursive: true });
    copyFileSync(BIN, installed);
    newRelease(incoming, "\n#upgrade-e2e-new\n");
    const oldIno = statSync(installed).ino;

    // The successor inherits these: both processes' output ends up here (warnings and errors only).
    const logFile = join(tmp, "server.log");
    const old = Bun.spawn(
      [installed, "serve", "--data", dataDir, "--host", "127.0.0.1", "--port", "0", "--demo", "--roles", "api,worker,cron", "--multivac-per-ip-per-minute", "1000000", "--log-level", "warn"],
      { cwd: tmp, env: { ...process.env, GAUNTLET_ENV: "test" }, stdin: "ignore", stdout: Bun.file(logFile), stderr: Bun.file(`${logFile}.err`) },
    );
    pids.push(old.pid);
    // The pid file appears once the server answers /readyz.
    const first = await until("the server's pid file", () => readPid(dataDir)?.pid === old.pid && readPid(dataDir), 30_000);
    const { url, port } = first;

    // The organiser publishes announcements on the demo event: the websockets' sequence numbers.
    const org = new KeepAliveClient("127.0.0.1", port);
    const login = await org.request("POST", "/api/v1/auth/login", { "content-type": "application/json" }, JSON.stringify({ username: DEMO_ORGANISER.username, password: DEMO_ORGANISER.password }));
    expect(login.status).toBe(200);
    const cookie = /gauntlet_session=[^;]*/.exec(login.headers["set-cookie"] ?? "")![0];
    let announced = 0;
    const announce = async () => {
      const r = await org.request("POST", "/api/v1/events/demo-hunt/announcements", { cookie, "content-type": "application/json" }, JSON.stringify({ body: `n${++announced}` }));
      return r;
    };
    const probe = await announce();
    expect(probe.status).toBe(201);
    const topic = `event:${JSON.parse(probe.body).announcement.eventId}`;

    const clients: LiveClient[] = [];
    for (let i = 0; i < WEBSOCKETS; i += 200) {
      const batch = await Promise.all(Array.from({ length: Math.min(200, WEBSOCKETS - i) }, () => liveClient(url, { maxBackoffMs: 2000 })));
      await Promise.all(batch.map((c) => c.subscribe(topic)));
      clients.push(...batch);
    }
    const baseline = clients.map((c) => c.last.get(topic) ?? 0);

    // ---- load ----
    const failures: string[] = [];
    let sent = 0;
    let ok = 0;
    const byKind: Record<string, number> = {};
    const check = (kind: string, want: number, r: Http1Response) => {
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      if (r.status === want) ok++;
      else failures.push(`${kind}: status ${r.status} ${r.body.slice(0, 200)}`);
    };
    const t0 = Date.now();
    const loadEnd = t0 + LOAD_MS;
    const http: KeepAliveClient[] = [];
    const worker = async (n: number) => {
      const c = new KeepAliveClient("127.0.0.1", port);
      http.push(c);
      let i = 0;
      while (Date.now() < loadEnd) {
        i++;
        const pick = (n + i) % 8;
        const [kind, method, path, body, want] =
          pick === 0 || pick === 4
            ? (["POST /multivac/data", "POST", "/multivac/data", `data=c${n}r${i}`, 200] as const)
            : pick === 1
              ? (["GET /zzz", "GET", `/zzz?ms=${50 + ((n * 37 + i * 11) % 400)}`, undefined, 200] as const)
              : pick === 2
                ? (["GET /multivac", "GET", "/multivac", undefined, 200] as const)
                : pick === 3
                  ? (["GET /api/v1/events/demo-hunt/announcements", "GET", "/api/v1/events/demo-hunt/announcements?limit=5", undefined, 200] as const)
                  : (["GET /healthz", "GET", "/healthz", undefined, 200] as const);
        sent++;
        try {
          const r = await c.request(method, path, body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }, body);
          check(kind, want, r);
        } catch (e) {
          failures.push(`${kind}: ${(e as Error).message}`);
        }
        // About 50 requests a second per client: enough to have requests in flight at every step of the drain on a shared 2-core box.
        await Bun.sleep(5 + ((n + i) % 30));
      }
      c.close();
    };
    const publisher = async () => {
      while (Date.now() < loadEnd) {
        sent++;
        try {
          check("POST announcement", 201, await announce());
        } catch (e) {
          failures.push(`POST announcement: ${(e as Error).message}`);
        }
        await Bun.sleep(ANNOUNCE_EVERY_MS);
      }
    };
    let upgrading = false;
    // Clients that open a connection per request (scripts, health checks): new connections arrive at every instant of the drain.
    const oneShot = async (until = () => Date.now() >= loadEnd) => {
      const c = new KeepAliveClient("127.0.0.1", port);
      http.push(c);
      while (!until()) {
        sent++;
        try {
          check("GET /healthz (Connection: close)", 200, await c.request("GET", "/healthz", { connection: "close" }));
        } catch (e) {
          failures.push(`GET /healthz (Connection: close): ${(e as Error).message}`);
        }
        // Flat out only during the burst; otherwise about 100 a second per client.
        if (!upgrading) await Bun.sleep(10);
      }
      c.close();
    };
    const load = Promise.all([...Array.from({ length: HTTP_CLIENTS }, (_, n) => worker(n)), ...Array.from({ length: ONE_SHOT_CLIENTS }, () => oneShot()), publisher()]);

    // ---- the upgrade, mid-load ----
    await Bun.sleep(UPGRADE_AT_MS);
    const upStart = Date.now();
    const up = Bun.spawn([incoming, "upgrade", "--binary", incoming, "--data", dataDir], { cwd: tmp, env: { ...process.env, GAUNTLET_ENV: "test" }, stdout: "pipe", stderr: "pipe" });
    // While it runs, a burst of new connections: some are in the old listener's accept queue at the instant it closes.
    upgrading = true;
    const burst = Promise.all(Array.from({ length: BURST_CLIENTS }, () => oneShot(() => !upgrading)));
    const [upOut, upErr, upCode] = await Promise.all([new Response(up.stdout).text(), new Response(up.stderr).text(), up.exited]);
    upgrading = false;
    await burst;
    const upgradeMs = Date.now() - upStart;
    const next = readPid(dataDir);
    if (next) pids.push(next.pid);
    expect({ upCode, upErr }).toEqual({ upCode: 0, upErr: "" });
    expect(upOut).toContain(`pid ${old.pid} drained and exited`);
    expect(await old.exited).toBe(0);
    expect(next!.pid).not.toBe(old.pid);
    expect(alive(next!.pid)).toBe(true);
    // The successor runs the swapped-in binary; the old one is kept as .previous.
    expect(statSync(`${installed}.previous`).ino).toBe(oldIno);
    expect(readlinkSync(`/proc/${next!.pid}/exe`)).toBe(installed);
    expect(statSync(`/proc/${next!.pid}/exe`).ino).toBe(statSync(installed).ino);
    expect(statSync(installed).ino).not.toBe(oldIno);
    expect(endsWith(`/proc/${next!.pid}/exe`, "\n#upgrade-e2e-new\n")).toBe(true);

    await load;
    const loadMs = Date.now() - t0;

    // ---- websockets: one last message, then everyone must hold every sequence number once ----
    const last = await announce();
    expect(last.status).toBe(201);
    const head = (await liveClient(url, { autoReconnect: false }).then(async (c) => {
      const a = await c.subscribe(topic);
      c.close();
      return a.seq;
    })) as number;
    await Promise.all(clients.map((c) => c.waitFor(() => (c.last.get(topic) ?? 0) >= head, 30_000).catch(() => {})));
    const gaps: string[] = [];
    clients.forEach((c, i) => {
      const seqs = c.messages(topic).map((m) => m.seq);
      const want = Array.from({ length: head - baseline[i] }, (_, k) => baseline[i] + 1 + k);
      if (JSON.stringify(seqs) !== JSON.stringify(want)) gaps.push(`client ${i}: ${seqs.length} of ${want.length} messages`);
    });
    const ws = {
      reconnectFrame: clients.filter((c) => c.control.some((m) => m.type === "reconnect")).length,
      closed1012: clients.filter((c) => c.stats.closes[0]?.code === 1012).length,
      reconnected: clients.filter((c) => c.stats.reconnects >= 1 && c.connected).length,
      failedConnects: clients.reduce((n, c) => n + c.stats.failedConnects, 0),
      resyncs: clients.reduce((n, c) => n + c.stats.resyncs, 0),
      resumedWithoutGap: clients.length - gaps.length,
    };
    for (const c of clients) c.close();
    for (const c of http) c.close();
    org.close();

    const connectionClose = http.reduce((n, c) => n + c.stats.connectionClose, 0);
    const idleClosed = http.reduce((n, c) => n + c.stats.idleClosedByServer, 0);
    console.log(
      `upgrade.e2e: ${sent} requests in ${(loadMs / 1000).toFixed(1)} s (${JSON.stringify(byKind)}), ${failures.length} failed, ` +
        `${connectionClose} answered with Connection: close during the drain, ${idleClosed} idle connections closed by the server; ` +
        `upgrade took ${(upgradeMs / 1000).toFixed(1)} s; websockets: ${JSON.stringify(ws)}`,
    );

    expect(failures.slice(0, 20)).toEqual([]);
    expect(ok).toBe(sent);
    // The load was real and the drain's Connection: close path was taken.
    expect(sent).toBeGreaterThan((LOAD_MS / 1000) * 200);
    expect(connectionClose).toBeGreaterThanOrEqual(HTTP_CLIENTS);
    expect(gaps.slice(0, 5)).toEqual([]);
    expect(ws).toEqual({ reconnectFrame: WEBSOCKETS, closed1012: WEBSOCKETS, reconnected: WEBSOCKETS, failedConnects: 0, resyncs: 0, resumedWithoutGap: WEBSOCKETS });

    // The old process gave its job leases back (owner is host:pid:random).
    // This test's servers run on the data dir's SQLite file in both legs of the test matrix (it spawns them itself).
    const db = new Database(join(dataDir, "gauntlet.db"), { readonly: true });
    const leased = db.query("SELECT count(*) AS n FROM jobs WHERE status = 'RUNNING' AND lease_owner LIKE ?").get(`%:${old.pid}:%`) as { n: number };
    db.close();
    expect(leased.n).toBe(0);

    // The new server serves, and stops cleanly.
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    process.kill(next!.pid, "SIGTERM");
    await until("the new server to exit", () => !alive(next!.pid), 30_000);
    expect(existsSync(join(dataDir, "gauntlet.pid"))).toBe(false);
  },
  LOAD_MS + 120_000,
);

/** Starts `bin serve` on the data dir and resolves once its pid file names it (written when /readyz answers). */
async function serveFrom(bin: string, dataDir: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn([bin, "serve", "--data", dataDir, "--host", "127.0.0.1", "--port", "0", "--roles", "api,worker,cron", "--log-level", "warn"], {
    cwd: tmp,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GAUNTLET_ENV: "test", ...env },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  pids.push(proc.pid);
  const rec = await until("the server's pid file", () => readPid(dataDir)?.pid === proc.pid && readPid(dataDir), 30_000);
  return { proc, ...rec };
}

test.skipIf(!BIN)("a new binary that cannot serve: the previous one is put back and the old server keeps serving (exit 1)", async () => {
  const dir = join(tmp, "rollback");
  const installed = join(dir, "bin", "gauntlet");
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "data"), { recursive: true });
  copyFileSync(BIN, installed);
  const before = statSync(installed).ino;
  // A real Gauntlet binary for --version and --help, whose `serve` dies at once.
  const broken = join(dir, "broken");
  writeFileSync(broken, `#!/bin/sh\n[ "$1" = serve ] && { echo "simulated start failure" >&2; exit 3; }\nexec ${BIN} "$@"\n`, { mode: 0o755 });
  const old = await serveFrom(installed, join(dir, "data"));

  const up = Bun.spawnSync([BIN, "upgrade", "--binary", broken, "--data", join(dir, "data"), "--timeout", "60"], { cwd: tmp, stdout: "pipe", stderr: "pipe" });
  const out = up.stdout.toString();
  expect(up.exitCode).toBe(1);
  expect(out).toContain("the new server failed to start (exit code 3)");
  expect(out).toContain(`put the previous binary back at ${installed}; pid ${old.pid} keeps serving`);
  expect(statSync(installed).ino).toBe(before);
  expect(alive(old.pid)).toBe(true);
  expect(readPid(join(dir, "data"))?.pid).toBe(old.pid);
  expect((await fetch(`${old.url}/readyz`)).status).toBe(200);
  old.proc.kill("SIGTERM");
  expect(await old.proc.exited).toBe(0);
}, 90_000);

test.skipIf(!BIN)("re-running install.sh while the server runs hands it over to the new binary", async () => {
  const dest = join(tmp, "dest");
  const bin = join(dest, "usr/local/bin/gauntlet");
  const data = join(dest, "var/lib/gauntlet");
  const newer = join(tmp, "newer-gauntlet");
  newRelease(newer, "\n#upgrade-e2e-install-sh\n");
  const install = (args: string[]) => {
    const r = Bun.spawnSync(["bash", join(ROOT, "install.sh"), ...args], { cwd: tmp, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp, DESTDIR: dest } });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };
  const first = install(["--lan", "--binary", BIN]);
  expect({ code: first.code, err: first.err }).toEqual({ code: 0, err: "" });
  expect(readFileSync(join(dest, "etc/sysctl.d/60-gauntlet.conf"), "utf8")).toContain("net.ipv4.tcp_migrate_req = 1");
  const installedIno = statSync(bin).ino;
  const old = await serveFrom(bin, data);

  const again = install(["--binary", newer]);
  if (again.code !== 0) console.error(again.out, again.err);
  expect(again.code).toBe(0);
  expect(again.out).toContain("handing the running server over");
  expect(again.out).toContain(`pid ${old.pid} drained and exited`);
  expect(again.out).toMatch(/backup: .*pre-upgrade-/);
  expect(await old.proc.exited).toBe(0);
  const next = readPid(data)!;
  pids.push(next.pid);
  expect(next.pid).not.toBe(old.pid);
  expect(readlinkSync(`/proc/${next.pid}/exe`)).toBe(bin);
  expect(endsWith(`/proc/${next.pid}/exe`, "\n#upgrade-e2e-install-sh\n")).toBe(true);
  expect(statSync(`${bin}.previous`).ino).toBe(installedIno);
  expect((await fetch(`${next.url}/readyz`)).status).toBe(200);
  process.kill(next.pid, "SIGTERM");
  await until("the new server to exit", () => !alive(next.pid), 30_000);
}, 120_000);
