import { afterEach, describe, expect, test } from "bun:test";
import { arenaTestApp } from "./arena.testkit.ts";

type T = Awaited<ReturnType<typeof arenaTestApp>>;
let t: T;
afterEach(() => t?.cleanup());

const SECRET_IN = "hidden-input-7f3a";
const SECRET_ANS = "hidden-input-7f3a";

async function setup(opts: Parameters<typeof arenaTestApp>[0] = {}) {
  t = await arenaTestApp(opts);
  const org = await t.organiser();
  const r = await org.json("POST", "/api/v1/admin/problems", {
    title: "Echo",
    statement: "Print the input.",
    difficulty: "easy",
    tags: ["io"],
    checker: "tokens",
    samples: [{ name: "s1", input: "sample-in", answer: "sample-in" }],
    tests: [
      { name: "h1", input: SECRET_IN, answer: SECRET_ANS },
      { name: "h2", input: "hidden-two-91c", answer: "hidden-two-91c" },
    ],
  });
  expect(r.status).toBe(201);
  return { org, problemId: r.body.problem.id as number };
}

/** Nothing a player or spectator receives may hold hidden test data (or, when given, code). */
function assertClean(payload: unknown, forbidden: string[]) {
  const text = JSON.stringify(payload);
  for (const f of forbidden) expect(text).not.toContain(f);
}

describe("problems", () => {
  test("player view has samples and counts, never hidden tests; organiser sees all", async () => {
    const { org, problemId } = await setup();
    const p = await t.player();
    const list = await p.json("GET", "/api/v1/problems");
    expect(list.body.problems[0]).toMatchObject({ id: problemId, sampleCount: 1, hiddenCount: 2 });
    const one = await p.json("GET", `/api/v1/problems/${problemId}`);
    expect(one.body.problem.samples).toEqual([{ name: "s1", input: "sample-in", answer: "sample-in" }]);
    expect(one.body.problem.timeLimitMs).toBe(2000);
    expect(one.body.problem.memoryLimitMb).toBe(256);
    assertClean(one.body, [SECRET_IN, "hidden-two-91c", "h1"]);
    const admin = await org.json("GET", `/api/v1/admin/problems/${problemId}`);
    expect(admin.body.problem.tests.map((x: any) => x.input)).toContain(SECRET_IN);
    expect((await p.json("GET", `/api/v1/admin/problems/${problemId}`)).status).toBe(403);
  });

  test("bad problem input is a 4xx JSON error", async () => {
    const { org, problemId } = await setup();
    const cases: Array<[string, string, unknown, number]> = [
      ["POST", "/api/v1/admin/problems", { title: "x", difficulty: "impossible" }, 400],
      ["POST", "/api/v1/admin/problems", { title: "x", difficulty: "easy", checker: "regex" }, 400],
      ["POST", "/api/v1/admin/problems", { title: "x", difficulty: "easy", extra: 1 }, 400],
      ["POST", "/api/v1/admin/problems", { title: "Echo", difficulty: "easy" }, 409],
      ["GET", "/api/v1/admin/problems/999", undefined, 404],
      ["PATCH", `/api/v1/admin/problems/${problemId}`, { timeLimitMs: -1 }, 400],
      ["POST", "/api/v1/admin/problems/import/kattis", { files: { "data/x.in": "1" } }, 400],
      ["POST", "/api/v1/admin/problems/import/kattis", { files: { "../problem.yaml": "name: x" } }, 400],
    ];
    for (const [m, path, body, status] of cases) {
      const r = await org.json(m, path, body);
      expect([path, r.status]).toEqual([path, status]);
      expect(typeof r.body.error.code).toBe("string");
    }
  });

  test("a problem without tests cannot be submitted to or used in a room", async () => {
    t = await arenaTestApp();
    const org = await t.organiser();
    const r = await org.json("POST", "/api/v1/admin/problems", { title: "Empty", difficulty: "easy" });
    const p = await t.player();
    const sub = await p.json("POST", `/api/v1/problems/${r.body.problem.id}/submissions`, { language: "python3", source: "echo" });
    expect(sub.status).toBe(409);
    expect(sub.body.error.code).toBe("problem_no_tests");
    const room = await p.json("POST", "/api/v1/arena/rooms", { format: "duel", difficulty: "easy", problemId: r.body.problem.id });
    expect(room.body.error.code).toBe("problem_no_tests");
  });
});

describe("practice submissions", () => {
  test("queued job → per-test verdicts on user:<id>; GET has verdicts, never test data", async () => {
    const { problemId } = await setup();
    const p = await t.player();
    const r = await p.json("POST", `/api/v1/problems/${problemId}/submissions`, { language: "python3", source: "wrong" });
    expect(r.status).toBe(202);
    await t.settle();
    const got = await p.json("GET", `/api/v1/submissions/${r.body.submission.id}`);
    expect(got.body.submission).toMatchObject({ status: "done", verdict: "WA", hiddenPassed: 0, hiddenTotal: 2, testsTotal: 3 });
    expect(got.body.submission.tests).toHaveLength(3);
    assertClean(got.body, [SECRET_IN, "hidden-two-91c"]);
    const events = t.seen.get(`user:${p.user.id}`)!;
    expect(events.map((e) => e.data.type)).toEqual(["submission.queued", "verdict.test", "verdict.test", "verdict.test", "verdict"]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const e of events) assertClean(e.data, [SECRET_IN, "hidden-two-91c"]);
    // Another player cannot read it.
    const q = await t.player();
    expect((await q.json("GET", `/api/v1/submissions/${r.body.submission.id}`)).status).toBe(404);
  });

  test("a compile error is the whole submission's verdict, with the compiler's message to its author only", async () => {
    const { problemId } = await setup();
    const p = await t.player();
    const r = await p.json("POST", `/api/v1/problems/${problemId}/submissions`, { language: "python3", source: "broken" });
    await t.settle();
    const got = await p.json("GET", `/api/v1/submissions/${r.body.submission.id}`);
    expect(got.body.submission.verdict).toBe("CE");
    expect(got.body.submission.tests.map((x: any) => x.verdict)).toEqual(["CE", "CE", "CE"]);
    const final = t.seen.get(`user:${p.user.id}`)!.find((e) => e.data.type === "verdict")!;
    expect(final.data.compileOutput).toBe("syntax error");
  });

  test("IE is retried and never scored", async () => {
    const { problemId } = await setup();
    t.runner.state.ieLeft = 1;
    const p = await t.player();
    const r = await p.json("POST", `/api/v1/problems/${problemId}/submissions`, { language: "python3", source: "flaky echo" });
    await t.settle(40);
    const got = await p.json("GET", `/api/v1/submissions/${r.body.submission.id}`);
    expect(got.body.submission.verdict).toBe("AC");
    expect(t.arena.store.submission(r.body.submission.id)!.internalErrors).toBe(1);
  });

  test("unknown language and oversized/unknown fields are 400", async () => {
    const { problemId } = await setup();
    const p = await t.player();
    expect((await p.json("POST", `/api/v1/problems/${problemId}/submissions`, { language: "cobol", source: "x" })).body.error.code).toBe("unsupported_language");
    expect((await p.json("POST", `/api/v1/problems/${problemId}/submissions`, { language: "python3", source: "x", matchId: 1 })).status).toBe(400);
    expect((await p.json("POST", `/api/v1/problems/${problemId}/submissions`, { language: "python3", source: "x".repeat(70_000) })).status).toBe(400);
    expect((await p.json("POST", `/api/v1/problems/abc/submissions`, { language: "python3", source: "x" })).status).toBe(400);
  });
});

describe("duel rooms", () => {
  test("invite code, full room, wrong code; first AC wins and ratings move", async () => {
    const { problemId } = await setup({ countdownSec: 3 });
    const a = await t.player();
    const b = await t.player();
    const c = await t.player();
    const room = await a.json("POST", "/api/v1/arena/rooms", { format: "duel", difficulty: "easy", problemId, durationSec: 300 });
    expect(room.status).toBe(201);
    const code: string = room.body.match.inviteCode;
    expect(code).toMatch(/^[A-Z2-9]{6}$/);
    expect((await b.json("POST", "/api/v1/arena/rooms/join", { code: "ZZZZZZ" })).body.error.code).toBe("invalid_invite");
    expect((await b.json("POST", "/api/v1/arena/rooms/join", { code: "!!" })).status).toBe(404);
    const joined = await b.json("POST", "/api/v1/arena/rooms/join", { code: code.toLowerCase() });
    expect(joined.status).toBe(200);
    expect(joined.body.match.status).toBe("countdown");
    expect((await c.json("GET", `/api/v1/arena/matches/${joined.body.match.id}`)).status).toBe(404);
    const full = await c.json("POST", "/api/v1/arena/rooms/join", { code });
    expect(full.status).toBe(409);
    expect(full.body.error.code).toBe("room_full");
    const matchId = joined.body.match.id;
    // Before the start there is no problem in the view and submitting is refused.
    expect(joined.body.match.problem).toBeUndefined();
    expect((await a.json("POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: "echo" })).body.error.code).toBe("match_not_started");
    t.s.clock.advance(3000);
    await t.settle();
    const view = await a.json("GET", `/api/v1/arena/matches/${matchId}`);
    expect(view.body.match.status).toBe("running");
    expect(view.body.match.problem.samples).toHaveLength(1);
    assertClean(view.body, [SECRET_IN]);
    await a.json("POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: "wrong" });
    await t.settle();
    // A's WA: per-test verdicts, then the standing as match scores (a: 0 tests, runtime 0.5, time 1 → 225; b: never submitted → 75).
    const standing = t.seen.get(`match:${matchId}`)!.filter((e) => e.data.type === "score").at(-1)!;
    expect(standing.data.scores).toEqual([225, 75]);
    const s2 = await b.json("POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: "echo # b's secret code" });
    expect(s2.status).toBe(202);
    await t.settle();
    const end = await c.json("GET", `/api/v1/arena/matches/${matchId}`);
    expect(end.body.match.status).toBe("finished");
    expect(end.body.match.result).toMatchObject({ winnerSide: 1, reason: "accepted" });
    // After the end, the replay holds the code.
    expect(end.body.match.timeline.map((x: any) => x.verdict)).toEqual(["WA", "AC"]);
    expect(end.body.match.timeline[1].source).toContain("b's secret code");
    const pa = await c.json("GET", `/api/v1/users/${a.user.id}/profile`);
    const pb = await c.json("GET", `/api/v1/users/${b.user.id}/profile`);
    expect(pa.body.profile).toMatchObject({ rating: 1184, losses: 1 });
    expect(pb.body.profile).toMatchObject({ rating: 1216, wins: 1 });
    expect(pb.body.profile.history[0]).toMatchObject({ matchId, result: "win", ratingDelta: 16 });
    // Submitting to a finished match is refused.
    const late = await a.json("POST", `/api/v1/arena/matches/${matchId}/submissions`, { language: "python3", source: "echo" });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("match_over");
    // The opponent's code was in no match event before the end.
    for (const e of t.seen.get(`match:${matchId}`)!) if (e.data.type !== "finished") assertClean(e.data, ["b's secret code", SECRET_IN]);
    const seqs = t.seen.get(`match:${matchId}`)!.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  test("the timer ends the match with the match score", async () => {
    const { problemId } = await setup({ countdownSec: 0 });
    const a = await t.player();
    const b = await t.player();
    const room = await a.json("POST", "/api/v1/arena/rooms", { format: "duel", difficulty: "easy", problemId, durationSec: 120, countdownSec: 0 });
    await b.json("POST", "/api/v1/arena/rooms/join", { code: room.body.match.inviteCode });
    await t.settle();
    const id = room.body.match.id;
    t.s.clock.advance(45_000);
    await a.json("POST", `/api/v1/arena/matches/${id}/submissions`, { language: "python3", source: "wrong" });
    await t.settle();
    t.s.clock.advance(74_999);
    await t.settle();
    expect(t.arena.store.match(id)!.status).toBe("running");
    t.s.clock.advance(1);
    await t.settle();
    const m = t.arena.store.match(id)!;
    expect(m.status).toBe("finished");
    // a: 0 tests, runtime 0.5, time 1-0.1*1 → 0.15*0.5+0.15*0.9 = 0.21 → 210; b never submitted: 75.
    expect(JSON.parse(m.scores!)).toEqual([210, 75]);
    expect(m.winnerSide).toBe(0);
  });

  test("leaving the room before the start; already in a match; queue conflicts", async () => {
    const { problemId } = await setup();
    const a = await t.player();
    const room = await a.json("POST", "/api/v1/arena/rooms", { format: "duel", difficulty: "easy", problemId });
    expect((await a.json("POST", "/api/v1/arena/rooms", { format: "duel", difficulty: "easy" })).body.error.code).toBe("already_in_match");
    expect((await a.json("POST", "/api/v1/arena/queue", { format: "duel", difficulty: "easy" })).body.error.code).toBe("already_in_match");
    expect((await a.json("POST", `/api/v1/arena/rooms/${room.body.match.id}/leave`)).status).toBe(204);
    expect(t.arena.store.match(room.body.match.id)!.status).toBe("cancelled");
    expect((await a.json("POST", "/api/v1/arena/queue", { format: "duel", difficulty: "easy" })).body.queued).toBe(true);
    expect((await a.json("POST", "/api/v1/arena/queue", { format: "duel", difficulty: "easy" })).body.error.code).toBe("already_queued");
    expect((await a.json("DELETE", "/api/v1/arena/queue")).status).toBe(204);
    expect((await a.json("POST", "/api/v1/arena/queue", { format: "trio", difficulty: "easy" })).status).toBe(400);
  });
});

describe("pairs", () => {
  async function pairsMatch(random = () => 0.5) {
    const { problemId } = await setup({ random, countdownSec: 5 });
    const ps = [await t.player("ann"), await t.player("ben"), await t.player("cat"), await t.player("dan")];
    let last: any;
    for (const p of ps) last = await p.json("POST", "/api/v1/arena/queue", { format: "pairs", difficulty: "easy" });
    expect(last.body.match).toBeTruthy();
    const id = last.body.match.id as number;
    return { ps, id, problemId };
  }

  test("queue → swap at one hidden instant for both teams, tester runs, WA then AC, Elo", async () => {
    const { ps, id } = await pairsMatch(() => 0.25);
    const [ann, ben, cat, dan] = ps;
    const m0 = t.arena.store.match(id)!;
    // 300 s, u=0.25 → 30 % + 10 % = 40 % = 120 s after the start.
    expect(m0.swapAt! - m0.startsAt!).toBe(120_000);
    const roles = (await ann.json("GET", `/api/v1/arena/matches/${id}`)).body.match;
    expect(roles.you).toEqual({ side: 0, role: "coder" });
    expect(roles.players.find((p: any) => p.username === "cat")).toMatchObject({ side: 0, role: "tester" });
    t.s.clock.advance(5000);
    await t.settle();
    // Before the swap: no payload holds the swap instant.
    for (const c of ps) assertClean((await c.json("GET", `/api/v1/arena/matches/${id}`)).body, [String(m0.swapAt)]);
    for (const e of t.all) assertClean(e.data, [String(m0.swapAt), '"swapAt"']);
    // Tester cannot submit nor see the code; Coder saves code; Tester runs cases; results reach the Coder.
    expect((await cat.json("POST", `/api/v1/arena/matches/${id}/submissions`, { language: "python3", source: "echo" })).body.error.code).toBe("wrong_role");
    expect((await cat.json("POST", `/api/v1/arena/matches/${id}/tests`, { tests: [{ input: "1", expected: "1" }] })).body.error.code).toBe("no_code");
    await ann.json("PUT", `/api/v1/arena/matches/${id}/code`, { language: "python3", source: "wrong # ann-draft-code" });
    expect((await cat.json("GET", `/api/v1/arena/matches/${id}/code`)).status).toBe(403);
    expect((await ann.json("GET", `/api/v1/arena/matches/${id}/code`)).body.source).toContain("ann-draft-code");
    const run = await cat.json("POST", `/api/v1/arena/matches/${id}/tests`, { tests: [{ input: "5", expected: "5" }] });
    expect(run.status).toBe(202);
    await t.settle();
    const annMsgs = t.seen.get(`user:${ann.user.id}`)!.map((e) => e.data);
    expect(annMsgs.find((d) => d.type === "tester.result")).toMatchObject({ verdict: "WA" });
    // Ben's side: a WA then (after the swap, by the new Coder dan) an AC.
    await ben.json("POST", `/api/v1/arena/matches/${id}/submissions`, { language: "python3", source: "wrong # ben-code" });
    await t.settle();
    t.s.clock.advance(120_000);
    await t.settle();
    const swap = t.seen.get(`match:${id}`)!.find((e) => e.data.type === "role.swap")!;
    expect(swap.data.swapAt).toBe(m0.swapAt);
    expect((await ben.json("POST", `/api/v1/arena/matches/${id}/submissions`, { language: "python3", source: "echo" })).body.error.code).toBe("wrong_role");
    // The new Coder now sees the team code (that is the hand-over).
    expect((await dan.json("GET", `/api/v1/arena/matches/${id}/code`)).body.source).toContain("ben-code");
    const ac = await dan.json("POST", `/api/v1/arena/matches/${id}/submissions`, { language: "python3", source: "echo # dan-final" });
    expect(ac.status).toBe(202);
    await t.settle();
    const end = (await ann.json("GET", `/api/v1/arena/matches/${id}`)).body.match;
    expect(end.status).toBe("finished");
    expect(end.result).toMatchObject({ winnerSide: 1, reason: "accepted" });
    const deltas = Object.fromEntries(end.players.map((p: any) => [p.username, p.ratingDelta]));
    expect(deltas).toEqual({ ann: -16, cat: -16, ben: 16, dan: 16 });
    // No code of the other team, and no hidden test, reached anyone before "finished".
    for (const e of t.all) if (e.data.type !== "finished") assertClean(e.data, ["ann-draft-code", "ben-code", "dan-final", SECRET_IN]);
  });

  test("the swap instant is drawn within 30–70 % and is the same for both teams", async () => {
    for (const u of [0, 0.5, 0.999]) {
      const { id } = await pairsMatch(() => u);
      const m = t.arena.store.match(id)!;
      const frac = (m.swapAt! - m.startsAt!) / (m.durationSec * 1000);
      expect(frac).toBeGreaterThanOrEqual(0.3);
      expect(frac).toBeLessThanOrEqual(0.7);
      t.s.clock.advance(m.swapAt! - t.s.clock.now() - 1);
      await t.settle();
      expect(t.arena.store.match(id)!.swapped).toBe(false);
      t.s.clock.advance(1);
      await t.settle();
      expect(t.arena.store.match(id)!.swapped).toBe(true);
      const swaps = t.seen.get(`match:${id}`)!.filter((e) => e.data.type === "role.swap");
      expect(swaps).toHaveLength(1); // one event, one instant, both teams
      expect(swaps[0].data.roles.filter((r: any) => r.role === "coder").map((r: any) => r.side).sort()).toEqual([0, 1]);
      t.cleanup();
    }
  }, 30_000);

  test("disconnect inside the grace resumes; outside it forfeits", async () => {
    const { ps, id } = await pairsMatch();
    t.s.clock.advance(5000);
    await t.settle();
    await t.arena.presence(ps[0].user.id, false);
    t.s.clock.advance(29_000);
    await t.settle();
    await t.arena.presence(ps[0].user.id, true);
    t.s.clock.advance(5_000);
    await t.settle();
    const mid = (await ps[0].json("GET", `/api/v1/arena/matches/${id}`)).body.match;
    expect(mid.status).toBe("running");
    expect(mid.you).toEqual({ side: 0, role: "coder" });
    await t.arena.presence(ps[1].user.id, false);
    t.s.clock.advance(30_000);
    await t.settle();
    const end = t.arena.store.match(id)!;
    expect(end.status).toBe("finished");
    expect(end.reason).toBe("forfeit");
    expect(end.winnerSide).toBe(0);
  });
});

describe("test files and Kattis over HTTP", () => {
  test("multipart test upload, Kattis import from a JSON file map, export back", async () => {
    const { org, problemId } = await setup();
    const form = new FormData();
    form.set("kind", "secret");
    form.set("name", "big");
    form.set("input", new Blob(["uploaded-input\n"]), "big.in");
    form.set("answer", new Blob(["uploaded-input\n"]), "big.ans");
    const res = await t.app.request(`/api/v1/admin/problems/${problemId}/tests`, { method: "POST", body: form, headers: { cookie: org.cookie! } });
    expect(res.status).toBe(201);
    const body: any = await res.json();
    expect(body.problem.hiddenCount).toBe(3);
    const bad = new FormData();
    bad.set("kind", "weird");
    const r2 = await t.app.request(`/api/v1/admin/problems/${problemId}/tests`, { method: "POST", body: bad, headers: { cookie: org.cookie! } });
    expect(r2.status).toBe(400);
    const r3 = await org.json("POST", `/api/v1/admin/problems/${problemId}/tests`, { kind: "secret" });
    expect(r3.status).toBe(415);

    const imp = await org.json("POST", "/api/v1/admin/problems/import/kattis", {
      difficulty: "hard",
      files: {
        "problem.yaml": "name: Twice\nvalidator_flags: float_tolerance 1e-4\nlimits:\n  time_limit: 1\n",
        "problem_statement/problem.en.md": "Print twice the number.",
        "data/sample/1.in": "1\n",
        "data/sample/1.ans": "2\n",
        "data/secret/1.in": "1.5\n",
        "data/secret/1.ans": "3\n",
        "submissions/accepted/a.py": "print(2*float(input()))\n",
      },
    });
    expect(imp.status).toBe(201);
    expect(imp.body.problem).toMatchObject({ title: "Twice", difficulty: "hard", checker: "float:1e-4", timeLimitMs: 1000, sampleCount: 1, hiddenCount: 1 });
    const exp = await org.json("GET", `/api/v1/admin/problems/${imp.body.problem.id}/export/kattis`);
    expect(exp.body.files["data/secret/1.in"]).toBe("1.5\n");
    expect(exp.body.files["submissions/accepted/a.py"]).toContain("float(input())");
    expect(exp.body.files["problem.yaml"]).toContain("float_tolerance 1e-4");
    const p = await t.player();
    expect((await p.json("GET", `/api/v1/admin/problems/${imp.body.problem.id}/export/kattis`)).status).toBe(403);
  });
});
