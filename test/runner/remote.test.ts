/**
 * Remote runner mode end to end: a server without the runner role, an
 * organiser's token, `gauntlet runner --server URL --token T` pulling the
 * run jobs; unauthenticated and revoked runners are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { command, httpClient, startServer, type ServerProc } from "../helpers/server.ts";
import { sandboxSkipReason } from "../../src/runner/testing.ts";

const skipReason = sandboxSkipReason("remote runner test");

describe.skipIf(skipReason !== null)("remote runner", () => {
  let srv: ServerProc;
  let runner: Subprocess | null = null;
  beforeAll(async () => {
    srv = await startServer({ args: ["--roles", "api,worker,cron"], timeoutMs: 30_000 });
  }, 40_000);
  afterAll(async () => {
    runner?.kill("SIGKILL");
    await srv?.stop();
    srv?.cleanup();
  });

  test("runs go to a token-holding remote runner; no token, a wrong one or a revoked one is refused", async () => {
    const mk = spawn(command(["user", "create", "org1", "--admin", "--password", "organiser passphrase", "--data", srv.dataDir]), { stdout: "pipe", stderr: "pipe", env: { ...process.env, GAUNTLET_ENV: "test" } });
    expect(await mk.exited).toBe(0);
    const org = httpClient(srv.url);
    expect((await org.json("POST", "/api/v1/auth/login", { username: "org1", password: "organiser passphrase" })).status).toBe(200);
    const player = httpClient(srv.url);
    expect((await player.json("POST", "/api/v1/auth/signup", { username: "remote1", password: "a strong passphrase" })).status).toBe(201);

    // No runner role and no remote runner: refused, never run here.
    const none = await player.json("POST", "/api/v1/run", { language: "python3", source: "print(1)" });
    expect(none.status).toBe(503);
    expect(none.body.error.code).toBe("runner_unavailable");

    // Claims need a valid token.
    const anon = httpClient(srv.url);
    expect((await anon.json("POST", "/api/v1/runner/remote/claim", {})).status).toBe(401);
    expect((await anon.json("POST", "/api/v1/runner/remote/claim", {}, { authorization: "Bearer abc.def" })).status).toBe(401);
    // Players cannot mint tokens.
    expect((await player.json("POST", "/api/v1/admin/runner/tokens", { name: "x" })).status).toBe(403);

    const created = await org.json("POST", "/api/v1/admin/runner/tokens", { name: "box-2" });
    expect(created.status).toBe(201);
    const { id, token } = created.body as { id: string; token: string };
    const list = await org.json("GET", "/api/v1/admin/runner/tokens");
    expect(list.body.tokens.map((t: { id: string }) => t.id)).toContain(id);
    expect(JSON.stringify(list.body)).not.toContain(token.split(".")[1]);
    expect(JSON.stringify(list.body)).not.toContain("hash");

    const logs: string[] = [];
    runner = spawn(command(["runner", "--server", srv.url, "--concurrency", "2"]), { stdout: "pipe", stderr: "pipe", env: { ...process.env, GAUNTLET_RUNNER_TOKEN: token } });
    void (async () => {
      for await (const chunk of runner!.stderr as ReadableStream<Uint8Array>) logs.push(new TextDecoder().decode(chunk));
    })();
    // Wait until the server has seen the runner poll.
    for (let i = 0; i < 100; i++) {
      const h = await org.json("GET", "/api/v1/admin/runner");
      if (h.body.remote?.active) break;
      await Bun.sleep(100);
    }
    const r = await player.json("POST", "/api/v1/run", { language: "python3", source: "import sys\nprint(int(sys.stdin.read()) + 1)\n", stdin: "41" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "OK", stdout: "42\n", exitCode: 0 });
    const tle = await player.json("POST", "/api/v1/run", { language: "python3", source: "while True: pass\n" });
    expect(tle.body.status).toBe("TLE");

    // A wrong job id or a forged report is refused.
    const forged = await anon.json("POST", "/api/v1/runner/remote/jobs/nope", { status: "OK", stdout: "x", stderr: "", exitCode: 0, timeMs: 1, memoryKb: 1 }, { authorization: `Bearer ${token}` });
    expect(forged.status).toBe(404);

    // Revoked: the runner is refused at its next call and exits.
    expect((await org.json("DELETE", `/api/v1/admin/runner/tokens/${id}`)).status).toBe(204);
    const code = await Promise.race([runner.exited, Bun.sleep(30_000).then(() => "still running")]);
    expect(code).toBe(1);
    expect(logs.join("")).toContain("refused the runner token");
    expect((await anon.json("POST", "/api/v1/runner/remote/claim", {}, { authorization: `Bearer ${token}` })).status).toBe(401);
  }, 60_000);
});
