/**
 * Structured logs of a real server: every stdout line is one JSON object with
 * time, level and msg; startup, each request and shutdown are logged at info;
 * --log-level warn silences them all.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, startServer } from "../helpers/server.ts";

const parse = (lines: string[]) =>
  lines.filter((l) => l.trim()).map((l) => {
    const o = JSON.parse(l);
    expect(typeof o.time).toBe("string");
    expect(["debug", "info", "warn", "error"]).toContain(o.level);
    expect(typeof o.msg).toBe("string");
    return o as { level: string; msg: string; [k: string]: unknown };
  });

test("info: startup, requests and shutdown as JSON lines; never a query value", async () => {
  const srv = await startServer();
  try {
    await fetch(srv.url + "/api/v1/me?token=logsecret");
    expect(await srv.stop()).toBe(0);
    await Bun.sleep(50);
    const lines = parse(srv.logs);
    const msgs = lines.map((l) => l.msg);
    for (const m of ["listening", "request", "shutting down", "stopped"]) expect(msgs).toContain(m);
    const req = lines.find((l) => l.msg === "request" && l.route === "/api/v1/me")!;
    expect(req).toMatchObject({ method: "GET", status: 401 });
    expect(srv.logs.join("\n")).not.toContain("logsecret");
  } finally {
    srv.cleanup();
  }
}, 30_000);

test("--log-level warn writes nothing at info", async () => {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-logs-"));
  const proc = Bun.spawn(command(["serve", "--data", dataDir, "--port", String(port), "--log-level", "warn"]), { stdout: "pipe", stderr: "pipe", env: { ...process.env, GAUNTLET_ENV: "test" } });
  try {
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (!up) await Bun.sleep(50);
    }
    expect(up).toBe(true);
    await fetch(`http://127.0.0.1:${port}/api/v1/me`);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const out = await new Response(proc.stdout).text();
    expect(out).toBe("");
  } finally {
    proc.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 30_000);
