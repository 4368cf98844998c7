import { ApiError } from "../api.ts";
import { ARENA } from "../arena-api.ts";
import { user } from "../state.ts";
import { Empty, ErrorBox, fmtTime, Loading, Page, pick, useApi } from "../ui.tsx";

export function ProfilePage({ username }: { username?: string }) {
  const name = username ?? user.value?.username ?? "";
  const q = useApi(name ? ARENA.profile(name) : null);
  const missingApi = q.error instanceof ApiError && q.error.status === 404 && q.error.code === "not_found" && !username;
  const p = q.data ? (pick(q.data, "profile", "user") ?? q.data) : null;
  const matches: any[] = (q.data && (pick(q.data, "matches", "history") ?? pick(p, "matches", "history"))) ?? [];
  return (
    <Page title={username ? `${username}` : "Your profile"}>
      <div class="card">
        <dl class="facts">
          <dt>Username</dt>
          <dd>{name}</dd>
          {!username && user.value && (
            <>
              <dt>Role</dt>
              <dd>{user.value.role}</dd>
            </>
          )}
          {p && pick(p, "rating") !== undefined && (
            <>
              <dt>Arena rating</dt>
              <dd data-testid="rating">{pick(p, "rating")}</dd>
            </>
          )}
        </dl>
      </div>
      <section class="card" aria-labelledby="hist-title">
        <h2 id="hist-title">Match history</h2>
        {q.loading && !q.data ? (
          <Loading what="match history" />
        ) : q.error && !missingApi ? (
          <ErrorBox error={q.error} onRetry={q.reload} what="match history" />
        ) : matches.length === 0 ? (
          <Empty>
            <p>No matches yet.</p>
            <a href="/arena">Play one in the arena</a>
          </Empty>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Format</th>
                <th scope="col">Problem</th>
                <th scope="col">Result</th>
                <th scope="col" class="num">
                  Rating
                </th>
              </tr>
            </thead>
            <tbody>
              {matches.map((m, i) => {
                const delta = pick<number>(m, "ratingChange", "ratingDelta", "delta");
                return (
                  <tr key={i}>
                    <td>{fmtTime(pick(m, "endedAt", "finishedAt", "createdAt"))}</td>
                    <td>{pick(m, "format")}</td>
                    <td>{pick(m, "problemTitle", "problem")}</td>
                    <td>
                      <a href={`/arena/match/${pick(m, "id", "matchId")}`}>{String(pick(m, "result", "outcome") ?? "—")}</a>
                    </td>
                    <td class="num">{delta !== undefined ? (delta >= 0 ? "+" : "") + delta : ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}
