import { ARENA } from "../arena-api.ts";
import { user } from "../state.ts";
import { Async, Empty, fmtTime, Page, pick, useApi } from "../ui.tsx";

export function ProfilePage({ userId }: { userId?: string }) {
  const id = userId ?? (user.value ? String(user.value.id) : "");
  const q = useApi(id ? ARENA.profile(id) : null);
  const p = q.data ? (pick(q.data, "profile") ?? q.data) : null;
  const name = String(pick(pick(p, "user") ?? {}, "username") ?? (userId ? "Player" : (user.value?.username ?? "")));
  return (
    <Page title={userId ? name : "Your profile"}>
      <Async q={q} what="the profile">
        {() => {
          const history: any[] = pick(p, "history", "matches") ?? [];
          return (
            <>
              <div class="stat-grid">
                <div class="card stat-card">
                  <span class="stat-label">Arena rating</span>
                  <span class="stat-value" data-testid="rating">
                    {pick(p, "rating") ?? "—"}
                  </span>
                </div>
                {(["wins", "losses", "draws"] as const).map((k) => (
                  <div class="card stat-card" key={k}>
                    <span class="stat-label">{k[0]!.toUpperCase() + k.slice(1)}</span>
                    <span class="stat-value">{pick(p, k) ?? 0}</span>
                  </div>
                ))}
              </div>
              <section class="card" aria-labelledby="hist-title">
                <h2 id="hist-title">Match history</h2>
                {history.length === 0 ? (
                  <Empty>
                    <p>No matches yet.</p>
                    {!userId && <a href="/arena">Play one in the arena</a>}
                  </Empty>
                ) : (
                  <div class="table-wrap">
                    <table class="table">
                      <thead>
                        <tr>
                          <th scope="col">When</th>
                          <th scope="col">Format</th>
                          <th scope="col">Result</th>
                          <th scope="col" class="num">
                            Rating change
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {history.map((m, i) => {
                          const delta = pick<number>(m, "ratingDelta", "ratingChange");
                          const res = String(pick(m, "result") ?? "—");
                          return (
                            <tr key={i}>
                              <td>{fmtTime(pick(m, "finishedAt", "endedAt"))}</td>
                              <td>
                                {pick(m, "format")} <span class="muted small">{pick(m, "difficulty")}</span>
                              </td>
                              <td>
                                <a href={`/arena/match/${pick(m, "matchId", "id")}`}>
                                  <span class={"badge " + (res === "win" ? "ok" : res === "loss" ? "danger" : "")}>{res}</span>
                                </a>{" "}
                                <span class="muted small">{pick(m, "reason")}</span>
                              </td>
                              <td class="num">{delta !== undefined && delta !== null ? (delta >= 0 ? "+" : "") + delta : ""}</td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  </div>
                )}
              </section>
            </>
          );
        }}
      </Async>
    </Page>
  );
}
