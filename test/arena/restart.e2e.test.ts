/**
 * The server owns the timer, durably: a match running when the server stops
 * still ends at its time after a restart (the end is a queued job with runAt,
 * not an in-memory timer), with its result and ratings.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, httpClient, startServer, type ServerProc } from "../helpers/server.ts";

const dir = mkdtempSync(join(tmpdir(), "gauntlet-arena-restart-"));
let srv: ServerProc | null = null;
afterAll(async () => {
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a restart never loses a match end", async () => {
  const mk = Bun.spawnSync(command(["user", "create", "org", "--admin", "--password", "organiser restart pass", "--data", dir]), { env: { ...process.env, GAUNTLET_ENV: "test" } });
  expect(mk.exitCode).toBe(0);
  srv = await startServer({ dataDir: dir, env: { GAUNTLET_FAKE_CLOCK: "1" } });
  const org = httpClient(srv.url);
  await org.json("POST", "/api/v1/auth/login", { username: "org", password: "organiser restart pass" });
  const p = await org.json<any>("POST", "/api/v1/admin/problems", { title: "Twice", difficulty: "medium", tests: [{ input: "2\n", answer: "4\n" }] });
  const a = httpClient(srv.url);
  const b = httpClient(srv.url);
  const ua = (await a.json<any>("POST", "/api/v1/auth/signup", { username: "hal", password: "a strong passphrase" })).body.user;
  await b.json("POST", "/api/v1/auth/signup", { username: "ida", password: "a strong passphrase" });
  const room = await a.json<any>("POST", "/api/v1/arena/rooms", { format: "duel", difficulty: "medium", problemId: p.body.problem.id, durationSec: 120, countdownSec: 0 });
  await b.json("POST", "/api/v1/arena/rooms/join", { code: room.body.match.inviteCode });
  const id = room.body.match.id;
  await org.json("POST", "/api/v1/admin/clock", { advanceMs: 1 });
  for (let i = 0; i < 50 && (await a.json<any>("GET", `/api/v1/arena/matches/${id}`)).body.match.status !== "running"; i++) await Bun.sleep(100);
  // a submits a wrong answer (scores on time) so the timeout has a winner.
  await a.json("POST", `/api/v1/arena/matches/${id}/submissions`, { language: "python3", source: "print(3)\n" });
  for (let i = 0; i < 100 && (await a.json<any>("GET", `/api/v1/arena/matches/${id}`)).body.match.mySubmissions[0]?.status !== "done"; i++) await Bun.sleep(100);

  expect(await srv.stop()).toBe(0);
  srv = await startServer({ dataDir: dir, env: { GAUNTLET_FAKE_CLOCK: "1" } });
  const org2 = httpClient(srv.url);
  await org2.json("POST", "/api/v1/auth/login", { username: "org", password: "organiser restart pass" });
  const a2 = httpClient(srv.url);
  await a2.json("POST", "/api/v1/auth/login", { username: "hal", password: "a strong passphrase" });
  expect((await a2.json<any>("GET", `/api/v1/arena/matches/${id}`)).body.match.status).toBe("running");
  await org2.json("POST", "/api/v1/admin/clock", { advanceMs: 120_000 });
  let m: any;
  for (let i = 0; i < 50; i++) {
    m = (await a2.json<any>("GET", `/api/v1/arena/matches/${id}`)).body.match;
    if (m.status === "finished") break;
    await Bun.sleep(100);
  }
  expect(m.status).toBe("finished");
  expect(m.result).toMatchObject({ winnerSide: 0, reason: "timeout" });
  expect((await a2.json<any>("GET", `/api/v1/users/${ua.id}/profile`)).body.profile.rating).toBe(1216);
}, 90_000);
