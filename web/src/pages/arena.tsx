import { useEffect, useState } from "preact/hooks";
import { del, get, post } from "../api.ts";
import { ARENA, matchIdOf } from "../arena-api.ts";
import { live } from "../live.ts";
import { navigate } from "../router.tsx";
import { announce, user } from "../state.ts";
import { Field, FormError, Icon, Page, pick, useAction, useApi, useNow, fmtDuration } from "../ui.tsx";

const FORMATS = [
  ["duel", "Duel (1 vs 1)"],
  ["pairs", "Pairs (2 vs 2)"],
] as const;
const DIFFICULTIES = ["easy", "medium", "hard"] as const;

export function ArenaLobby() {
  const [format, setFormat] = useState<string>("duel");
  const [difficulty, setDifficulty] = useState<string>("easy");
  const [waitingSince, setWaitingSince] = useState<number | null>(null);
  const [room, setRoom] = useState<any>(null);
  const [code, setCode] = useState("");
  const [duration, setDuration] = useState(300);
  const u = user.value;
  const now = useNow(1000);

  // Already queued or in a match (another tab, a reload): pick up where we were.
  useEffect(() => {
    get(ARENA.queue).then(
      (r) => {
        const id = matchIdOf(r);
        if (id && r.match?.status !== "finished") navigate(`/arena/match/${id}`);
        else if (r.queued) setWaitingSince(Date.now() - Math.max(0, (r.queued.now ?? 0) - (r.queued.since ?? 0)));
      },
      () => {},
    );
  }, []);

  // "Match found" arrives on the player's own topic; the match page takes over from there.
  useEffect(() => {
    if (!u) return;
    return live.subscribe(`user:${u.id}`, (data, meta) => {
      const id = meta.type === "match.found" ? matchIdOf(data) : null;
      if (id) {
        announce("Match found!", "success");
        navigate(`/arena/match/${id}`);
      }
    });
  }, [u?.id]);

  const queue = useAction(async () => {
    const r = await post(ARENA.queue, { format, difficulty });
    const id = matchIdOf(r);
    if (id) return navigate(`/arena/match/${id}`);
    setWaitingSince(Date.now());
    announce(`Waiting for an opponent (${format}, ${difficulty}).`);
  });
  const leave = useAction(async () => {
    await del(ARENA.queue);
    setWaitingSince(null);
    announce("You left the queue.");
  });
  // A room is a match waiting for players; its page shows the invite code until it fills.
  const create = useAction(async () => {
    const r = await post(ARENA.rooms, { format, difficulty, durationSec: duration });
    const id = matchIdOf(r);
    if (id) navigate(`/arena/match/${id}`);
    else setRoom(pick(r, "match") ?? r);
  });
  const join = useAction(async () => {
    const r = await post(ARENA.join, { code: code.trim().toUpperCase() });
    const id = matchIdOf(r);
    if (id) navigate(`/arena/match/${id}`);
  });

  const choice = (
    <div class="grid-2 tight">
      <Field id="format" label="Format">
        <select id="format" value={format} onChange={(e) => setFormat(e.currentTarget.value)}>
          {FORMATS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </Field>
      <Field id="difficulty" label="Difficulty">
        <select id="difficulty" value={difficulty} onChange={(e) => setDifficulty(e.currentTarget.value)}>
          {DIFFICULTIES.map((d) => (
            <option key={d} value={d}>
              {d[0]!.toUpperCase() + d.slice(1)}
            </option>
          ))}
        </select>
      </Field>
    </div>
  );

  return (
    <Page title="Arena">
      <p class="lead">Live coding matches: race an opponent to an accepted solution, or team up in pairs where the coder and tester swap roles mid-match.</p>
      {choice}
      <div class="grid-2">
        <section class="card" aria-labelledby="q-title">
          <h2 id="q-title">
            <Icon name="bolt" /> Quick match
          </h2>
          <p class="muted">Join the public queue; you are matched with the next player waiting (nearest rating after 10 s).</p>
          {waitingSince ? (
            <div role="status" class="waiting">
              <span class="spinner" aria-hidden="true" /> Waiting for an opponent… {fmtDuration(now - waitingSince)}
              <button class="secondary" onClick={() => leave.run()} disabled={leave.busy}>
                Leave the queue
              </button>
            </div>
          ) : (
            <button onClick={() => queue.run()} disabled={queue.busy}>
              {queue.busy ? "Joining…" : "Find a match"}
            </button>
          )}
          <FormError error={queue.error || leave.error} />
        </section>
        <section class="card" aria-labelledby="room-title">
          <h2 id="room-title">
            <Icon name="user" /> Private room
          </h2>
          {room && pick(room, "inviteCode", "code") ? (
            <div class="invite" role="status">
              <p>Share this invite code:</p>
              <p class="invite-code" data-testid="invite-code">
                {pick(room, "inviteCode", "code")}
              </p>
              <p class="muted">The match starts when your opponent joins.</p>
            </div>
          ) : (
            <>
              <Field id="duration" label="Match length (minutes)">
                <input id="duration" type="number" min={1} max={180} value={duration / 60} onInput={(e) => setDuration(Math.round(Number(e.currentTarget.value) * 60) || 300)} />
              </Field>
              <button onClick={() => create.run()} disabled={create.busy}>
                Create a room
              </button>
              <FormError error={create.error} />
            </>
          )}
          <form
            class="join"
            onSubmit={(e) => {
              e.preventDefault();
              void join.run();
            }}
          >
            <Field id="invite" label="Have an invite code?">
              <div class="row">
                <input id="invite" value={code} onInput={(e) => setCode(e.currentTarget.value)} maxLength={6} minLength={6} required autocomplete="off" spellcheck={false} class="code-input" />
                <button type="submit" class="secondary" disabled={join.busy}>
                  Join
                </button>
              </div>
            </Field>
            <FormError error={join.error} />
          </form>
        </section>
      </div>
      <LiveMatches />
    </Page>
  );
}

/** Public matches in progress: spectators see progress and verdicts, never code, until the end. */
function LiveMatches() {
  const q = useApi("/api/v1/arena/matches");
  useEffect(() => {
    const t = setInterval(q.reload, 10_000);
    return () => clearInterval(t);
  }, []);
  const list: any[] = pick(q.data, "matches") ?? [];
  return (
    <section class="card" aria-labelledby="live-title">
      <h2 id="live-title">Watch a live match</h2>
      {q.error && !q.data ? (
        <p class="muted">Live matches are not available right now.</p>
      ) : list.length === 0 ? (
        <p class="muted">No public match is running.</p>
      ) : (
        <ul class="progress-list">
          {list.map((m) => (
            <li key={m.id}>
              <a href={`/arena/match/${m.id}`}>
                {(m.players ?? []).map((p: any) => p.username).join(" vs ") || `Match ${m.id}`}
              </a>{" "}
              <span class="muted small">
                {m.format} · {m.difficulty} · {m.status}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
