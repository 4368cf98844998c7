/** Accounts and the appliance basics through a real server process and real HTTP. */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, httpClient, startServer, type ServerProc } from "../helpers/server.ts";

const PW = "a strong passphrase";
const dirs: string[] = [];
const procs: ServerProc[] = [];
afterAll(() => {
  for (const p of procs) p.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "gauntlet-e2e-auth-"));
  dirs.push(d);
  return d;
};

describe("accounts over real HTTP", () => {
  test("signup → login → me → logout → me(401); sessions survive a restart; a stolen cookie dies at logout", async () => {
    const dataDir = tmp();
    let srv = await startServer({ dataDir });
    procs.push(srv);
    const a = httpClient(srv.url);
    expect((await a.json("POST", "/api/v1/auth/signup", { username: "Ada", password: PW })).status).toBe(201);
    const login = await a.json("POST", "/api/v1/auth/login", { username: "ada", password: PW });
    expect(login.status).toBe(200);
    expect(login.res.headers.get("set-cookie")).toMatch(/gauntlet_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax/);
    expect((await a.json("GET", "/api/v1/me")).body.user.username).toBe("Ada");

    // Restart: the session is in the database, not in memory.
    expect(await srv.stop()).toBe(0);
    srv = await startServer({ dataDir });
    procs.push(srv);
    const a2 = httpClient(srv.url);
    a2.cookie = a.cookie;
    expect((await a2.json("GET", "/api/v1/me")).status).toBe(200);

    const thief = httpClient(srv.url);
    thief.cookie = a.cookie;
    expect((await thief.json("GET", "/api/v1/me")).status).toBe(200);
    expect((await a2.json("POST", "/api/v1/auth/logout")).status).toBe(204);
    expect((await a2.json("GET", "/api/v1/me")).status).toBe(401);
    expect((await thief.json("GET", "/api/v1/me")).status).toBe(401);
    expect(await srv.stop()).toBe(0);
  });

  test("health, readiness, OpenAPI, the web page, security headers and JSON errors", async () => {
    const srv = await startServer({ args: ["--demo"] });
    procs.push(srv);
    const h = await fetch(srv.url + "/healthz");
    expect(h.status).toBe(200);
    expect((await fetch(srv.url + "/readyz")).status).toBe(200);

    const doc = await (await fetch(srv.url + "/api/v1/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/api/v1/auth/signup");
    expect(doc.paths["/api/v1/auth/signup"].post.requestBody.content["application/json"].schema.properties.username).toBeTruthy();

    const page = await fetch(srv.url + "/some/client/route", { headers: { "accept-encoding": "br" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("x-request-id")).toBeTruthy();
    const html = await page.text();
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(js).toBeTruthy();
    const asset = await fetch(srv.url + js!, { headers: { "accept-encoding": "gzip" } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    const etag = asset.headers.get("etag")!;
    expect((await fetch(srv.url + js!, { headers: { "if-none-match": etag } })).status).toBe(304);

    const bad = await fetch(srv.url + "/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: "invalid_json", message: "The request body is not valid JSON." } });

    const big = await fetch(srv.url + "/api/v1/auth/signup", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "x".repeat(2 * 1024 * 1024) }) });
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe("payload_too_large");
    // Just over the app's limit (under Bun's own backstop), declared by Content-Length and sent chunked: both refused in JSON.
    const over = JSON.stringify({ username: "x".repeat(1_100_000) });
    const declared = await fetch(srv.url + "/api/v1/auth/signup", { method: "POST", headers: { "content-type": "application/json" }, body: over });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.code).toBe("payload_too_large");
    const chunked = await fetch(srv.url + "/api/v1/auth/signup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(ctl) {
          for (let i = 0; i < 10; i++) ctl.enqueue(new TextEncoder().encode(over.slice(i * 110_001, (i + 1) * 110_001)));
          ctl.close();
        },
      }),
    });
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).error.code).toBe("payload_too_large");

    // --demo seeded the organiser account.
    const org = httpClient(srv.url);
    const l = await org.json("POST", "/api/v1/auth/login", { username: "organiser", password: "gauntlet-demo-organiser" });
    expect(l.status).toBe(200);
    expect(l.body.user.role).toBe("organiser");
    expect(await srv.stop()).toBe(0);
  });

  test("bad configuration exits 2 naming the setting; --version and --help work", () => {
    const run = (args: string[], env: Record<string, string> = {}) => spawnSync(command(args), { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    const port = run(["serve", "--port", "seventy"]);
    expect(port.exitCode).toBe(2);
    expect(port.stderr.toString()).toContain("port");
    const env = run(["serve", "--data", tmp()], { GAUNTLET_BODY_LIMIT_BYTES: "-3" });
    expect(env.exitCode).toBe(2);
    expect(env.stderr.toString()).toContain("bodyLimitBytes");
    const prodClock = run(["serve", "--data", tmp()], { GAUNTLET_ENV: "production", GAUNTLET_FAKE_CLOCK: "1" });
    expect(prodClock.exitCode).toBe(2);
    expect(prodClock.stderr.toString()).toContain("fakeClock");
    const unknown = run(["serve", "--no-such-flag", "1"]);
    expect(unknown.exitCode).toBe(2);
    expect(run(["--version"]).stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);
    for (const c of ["serve", "migrate", "seed", "user"]) {
      const h = run([c, "--help"]);
      expect(h.exitCode).toBe(0);
      expect(h.stdout.toString()).toContain("usage: gauntlet " + c);
    }
  });

  test("user create --admin prints a one-time password that logs in as an organiser", async () => {
    const dataDir = tmp();
    const out = spawnSync(command(["user", "create", "boss", "--admin", "--data", dataDir]), { stdout: "pipe", stderr: "pipe" });
    expect(out.exitCode).toBe(0);
    const pw = /one-time password: (\S+)/.exec(out.stdout.toString())?.[1];
    expect(pw).toBeTruthy();
    const dup = spawnSync(command(["user", "create", "BOSS", "--data", dataDir, "--password", "another good one"]), { stdout: "pipe", stderr: "pipe" });
    expect(dup.exitCode).toBe(1);
    const srv = await startServer({ dataDir });
    procs.push(srv);
    const c = httpClient(srv.url);
    const l = await c.json("POST", "/api/v1/auth/login", { username: "boss", password: pw });
    expect(l.status).toBe(200);
    expect(l.body.user.role).toBe("organiser");
    await srv.stop();
  });
});
