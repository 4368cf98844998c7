/**
 * Durability of the hunt under a crash: players submit answers (mostly wrong,
 * some right) against a real server process, which gets SIGKILL mid-load and
 * restarts on the same data directory. Every answer acknowledged with 200 must
 * be in the attempts table, every acknowledged solve must have its ledger
 * entry (an answer is only acknowledged after its commit, synchronous=FULL),
 * and `gauntlet check-ledger` must pass.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, httpClient, openDataDb, startServer, type ServerProc } from "../helpers/server.ts";
import { onPostgres } from "../../src/testing.ts";

const PLAYERS = 16;
const PUZZLES = 5;
const env = { GAUNTLET_SIGNUP_PER_IP_PER_HOUR: "100000", GAUNTLET_LOGIN_PER_IP_PER_MINUTE: "100000" };
// No runner role: its warm sandbox pools are not what is tested and cost CPU on a shared box.
const args = ["--roles", "api,worker,cron"];
const procs: ServerProc[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-hunt-kill9-"));
afterAll(() => {
  for (const p of procs) p.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

async function run(args: string[]) {
  const p = spawn(command([...args, "--data", dataDir]), { stdout: "pipe", stderr: "pipe", env: { ...process.env, GAUNTLET_ENV: "test" } });
  const out = (await new Response(p.stdout).text()) + (await new Response(p.stderr).text());
  return { code: await p.exited, out };
}

test(
  "kill -9 under answer load: every acknowledged answer and solve survives; check-ledger passes",
  async () => {
    expect((await run(["user", "create", "k9org", "--admin", "--password", "organiser passphrase"])).code).toBe(0);
    const srv = await startServer({ dataDir, env, args });
    procs.push(srv);
    const org = httpClient(srv.url);
    expect((await org.json("POST", "/api/v1/auth/login", { username: "k9org", password: "organiser passphrase" })).status).toBe(200);
    const now = Date.now();
    const ev = await org.json("POST", "/api/v1/events", {
      slug: "k9",
      title: "Kill nine",
      startsAt: now - 60_000,
      endsAt: now + 3_600_000,
      settings: { answersPerMinute: 100_000, answersPerMinutePerIp: null },
    });
    expect(ev.status).toBe(201);
    for (let i = 1; i <= PUZZLES; i++) {
      expect((await org.json("POST", "/api/v1/events/k9/puzzles", { title: `P${i}`, answers: [`answer${i}`], hints: [{ text: "h" }] })).status).toBe(201);
    }
    const players = await Promise.all(
      Array.from({ length: PLAYERS }, async (_, i) => {
        const c = httpClient(srv.url);
        const r = await c.json("POST", "/api/v1/auth/signup", { username: `k9p${i}`, password: "kill nine player" });
        expect(r.status).toBe(201);
        return { c, id: r.body.user.id as number, current: 1, acked: 0, solved: 0 };
      }),
    );

    let stop = false;
    const errors: string[] = [];
    let total = 0;
    const loops = players.map(async (p) => {
      while (!stop) {
        const right = p.current <= PUZZLES && Math.random() < 0.2;
        try {
          const r = await p.c.json("POST", "/api/v1/events/k9/hunt/answer", { answer: right ? `answer${p.current}` : `wrong${Math.random()}` });
          if (r.status === 200) {
            p.acked++;
            total++;
            if (r.body.outcome === "correct") {
              p.solved++;
              p.current = r.body.next ? r.body.next.number : PUZZLES + 1;
            }
          } else if (r.status === 409 && r.body.error.code === "already_solved") {
            p.current = PUZZLES + 1;
          } else {
            errors.push(`${r.status} ${JSON.stringify(r.body)}`);
            await Bun.sleep(10);
          }
        } catch {
          return; // the server is gone
        }
      }
    });
    const deadline = Date.now() + 30_000;
    while (total < 300 && Date.now() < deadline) await Bun.sleep(20);
    expect(errors.slice(0, 3)).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(300);
    await srv.kill();
    stop = true;
    await Promise.all(loops);

    // Restart on the same data: recovery, then a clean stop so the file is complete.
    const again = await startServer({ dataDir, env, args });
    procs.push(again);
    // "listening" is logged just before the signal handlers are installed; a served request means they are.
    expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
    expect((await again.stop()) ?? 0).toBe(0);

    const db = openDataDb(dataDir, { readonly: true });
    for (const p of players) {
      const attempts = (db.query("SELECT count(*) AS n FROM attempts WHERE player_id = ?").get(p.id) as { n: number }).n;
      const solves = (db.query("SELECT count(*) AS n FROM ledger WHERE player_id = ? AND kind = 'solve'").get(p.id) as { n: number }).n;
      // In flight at the kill: at most one more committed than acknowledged.
      expect(attempts).toBeGreaterThanOrEqual(p.acked);
      expect(attempts).toBeLessThanOrEqual(p.acked + 1);
      expect(solves).toBeGreaterThanOrEqual(p.solved);
      expect(solves).toBeLessThanOrEqual(p.solved + 1);
    }
    // SQLite's own check of the file; PostgreSQL recovers from its WAL by itself.
    if (!onPostgres) expect((db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
    db.close();
    const check = await run(["check-ledger"]);
    expect(check.out).toContain("0 mismatches");
    expect(check.code).toBe(0);
  },
  120_000,
);
