/**
 * The arena engine (arena-rules.md): submissions and their judging, rooms,
 * the public queue, the match lifecycle, role swaps, tester runs, forfeits,
 * results and Elo. The rules themselves are the pure functions of
 * arena.rules.ts; this service sequences them against the database.
 *
 * The database is authoritative. Every transition is a conditional UPDATE
 * (waiting → countdown → running → finished), so the first AC, the timer's
 * end and a forfeit cannot both win. Timers are durable jobs with runAt
 * (kind "arena.tick"), re-armed from the matches table at boot, so a restart
 * never loses a match end. Websockets only notify: each event goes to
 * `match:<id>` (spectators and players) or `user:<id>` and carries that
 * topic's sequence number.
 *
 * What must never leave before the end: hidden test data (never leaves at
 * all), the swap instant, and any code to anyone but its author (and, in
 * pairs, the team's current Coder).
 */
import { randomBytes as nodeRandomBytes } from "node:crypto";
import type { Drizzle } from "../db/db.ts";
import type { Deps, SessionUser } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import { judge as runJudge, type JudgeLimits } from "../runner/judge.ts";
import type { RunnerService } from "../runner/runner.service.ts";
import { decideAtTimeout, ELO_START, eloChange, inviteCode, INVITE_RE, matchScore, normalizeInvite, pickPair, submissionVerdict, swapOffsetMs, type SideResult, type Verdict } from "./arena.rules.ts";
import { arenaStore, type MatchRow, type SubmissionRow } from "./arena.store.ts";
import { queuePort, realtimePort, type QueuePort, type RealtimePort } from "./ports.ts";
import { problemsService, type Difficulty, type ProblemsService } from "./problems.service.ts";

export type Format = "duel" | "pairs";
export type Role = "solo" | "coder" | "tester";

export const MAX_SOURCE = 64 * 1024;
export const DEFAULT_DURATION_SEC = 300;
export const DEFAULT_COUNTDOWN_SEC = 5;
export const RECONNECT_GRACE_SEC = 30;
export const JUDGE_MAX_ATTEMPTS = 3;

export interface ArenaOptions {
  random?: () => number;
  randomBytes?: (n: number) => Uint8Array;
  reconnectGraceSec?: number;
  countdownSec?: number;
  queue?: QueuePort;
  realtime?: RealtimePort;
  runner?: Pick<RunnerService, "compile" | "execute" | "languages"> | null;
  problems?: ProblemsService;
}

const seatsOf = (format: Format): Array<{ side: 0 | 1; startRole: Role }> =>
  format === "duel"
    ? [
        { side: 0, startRole: "solo" },
        { side: 1, startRole: "solo" },
      ]
    : [
        { side: 0, startRole: "coder" },
        { side: 1, startRole: "coder" },
        { side: 0, startRole: "tester" },
        { side: 1, startRole: "tester" },
      ];

export const currentRole = (startRole: Role, swapped: boolean): Role => (!swapped || startRole === "solo" ? startRole : startRole === "coder" ? "tester" : "coder");

const parse = <T>(s: string | null | undefined, d: T): T => {
  if (!s) return d;
  try {
    return JSON.parse(s) as T;
  } catch {
    return d;
  }
};

export function arenaService(deps: Deps & { queue?: unknown; realtime?: unknown; runner?: RunnerService }, opts: ArenaOptions = {}) {
  const { db, clock, log } = deps;
  const store = arenaStore(db);
  const problems = opts.problems ?? problemsService(deps);
  const queue = opts.queue ?? queuePort(deps as never);
  const rt = opts.realtime ?? realtimePort(deps as never);
  const runner = opts.runner === undefined ? (deps.runner ?? null) : opts.runner;
  const random = opts.random ?? Math.random;
  const rbytes = opts.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)));
  const graceMs = (opts.reconnectGraceSec ?? deps.config.arenaReconnectGraceSec ?? RECONNECT_GRACE_SEC) * 1000;
  const countdownDefault = opts.countdownSec ?? deps.config.arenaCountdownSec ?? DEFAULT_COUNTDOWN_SEC;
  const durationDefault = deps.config.arenaDurationSec ?? DEFAULT_DURATION_SEC;

  const publishMatch = (matchId: number, type: string, data: Record<string, unknown> = {}) =>
    rt.publish(`match:${matchId}`, { type, matchId, at: clock.now(), ...data }).catch((err) => {
      log.warn("arena publish failed", { err, matchId, type });
      return 0;
    });
  const publishUser = (userId: number, type: string, data: Record<string, unknown> = {}) =>
    rt.publish(`user:${userId}`, { type, at: clock.now(), ...data }).catch((err) => {
      log.warn("arena publish failed", { err, userId, type });
      return 0;
    });

  const languageOk = (language: string) => {
    const ls = runner?.languages() ?? [];
    if (!ls.some((l) => l.id === language)) throw new AppError("unsupported_language", `Unknown language "${language}". Known: ${ls.map((l) => l.id).join(", ") || "none (no runner)"}.`);
  };

  // ----------------------------------------------------------------- views
  const resultView = (s: SubmissionRow) => ({
    id: s.id,
    problemId: s.problemId,
    matchId: s.matchId,
    side: s.side,
    userId: s.userId,
    kind: s.kind,
    language: s.language,
    status: s.status,
    verdict: s.verdict,
    testsPassed: s.testsPassed,
    testsTotal: s.testsTotal,
    hiddenPassed: s.secretPassed,
    hiddenTotal: s.secretTotal,
    runtimeMs: s.runtimeMsPassed,
    // Per-test: index, sample|hidden, verdict, time, memory. Never inputs, outputs or answers.
    tests: parse<Array<Record<string, unknown>>>(s.results, []),
    createdAt: s.createdAt,
    judgedAt: s.judgedAt,
  });

  const sideResult = (subs: SubmissionRow[], m: MatchRow, side: number, total: number): SideResult => {
    const mine = subs.filter((s) => s.side === side && s.kind === "submit" && s.status === "done" && s.verdict !== "IE");
    const last = mine[mine.length - 1];
    if (!last) return { testsPassed: 0, totalTests: total, secondsToLastSubmission: null, runtimeMsOverPassed: 0 };
    return {
      testsPassed: last.secretPassed,
      totalTests: last.secretTotal || total,
      secondsToLastSubmission: Math.max(0, Math.floor((last.createdAt - (m.startsAt ?? last.createdAt)) / 1000)),
      runtimeMsOverPassed: last.runtimeMsPassed,
    };
  };

  const progress = (m: MatchRow, subs = store.submissionsOfMatch(m.id)) =>
    [0, 1].map((side) => {
      const mine = subs.filter((s) => s.side === side && s.kind === "submit");
      const done = mine.filter((s) => s.status === "done");
      const last = done[done.length - 1];
      return {
        side,
        submissions: mine.length,
        bestHiddenPassed: Math.max(0, ...done.map((s) => s.secretPassed)),
        lastVerdict: last?.verdict ?? null,
        lastHiddenPassed: last?.secretPassed ?? 0,
        hiddenTotal: last?.secretTotal ?? null,
        testerRuns: subs.filter((s) => s.side === side && s.kind === "tester").length,
      };
    });

  function matchView(m: MatchRow, viewer: SessionUser | null) {
    const players = store.players(m.id);
    const me = viewer ? players.find((p) => p.userId === viewer.id) : undefined;
    const over = m.status === "finished" || m.status === "cancelled";
    const subs = store.submissionsOfMatch(m.id);
    const view: Record<string, unknown> = {
      id: m.id,
      format: m.format,
      difficulty: m.difficulty,
      status: m.status,
      isPublic: m.isPublic,
      rated: m.rated,
      durationSec: m.durationSec,
      countdownSec: m.countdownSec,
      now: clock.now(),
      startsAt: m.startsAt,
      endsAt: m.endsAt,
      swapped: m.swapped,
      // The swap instant is revealed only once it has happened.
      ...(m.swapped ? { swapAt: m.swapAt } : {}),
      players: players.map((p) => ({ userId: p.userId, username: p.username, side: p.side, role: currentRole(p.startRole, m.swapped), connected: p.disconnectedAt === null, ...(over ? { ratingBefore: p.ratingBefore, ratingDelta: p.ratingDelta } : {}) })),
      you: me ? { side: me.side, role: currentRole(me.startRole, m.swapped) } : null,
      progress: progress(m, subs),
    };
    if (me && m.status === "waiting" && m.inviteCode) view.inviteCode = m.inviteCode;
    if (m.problemId && (m.status === "running" || over)) view.problem = problems.publicView(m.problemId);
    if (me && !over) view.mySubmissions = subs.filter((s) => s.userId === me.userId || (s.side === me.side && s.kind === "submit")).map(resultView);
    if (m.status === "finished") {
      view.result = { winnerSide: m.winnerSide, reason: m.reason, scores: parse(m.scores, null), finishedAt: m.finishedAt };
      // After the end the submission timeline is a replay, code included.
      view.timeline = subs.map((s) => ({ ...resultView(s), source: s.kind === "submit" ? s.source : undefined, username: players.find((p) => p.userId === s.userId)?.username, atSec: m.startsAt ? Math.floor((s.createdAt - m.startsAt) / 1000) : null }));
    }
    return view;
  }

  // ------------------------------------------------------------ submissions
  async function submitPractice(user: SessionUser, problemId: number, language: string, source: string) {
    problems.get(problemId);
    problems.requireTests(problemId);
    languageOk(language);
    // Inside a running match on this problem, a submission counts for the match.
    const active = store.activeMatchesOf(user.id).find((m) => m.problemId === problemId && m.status === "running");
    if (active) return submitMatch(user, active.id, language, source);
    const now = clock.now();
    const sub = await db.write((tx) => {
      const s = store.insertSubmission(tx, { userId: user.id, problemId, language, source, createdAt: now });
      queue.enqueue(tx, "judge", { submissionId: s.id }, { topic: `user:${user.id}`, idempotencyKey: `judge:${s.id}`, maxAttempts: JUDGE_MAX_ATTEMPTS });
      return s;
    });
    void publishUser(user.id, "submission.queued", { submissionId: sub.id, problemId });
    return resultView(sub);
  }

  const seatOf = (m: MatchRow, userId: number) => {
    const p = store.players(m.id).find((x) => x.userId === userId);
    if (!p) throw new AppError("not_in_match");
    return { ...p, role: currentRole(p.startRole, m.swapped) };
  };

  const requireRunning = (m: MatchRow) => {
    if (m.status === "finished" || m.status === "cancelled" || (m.endsAt !== null && clock.now() >= m.endsAt)) throw new AppError("match_over");
    if (m.status !== "running" || (m.startsAt !== null && clock.now() < m.startsAt)) throw new AppError("match_not_started");
  };

  const getMatch = (id: number) => {
    const m = store.match(id);
    if (!m) throw new AppError("not_found", "No such match.");
    return m;
  };

  async function submitMatch(user: SessionUser, matchId: number, language: string, source: string) {
    const m = getMatch(matchId);
    const seat = seatOf(m, user.id);
    requireRunning(m);
    if (seat.role === "tester") throw new AppError("wrong_role", "The Tester writes tests; the Coder submits.");
    languageOk(language);
    problems.requireTests(m.problemId!);
    const now = clock.now();
    const sub = await db.write((tx) => {
      const cur = store.matchTx(tx, matchId);
      if (!cur || cur.status !== "running") throw new AppError("match_over");
      const s = store.insertSubmission(tx, { userId: user.id, problemId: m.problemId!, matchId, side: seat.side, language, source, createdAt: now });
      // The submitted code is also the team's current code (what Tester runs use).
      store.putCode(tx, { matchId, side: seat.side, language, source, updatedAt: now, updatedBy: user.id });
      queue.enqueue(tx, "judge", { submissionId: s.id }, { topic: `user:${user.id}`, idempotencyKey: `judge:${s.id}`, maxAttempts: JUDGE_MAX_ATTEMPTS });
      return s;
    });
    void publishMatch(matchId, "submission.queued", { submissionId: sub.id, side: seat.side, userId: user.id });
    void publishUser(user.id, "submission.queued", { submissionId: sub.id, problemId: m.problemId, matchId });
    return resultView(sub);
  }

  async function testerRun(user: SessionUser, matchId: number, tests: Array<{ input: string; expected: string }>) {
    const m = getMatch(matchId);
    const seat = seatOf(m, user.id);
    requireRunning(m);
    if (m.format !== "pairs" || seat.role !== "tester") throw new AppError("wrong_role", "Only the Tester runs test cases.");
    const code = store.code(matchId, seat.side);
    if (!code) throw new AppError("no_code", "Your Coder has not written any code yet.");
    const now = clock.now();
    const sub = await db.write((tx) => {
      const s = store.insertSubmission(tx, {
        userId: user.id,
        problemId: m.problemId!,
        matchId,
        side: seat.side,
        kind: "tester",
        language: code.language,
        source: code.source,
        customTests: JSON.stringify(tests),
        createdAt: now,
      });
      queue.enqueue(tx, "judge", { submissionId: s.id }, { topic: `user:${user.id}`, idempotencyKey: `judge:${s.id}`, maxAttempts: JUDGE_MAX_ATTEMPTS });
      return s;
    });
    void publishMatch(matchId, "tester.queued", { runId: sub.id, side: seat.side, cases: tests.length });
    return { runId: sub.id, status: sub.status, cases: tests.length };
  }

  /** The job handler: judges one submission (or tester run), records it, publishes, and ends the match on a full AC. */
  async function judgeJob(submissionId: number, attempt: number) {
    const sub = store.submission(submissionId);
    if (!sub || sub.status === "done") return { skipped: true };
    if (!runner) throw new Error("no code runner in this process");
    await db.write((tx) => store.markRunning(tx, submissionId));
    const data = problems.judgeData(sub.problemId);
    const p = data.problem;
    const isTester = sub.kind === "tester";
    const cases = isTester
      ? parse<Array<{ input: string; expected: string }>>(sub.customTests, []).map((t, i) => ({ kind: "custom" as const, name: String(i + 1), input: t.input, expected: t.expected }))
      : data.tests.map((t) => ({ kind: t.kind, name: t.name, input: t.input, expected: t.answer }));
    const limits: JudgeLimits = {
      timeMs: p.timeLimitMs,
      memoryMb: p.memoryLimitMb,
      checker: p.checker as JudgeLimits["checker"],
      customChecker: data.checkerProgram ?? undefined,
    };
    // One test at a time so each verdict is published as it lands; compiling
    // is memoised, so the program (and a custom checker) compiles once.
    const compiled = new Map<string, ReturnType<RunnerService["compile"]>>();
    const r1 = {
      ...(runner as RunnerService),
      compile: (language: string, source: string) => {
        const key = `${language}\0${source}`;
        if (!compiled.has(key)) compiled.set(key, (runner as RunnerService).compile(language, source));
        return compiled.get(key)!;
      },
    } as RunnerService;
    const perTest: Array<{ index: number; verdict: Verdict; timeMs: number; memoryKb: number }> = [];
    let compileOutput: string | undefined;
    for (let i = 0; i < cases.length; i++) {
      const one = await runJudge(r1, { language: sub.language, source: sub.source }, [{ input: cases[i].input, expected: cases[i].expected }], limits);
      if (one.verdict === "CE" || (one.compileOutput !== undefined && one.verdict !== "AC")) {
        // A compile failure is the whole submission's: every test gets it.
        compileOutput = one.compileOutput;
        for (let j = i; j < cases.length; j++) perTest.push({ index: j, verdict: one.verdict, timeMs: 0, memoryKb: 0 });
        break;
      }
      const t = { ...one.tests[0], index: i };
      perTest.push(t);
      if (!isTester) {
        const ev = { submissionId, attempt, i, kind: cases[i].kind === "secret" ? "hidden" : cases[i].kind, verdict: t.verdict, timeMs: t.timeMs, memoryKb: t.memoryKb };
        void publishUser(sub.userId, "verdict.test", { matchId: sub.matchId, ...ev });
        if (sub.matchId) void publishMatch(sub.matchId, "verdict.test", { side: sub.side, ...ev });
      }
    }
    const r = {
      verdict: submissionVerdict(perTest.map((t) => t.verdict)),
      tests: perTest,
      passed: perTest.filter((t) => t.verdict === "AC").length,
      compileOutput,
    };
    if (r.verdict === "IE" && attempt < JUDGE_MAX_ATTEMPTS) {
      // The platform's fault: put it back and let the queue retry; never scored.
      await db.write((tx) => store.requeue(tx, submissionId));
      throw new Error(`internal error judging submission ${submissionId} (attempt ${attempt})`);
    }
    const results = r.tests.map((t) => ({ i: t.index, kind: cases[t.index]?.kind === "secret" ? "hidden" : cases[t.index]?.kind, verdict: t.verdict, timeMs: t.timeMs, memoryKb: t.memoryKb }));
    let secretPassed = 0;
    let secretTotal = 0;
    let runtime = 0;
    r.tests.forEach((t, i) => {
      if (cases[i]?.kind !== "secret") return;
      if (t.verdict === "AC") {
        secretPassed++;
        runtime += t.timeMs;
      }
    });
    secretTotal = cases.filter((c) => c.kind === "secret").length;
    const done = await db.write((tx) =>
      store.finishSubmission(tx, submissionId, {
        verdict: r.verdict,
        testsPassed: r.passed,
        testsTotal: cases.length,
        secretPassed,
        secretTotal,
        runtimeMsPassed: runtime,
        results: JSON.stringify(results),
        judgedAt: clock.now(),
      }),
    );
    if (!done) return { skipped: true };
    const view = resultView(done);
    const ceMsg = r.verdict === "CE" && r.compileOutput ? { compileOutput: r.compileOutput.slice(0, 4000) } : {};

    if (isTester) {
      // Results go to the Coder (and the Tester); the opponents see only that a run happened.
      const m = store.match(sub.matchId!);
      const team = m ? store.players(m.id).filter((x) => x.side === sub.side) : [];
      const payload = { runId: done.id, verdict: r.verdict, tests: results, ...ceMsg };
      for (const pl of team) void publishUser(pl.userId, "tester.result", { matchId: sub.matchId, side: sub.side, ...payload });
      if (m) void publishMatch(m.id, "tester.done", { runId: done.id, side: sub.side, verdict: r.verdict });
      return { verdict: r.verdict };
    }

    void publishUser(sub.userId, "verdict", { submission: view, ...ceMsg });
    if (sub.matchId) {
      const matchId = sub.matchId;
      void publishMatch(matchId, "verdict", { submissionId: done.id, side: sub.side, verdict: r.verdict, hiddenPassed: secretPassed, hiddenTotal: secretTotal, runtimeMs: runtime });
      const m = store.match(matchId);
      if (m) {
        void publishMatch(matchId, "progress", { progress: progress(m) });
        // The match score if the timer ended now (arena-rules.md), so clients can show the standing.
        const subs = store.submissionsOfMatch(matchId);
        const total = secretTotal;
        const a = sideResult(subs, m, 0, total);
        const b = sideResult(subs, m, 1, total);
        void publishMatch(matchId, "score", { scores: [matchScore(a, b), matchScore(b, a)] });
      }
      if (r.verdict === "AC" && m && m.status === "running" && done.createdAt < (m.endsAt ?? Infinity)) await finish(matchId, { winnerSide: sub.side as 0 | 1, reason: "accepted" });
    }
    return { verdict: r.verdict };
  }

  // ------------------------------------------------------------ matches
  async function createRoom(user: SessionUser, o: { format: Format; difficulty: Difficulty; durationSec?: number; countdownSec?: number; problemId?: number; rated?: boolean; isPublic?: boolean }) {
    if (o.problemId) {
      problems.get(o.problemId);
      problems.requireTests(o.problemId);
    }
    if (store.activeMatchesOf(user.id).length) throw new AppError("already_in_match");
    const now = clock.now();
    for (let attempt = 0; attempt < 8; attempt++) {
      const code = inviteCode(rbytes);
      const m = await db.write((tx) => {
        if (store.activeMatchesOfTx(tx, user.id).length) throw new AppError("already_in_match");
        const row = store.insertMatch(tx, {
          format: o.format,
          difficulty: o.difficulty,
          problemId: o.problemId ?? null,
          status: "waiting",
          inviteCode: code,
          isPublic: o.isPublic ?? false,
          rated: o.rated ?? true,
          durationSec: o.durationSec ?? durationDefault,
          countdownSec: o.countdownSec ?? countdownDefault,
          createdBy: user.id,
          createdAt: now,
        });
        if (!row) return undefined;
        store.addPlayer(tx, { matchId: row.id, userId: user.id, side: 0, startRole: seatsOf(o.format)[0].startRole, joinedAt: now });
        store.dequeue(tx, user.id);
        return row;
      });
      if (m) return matchView(m, user);
    }
    throw new AppError("conflict", "Could not allocate an invite code; try again.");
  }

  async function joinRoom(user: SessionUser, rawCode: string, want?: { side?: 0 | 1; role?: Role }) {
    const code = normalizeInvite(rawCode);
    if (!INVITE_RE.test(code)) throw new AppError("invalid_invite");
    const m = store.matchByInvite(code);
    if (!m) throw new AppError("invalid_invite");
    if (m.status !== "waiting") throw new AppError("room_full", "This room's match has already started.");
    const now = clock.now();
    const res = await db.write((tx) => {
      const cur = store.matchTx(tx, m.id)!;
      if (cur.status !== "waiting") throw new AppError("room_full", "This room's match has already started.");
      const taken = store.playersTx(tx, m.id);
      if (taken.some((p) => p.userId === user.id)) return { joined: false };
      if (store.activeMatchesOfTx(tx, user.id).length) throw new AppError("already_in_match");
      const free = seatsOf(m.format).filter((s) => !taken.some((p) => p.side === s.side && p.startRole === s.startRole) && (want?.side === undefined || s.side === want.side) && (!want?.role || s.startRole === want.role));
      if (!free.length) throw new AppError("room_full");
      if (!store.addPlayer(tx, { matchId: m.id, userId: user.id, side: free[0].side, startRole: free[0].startRole, joinedAt: now })) throw new AppError("room_full");
      store.dequeue(tx, user.id);
      const full = taken.length + 1 === seatsOf(m.format).length;
      if (full) beginCountdown(tx, cur);
      return { joined: true, full };
    });
    const after = store.match(m.id)!;
    if (res.joined) void publishMatch(m.id, "player.joined", { userId: user.id, username: user.username });
    if (res.full) announceFound(after);
    return matchView(after, user);
  }

  async function leaveRoom(user: SessionUser, matchId: number) {
    const m = getMatch(matchId);
    seatOf(m, user.id);
    if (m.status !== "waiting") throw new AppError("match_started", "The match has started; disconnecting past the grace forfeits it.");
    await db.write((tx) => {
      store.removePlayer(tx, matchId, user.id);
      if (store.playersTx(tx, matchId).length === 0) store.transition(tx, matchId, ["waiting"], { status: "cancelled", inviteCode: null, finishedAt: clock.now() });
    });
    void publishMatch(matchId, "player.left", { userId: user.id });
  }

  /** Inside a write body: picks the problem, fixes every instant (and the hidden swap), arms the durable timers. */
  function beginCountdown(tx: Drizzle, m: MatchRow) {
    let problemId = m.problemId;
    if (!problemId) {
      const ids = store.problemsWithTests(tx, m.difficulty);
      if (!ids.length) throw new AppError("problem_no_tests", `No ${m.difficulty} problem with tests exists.`);
      problemId = ids[Math.floor(random() * ids.length) % ids.length];
    }
    const now = clock.now();
    const startsAt = now + m.countdownSec * 1000;
    const endsAt = startsAt + m.durationSec * 1000;
    // One draw per match: the same instant for both teams.
    const swapAt = m.format === "pairs" ? startsAt + swapOffsetMs(m.durationSec, random) : null;
    const row = store.transition(tx, m.id, ["waiting"], { status: "countdown", problemId, startsAt, endsAt, swapAt });
    if (!row) throw new AppError("conflict", "The match is no longer waiting.");
    armTimers(tx, row);
    return row;
  }

  function armTimers(tx: Drizzle, m: MatchRow) {
    const at = (runAt: number, what: string) => queue.enqueue(tx, "arena.tick", { matchId: m.id }, { runAt, idempotencyKey: `arena:${m.id}:${what}`, maxAttempts: 10 });
    if (m.startsAt) at(m.startsAt, "start");
    if (m.swapAt) at(m.swapAt, "swap");
    if (m.endsAt) at(m.endsAt, "end");
  }

  function announceFound(m: MatchRow) {
    const players = store.players(m.id).map((p) => ({ userId: p.userId, username: p.username, side: p.side, role: currentRole(p.startRole, false) }));
    void publishMatch(m.id, "match.found", { format: m.format, difficulty: m.difficulty, players, durationSec: m.durationSec });
    void publishMatch(m.id, "countdown", { startsAt: m.startsAt, endsAt: m.endsAt, seconds: m.countdownSec });
    for (const p of players) void publishUser(p.userId, "match.found", { matchId: m.id, format: m.format, side: p.side, role: p.role, startsAt: m.startsAt });
  }

  /** Advances a match to wherever the clock says it should be. Idempotent; called by timer jobs and after clock moves. */
  async function tick(matchId: number) {
    const now = clock.now();
    let m = store.match(matchId);
    if (!m) return;
    if (m.status === "countdown" && m.startsAt !== null && now >= m.startsAt) {
      const row = await db.write((tx) => store.transition(tx, matchId, ["countdown"], { status: "running" }));
      if (row) void publishMatch(matchId, "started", { problem: problems.publicView(row.problemId!), startsAt: row.startsAt, endsAt: row.endsAt, durationSec: row.durationSec });
      m = store.match(matchId)!;
    }
    if (m.status === "running" && m.swapAt !== null && !m.swapped && now >= m.swapAt && now < (m.endsAt ?? Infinity)) {
      const row = await db.write((tx) => store.setSwapped(tx, matchId));
      if (row) {
        const roles = store.players(matchId).map((p) => ({ userId: p.userId, side: p.side, role: currentRole(p.startRole, true) }));
        void publishMatch(matchId, "role.swap", { swapAt: row.swapAt, roles });
      }
      m = store.match(matchId)!;
    }
    if (m.status === "running" && m.endsAt !== null && now >= m.endsAt) {
      await finish(matchId, { reason: "timeout" });
      return;
    }
    if (m.status === "running" || m.status === "countdown") {
      const gone = store.players(matchId).filter((p) => p.disconnectedAt !== null && now - p.disconnectedAt >= graceMs);
      if (gone.length && m.status === "running") {
        gone.sort((a, b) => a.disconnectedAt! - b.disconnectedAt!);
        await finish(matchId, { winnerSide: (1 - gone[0].side) as 0 | 1, reason: "forfeit" });
      } else if (gone.length && m.status === "countdown") {
        await finish(matchId, { winnerSide: (1 - gone[0].side) as 0 | 1, reason: "forfeit" });
      }
    }
  }

  /** Ends a match once (conditional transition), scores both sides, applies Elo, announces. */
  async function finish(matchId: number, how: { winnerSide?: 0 | 1; reason: "accepted" | "timeout" | "forfeit" }) {
    const now = clock.now();
    const res = await db.write((tx) => {
      const m = store.matchTx(tx, matchId);
      if (!m || (m.status !== "running" && m.status !== "countdown")) return null;
      const subs = store.submissionsOfMatchTx(tx, matchId);
      const total = problems.store.tests(m.problemId!).filter((t) => t.kind === "secret").length;
      const a = sideResult(subs, m, 0, total);
      const b = sideResult(subs, m, 1, total);
      let winnerSide: 0 | 1 | null;
      let reason: string = how.reason;
      let scores: [number, number] = [matchScore(a, b), matchScore(b, a)];
      if (how.reason === "timeout") {
        const d = decideAtTimeout(a, b);
        winnerSide = d.winner;
        reason = d.reason === "draw" ? "draw" : d.reason === "score" ? "timeout" : "timeout_earlier_submission";
        scores = d.scores;
      } else winnerSide = how.winnerSide ?? null;
      const row = store.transition(tx, matchId, ["running", "countdown"], { status: "finished", finishedAt: now, winnerSide, reason, scores: JSON.stringify(scores) });
      if (!row) return null;
      const players = store.playersTx(tx, matchId);
      const changes: Array<{ userId: number; side: number; before: number; delta: number }> = [];
      if (m.rated) {
        const before = new Map(players.map((p) => [p.userId, store.ratingTx(tx, p.userId)?.rating ?? ELO_START]));
        const side = (s: number) => players.filter((p) => p.side === s).map((p) => before.get(p.userId)!);
        const scoreA = winnerSide === null ? 0.5 : winnerSide === 0 ? 1 : 0;
        const [da, dbb] = eloChange(side(0), side(1), scoreA);
        for (const p of players) {
          const delta = p.side === 0 ? da : dbb;
          const outcome = winnerSide === null ? "draw" : winnerSide === p.side ? "win" : "loss";
          store.applyRating(tx, p.userId, before.get(p.userId)! + delta, outcome, now);
          store.setRating(tx, matchId, p.userId, before.get(p.userId)!, delta);
          changes.push({ userId: p.userId, side: p.side, before: before.get(p.userId)!, delta });
        }
      }
      return { row, changes };
    });
    if (!res) return null;
    void publishMatch(matchId, "finished", {
      winnerSide: res.row.winnerSide,
      reason: res.row.reason,
      scores: parse(res.row.scores, null),
      ratingChanges: res.changes,
    });
    for (const c of res.changes) void publishUser(c.userId, "match.finished", { matchId, winnerSide: res.row.winnerSide, ratingBefore: c.before, ratingDelta: c.delta });
    return res.row;
  }

  // ------------------------------------------------------------ public queue
  async function joinQueue(user: SessionUser, format: Format, difficulty: Difficulty) {
    if (store.activeMatchesOf(user.id).length) throw new AppError("already_in_match");
    const rating = store.rating(user.id)?.rating ?? ELO_START;
    const ok = await db.write((tx) => store.enqueue(tx, { userId: user.id, format, difficulty, rating, since: clock.now() }));
    if (!ok) throw new AppError("already_queued");
    const made = await matchmake(format, difficulty);
    const mine = made.find((m) => store.players(m.id).some((p) => p.userId === user.id));
    return mine ? { queued: false, match: matchView(mine, user) } : { queued: true, format, difficulty, since: clock.now() };
  }

  async function leaveQueue(user: SessionUser) {
    await db.write((tx) => store.dequeue(tx, user.id));
  }

  /** Forms as many matches as the bucket allows (FIFO; rating-aware once the oldest has waited 10 s). */
  async function matchmake(format: Format, difficulty: Difficulty): Promise<MatchRow[]> {
    const made = await db.write((tx) => {
      const out: MatchRow[] = [];
      const need = format === "duel" ? 2 : 4;
      for (;;) {
        const waiting = store.waiting(tx, format, difficulty);
        if (waiting.length < need) break;
        if (!store.problemsWithTests(tx, difficulty).length) break;
        const now = clock.now();
        const asW = (rows: typeof waiting) => rows.map((w) => ({ id: String(w.userId), rating: w.rating, since: w.since }));
        const first = pickPair(asW(waiting), now, true)!;
        let seats: Array<{ userId: number; side: 0 | 1; startRole: Role }>;
        if (format === "duel") {
          seats = [
            { userId: Number(first[0].id), side: 0, startRole: "solo" },
            { userId: Number(first[1].id), side: 1, startRole: "solo" },
          ];
        } else {
          const rest = asW(waiting).filter((w) => w.id !== first[0].id && w.id !== first[1].id);
          const second = pickPair(rest, now, true)!;
          // The two pairs' first picks code first; each team gets one of each pair.
          seats = [
            { userId: Number(first[0].id), side: 0, startRole: "coder" },
            { userId: Number(first[1].id), side: 1, startRole: "coder" },
            { userId: Number(second[0].id), side: 0, startRole: "tester" },
            { userId: Number(second[1].id), side: 1, startRole: "tester" },
          ];
        }
        const ids = seats.map((s) => s.userId);
        if (store.dequeueMany(tx, ids) !== ids.length) break;
        const m = store.insertMatch(tx, {
          format,
          difficulty,
          status: "waiting",
          isPublic: true,
          rated: true,
          durationSec: durationDefault,
          countdownSec: countdownDefault,
          createdAt: now,
        })!;
        for (const s of seats) store.addPlayer(tx, { matchId: m.id, userId: s.userId, side: s.side, startRole: s.startRole, joinedAt: now });
        out.push(beginCountdown(tx, m));
      }
      return out;
    });
    for (const m of made) announceFound(m);
    return made;
  }

  async function matchmakeAll() {
    for (const b of store.buckets()) await matchmake(b.format, b.difficulty);
  }

  // ------------------------------------------------------------ presence
  /** Called by the realtime layer (or the client's explicit reconnect): marks a player online/offline in their open matches. */
  async function presence(userId: number, online: boolean) {
    const open = store.activeMatchesOf(userId).filter((m) => m.status === "running" || m.status === "countdown");
    if (!open.length) return;
    const now = clock.now();
    // Only changes are news: a first connection is not a reconnect, a second socket closing is not a disconnect.
    const changed = await db.write((tx) => {
      const out: number[] = [];
      for (const m of open) {
        const seat = store.playersTx(tx, m.id).find((p) => p.userId === userId);
        if (!seat || (seat.disconnectedAt === null) === online) continue;
        store.setDisconnected(tx, m.id, userId, online ? null : now);
        if (!online) queue.enqueue(tx, "arena.tick", { matchId: m.id }, { runAt: now + graceMs, idempotencyKey: `arena:${m.id}:grace:${userId}:${now}`, maxAttempts: 10 });
        out.push(m.id);
      }
      return out;
    });
    for (const id of changed) void publishMatch(id, online ? "player.reconnected" : "player.disconnected", { userId, ...(online ? {} : { graceSec: graceMs / 1000 }) });
  }

  // ------------------------------------------------------------ code
  async function putCode(user: SessionUser, matchId: number, language: string, source: string) {
    const m = getMatch(matchId);
    const seat = seatOf(m, user.id);
    requireRunning(m);
    if (seat.role === "tester") throw new AppError("wrong_role", "Only the Coder edits the team's code.");
    await db.write((tx) => store.putCode(tx, { matchId, side: seat.side, language, source, updatedAt: clock.now(), updatedBy: user.id }));
    return { ok: true };
  }

  function getCode(user: SessionUser, matchId: number) {
    const m = getMatch(matchId);
    if (m.status === "finished") {
      return { sides: [0, 1].map((side) => ({ side, ...pickCode(store.code(matchId, side)) })) };
    }
    const seat = seatOf(m, user.id);
    // The Tester never sees the code while testing it; after the swap they become the Coder and do.
    if (seat.role === "tester") throw new AppError("wrong_role", "The Tester cannot see the Coder's code.");
    return { side: seat.side, ...pickCode(store.code(matchId, seat.side)) };
  }
  const pickCode = (c: { language: string; source: string; updatedAt: number } | undefined) => (c ? { language: c.language, source: c.source, updatedAt: c.updatedAt } : { language: null, source: null, updatedAt: null });

  function getSubmission(viewer: SessionUser, id: number) {
    const s = store.submission(id);
    if (!s) throw new AppError("not_found", "No such submission.");
    const m = s.matchId ? store.match(s.matchId) : null;
    const own = s.userId === viewer.id;
    const over = m?.status === "finished";
    if (!own && viewer.role !== "organiser") {
      if (!m) throw new AppError("not_found", "No such submission.");
      const seat = store.players(m.id).find((p) => p.userId === viewer.id);
      const teammate = seat && seat.side === s.side;
      if (!over && !teammate && !m.isPublic) throw new AppError("not_found", "No such submission.");
    }
    const view: Record<string, unknown> = resultView(s);
    // Code: the author's own submit, an organiser, or anyone allowed once the match is over. A tester run's source is the Coder's code: never to the Tester before the end.
    if ((own && s.kind === "submit") || viewer.role === "organiser" || over) view.source = s.source;
    return view;
  }

  // ------------------------------------------------------------ boot and profile
  function register() {
    // Any process that works the queue judges: judge.ts runs here, and each of its runs is a "run" job on the
    // shared queue (s.runner.enableQueue), taken by a local runner role or a remote `gauntlet runner`.
    queue.register("judge", (job) => judgeJob(Number(job.payload.submissionId), job.attempts ?? 1), { concurrency: 4 });
    queue.register("arena.tick", async (job) => {
      await tick(Number(job.payload.matchId));
      return { ok: true };
    }, { concurrency: 4 });
    rt.authorize("match:", (user, id) => {
      const m = store.match(Number(id));
      if (!m) return false;
      return m.isPublic || m.status === "finished" || store.players(m.id).some((p) => p.userId === user.id) || user.role === "organiser";
    });
    rt.onPresence((userId, online) => void presence(userId, online).catch((err) => log.warn("presence failed", { err })));
    // The fallback queue is not durable: rebuild its jobs from the tables that are.
    if (!queue.durable) {
      const pend = store.unfinishedSubmissions();
      const open = store.openMatches();
      if (pend.length || open.length) {
        void db.write((tx) => {
          for (const s of pend) queue.enqueue(tx, "judge", { submissionId: s.id }, { idempotencyKey: `judge:${s.id}`, maxAttempts: JUDGE_MAX_ATTEMPTS });
          for (const m of open) armTimers(tx, m);
        });
      }
    }
  }

  function profile(userId: number) {
    const u = store.user(userId);
    if (!u) throw new AppError("not_found", "No such user.");
    const r = store.rating(userId);
    return {
      user: u,
      rating: r?.rating ?? ELO_START,
      matches: r?.matches ?? 0,
      wins: r?.wins ?? 0,
      losses: r?.losses ?? 0,
      draws: r?.draws ?? 0,
      history: store.historyOf(userId).map((h) => ({
        matchId: h.match.id,
        format: h.match.format,
        difficulty: h.match.difficulty,
        finishedAt: h.match.finishedAt,
        side: h.side,
        result: h.match.winnerSide === null ? "draw" : h.match.winnerSide === h.side ? "win" : "loss",
        reason: h.match.reason,
        scores: parse(h.match.scores, null),
        ratingBefore: h.ratingBefore,
        ratingDelta: h.ratingDelta,
      })),
    };
  }

  register();
  // Rating-aware matching needs a second look once the oldest has waited 10 s, even if nobody new joins.
  const mmTimer = setInterval(() => void matchmakeAll().catch((err) => log.warn("matchmaking failed", { err })), 2000);
  (mmTimer as any).unref?.();
  clock.onAdvance(() => setTimeout(() => void matchmakeAll().catch(() => {}), 0));

  return {
    store,
    problems,
    realtime: rt,
    queue,
    register,
    submitPractice,
    submitMatch,
    testerRun,
    judgeJob,
    getSubmission,
    mySubmissions: (userId: number) => store.submissionsOfUser(userId).map(resultView),
    createRoom,
    joinRoom,
    leaveRoom,
    joinQueue,
    leaveQueue,
    queueStatus: (userId: number) => store.queueEntry(userId) ?? null,
    matchmake,
    matchmakeAll,
    tick,
    finish,
    presence,
    putCode,
    getCode,
    match: (id: number, viewer: SessionUser | null) => {
      const m = getMatch(id);
      // A private room is visible to its players (and organisers) only, until it is over.
      const member = viewer && (viewer.role === "organiser" || store.players(id).some((p) => p.userId === viewer.id));
      if (!m.isPublic && !member && m.status !== "finished") throw new AppError("not_found", "No such match.");
      return matchView(m, viewer);
    },
    myMatch: (viewer: SessionUser) => {
      const m = store.activeMatchesOf(viewer.id)[0];
      return m ? matchView(m, viewer) : null;
    },
    liveMatches: () => store.liveMatches().map((m) => ({ id: m.id, format: m.format, difficulty: m.difficulty, status: m.status, startsAt: m.startsAt, endsAt: m.endsAt, players: store.players(m.id).map((p) => ({ username: p.username, side: p.side })) })),
    profile,
  };
}

export type ArenaService = ReturnType<typeof arenaService>;
export type { Verdict };
