import { user } from "../state.ts";
import { Async, Empty, eventKey, fmtTime, Icon, Page, pick, useApi } from "../ui.tsx";

export function eventList(d: any): any[] {
  return Array.isArray(d) ? d : (pick<any[]>(d, "events", "items") ?? []);
}

export function eventPhase(e: any, now = Date.now()): { label: string; cls: string } {
  const starts = pick<number>(e, "startsAt");
  const ends = pick<number>(e, "endsAt");
  const state = pick<string>(e, "status", "state");
  if (state === "ended" || (ends && now >= ends)) return { label: "Ended", cls: "muted" };
  if (state === "running" || state === "live" || (starts && now >= starts)) return { label: "Live now", cls: "ok" };
  return { label: "Upcoming", cls: "info" };
}

export function HomePage() {
  const q = useApi("/api/v1/events");
  const u = user.value;
  return (
    <Page title="Events">
      {!u && (
        <div class="hero card">
          <h2>Puzzle hunts and live coding duels</h2>
          <p>Sign up to solve the hunt, climb the leaderboard and challenge others in the arena.</p>
          <div class="row">
            <a class="button" href="/signup">
              Create an account
            </a>
            <a class="button secondary" href="/login">
              Log in
            </a>
          </div>
        </div>
      )}
      <Async q={q} what="events">
        {(d) => {
          const events = eventList(d);
          if (!events.length)
            return (
              <Empty>
                <p>No events yet.</p>
                {u?.role === "organiser" ? <a href="/admin/events/new">Create the first event</a> : <p class="muted">An organiser has not published one yet.</p>}
              </Empty>
            );
          return (
            <ul class="cards" aria-label="Events">
              {events.map((e) => {
                const ph = eventPhase(e);
                return (
                  <li key={eventKey(e)} class="card event-card">
                    <div class="row between">
                      <h2>
                        <a href={`/e/${encodeURIComponent(eventKey(e))}`}>{pick(e, "title", "name") ?? eventKey(e)}</a>
                      </h2>
                      <span class={"badge " + ph.cls}>{ph.label}</span>
                    </div>
                    <p class="muted">
                      <Icon name="clock" size={14} /> {fmtTime(pick(e, "startsAt"))} – {fmtTime(pick(e, "endsAt"))}
                    </p>
                    {pick(e, "description", "summary") && <p>{pick(e, "description", "summary")}</p>}
                  </li>
                );
              })}
            </ul>
          );
        }}
      </Async>
    </Page>
  );
}
