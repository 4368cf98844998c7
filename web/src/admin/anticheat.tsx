import { useState } from "preact/hooks";
import { Async, Empty, fmtTime, Page, pick, useApi } from "../ui.tsx";
import { eventList } from "../pages/home.tsx";

/** Suspicious patterns per event, as the hunt's action log reports them. */
export function AntiCheat() {
  const events = useApi("/api/v1/events");
  const [ev, setEv] = useState("");
  const list = events.data ? eventList(events.data) : [];
  const key = ev || (list[0] ? String(list[0].slug ?? list[0].id) : "");
  const q = useApi(key ? `/api/v1/events/${encodeURIComponent(key)}/anticheat` : null);
  const section = (title: string, rows: any[] | undefined, cols: [string, (r: any) => unknown][]) => (
    <section class="card">
      <h2>{title}</h2>
      {!rows?.length ? (
        <p class="muted">Nothing suspicious found.</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              {cols.map(([h]) => (
                <th scope="col" key={h}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {cols.map(([h, f]) => (
                  <td key={h}>{String(f(r) ?? "")}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
  const names = (r: any) => (pick<any[]>(r, "usernames", "players", "users") ?? []).map((x) => (typeof x === "object" ? x.username : x)).join(", ");
  return (
    <Page title="Anti-cheat report" wide>
      <div class="field">
        <label for="ac-event">Event</label>
        <select id="ac-event" value={key} onChange={(e) => setEv(e.currentTarget.value)}>
          {list.map((e) => (
            <option key={e.id} value={e.slug ?? e.id}>
              {e.title}
            </option>
          ))}
        </select>
      </div>
      {!key ? (
        <Empty>No events.</Empty>
      ) : (
        <Async q={q} what="the report">
          {(d: any) => (
            <>
              {section("Identical wrong answers in a short window", pick(d, "identicalWrongAnswers", "sharedWrongAnswers"), [
                ["Answer", (r) => r.answer ?? r.normalized],
                ["Players", names],
                ["Puzzle", (r) => r.puzzleTitle ?? r.puzzleId],
                ["Seen", (r) => fmtTime(r.firstAt ?? r.at) + (r.lastAt && r.lastAt !== r.firstAt ? ` (+${Math.round((r.lastAt - r.firstAt) / 1000)} s)` : "")],
              ])}
              {section("Many accounts from one IP", pick(d, "sharedIps", "accountsPerIp"), [
                ["IP", (r) => r.ip],
                ["Accounts", (r) => r.count ?? (r.usernames ?? []).length],
                ["Players", names],
              ])}
              {section("Solve bursts", pick(d, "solveBursts", "bursts"), [
                ["Player", (r) => r.username ?? r.playerId],
                ["Solves", (r) => r.solves ?? r.count],
                ["Within", (r) => (r.to && r.from ? Math.round((r.to - r.from) / 1000) + " s" : "")],
                ["At", (r) => fmtTime(r.from ?? r.at)],
              ])}
            </>
          )}
        </Async>
      )}
    </Page>
  );
}
