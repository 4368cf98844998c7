/**
 * End to end on a real server process (fake clock, real sandbox): four
 * players over real websockets play a `pairs` match from the public queue to
 * the result, a spectator watches, an organiser moves the clock. Then a duel
 * checks disconnect/reconnect inside the grace and a forfeit outside it.
 *
 * Every message any client receives, and every response a player or the
 * spectator gets before the end, is checked for what must never be there:
 * hidden test data and the other side's (or, for a Tester, their Coder's) code.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, httpClient, startServer, type ServerProc } from "../helpers/server.ts";
import { liveClient, type LiveClient } from "../helpers/live.ts";

const HIDDEN = ["hidden-alpha-4d1e", "hidden-beta-93fa", "hidden-gamma-0c2b"];
const ORG_PASS = "organiser passphrase e2e";
const ECHO_PY = "import sys\nsys.stdout.write(sys.stdin.read())  # team0-final-code\n";
const WRONG_A = "print('nope')  # team0-draft-code\n";
const WRONG_B = "print('also nope')  # team1-wrong-code\n";

let srv: ServerProc;
let dir: string;
type Http = ReturnType<typeof httpClient>;
const sockets: LiveClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gauntlet-arena-e2e-"));
  const mk = Bun.spawnSync(command(["user", "create", "org", "--admin", "--password", ORG_PASS, "--data", dir]), { env: { ...process.env, GAUNTLET_ENV: "test" } });
  if (mk.exitCode !== 0) throw new Error(`user create failed: ${mk.stderr.toString()}`);
  srv = await startServer({ dataDir: dir, env: { GAUNTLET_FAKE_CLOCK: "1" } });
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function login(name: string, password: string): Promise<Http> {
  const c = httpClient(srv.url);
  const r = await c.json("POST", "/api/v1/auth/login", { username: name, password });
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status}`);
  return c;
}
async function signup(name: string) {
  const c = httpClient(srv.url);
  const r = await c.json<any>("POST", "/api/v1/auth/signup", { username: name, password: "a strong passphrase" });
  if (r.status !== 201) throw new Error(`signup ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  const live = await liveClient(srv.url, { cookie: c.cookie });
  sockets.push(live);
  await live.subscribe(`user:${r.body.user.id}`, 0);
  return { http: c, id: r.body.user.id as number, name, live };
}
type Player = Awaited<ReturnType<typeof signup>>;

/** Everything a client got before the match's `finished` event must be free of `forbidden`. */
function assertNoLeak(label: string, payloads: unknown[], forbidden: string[]) {
  for (const p of payloads) {
    const text = JSON.stringify(p);
    for (const f of forbidden) if (text.includes(f)) throw new Error(`${label}: payload leaks ${JSON.stringify(f)}: ${text.slice(0, 300)}`);
  }
}
const seqsContiguous = (xs: Array<{ seq: number }>, from = 1) => xs.every((m, i) => m.seq === from + i);

test("pairs from the queue to the result: role swap, tester runs, WA then AC, rating change", async () => {
  const org = await login("org", ORG_PASS);
  const made = await org.json<any>("POST", "/api/v1/admin/problems", {
    title: "Mirror",
    statement: "Print the input unchanged.",
    difficulty: "easy",
    checker: "exact",
    samples: [{ input: "sample line\n", answer: "sample line\n" }],
    tests: HIDDEN.map((h) => ({ input: `${h}\n`, answer: `${h}\n` })),
  });
  expect(made.status).toBe(201);

  const [ann, ben, cat, dan] = [await signup("ann"), await signup("ben"), await signup("cat"), await signup("dan")];
  const watcher = await signup("watcher");
  const players = [ann, ben, cat, dan];
  const responses: Record<string, unknown[]> = { ann: [], ben: [], cat: [], dan: [], watcher: [] };
  const call = async (p: Player, method: string, path: string, body?: unknown) => {
    const r = await p.http.json<any>(method, path, body);
    responses[p.name].push(r.body);
    return r;
  };

  // The queue: FIFO, a match once four wait.
  for (const p of players.slice(0, 3)) expect((await call(p, "POST", "/api/v1/arena/queue", { format: "pairs", difficulty: "easy" })).body.queued).toBe(true);
  const last = await call(dan, "POST", "/api/v1/arena/queue", { format: "pairs", difficulty: "easy" });
  const matchId: number = last.body.match.id;
  expect(last.body.match.status).toBe("countdown");
  const topic = `match:${matchId}`;
  for (const p of [...players, watcher]) expect((await p.live.subscribe(topic, 0)).type).toBe("subscribed");
  await ann.live.waitFor(() => ann.live.messages(`user:${ann.id}`).some((m) => m.data.type === "match.found"));

  // Seats: first picks code, second picks test; ann+cat vs ben+dan.
  const view0 = (await call(ann, "GET", `/api/v1/arena/matches/${matchId}`)).body.match;
  const roleOf = (v: any, name: string) => v.players.find((p: any) => p.username === name);
  expect(roleOf(view0, "ann")).toMatchObject({ side: 0, role: "coder" });
  expect(roleOf(view0, "cat")).toMatchObject({ side: 0, role: "tester" });
  expect(roleOf(view0, "ben")).toMatchObject({ side: 1, role: "coder" });
  expect(roleOf(view0, "dan")).toMatchObject({ side: 1, role: "tester" });
  expect(view0.problem).toBeUndefined();

  // Countdown over (organiser moves the fake clock): started, with the problem's samples only.
  await org.json("POST", "/api/v1/admin/clock", { advanceMs: 5000 });
  await watcher.live.waitFor(() => watcher.live.messages(topic).some((m) => m.data.type === "started"));
  const started = watcher.live.messages(topic).find((m) => m.data.type === "started")!;
  expect(started.data.problem.samples).toHaveLength(1);
  const startsAt: number = started.data.startsAt;

  // Team 0: the Coder writes (wrong) code; the Tester runs a case against it without seeing it; the result reaches the Coder.
  await call(ann, "PUT", `/api/v1/arena/matches/${matchId}/code`, { language: "python3", source: WRONG_A });
  expect((await call(cat, "GET", `/api/v1/arena/matches/${matchId}/code`)).status).toBe(403);
  const run = await call(cat, "POST", `/api/v1/arena/matches/${matchId}/tests`, { tests: [{ input: "x\n", expected: "x\n" }] });
  expect(run.status).toBe(202);
  await ann.live.waitFor(() => ann.live.messages(`user:${ann.id}`).some((m) => m.data.type === "tester.result"), 30_000);
  expect(ann.live.messages(`user:${ann.id}`).find((m) => m.data.type === "tester.result")!.data.verdict).toBe("WA");

  // Team 1: a WA, with per-test verdicts on the match topic.
  const wa = await call(ben, "POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: WRONG_B });
  expect(wa.status).toBe(202);
  await watcher.live.waitFor(() => watcher.live.messages(topic).some((m) => m.data.type === "verdict" && m.data.submissionId === wa.body.submission.id), 30_000);
  expect(watcher.live.messages(topic).find((m) => m.data.type === "verdict")!.data).toMatchObject({ side: 1, verdict: "WA", hiddenPassed: 0, hiddenTotal: 3 });
  expect(watcher.live.messages(topic).filter((m) => m.data.type === "verdict.test" && m.data.submissionId === wa.body.submission.id)).toHaveLength(4);

  // Before the swap nobody can tell when it comes; step the clock from 30 % until it happens.
  for (const p of [...players, watcher]) assertNoLeak(`${p.name} before swap`, [...p.live.messages(topic).map((m) => m.data), ...responses[p.name]], ['"swapAt"']);
  await org.json("POST", "/api/v1/admin/clock", { advanceMs: 90_000 });
  let swapped = false;
  for (let i = 0; i <= 12 && !swapped; i++) {
    await Bun.sleep(150);
    swapped = watcher.live.messages(topic).some((m) => m.data.type === "role.swap");
    if (!swapped) await org.json("POST", "/api/v1/admin/clock", { advanceMs: 10_000 });
  }
  await watcher.live.waitFor(() => watcher.live.messages(topic).some((m) => m.data.type === "role.swap"));
  const swap = watcher.live.messages(topic).find((m) => m.data.type === "role.swap")!.data;
  const frac = (swap.swapAt - startsAt) / 300_000;
  expect(frac).toBeGreaterThanOrEqual(0.3);
  expect(frac).toBeLessThanOrEqual(0.7);
  // One instant for both teams: every player got the same event.
  for (const p of players) await p.live.waitFor(() => p.live.messages(topic).some((m) => m.data.type === "role.swap"));
  for (const p of players) expect(p.live.messages(topic).find((m) => m.data.type === "role.swap")!.data.swapAt).toBe(swap.swapAt);
  const roles = Object.fromEntries(swap.roles.map((r: any) => [r.userId, r.role]));
  expect([roles[ann.id], roles[cat.id], roles[ben.id], roles[dan.id]]).toEqual(["tester", "coder", "tester", "coder"]);

  // The new Coder of team 0 takes over the team's code, and submits the AC.
  expect((await call(ann, "POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: ECHO_PY })).body.error.code).toBe("wrong_role");
  const handover = await cat.http.json<any>("GET", `/api/v1/arena/matches/${matchId}/code`);
  expect(handover.body.source).toBe(WRONG_A);
  const ac = await call(cat, "POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: ECHO_PY });
  expect(ac.status).toBe(202);
  await watcher.live.waitFor(() => watcher.live.messages(topic).some((m) => m.data.type === "finished"), 30_000);
  const fin = watcher.live.messages(topic).find((m) => m.data.type === "finished")!.data;
  expect(fin).toMatchObject({ winnerSide: 0, reason: "accepted" });
  const deltas = Object.fromEntries(fin.ratingChanges.map((c: any) => [c.userId, c.delta]));
  expect([deltas[ann.id], deltas[cat.id], deltas[ben.id], deltas[dan.id]]).toEqual([16, 16, -16, -16]);

  // Nothing before `finished` leaked hidden tests or code to anyone; sequence numbers have no gap or repeat.
  for (const p of [...players, watcher]) {
    await p.live.waitFor(() => p.live.messages(topic).some((m) => m.data.type === "finished"));
    const msgs = p.live.messages(topic);
    expect(seqsContiguous(msgs)).toBe(true);
    expect(p.live.stats.duplicates).toBe(0);
    const before = msgs.slice(0, msgs.findIndex((m) => m.data.type === "finished")).map((m) => m.data);
    const own = p.live.messages(`user:${p.id}`).map((m) => m.data);
    const codeOfOthers = [ECHO_PY, WRONG_A, WRONG_B].filter((c) => !((p === ann && c === WRONG_A) || (p === cat && c === ECHO_PY) || (p === ben && c === WRONG_B)));
    assertNoLeak(p.name, [...before, ...own], [...HIDDEN, "team0-draft-code", "team0-final-code", "team1-wrong-code"]);
    assertNoLeak(`${p.name} responses`, responses[p.name], [...HIDDEN, ...codeOfOthers.map((c) => c.split("#")[1].trim())]);
  }

  // After the end: a replay with code; the profile shows the new rating and the match.
  const end = (await watcher.http.json<any>("GET", `/api/v1/arena/matches/${matchId}`)).body.match;
  expect(end.timeline.filter((x: any) => x.kind === "submit").map((x: any) => [x.username, x.verdict])).toEqual([
    ["ben", "WA"],
    ["cat", "AC"],
  ]);
  expect(end.timeline.find((x: any) => x.kind === "submit" && x.username === "cat").source).toBe(ECHO_PY);
  // A tester run was the Coder's code: it stays out of the replay as code.
  expect(end.timeline.find((x: any) => x.kind === "tester").source).toBeUndefined();
  assertNoLeak("replay", [end], HIDDEN);
  const prof = (await watcher.http.json<any>("GET", `/api/v1/users/${cat.id}/profile`)).body.profile;
  expect(prof).toMatchObject({ rating: 1216, wins: 1 });
  expect(prof.history[0]).toMatchObject({ matchId, result: "win", ratingDelta: 16 });

  // Bad input after the end: submitting to the finished match, to a problem without tests.
  const late = await ben.http.json<any>("POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: ECHO_PY });
  expect([late.status, late.body.error.code]).toEqual([409, "match_over"]);
  const empty = await org.json<any>("POST", "/api/v1/admin/problems", { title: "Empty", difficulty: "medium" });
  const none = await ben.http.json<any>("POST", `/api/v1/problems/${empty.body.problem.id}/submissions`, { language: "python3", source: ECHO_PY });
  expect([none.status, none.body.error.code]).toEqual([409, "problem_no_tests"]);
}, 120_000);

test("duel: reconnect inside the grace resumes the same state; outside it, forfeit", async () => {
  const org = await login("org", ORG_PASS);
  const a = await signup("eve");
  const b = await signup("fay");
  const c = await signup("gus");
  const room = await a.http.json<any>("POST", "/api/v1/arena/rooms", { format: "duel", difficulty: "easy", countdownSec: 0, durationSec: 600 });
  const code: string = room.body.match.inviteCode;
  expect((await b.http.json<any>("POST", "/api/v1/arena/rooms/join", { code: "AAAAAA" })).body.error.code).toBe("invalid_invite");
  expect((await b.http.json<any>("POST", "/api/v1/arena/rooms/join", { code: code.toLowerCase() })).status).toBe(200);
  const full = await c.http.json<any>("POST", "/api/v1/arena/rooms/join", { code });
  expect([full.status, full.body.error.code]).toEqual([409, "room_full"]);
  const id: number = room.body.match.id;
  const topic = `match:${id}`;
  await a.live.subscribe(topic, 0);
  await b.live.subscribe(topic, 0);
  await org.json("POST", "/api/v1/admin/clock", { advanceMs: 1 });
  await a.live.waitFor(() => a.live.messages(topic).some((m) => m.data.type === "started"));
  await b.http.json("POST", `/api/v1/arena/matches/${id}/submissions`, { language: "python3", source: "print('nope')\n" });
  await a.live.waitFor(() => a.live.messages(topic).some((m) => m.data.type === "verdict"), 30_000);
  const before = (await b.http.json<any>("GET", `/api/v1/arena/matches/${id}`)).body.match;

  // b's only socket drops; 29 s later (game time) it is back and resumes where it was.
  b.live.terminate();
  await a.live.waitFor(() => a.live.messages(topic).some((m) => m.data.type === "player.disconnected"));
  await org.json("POST", "/api/v1/admin/clock", { advanceMs: 29_000 });
  const lastSeq = b.live.last.get(topic)!;
  const b2 = await liveClient(srv.url, { cookie: b.http.cookie });
  sockets.push(b2);
  const resumed = await b2.subscribe(topic, lastSeq);
  expect(resumed.type).toBe("subscribed");
  await a.live.waitFor(() => a.live.messages(topic).some((m) => m.data.type === "player.reconnected"));
  await b2.waitFor(() => b2.messages(topic).some((m) => m.data.type === "player.reconnected"));
  // Exactly what it missed, from the next sequence number on: no gap, no repeat.
  expect(b2.messages(topic)[0].seq).toBe(lastSeq + 1);
  expect(seqsContiguous(b2.messages(topic), lastSeq + 1)).toBe(true);
  await org.json("POST", "/api/v1/admin/clock", { advanceMs: 5_000 });
  await Bun.sleep(200);
  const after = (await b.http.json<any>("GET", `/api/v1/arena/matches/${id}`)).body.match;
  expect(after.status).toBe("running");
  expect(after.you).toEqual(before.you);
  expect(after.mySubmissions).toEqual(before.mySubmissions);

  // Gone for longer than the grace: forfeit.
  b2.terminate();
  await a.live.waitFor(() => a.live.messages(topic).filter((m) => m.data.type === "player.disconnected").length === 2);
  await org.json("POST", "/api/v1/admin/clock", { advanceMs: 30_000 });
  await a.live.waitFor(() => a.live.messages(topic).some((m) => m.data.type === "finished"), 15_000);
  expect(a.live.messages(topic).find((m) => m.data.type === "finished")!.data).toMatchObject({ winnerSide: 0, reason: "forfeit" });
  const late = await b.http.json<any>("POST", `/api/v1/arena/matches/${id}/submissions`, { language: "python3", source: "print(1)" });
  expect(late.body.error.code).toBe("match_over");
}, 120_000);
