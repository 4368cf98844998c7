/**
 * The hunt's rules around the pure formulas of hunt.rules.ts: progression,
 * answers, hints, powerups and XP. Every effect and its ledger entry happen in
 * one write body (serialized by the single writer), so checks and effects
 * cannot interleave with a concurrent request: solves are decided once,
 * order-scoring places are never shared, XP never goes below zero.
 *
 * An answer is bound to the puzzle that was current when the request arrived
 * (or the puzzleId it names), so a second copy of a correct answer meets
 * `already_solved` instead of being judged against the next puzzle.
 */
import type { Drizzle } from "../db/db.ts";
import type { EventsService, LoadedEvent, LoadedPuzzle } from "../events/events.service.ts";
import type { LedgerService } from "../ledger/ledger.service.ts";
import type { LedgerRow } from "../ledger/ledger.store.ts";
import type { Deps, SessionUser } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import { award, cappedGain, judge, normalizeAnswer, orderGross, timeGross, xpBalance, xpTicks, type Outcome, type Powerup } from "./hunt.rules.ts";
import { huntStore, type HuntPlayerRow, type ProgressRow } from "./hunt.store.ts";

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

const MINUTE = 60_000;
export const MAX_ANSWER_LENGTH = 1000;

export function huntService(deps: Deps & { events: EventsService; ledger: LedgerService }) {
  const { db, clock, limiter, events, ledger, log } = deps;
  const store = huntStore(db);

  function assertOpen(ev: LoadedEvent, now: number) {
    if (now < ev.row.startsAt) throw new AppError("event_not_started");
    if (now >= ev.row.endsAt) throw new AppError("event_over");
  }

  /** Open events admit anyone on first play; closed and invite-only ones need a prior join. */
  function assertMayPlay(ev: LoadedEvent, user: SessionUser, joined: unknown) {
    if (joined || user.role === "organiser" || ev.row.registration === "open") return;
    throw new AppError("forbidden", ev.row.registration === "invite" ? "Join this event with its invite code first." : "Registration for this event is closed.");
  }

  function currentOf(ev: LoadedEvent, prog: Map<number, ProgressRow>): LoadedPuzzle | undefined {
    return ev.puzzles.find((p) => {
      const g = prog.get(p.id);
      return !g || (g.solvedAt === null && g.skippedAt === null);
    });
  }

  function view(ev: LoadedEvent, playerId: number) {
    const prog = new Map(store.progress(ev.row.id, playerId).map((g) => [g.puzzleId, g]));
    return { prog, current: currentOf(ev, prog) };
  }

  /**
   * The answer path's reads before its transaction (the player's row and progress), kept in process: they were a
   * fifth of the event loop at 10,000 answers/s (bench/RESULTS.md, "Session 5"). They only bind the request to a
   * puzzle and pick the error; the transaction decides again on what it reads itself (openProgress, markSolved), so
   * a view is exactly as good as a fresh read if it is dropped whenever the rows behind it may have changed:
   * - a write body of this service forgets the player's view before it changes what the view holds (a join, the
   *   first attempt, an unlock, a solve, a skip; a body runs and commits in one synchronous step, so no read can
   *   refill it from the data before the commit). A wrong answer changes none of it: that is the hit;
   * - views belong to one loaded event, so an edited, reordered or deleted event or puzzle (and the reload of an
   *   event every second) starts afresh;
   * - a commit by another process (several instances, a CLI command) moves the writer's data_version, checked once
   *   per turn of the event loop: then every view is dropped.
   * On PostgreSQL, where other processes' commits are heard only by LISTEN, the answer path reads as before.
   */
  interface AnswerView {
    /** Whether the player has a hunt_players row, and has been listed (first attempt): all the answer path reads of it. */
    joined: boolean;
    listed: boolean;
    prog: Map<number, ProgressRow>;
    current: LoadedPuzzle | undefined;
  }
  const readView = (ev: LoadedEvent, playerId: number): AnswerView => {
    const hp = store.player(ev.row.id, playerId);
    return { joined: hp !== null, listed: !!hp?.firstAttemptAt, ...view(ev, playerId) };
  };
  const cacheViews = db.dialect === "sqlite";
  let views = new Map<number, { ev: LoadedEvent; players: Map<number, AnswerView> }>();
  let versionChecked = false;
  let seenVersion = -1;
  const recheckNextTurn = () => {
    versionChecked = false;
  };
  function answerView(ev: LoadedEvent, playerId: number): AnswerView {
    if (!cacheViews) return readView(ev, playerId);
    if (!versionChecked) {
      versionChecked = true;
      setImmediate(recheckNextTurn);
      const v = store.dataVersion();
      if (v !== seenVersion) {
        seenVersion = v;
        views = new Map();
      }
    }
    let e = views.get(ev.row.id);
    if (!e || e.ev !== ev) views.set(ev.row.id, (e = { ev, players: new Map() }));
    let v = e.players.get(playerId);
    if (!v) e.players.set(playerId, (v = readView(ev, playerId)));
    return v;
  }
  /** Inside a write body, before it changes what a view holds: the player's progress rows, whether joined or listed. */
  function forget(eventId: number, playerId: number) {
    views.get(eventId)?.players.delete(playerId);
  }

  function xpOf(ev: LoadedEvent, hp: Pick<HuntPlayerRow, "firstAttemptAt" | "solves" | "xpSpent"> | null, now: number) {
    return xpBalance(ev.settings, hp?.firstAttemptAt ?? null, hp?.solves ?? 0, hp?.xpSpent ?? 0, now, ev.row.endsAt);
  }

  /**
   * Writes the XP ticks the formula owes a player (inside a write body). Tick k
   * has key xp_tick:<event>:<player>:<k>, so it exists at most once whatever
   * runs this (ticker, a purchase, another instance).
   */
  function catchUpXp(tx: Drizzle, ev: LoadedEvent, playerId: number, now: number, out: LedgerRow[]) {
    const hp = store.txPlayer(tx, ev.row.id, playerId);
    if (!hp || hp.firstAttemptAt === null) return;
    const s = ev.settings;
    const due = xpTicks(s, hp.firstAttemptAt, now, ev.row.endsAt);
    if (due <= hp.xpTicks) return;
    let earned = hp.xpEarned;
    for (let k = hp.xpTicks + 1; k <= due; k++) {
      const gain = cappedGain(s, earned, s.xpPerTick);
      if (gain <= 0) break;
      const at = hp.firstAttemptAt + k * s.xpTickMinutes * MINUTE;
      const row = ledger.post(tx, { eventId: ev.row.id, playerId, kind: "xp_tick", amount: gain, currency: "xp", at, idempotencyKey: `xp_tick:${ev.row.id}:${playerId}:${k}` });
      if (row) {
        earned += gain;
        out.push(row);
      }
    }
    store.setXpTicks(tx, ev.row.id, playerId, due);
  }

  function publicPuzzle(p: LoadedPuzzle, g: ProgressRow | undefined, reveals: Array<{ idx: number; viaPowerup: number }>) {
    const revealed = reveals.filter((r) => r.idx < p.hints.length);
    return {
      id: p.id,
      number: p.position,
      title: p.title,
      body: p.body,
      story: p.story,
      attachments: p.attachments,
      unlockedAt: g?.unlockedAt ?? null,
      hints: revealed.map((r) => ({ index: r.idx, text: p.hints[r.idx].text, costPoints: r.viaPowerup ? 0 : p.hints[r.idx].costPoints, viaPowerup: !!r.viaPowerup })),
      hintsTotal: p.hints.length,
      hintsLeft: p.hints.length - revealed.length,
      closeEnoughActive: !!g?.closeEnoughActive,
    };
  }

  function status(ev: LoadedEvent, now: number, finished: boolean) {
    if (now < ev.row.startsAt) return "not_started";
    if (finished) return "finished";
    if (now >= ev.row.endsAt) return "over";
    return "playing";
  }

  /** Binds a request to a puzzle: the one it names (if unlocked for this player) or the current one. */
  function bind(ev: LoadedEvent, playerId: number, puzzleId?: number, { prog, current } = view(ev, playerId)) {
    if (puzzleId !== undefined) {
      const p = ev.byId.get(puzzleId);
      // A future puzzle answers exactly like an unknown one: its existence is not revealed.
      if (!p || (!prog.has(p.id) && p !== current)) throw new AppError("not_found", "No such puzzle.");
      return { prog, puzzle: p };
    }
    if (!current) throw new AppError("already_solved", "You have finished the hunt.");
    return { prog, puzzle: current };
  }

  /** Inside a write body: the progress row of the bound puzzle, unlocking it now if needed. */
  function openProgress(tx: Drizzle, ev: LoadedEvent, playerId: number, p: LoadedPuzzle, now: number): ProgressRow {
    // Rows only ever get created, so what committed data already shows needs no insert.
    let g = store.txProgressOne(tx, playerId, p.id);
    if (!g) {
      forget(ev.row.id, playerId);
      ledger.join(tx, ev.row.id, playerId, now);
      store.unlock(tx, ev.row.id, playerId, p.id, now);
      g = store.txProgressOne(tx, playerId, p.id)!;
    }
    if (g.solvedAt !== null) throw new AppError("already_solved");
    if (g.skippedAt !== null) throw new AppError("conflict", "You skipped this puzzle.");
    return g;
  }

  /** Inside a write body: unlocks the puzzle after `p` (at this instant) or marks the player finished. */
  function advance(tx: Drizzle, ev: LoadedEvent, playerId: number, p: LoadedPuzzle, now: number) {
    const prog = new Map(store.txProgress(tx, ev.row.id, playerId).map((g) => [g.puzzleId, g]));
    const next = ev.puzzles.find((q) => q.id !== p.id && (!prog.has(q.id) || (prog.get(q.id)!.solvedAt === null && prog.get(q.id)!.skippedAt === null)));
    if (next) {
      store.unlock(tx, ev.row.id, playerId, next.id, now);
      return { id: next.id, number: next.position, title: next.title };
    }
    store.setFinished(tx, ev.row.id, playerId, now);
    return null;
  }

  const svc = {
    store,
    catchUpXp,

    async join(ref: string, user: SessionUser, code?: string) {
      const ev = events.get(ref);
      const r = ev.row;
      if (r.registration === "closed" && user.role !== "organiser") throw new AppError("forbidden", "Registration for this event is closed.");
      if (r.registration === "invite" && user.role !== "organiser" && code !== r.registrationCode) throw new AppError("forbidden", "That invite code is not valid.");
      const now = clock.now();
      await db.write((tx) => {
        forget(r.id, user.id);
        ledger.join(tx, r.id, user.id, now);
      });
      return { joined: true };
    },

    async current(ref: string, user: SessionUser) {
      const ev = events.get(ref);
      const now = clock.now();
      let hp = store.player(ev.row.id, user.id);
      assertMayPlay(ev, user, hp);
      let { prog, current } = view(ev, user.id);
      if (current && !prog.has(current.id) && now >= ev.row.startsAt && now < ev.row.endsAt) {
        const p = current;
        await db.write((tx) => {
          forget(ev.row.id, user.id);
          ledger.join(tx, ev.row.id, user.id, now);
          store.unlock(tx, ev.row.id, user.id, p.id, now);
        });
        hp = store.player(ev.row.id, user.id);
        ({ prog, current } = view(ev, user.id));
      }
      const g = current ? prog.get(current.id) : undefined;
      const visible = current && g && now >= ev.row.startsAt ? current : undefined;
      const solved = [...prog.values()].filter((x) => x.solvedAt !== null).length;
      const skipped = [...prog.values()].filter((x) => x.skippedAt !== null).length;
      return {
        event: { id: ev.row.id, slug: ev.row.slug, title: ev.row.title, startsAt: ev.row.startsAt, endsAt: ev.row.endsAt, preset: ev.row.preset },
        now,
        status: status(ev, now, !current && ev.puzzles.length > 0),
        puzzle: visible ? publicPuzzle(visible, g, store.reveals(user.id, visible.id)) : null,
        progress: { solved, skipped, total: ev.puzzles.length },
        balances: { points: hp?.points ?? 0, xp: xpOf(ev, hp, now) },
        powerupCosts: ev.settings.powerupCosts,
      };
    },

    async answer(ref: string, user: SessionUser, input: { answer: string; puzzleId?: number }, meta: RequestMeta) {
      const ev = events.get(ref);
      const now = clock.now();
      assertOpen(ev, now);
      const v = answerView(ev, user.id);
      assertMayPlay(ev, user, v.joined);
      const { prog, puzzle } = bind(ev, user.id, input.puzzleId, v);
      const g0 = prog.get(puzzle.id);
      if (g0?.solvedAt != null) throw new AppError("already_solved");
      if (g0?.skippedAt != null) throw new AppError("conflict", "You skipped this puzzle.");
      const normalized = normalizeAnswer(input.answer, puzzle.settings.normalize);
      if (!normalized) throw new AppError("empty_answer");

      // Both limits are checked before either counts (one atomic step), so a refusal by one leaves the other untouched.
      const s = ev.settings;
      const rules = [{ key: `hunt:ans:${user.id}:${puzzle.id}`, limit: s.answersPerMinute, windowMs: MINUTE }];
      const perIp = s.answersPerMinutePerIp;
      if (perIp !== null) rules.push({ key: `hunt:ip:${ev.row.id}:${meta.ip ?? "?"}`, limit: perIp, windowMs: MINUTE });
      const rl = await limiter.hitAll(rules);
      if (!rl.ok) throw new AppError("rate_limited", undefined, { retryAfter: rl.retryAfter });

      const outcome: Outcome = judge(normalized, puzzle.key);
      const posted: LedgerRow[] = [];
      const result = await db.write((tx) => {
        const g = openProgress(tx, ev, user.id, puzzle, now);
        store.insertAttempt(tx, { eventId: ev.row.id, puzzleId: puzzle.id, playerId: user.id, raw: input.answer, normalized, outcome, ip: meta.ip, userAgent: meta.userAgent, at: now });
        if (!v.listed) {
          forget(ev.row.id, user.id);
          ledger.markListed(tx, ev.row.id, user.id, now);
        }
        const solves = outcome === "correct" || (outcome === "close" && !!g.closeEnoughActive);
        if (!solves) return { outcome, awarded: 0, next: null, finished: false };
        forget(ev.row.id, user.id);

        const ps = puzzle.settings;
        const place = store.solvesOf(tx, puzzle.id);
        const gross = ps.scoring === "order" ? orderGross(ps.orderTiers, place) : timeGross(ps, g.unlockedAt, now);
        const hintCosts = store.txReveals(tx, user.id, puzzle.id).reduce((sum, r) => sum + (r.viaPowerup || r.idx >= puzzle.hints.length ? 0 : puzzle.hints[r.idx].costPoints), 0);
        const points = award(gross, hintCosts, outcome === "close", ps.closeAnswerPenalty);
        if (store.markSolved(tx, user.id, puzzle.id, now, points, place) !== 1) throw new AppError("already_solved");
        const entry = ledger.post(tx, { eventId: ev.row.id, playerId: user.id, kind: "solve", amount: points, currency: "points", puzzleId: puzzle.id, at: now, idempotencyKey: `solve:${user.id}:${puzzle.id}` });
        if (!entry) throw new AppError("already_solved");
        posted.push(entry);
        store.countSolve(tx, ev.row.id, user.id);
        // Ticks first, so the cap applies to earnings in the order the formula counts them.
        catchUpXp(tx, ev, user.id, now, posted);
        if (s.xpPerSolve > 0) {
          const cur = store.txPlayer(tx, ev.row.id, user.id)!;
          const gain = cappedGain(s, cur.xpEarned, s.xpPerSolve);
          if (gain > 0) {
            const x = ledger.post(tx, { eventId: ev.row.id, playerId: user.id, kind: "xp_solve", amount: gain, currency: "xp", puzzleId: puzzle.id, at: now, idempotencyKey: `xp_solve:${user.id}:${puzzle.id}` });
            if (x) posted.push(x);
          }
        }
        const next = advance(tx, ev, user.id, puzzle, now);
        return { outcome: "correct" as Outcome, awarded: points, next, finished: next === null, ...(outcome === "close" ? { viaCloseEnough: true } : {}) };
      });
      ledger.published(posted);
      return result;
    },

    async hint(ref: string, user: SessionUser, meta: RequestMeta) {
      return svc.reveal(ref, user, meta, false);
    },

    /** The next hint of the current puzzle: free now (its cost comes off the award), or paid in XP by the powerup. */
    async reveal(ref: string, user: SessionUser, meta: RequestMeta, viaPowerup: boolean) {
      const ev = events.get(ref);
      const now = clock.now();
      assertOpen(ev, now);
      assertMayPlay(ev, user, store.player(ev.row.id, user.id));
      const { puzzle } = bind(ev, user.id);
      const posted: LedgerRow[] = [];
      const out = await db.write((tx) => {
        openProgress(tx, ev, user.id, puzzle, now);
        const idx = store.txReveals(tx, user.id, puzzle.id).length;
        if (idx >= puzzle.hints.length) throw new AppError("no_hint_left");
        if (viaPowerup) spend(tx, ev, user.id, puzzle, "hint", `powerup:hint:${user.id}:${puzzle.id}:${idx}`, now, posted);
        store.insertReveal(tx, user.id, puzzle.id, idx, now, viaPowerup);
        store.logAction(tx, { eventId: ev.row.id, playerId: user.id, kind: viaPowerup ? "powerup:hint" : "hint", puzzleId: puzzle.id, detail: String(idx), ip: meta.ip, userAgent: meta.userAgent, at: now });
        const h = puzzle.hints[idx];
        return { index: idx, text: h.text, costPoints: viaPowerup ? 0 : h.costPoints, viaPowerup, hintsLeft: puzzle.hints.length - idx - 1 };
      });
      ledger.published(posted);
      return out;
    },

    async powerup(ref: string, user: SessionUser, kind: Powerup, meta: RequestMeta) {
      if (kind === "hint") {
        const hint = await svc.reveal(ref, user, meta, true);
        return { kind, hint, xp: svc.xpNow(ref, user.id) };
      }
      const ev = events.get(ref);
      const now = clock.now();
      assertOpen(ev, now);
      assertMayPlay(ev, user, store.player(ev.row.id, user.id));
      const { puzzle } = bind(ev, user.id);
      const posted: LedgerRow[] = [];
      const out = await db.write((tx) => {
        forget(ev.row.id, user.id);
        const g = openProgress(tx, ev, user.id, puzzle, now);
        if (kind === "close_enough") {
          if (g.closeEnoughActive) throw new AppError("already_active");
          spend(tx, ev, user.id, puzzle, kind, `powerup:close_enough:${user.id}:${puzzle.id}`, now, posted);
          store.setCloseEnough(tx, user.id, puzzle.id);
          store.logAction(tx, { eventId: ev.row.id, playerId: user.id, kind: "powerup:close_enough", puzzleId: puzzle.id, ip: meta.ip, userAgent: meta.userAgent, at: now });
          return { kind, next: null as null | { id: number; number: number; title: string } };
        }
        spend(tx, ev, user.id, puzzle, kind, `powerup:skip:${user.id}:${puzzle.id}`, now, posted);
        if (store.markSkipped(tx, user.id, puzzle.id, now) !== 1) throw new AppError("conflict", "This puzzle is already done.");
        store.logAction(tx, { eventId: ev.row.id, playerId: user.id, kind: "skip", puzzleId: puzzle.id, ip: meta.ip, userAgent: meta.userAgent, at: now });
        return { kind, next: advance(tx, ev, user.id, puzzle, now) };
      });
      ledger.published(posted);
      return { ...out, xp: svc.xpNow(ref, user.id) };
    },

    xpNow(ref: string, playerId: number) {
      const ev = events.get(ref);
      return xpOf(ev, store.player(ev.row.id, playerId), clock.now());
    },

    /** Story blocks of every puzzle unlocked so far, in order. */
    story(ref: string, user: SessionUser) {
      const ev = events.get(ref);
      assertMayPlay(ev, user, store.player(ev.row.id, user.id));
      const { prog } = view(ev, user.id);
      return {
        blocks: ev.puzzles
          .filter((p) => prog.has(p.id))
          .map((p) => ({ puzzleId: p.id, number: p.position, title: p.title, story: p.story, solved: prog.get(p.id)!.solvedAt !== null, skipped: prog.get(p.id)!.skippedAt !== null })),
      };
    },

    /** The player's own attempts. Accepted and close answers are not echoed back: only wrong ones. */
    attempts(ref: string, user: SessionUser, limit = 100) {
      const ev = events.get(ref);
      return {
        attempts: store.attemptsOf(ev.row.id, user.id, limit).map((a) => ({ id: a.id, puzzleId: a.puzzleId, outcome: a.outcome, answer: a.outcome === "wrong" ? a.raw : null, at: a.at })),
      };
    },

    /**
     * The XP ticker's pass: writes every tick the formula owes, for every
     * event, idempotently. Safe to run from several processes at once.
     */
    async tickXp(now = clock.now()): Promise<{ entries: number }> {
      let entries = 0;
      for (const e of events.list()) {
        if (now < e.startsAt) continue;
        const ev = events.get(e.id);
        const s = ev.settings;
        if (s.xpPerTick <= 0) continue;
        const until = Math.min(now, ev.row.endsAt);
        for (;;) {
          const batch = store.lagging(ev.row.id, s.xpTickMinutes * MINUTE, until, 500);
          if (!batch.length) break;
          const posted: LedgerRow[] = [];
          await db.write((tx) => {
            for (const { playerId } of batch) catchUpXp(tx, ev, playerId, now, posted);
          });
          entries += posted.length;
          ledger.published(posted);
          if (batch.length < 500) break;
        }
      }
      if (entries) log.debug("xp ticks written", { entries });
      return { entries };
    },
  };

  /** Inside a write body: checks the formula balance and spends, or throws insufficient_xp. */
  function spend(tx: Drizzle, ev: LoadedEvent, playerId: number, puzzle: LoadedPuzzle, kind: Powerup, key: string, now: number, posted: LedgerRow[]) {
    catchUpXp(tx, ev, playerId, now, posted);
    const hp = store.txPlayer(tx, ev.row.id, playerId);
    const cost = ev.settings.powerupCosts[kind];
    if (xpOf(ev, hp, now).balance < cost) throw new AppError("insufficient_xp");
    if (cost > 0) {
      const row = ledger.post(tx, { eventId: ev.row.id, playerId, kind: "powerup", amount: -cost, currency: "xp", puzzleId: puzzle.id, at: now, reason: kind, idempotencyKey: key });
      if (!row) throw new AppError("conflict", "That powerup was already bought.");
      posted.push(row);
    }
  }

  return svc;
}

export type HuntService = ReturnType<typeof huntService>;
