/**
 * The XP ticker end to end: a real server with the fake clock; an organiser
 * advances the clock and the per-minute cron job writes the owed ticks as
 * ledger entries (each once), which GET current already showed by formula.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, httpClient, startServer, type ServerProc } from "../helpers/server.ts";

const procs: ServerProc[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-hunt-xp-"));
afterAll(() => {
  for (const p of procs) p.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

test(
  "advancing the fake clock makes the cron ticker write each owed XP tick once",
  async () => {
    const mk = spawn(command(["user", "create", "xporg", "--admin", "--password", "organiser passphrase", "--data", dataDir]), { env: { ...process.env, GAUNTLET_ENV: "test" } });
    expect(await mk.exited).toBe(0);
    const srv = await startServer({ dataDir, args: ["--roles", "api,worker,cron"], env: { GAUNTLET_FAKE_CLOCK: "1" } });
    procs.push(srv);
    const org = httpClient(srv.url);
    expect((await org.json("POST", "/api/v1/auth/login", { username: "xporg", password: "organiser passphrase" })).status).toBe(200);
    const now = (await org.json("GET", "/api/v1/admin/clock")).body.now as number;
    expect((await org.json("POST", "/api/v1/events", { slug: "xp", title: "XP", startsAt: now, endsAt: now + 48 * 3_600_000, preset: "enigma7" })).status).toBe(201);
    expect((await org.json("POST", "/api/v1/events/xp/puzzles", { title: "P1", answers: ["a"] })).status).toBe(201);
    const p = httpClient(srv.url);
    const su = await p.json("POST", "/api/v1/auth/signup", { username: "xpplayer", password: "xp player passphrase" });
    expect(su.status).toBe(201);
    expect((await p.json("POST", "/api/v1/events/xp/hunt/answer", { answer: "nope" })).body.outcome).toBe("wrong");
    expect((await org.json("POST", "/api/v1/admin/clock", { advanceMs: 3 * 3_600_000 + 30_000 })).status).toBe(200);
    // The formula shows the balance at once, whatever the ticker is doing.
    expect((await p.json("GET", "/api/v1/events/xp/hunt/current")).body.balances.xp).toEqual({ earned: 30, spent: 0, balance: 30 });
    let ticks: { kind: string; amount: number }[] = [];
    for (let i = 0; i < 100 && ticks.length < 3; i++) {
      await Bun.sleep(100);
      const r = await org.json("GET", `/api/v1/events/xp/ledger?player=${su.body.user.id}`);
      ticks = r.body.entries.filter((e: { kind: string }) => e.kind === "xp_tick");
    }
    expect(ticks.map((t) => t.amount)).toEqual([10, 10, 10]);
    // Another minute passes: no tick is owed, none is written twice.
    await org.json("POST", "/api/v1/admin/clock", { advanceMs: 60_000 });
    await Bun.sleep(500);
    const after = (await org.json("GET", `/api/v1/events/xp/ledger?player=${su.body.user.id}`)).body.entries.filter((e: { kind: string }) => e.kind === "xp_tick");
    expect(after.length).toBe(3);
  },
  60_000,
);
