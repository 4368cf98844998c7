/**
 * The shipped Caddyfile in front of a real server process: real Caddy
 * (Debian's, `caddy run`) proxying to the app, with only the listen address,
 * upstream port and log path changed for the test (plain HTTP on free ports,
 * admin API off). Checks what the configuration promises: security headers,
 * compression without double-encoding the app's precompressed assets, a JSON
 * access log, websockets through the proxy, and a client that cannot spoof its
 * address with X-Forwarded-For (the app's per-IP limits hold behind Caddy).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { CADDY, runCaddy, type CaddyProc } from "../helpers/caddy.ts";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { freePort, startServer, type ServerProc } from "../helpers/server.ts";

const ROOT = join(import.meta.dir, "..", "..");
// Each step runs the real binary (argon2, migrations); a busy shared box needs room.
setDefaultTimeout(60_000);
const caddy = CADDY;
if (!caddy) console.log("caddy-proxy.test: skipping: caddy is not installed (apt-get install caddy)");


/** Raw HTTP (no automatic decompression), so Content-Encoding and bytes are what Caddy sent. */
function raw(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((res, rej) => {
    const req = request({ host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: opts.headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => res({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
      r.on("error", rej);
    });
    req.on("error", rej);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

describe.skipIf(!caddy)("the domain Caddyfile in front of the app", () => {
  const dir = mkdtempSync(join(tmpdir(), "gauntlet-caddy-proxy-"));
  const accessLog = join(dir, "access.log");
  let app: ServerProc;
  let proxy: CaddyProc | undefined;
  let port = 0;

  beforeAll(async () => {
    // One signup per client IP: a spoofed X-Forwarded-For would show up as a second success.
    app = await startServer({ env: { GAUNTLET_SIGNUP_PER_IP_PER_HOUR: "1" } });
    port = await freePort();
    const shipped = readFileSync(join(ROOT, "Caddyfile"), "utf8");
    const config =
      "{\n\tadmin off\n}\n\n" +
      shipped
        .replace(/^gauntlet\.example\.com \{/m, `http://127.0.0.1:${port} {`)
        .replace("reverse_proxy 127.0.0.1:3000", `reverse_proxy 127.0.0.1:${app.port}`)
        .replace("/var/log/caddy/gauntlet-access.log", accessLog);
    expect(config).toContain(`reverse_proxy 127.0.0.1:${app.port}`);
    proxy = await runCaddy(dir, config, async () => (await raw(port, "/readyz")).status === 200);
  });

  afterAll(async () => {
    await proxy?.stop();
    app?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("security headers, HSTS, no Server banner", async () => {
    const r = await raw(port, "/readyz");
    expect(r.status).toBe(200);
    expect(r.headers["strict-transport-security"]).toMatch(/max-age=\d+/);
    expect(r.headers["x-content-type-options"]).toBe("nosniff");
    expect(r.headers["x-frame-options"]).toBe("DENY");
    expect(r.headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
    expect(r.headers["server"]).toBeUndefined();
  });

  test.each(["gzip", "zstd"])("compresses API JSON with %s", async (enc) => {
    const r = await raw(port, "/api/v1/openapi.json", { headers: { "accept-encoding": enc } });
    expect(r.status).toBe(200);
    expect(r.headers["content-encoding"]).toBe(enc);
    const plain = enc === "gzip" ? gunzipSync(r.body) : Buffer.from(Bun.zstdDecompressSync(r.body));
    expect(JSON.parse(plain.toString()).openapi).toMatch(/^3\./);
  });

  test("passes the app's precompressed assets through without encoding them twice", async () => {
    const index = (await raw(port, "/", { headers: { "accept-encoding": "identity" } })).body.toString();
    const asset = /(?:src|href)="(\/assets\/[^"]+\.js)"/.exec(index)?.[1];
    if (!asset) {
      console.log("caddy-proxy.test: no hashed JS asset in index.html (web bundle not built); precompression check skipped");
      return;
    }
    const direct = await raw(app.port, asset, { headers: { "accept-encoding": "br, gzip, zstd" } });
    const proxied = await raw(port, asset, { headers: { "accept-encoding": "br, gzip, zstd" } });
    expect(proxied.status).toBe(200);
    // Whatever the app chose (its .br or .gz file) arrives as is: one coding, the same bytes.
    expect(proxied.headers["content-encoding"]).toBe(direct.headers["content-encoding"]);
    expect(proxied.body.equals(direct.body)).toBe(true);
    const enc = proxied.headers["content-encoding"];
    const js = enc === "br" ? brotliDecompressSync(proxied.body) : enc === "gzip" ? gunzipSync(proxied.body) : proxied.body;
    expect(js.length).toBeGreaterThan(0);
    expect(js.toString("utf8")).not.toContain("\uFFFD");
  });

  test("a client cannot pick its own address with X-Forwarded-For", async () => {
    const signup = (username: string, xff: string) =>
      raw(port, "/api/v1/auth/signup", {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": xff },
        body: JSON.stringify({ username, password: "proxy passphrase" }),
      });
    expect((await signup("viaproxy1", "203.0.113.7")).status).toBe(201);
    // Another claimed address, same real client: the per-IP limit (1/hour) still applies.
    const second = await signup("viaproxy2", "198.51.100.9");
    expect(second.status).toBe(429);
    expect(JSON.parse(second.body.toString()).error.code).toBe("rate_limited");
  });

  test("websockets are proxied", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/live`);
    const opened = await new Promise<boolean>((res) => {
      const t = setTimeout(() => res(false), 5000);
      ws.onopen = () => (clearTimeout(t), res(true));
      ws.onerror = () => (clearTimeout(t), res(false));
    });
    ws.close();
    expect(opened).toBe(true);
  });

  test("writes a JSON access log line per request", async () => {
    await raw(port, "/healthz");
    let lines: string[] = [];
    for (let i = 0; i < 40 && !lines.some((l) => l.includes("/healthz")); i++) {
      await Bun.sleep(50);
      try {
        lines = readFileSync(accessLog, "utf8").trim().split("\n");
      } catch {}
    }
    const entry = JSON.parse(lines.find((l) => l.includes("/healthz"))!);
    expect(entry.request.uri).toBe("/healthz");
    expect(entry.status).toBe(200);
  });
});
