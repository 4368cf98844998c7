import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, get, post } from "../api.ts";
import { live } from "../live.ts";
import { Markdown } from "../md.tsx";
import { announce, user } from "../state.ts";
import { Countdown, Empty, ErrorBox, FormError, Icon, Loading, pick, useApi } from "../ui.tsx";
import { clockOffset } from "./event.tsx";

const POWERUPS: { kind: "hint" | "skip" | "close_enough"; label: string; help: string }[] = [
  { kind: "hint", label: "Free hint", help: "Reveals the next hint at no point cost." },
  { kind: "close_enough", label: "Close enough", help: "A close answer counts as correct on this puzzle." },
  { kind: "skip", label: "Skip", help: "Leave this puzzle unsolved (0 points) and move on." },
];

const DEFAULT_COSTS = { close_enough: 95, hint: 50, skip: 75 };

type Outcome = { kind: "correct" | "close" | "wrong" | "error"; text: string };

export function HuntPage({ eventKey, event }: { eventKey: string; event: any }) {
  const base = `/api/v1/events/${encodeURIComponent(eventKey)}/hunt`;
  const q = useApi(base + "/current");
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [answer, setAnswer] = useState("");
  const [busy, setBusy] = useState<string>("");
  const [actionError, setActionError] = useState("");
  const inputRef = useRef<HTMLInputElement>(null);
  const u = user.value;

  // XP ticks, hint and powerup results arrive on the player's own topic.
  useEffect(() => {
    if (!u) return;
    return live.subscribe(`user:${u.id}`, () => q.reload(), q.reload);
  }, [u?.id]);

  if (q.error && !q.data) {
    const e = q.error as ApiError;
    if (e.status === 403 && /join|invite/i.test(e.message)) return <JoinEvent eventKey={eventKey} message={e.message} onJoined={q.reload} />;
    if (e.code === "event_not_started")
      return (
        <Empty>
          <p>The hunt has not started yet.</p>
          {pick(event, "startsAt") && <Countdown to={event.startsAt} label="Starts in" onDone={q.reload} />}
        </Empty>
      );
    return <ErrorBox error={q.error} onRetry={q.reload} what="the hunt" />;
  }
  if (!q.data) return <Loading what="your puzzle" />;
  const d = q.data;
  const puzzle = pick(d, "puzzle");
  const status = String(pick(d, "status") ?? (puzzle ? "playing" : "finished"));
  const balances = pick(d, "balances") ?? d;
  const points = Number(pick(balances, "points") ?? 0);
  const xpRaw = pick(balances, "xp");
  const xp = Number(typeof xpRaw === "object" ? pick(xpRaw, "balance", "available") : (xpRaw ?? 0));
  const settings = pick(event, "settings") ?? {};
  const costs = { ...DEFAULT_COSTS, ...(pick(d, "powerupCosts") ?? pick(settings, "powerupCosts") ?? {}) };
  const hints: any[] = puzzle?.hints ?? [];
  const hintsLeft: number | undefined = puzzle?.hintsLeft;
  const active: string[] = puzzle?.closeEnoughActive ? ["close_enough"] : [];
  const progress = pick(d, "progress") ?? {};
  const position = Number(puzzle?.number ?? 0);
  const total = Number(progress.total ?? 0);
  // Skipped puzzles are done too, as far as progress goes.
  const solved = Number(progress.solved ?? 0) + Number(progress.skipped ?? 0);
  const offset = clockOffset(d);
  const ends = pick<number>(event, "endsAt");

  const act = async (label: string, fn: () => Promise<void>) => {
    setBusy(label);
    setActionError("");
    try {
      await fn();
    } catch (e) {
      const msg = e instanceof ApiError || e instanceof Error ? e.message : "Something went wrong.";
      setActionError(msg);
      announce(msg, "error");
    } finally {
      setBusy("");
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const text = answer;
    if (!text.trim()) {
      setOutcome({ kind: "error", text: "Type an answer first." });
      inputRef.current?.focus();
      return;
    }
    void act("answer", async () => {
      setOutcome(null);
      try {
        const r = await post(base + "/answer", { answer: text });
        const o = String(pick(r, "outcome") ?? "wrong");
        const awarded = Number(pick(r, "awarded", "points") ?? 0);
        if (o === "correct") {
          setOutcome({ kind: "correct", text: `Correct! +${awarded} points.` });
          setAnswer("");
          announce(`Correct: ${text}. ${awarded} points.`, "success");
          q.reload();
        } else if (o === "close") {
          setOutcome({ kind: "close", text: `“${text}” is close, but not quite. Keep going!` });
        } else {
          setOutcome({ kind: "wrong", text: `“${text}” is not the answer.` });
        }
      } catch (err) {
        const ae = err as ApiError;
        if (ae.code === "already_solved") q.reload();
        setOutcome({ kind: "error", text: ae.message ?? "Could not send the answer." });
      }
      inputRef.current?.focus();
    });
  };

  const takeHint = () =>
    act("hint", async () => {
      await post(base + "/hint");
      announce("Hint revealed.", "info");
      q.reload();
    });
  const usePowerup = (kind: string, label: string) =>
    act("powerup:" + kind, async () => {
      await post(`${base}/powerups/${kind}`);
      announce(`${label} used.`, "success");
      setOutcome(null);
      q.reload();
    });

  const maxCost = Math.max(...Object.values(costs).map(Number));
  const xpCap = pick<number>(settings, "xpCap");
  const meterMax = Math.max(maxCost, xp, xpCap ?? 0) || 100;

  return (
    <div class="hunt">
      <div class="hunt-main">
        {status === "not_started" ? (
          <div class="card center">
            <h2>The hunt has not started yet</h2>
            {pick(event, "startsAt") && <Countdown to={event.startsAt} offsetMs={offset} label="Starts in" onDone={q.reload} />}
          </div>
        ) : status === "over" && !puzzle ? (
          <div class="card center">
            <h2>The hunt is over</h2>
            <p>
              You finished with <strong>{points}</strong> points. See the final <a href={`/e/${encodeURIComponent(eventKey)}/leaderboard`}>leaderboard</a>.
            </p>
          </div>
        ) : status === "finished" || !puzzle ? (
          <div class="card center">
            <h2>
              <Icon name="trophy" size={28} /> You have finished the hunt!
            </h2>
            <p>
              Final score: <strong>{points}</strong> points. See where you stand on the <a href={`/e/${encodeURIComponent(eventKey)}/leaderboard`}>leaderboard</a>.
            </p>
          </div>
        ) : (
          <>
            {pick(puzzle, "story") && (
              <aside class="story card" aria-label="Story">
                <Markdown source={String(puzzle.story)} />
              </aside>
            )}
            <article class="card puzzle" aria-labelledby="puzzle-title">
              <p class="eyebrow">{total ? `Puzzle ${position || solved + 1} of ${total}` : position ? `Puzzle ${position}` : "Current puzzle"}</p>
              <h2 id="puzzle-title">{String(pick(puzzle, "title") ?? "Puzzle")}</h2>
              <Markdown source={String(pick(puzzle, "body") ?? "")} />
              {(pick<any[]>(puzzle, "attachments") ?? []).length > 0 && (
                <ul class="attachments">
                  {puzzle.attachments.map((a: any) => (
                    <li key={a.id ?? a.name}>
                      <a href={pick(a, "url") ?? `/api/v1/events/${encodeURIComponent(eventKey)}/attachments/${a.id}`} download>
                        {a.name}
                      </a>
                    </li>
                  ))}
                </ul>
              )}
              {active.includes("close_enough") && (
                <p class="badge ok" role="note">
                  Close enough is active: a close answer counts on this puzzle.
                </p>
              )}
              <form class="answer" onSubmit={submit}>
                <label for="answer">Your answer</label>
                <div class="row">
                  <input id="answer" ref={inputRef} value={answer} onInput={(e) => setAnswer(e.currentTarget.value)} autocomplete="off" spellcheck={false} maxLength={500} aria-describedby="outcome" />
                  <button type="submit" disabled={busy === "answer"}>
                    {busy === "answer" ? "Checking…" : "Submit"}
                  </button>
                </div>
                <div id="outcome" class="outcome-slot" role="status" aria-live="assertive">
                  {outcome && (
                    <p class={"outcome " + outcome.kind} data-outcome={outcome.kind}>
                      <Icon name={outcome.kind === "correct" ? "check" : outcome.kind === "close" ? "lightbulb" : "x"} /> {outcome.text}
                    </p>
                  )}
                </div>
              </form>
            </article>
            <section class="card" aria-labelledby="hints-title">
              <div class="row between">
                <h2 id="hints-title">
                  <Icon name="lightbulb" /> Hints
                </h2>
                <button class="secondary" onClick={takeHint} disabled={!!busy || hintsLeft === 0}>
                  {busy === "hint" ? "Revealing…" : hintsLeft === 0 ? "No hints left" : "Take a hint"}
                  {hintsLeft !== 0 && <span class="muted small"> (costs {pick(hints[hints.length] ?? {}, "costPoints") ?? pick(settings, "hintCostPoints") ?? 10} points at solve)</span>}
                </button>
              </div>
              {hints.length === 0 ? (
                <p class="muted">No hints taken on this puzzle.{hintsLeft !== undefined ? ` ${hintsLeft} available.` : ""}</p>
              ) : (
                <ol class="hints">
                  {hints.map((h, i) => (
                    <li key={i}>
                      <Markdown source={String(typeof h === "string" ? h : (pick(h, "text", "body") ?? ""))} />
                      {typeof h === "object" && pick(h, "costPoints") !== undefined && <small class="muted">−{h.costPoints} points{pick(h, "free", "viaPowerup") ? " (free: powerup)" : ""}</small>}
                    </li>
                  ))}
                </ol>
              )}
            </section>
          </>
        )}
        <FormError error={actionError} />
        <StoryAndAttempts base={base} pulse={q.data} />
      </div>
      <aside class="hunt-side" aria-label="Your progress">
        <div class="card stats">
          <div class="stat">
            <span class="stat-value" data-testid="points">
              {points}
            </span>
            <span class="stat-label">points</span>
          </div>
          <div class="stat">
            <span class="stat-value" data-testid="xp">
              {xp}
            </span>
            <span class="stat-label">XP</span>
          </div>
          {total > 0 && (
            <div class="progress-block">
              <label for="progress">
                Progress: {solved} of {total} done
              </label>
              <progress id="progress" max={total} value={solved} />
            </div>
          )}
          {ends && <Countdown to={ends} offsetMs={offset} label="Hunt ends in" />}
        </div>
        <section class="card" aria-labelledby="powerups-title">
          <h2 id="powerups-title">
            <Icon name="bolt" /> Powerups
          </h2>
          <div class="xp-meter" role="meter" aria-valuemin={0} aria-valuemax={meterMax} aria-valuenow={xp} aria-label={`XP: ${xp}`}>
            <div class="xp-fill" style={{ width: `${Math.min(100, (xp / meterMax) * 100)}%` }} />
            {POWERUPS.map((p) => (
              <span key={p.kind} class="xp-mark" style={{ left: `${Math.min(100, (Number(costs[p.kind]) / meterMax) * 100)}%` }} title={`${p.label}: ${costs[p.kind]} XP`} />
            ))}
          </div>
          <p class="muted small">XP builds up every {pick(settings, "xpTickMinutes") ?? 60} minutes after your first answer.</p>
          <ul class="powerups">
            {POWERUPS.map((p) => {
              const cost = Number(costs[p.kind]);
              const isActive = active.includes(p.kind);
              const afford = xp >= cost;
              return (
                <li key={p.kind}>
                  <button class="powerup" onClick={() => usePowerup(p.kind, p.label)} disabled={!!busy || !afford || isActive || !puzzle} aria-describedby={`pu-${p.kind}`} data-powerup={p.kind}>
                    <span class="powerup-name">{p.label}</span>
                    <span class="powerup-cost">{isActive ? "Active" : `${cost} XP`}</span>
                  </button>
                  <small id={`pu-${p.kind}`} class="muted">
                    {p.help}
                    {!afford && !isActive ? ` You need ${cost - xp} more XP.` : ""}
                  </small>
                </li>
              );
            })}
          </ul>
        </section>
      </aside>
    </div>
  );
}

function JoinEvent({ eventKey, message, onJoined }: { eventKey: string; message: string; onJoined: () => void }) {
  const [code, setCode] = useState("");
  const [err, setErr] = useState("");
  const join = async (e: Event) => {
    e.preventDefault();
    setErr("");
    try {
      await post(`/api/v1/events/${encodeURIComponent(eventKey)}/join`, code ? { code } : {});
      announce("You joined the event.", "success");
      onJoined();
    } catch (x) {
      setErr((x as Error).message);
    }
  };
  return (
    <form class="card narrow" onSubmit={join}>
      <p>{message}</p>
      <label for="join-code">Invite code</label>
      <input id="join-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} autocomplete="off" />
      <FormError error={err} />
      <button type="submit">Join the event</button>
    </form>
  );
}

function StoryAndAttempts({ base, pulse }: { base: string; pulse: unknown }) {
  const [open, setOpen] = useState<"" | "story" | "attempts">("");
  const [data, setData] = useState<any>(null);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => {
    if (!open) return;
    setData(null);
    setErr(null);
    // Attempts name puzzles by id; the story blocks (puzzles reached so far) give their numbers and titles.
    const story = get(`${base}/story`);
    Promise.all([open === "story" ? story : get(`${base}/attempts`), story]).then(([d, st]) => {
      setTitles(new Map((st.blocks ?? []).map((b: any) => [b.puzzleId, `${b.number}. ${b.title}`])));
      setData(d);
    }, setErr);
  }, [open, pulse]);
  const [titles, setTitles] = useState<Map<number, string>>(new Map());
  const list: any[] = data ? (open === "story" ? (data.blocks ?? []) : (data.attempts ?? [])) : [];
  return (
    <section class="card" aria-label="Story so far and your answers">
      <div class="row" role="group" aria-label="Show">
        <button class="secondary small" aria-pressed={open === "story"} onClick={() => setOpen(open === "story" ? "" : "story")}>
          Story so far
        </button>
        <button class="secondary small" aria-pressed={open === "attempts"} onClick={() => setOpen(open === "attempts" ? "" : "attempts")}>
          My answers
        </button>
      </div>
      {open && err ? <ErrorBox error={err} /> : null}
      {open && !err && !data && <Loading />}
      {open === "story" &&
        data &&
        (list.some((b) => b.story) ? (
          list
            .filter((b) => b.story)
            .map((b) => (
              <div key={b.puzzleId} class="story-block">
                <h3>{titles.get(b.puzzleId)}</h3>
                <Markdown source={String(b.story)} />
              </div>
            ))
        ) : (
          <p class="muted">No story yet.</p>
        ))}
      {open === "attempts" && data && (
        <table class="table">
          <caption class="sr-only">Your answers</caption>
          <thead>
            <tr>
              <th scope="col">Puzzle</th>
              <th scope="col">Answer</th>
              <th scope="col">Outcome</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {list.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  No answers yet.
                </td>
              </tr>
            )}
            {list.map((a, i) => (
              <tr key={i}>
                <td>{titles.get(a.puzzleId) ?? `#${a.puzzleId}`}</td>
                <td>{a.answer ?? <span class="muted">(not shown)</span>}</td>
                <td>
                  <span class={"badge " + (a.outcome === "correct" ? "ok" : a.outcome === "close" ? "info" : "muted")}>{a.outcome}</span>
                </td>
                <td>{new Date(a.at).toLocaleTimeString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
