import { useEffect, useState } from "preact/hooks";
import { get } from "../api.ts";
import { announcements, normalizeAnnouncement, watchEvent } from "../events.ts";
import { user } from "../state.ts";
import { Countdown, Empty, ErrorBox, fmtTime, Icon, Loading, Page, pick, useApi } from "../ui.tsx";
import { Markdown } from "../md.tsx";
import { eventPhase } from "./home.tsx";

import { HuntPage } from "./hunt.tsx";
import { LeaderboardPage } from "./leaderboard.tsx";

export type Tab = "home" | "hunt" | "leaderboard";

/** Server time minus local time, from a body's `now` when it has one (the fake clock), else 0. */
export function clockOffset(d: any): number {
  const now = pick<number>(d, "now", "serverNow");
  return typeof now === "number" ? now - Date.now() : 0;
}

export function EventPage({ eventKey, tab }: { eventKey: string; tab: Tab }) {
  const q = useApi(`/api/v1/events/${encodeURIComponent(eventKey)}`);
  const ev = q.data ? (pick(q.data, "event") ?? q.data) : undefined;
  const loadAnnouncements = () => {
    get(`/api/v1/events/${encodeURIComponent(eventKey)}/announcements`).then(
      (d) => {
        const list = Array.isArray(d) ? d : (pick<any[]>(d, "announcements", "items") ?? []);
        announcements.value = list.map(normalizeAnnouncement).sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
      },
      () => {},
    );
  };
  useEffect(() => {
    if (!ev) return;
    watchEvent(eventKey, ev.id ?? eventKey, loadAnnouncements);
    loadAnnouncements();
  }, [ev?.id]);
  if (q.error && !q.data) return <ErrorBox error={q.error} onRetry={q.reload} what="this event" />;
  if (!ev) return <Loading what="the event" />;
  const base = `/e/${encodeURIComponent(eventKey)}`;
  const title = String(pick(ev, "title") ?? eventKey);
  const tabs: [Tab, string, string, string][] = [
    ["home", "Overview", base, "bell"],
    ["hunt", "Hunt", base + "/hunt", "puzzle"],
    ["leaderboard", "Leaderboard", base + "/leaderboard", "trophy"],
  ];
  return (
    <Page title={tab === "home" ? title : `${title}: ${tab === "hunt" ? "Hunt" : "Leaderboard"}`} wide>
      <nav class="tabs" aria-label="Event sections">
        {tabs.map(([t, label, href, icon]) => (
          <a key={t} href={href} aria-current={t === tab ? "page" : undefined}>
            <Icon name={icon} /> {label}
          </a>
        ))}
      </nav>
      {tab === "home" && <EventHome ev={ev} offset={clockOffset(q.data)} onPhaseChange={q.reload} base={base} />}
      {tab === "hunt" && <HuntPage eventKey={eventKey} event={ev} />}
      {tab === "leaderboard" && <LeaderboardPage eventKey={eventKey} event={ev} />}
    </Page>
  );
}

function EventHome({ ev, offset, onPhaseChange, base }: { ev: any; offset: number; onPhaseChange: () => void; base: string }) {
  const [now] = useState(() => Date.now() + offset);
  const starts = pick<number>(ev, "startsAt");
  const ends = pick<number>(ev, "endsAt");
  const ph = eventPhase(ev, now);
  return (
    <div class="grid-2">
      <div class="card">
        <div class="row between">
          <h2>About</h2>
          <span class={"badge " + ph.cls}>{ph.label}</span>
        </div>
        {pick(ev, "description") ? <Markdown source={String(ev.description)} /> : <p class="muted">No description.</p>}
        <dl class="facts">
          <dt>Starts</dt>
          <dd>{fmtTime(starts)}</dd>
          <dt>Ends</dt>
          <dd>{fmtTime(ends)}</dd>
          {pick(ev, "freezeAt") && (
            <>
              <dt>Leaderboard freezes</dt>
              <dd>{fmtTime(ev.freezeAt)}</dd>
            </>
          )}
        </dl>
        {starts && now < starts && <Countdown to={starts} offsetMs={offset} label="Starts in" onDone={onPhaseChange} />}
        {ends && starts && now >= starts && now < ends && <Countdown to={ends} offsetMs={offset} label="Time left" onDone={onPhaseChange} />}
        <div class="row">
          {user.value ? (
            <a class="button" href={base + "/hunt"}>
              <Icon name="puzzle" /> {ends && now >= ends ? "Review the hunt" : "Go to the hunt"}
            </a>
          ) : (
            <a class="button" href={"/signup?next=" + encodeURIComponent(base + "/hunt")}>
              Sign up to play
            </a>
          )}
          <a class="button secondary" href={base + "/leaderboard"}>
            <Icon name="trophy" /> Leaderboard
          </a>
          {user.value?.role === "organiser" && (
            <a class="button secondary" href={`/admin/events/${encodeURIComponent(String(ev.slug ?? ev.id))}`}>
              <Icon name="settings" /> Manage
            </a>
          )}
        </div>
      </div>
      <AnnouncementsCard />
    </div>
  );
}

export function AnnouncementsCard() {
  const list = announcements.value;
  return (
    <section class="card" aria-labelledby="ann-title">
      <h2 id="ann-title">
        <Icon name="bell" /> Announcements
      </h2>
      {list.length === 0 ? (
        <Empty>
          <p>No announcements yet. New ones appear here as they are posted.</p>
        </Empty>
      ) : (
        <ul class="announcements" aria-live="polite">
          {list.map((a, i) => (
            <li key={a.id ?? i}>
              {a.title && <strong>{a.title}</strong>}
              <Markdown source={a.body} />
              {a.createdAt && <small class="muted">{fmtTime(a.createdAt)}</small>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

