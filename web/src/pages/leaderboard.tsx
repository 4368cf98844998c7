import { useEffect, useRef, useState } from "preact/hooks";
import { get } from "../api.ts";
import { LineChart, type Series } from "../chart.tsx";
import { eventPulse } from "../events.ts";
import { liveStatus } from "../live.ts";
import { announce, user } from "../state.ts";
import { Empty, ErrorBox, Loading, pick } from "../ui.tsx";

const PAGE = 50;

interface Row {
  rank: number;
  userId: number;
  username: string;
  points: number;
  at?: number;
}

function rows(d: any): Row[] {
  const list: any[] = Array.isArray(d) ? d : (pick(d, "entries", "rows", "ranks", "leaderboard", "items", "top") ?? []);
  return list.map((r, i) => ({
    rank: Number(pick(r, "rank", "place") ?? i + 1),
    userId: Number(pick(r, "userId", "playerId", "id")),
    username: String(pick(r, "username", "name", "player") ?? "?"),
    points: Number(pick(r, "points", "score") ?? 0),
    at: pick(r, "pointsAt", "at", "lastAt", "reachedAt", "time"),
  }));
}

/** Score history per event, kept across visits: server history when offered, else snapshots as they arrive. */
let noServerHistory = false;
const history = new Map<string, Map<number, { name: string; points: [number, number][] }>>();

function record(eventKey: string, list: Row[], now: number) {
  let h = history.get(eventKey);
  if (!h) history.set(eventKey, (h = new Map()));
  for (const r of list) {
    let s = h.get(r.userId);
    if (!s) h.set(r.userId, (s = { name: r.username, points: [] }));
    const last = s.points[s.points.length - 1];
    const t = r.at && (!last || r.at > last[0]) ? r.at : now;
    if (!last || last[1] !== r.points) s.points.push([t, r.points]);
  }
}

export function LeaderboardPage({ eventKey, event }: { eventKey: string; event: any }) {
  const path = `/api/v1/events/${encodeURIComponent(eventKey)}/leaderboard`;
  const [offset, setOffset] = useState(0);
  const [data, setData] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  const [serverHistory, setServerHistory] = useState<Series[] | null>(null);
  const myRank = useRef<number | null>(null);
  const me = user.value;

  const load = () =>
    get(`${path}?limit=${PAGE}&offset=${offset}`).then(
      (d) => {
        setData(d);
        setError(null);
        const list = rows(d);
        // Chart times are the server's (its clock may be a rehearsal's fake one), like the pointsAt they sit beside.
        if (offset === 0) record(eventKey, list.slice(0, 10), Number(pick(d, "now")) || Date.now());
        const mine = pick(d, "me", "own", "self", "mine");
        const r = mine ? Number(pick(mine, "rank")) : list.find((x) => x.userId === me?.id)?.rank;
        if (r && myRank.current !== null && r !== myRank.current) announce(`You are now ranked #${r}.`, r < myRank.current ? "success" : "info");
        if (r) myRank.current = r;
      },
      setError,
    );

  useEffect(() => {
    void load();
  }, [offset]);
  // Live: a burst of updates becomes one refetch.
  const pulse = eventPulse.value;
  useEffect(() => {
    if (!pulse) return;
    const t = setTimeout(load, 250);
    return () => clearTimeout(t);
  }, [pulse]);
  const liveUp = liveStatus.value === "open";
  useEffect(() => {
    if (liveUp) return;
    const t = setInterval(load, 15_000);
    return () => clearInterval(t);
  }, [liveUp, offset]);
  useEffect(() => {
    if (noServerHistory) return;
    get(`${path}/history?limit=10`).then(
      (d) => {
        // Each line starts at 0 when the event starts and runs on to the server's now.
        const now = Number(d.now) || Date.now();
        const starts = Number(pick(event, "startsAt")) || undefined;
        setServerHistory(
          (d.series ?? []).map((s: { playerId: number; username: string; points: [number, number][] }) => {
            const pts = s.points ?? [];
            const first: [number, number][] = starts !== undefined && (pts[0]?.[0] ?? Infinity) > starts ? [[starts, 0]] : [];
            const last = pts.length ? pts[pts.length - 1]![1] : 0;
            return { name: s.username, points: [...first, ...pts, [Math.max(now, pts[pts.length - 1]?.[0] ?? now), last]], highlight: s.playerId === me?.id };
          }),
        );
      },
      () => {
        // Not offered by this server: build the chart from snapshots instead, and stop asking.
        noServerHistory = true;
        setServerHistory(null);
      },
    );
  }, [pulse]);

  if (error && !data) return <ErrorBox error={error} onRetry={load} what="the leaderboard" />;
  if (!data) return <Loading what="the leaderboard" />;
  const list = rows(data);
  const mine = pick(data, "me", "own", "self", "mine");
  const total = Number(pick(data, "total", "count") ?? list.length);
  const frozen = !!pick(data, "frozen", "isFrozen");
  const top10 = list.slice(0, 10);
  const h = history.get(eventKey);
  const starts = pick<number>(event, "startsAt");
  const series: Series[] =
    serverHistory && serverHistory.length
      ? serverHistory
      : top10.map((r) => {
          const pts = h?.get(r.userId)?.points ?? [];
          const base: [number, number][] = starts && (pts[0]?.[0] ?? Infinity) > starts ? [[starts, 0]] : [];
          return { name: r.username, points: [...base, ...pts, [Number(pick(data, "now")) || Date.now(), r.points]], highlight: r.userId === me?.id };
        });
  return (
    <div class="leaderboard">
      {frozen && (
        <p class="banner info" role="note">
          The leaderboard is frozen: changes since the freeze are hidden until the event ends. Your own score is always up to date.
        </p>
      )}
      {mine && pick(mine, "rank") && (
        <p class="my-rank card" data-testid="my-rank">
          You are <strong>#{mine.rank}</strong> with <strong>{pick(mine, "points") ?? 0}</strong> points.
        </p>
      )}
      {list.length === 0 ? (
        <Empty>
          <p>Nobody is ranked yet. Players appear here after their first answer.</p>
        </Empty>
      ) : (
        <>
          <div class="card">
            <h2>Top 10: points over time</h2>
            <LineChart series={series} title="Points over time for the top 10 players" step />
          </div>
          <div class="card">
            <table class="table leaderboard-table">
              <caption>
                Rankings ({total} player{total === 1 ? "" : "s"})
              </caption>
              <thead>
                <tr>
                  <th scope="col">Rank</th>
                  <th scope="col">Player</th>
                  <th scope="col" class="num">
                    Points
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((r) => {
                  const isMe = r.userId === me?.id;
                  return (
                    <tr key={r.userId} class={isMe ? "me" : ""} aria-current={isMe ? "true" : undefined}>
                      <td>{r.rank}</td>
                      <td>
                        <a href={`/u/${r.userId}`}>{r.username}</a>
                        {isMe && <span class="badge info">you</span>}
                      </td>
                      <td class="num">{r.points}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {total > PAGE && (
              <div class="row between pager">
                <button class="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                  Previous
                </button>
                <span class="muted">
                  {offset + 1}–{Math.min(total, offset + PAGE)} of {total}
                </span>
                <button class="secondary" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
                  Next
                </button>
              </div>
            )}
          </div>
        </>
      )}
    </div>
  );
}
