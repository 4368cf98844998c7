import { useEffect, useState } from "preact/hooks";
import { get, patch, post, put } from "../api.ts";
import { Markdown } from "../md.tsx";
import { navigate } from "../router.tsx";
import { announce } from "../state.ts";
import { Async, Empty, Field, FormError, fmtTime, Icon, Page, pick, useAction, useApi } from "../ui.tsx";
import { eventList, eventPhase } from "../pages/home.tsx";

export const toLocal = (ms: number | null | undefined) => (ms ? new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 16) : "");
export const fromLocal = (s: string) => (s ? new Date(s).getTime() : null);
const HOUR = 3_600_000;

/** The server's clock (it may be the fake one in a rehearsal). */
async function serverNow(): Promise<number> {
  try {
    const r = await get("/api/v1/admin/clock");
    return Number(r.now) || Date.now();
  } catch {
    return Date.now();
  }
}

export function EventsAdmin() {
  const q = useApi("/api/v1/events");
  return (
    <Page
      title="Events"
      actions={
        <a class="button" href="/admin/events/new">
          New event
        </a>
      }
    >
      <Async q={q} what="events">
        {(d) => {
          const list = eventList(d);
          if (!list.length) return <Empty>No events yet. Create one to get started.</Empty>;
          return (
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Starts</th>
                  <th scope="col">Ends</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <a href={`/admin/events/${e.slug ?? e.id}`}>{e.title}</a> <span class="muted small">{e.slug}</span>
                    </td>
                    <td>
                      <span class={"badge " + eventPhase(e).cls}>{eventPhase(e).label}</span>
                    </td>
                    <td>{fmtTime(e.startsAt)}</td>
                    <td>{fmtTime(e.endsAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Async>
    </Page>
  );
}

interface Form {
  slug: string;
  title: string;
  description: string;
  startsAt: string;
  endsAt: string;
  freezeAt: string;
  preset: string;
  registration: string;
  registrationCode: string;
  isDefault: boolean;
  settings: Record<string, any>;
}

const SETTING_FIELDS: [string, string, string][] = [
  ["basePoints", "Base points", "Points for a puzzle solved at once (time scoring)"],
  ["minPoints", "Minimum points", ""],
  ["decayPerMinute", "Decay per minute", "Points lost per minute on a puzzle"],
  ["closeAnswerPenalty", "Close-answer penalty", ""],
  ["hintCostPoints", "Hint cost (points)", ""],
  ["answersPerMinute", "Answers per minute per puzzle", ""],
  ["xpPerTick", "XP per tick", ""],
  ["xpTickMinutes", "Minutes per XP tick", ""],
  ["xpPerSolve", "XP per solve", ""],
];

export function EventEditor({ eventKey }: { eventKey?: string }) {
  const q = useApi(eventKey ? `/api/v1/events/${encodeURIComponent(eventKey)}` : null);
  const [f, setF] = useState<Form | null>(null);
  const [preview, setPreview] = useState(false);
  useEffect(() => {
    if (!eventKey) {
      const start = Math.ceil(Date.now() / HOUR) * HOUR;
      setF({ slug: "", title: "", description: "", startsAt: toLocal(start), endsAt: toLocal(start + 48 * HOUR), freezeAt: "", preset: "default", registration: "open", registrationCode: "", isDefault: false, settings: {} });
    } else if (q.data) {
      const e = pick(q.data, "event") ?? q.data;
      setF({ slug: e.slug, title: e.title, description: e.description ?? "", startsAt: toLocal(e.startsAt), endsAt: toLocal(e.endsAt), freezeAt: toLocal(e.freezeAt), preset: e.preset ?? "default", registration: e.registration ?? "open", registrationCode: "", isDefault: !!e.isDefault, settings: { ...(e.settings ?? {}) } });
    }
  }, [eventKey, q.data]);
  const save = useAction(async () => {
    if (!f) return;
    const body: any = { title: f.title, description: f.description, startsAt: fromLocal(f.startsAt), endsAt: fromLocal(f.endsAt), freezeAt: fromLocal(f.freezeAt), preset: f.preset, registration: f.registration, isDefault: f.isDefault };
    if (f.registration === "invite" && f.registrationCode) body.registrationCode = f.registrationCode;
    const settings: Record<string, any> = {};
    for (const [k] of SETTING_FIELDS) if (f.settings[k] !== undefined && f.settings[k] !== "") settings[k] = Number(f.settings[k]);
    if (f.settings.scoring) settings.scoring = f.settings.scoring;
    if (f.settings.powerupCosts) settings.powerupCosts = Object.fromEntries(Object.entries(f.settings.powerupCosts).map(([k, v]) => [k, Number(v)]));
    if (eventKey) {
      // Preset changes replace the settings wholesale; otherwise send what the form shows.
      if (Object.keys(settings).length) body.settings = settings;
      await patch(`/api/v1/events/${encodeURIComponent(eventKey)}`, body);
      announce("Event saved.", "success");
      q.reload();
    } else {
      body.slug = f.slug;
      if (body.freezeAt === null) delete body.freezeAt;
      const r = await post("/api/v1/events", body);
      announce("Event created.", "success");
      navigate(`/admin/events/${r.event?.slug ?? f.slug}`);
    }
  });
  const phase = useAction(async (what: "start" | "end" | "freeze" | "unfreeze") => {
    const now = await serverNow();
    const body = what === "start" ? { startsAt: now } : what === "end" ? { endsAt: now } : what === "freeze" ? { freezeAt: now } : { freezeAt: null };
    await patch(`/api/v1/events/${encodeURIComponent(eventKey!)}`, body);
    announce(what === "start" ? "The event has started." : what === "end" ? "The event has ended." : what === "freeze" ? "The leaderboard is frozen." : "The leaderboard is unfrozen.", "success");
    q.reload();
  });
  if (eventKey && q.error && !q.data) return <Async q={q}>{() => null}</Async>;
  if (!f) return <Page title="Event">{<Async q={q}>{() => null}</Async>}</Page>;
  const set = (k: keyof Form, v: any) => setF({ ...f, [k]: v });
  const setS = (k: string, v: any) => setF({ ...f, settings: { ...f.settings, [k]: v } });
  return (
    <Page title={eventKey ? `Event: ${f.title}` : "New event"} wide>
      {eventKey && (
        <div class="row toolbar" role="group" aria-label="Event phase">
          <button class="secondary" onClick={() => phase.run("start")} disabled={phase.busy}>
            Start now
          </button>
          <button class="secondary" onClick={() => phase.run("freeze")} disabled={phase.busy}>
            Freeze leaderboard
          </button>
          <button class="secondary" onClick={() => phase.run("unfreeze")} disabled={phase.busy}>
            Unfreeze
          </button>
          <button class="danger" onClick={() => confirm("End the event now? Players can no longer answer.") && phase.run("end")} disabled={phase.busy}>
            End now
          </button>
          <a class="button secondary" href={`/e/${eventKey}`}>
            View as player
          </a>
          <FormError error={phase.error} />
        </div>
      )}
      <form
        class="card form-grid"
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <Field id="ev-title" label="Title">
          <input id="ev-title" required maxLength={200} value={f.title} onInput={(e) => set("title", e.currentTarget.value)} />
        </Field>
        <Field id="ev-slug" label="Slug (in the address)" hint="lower-case letters, digits and -">
          <input id="ev-slug" required pattern="[a-z0-9][a-z0-9\-]{0,62}" value={f.slug} disabled={!!eventKey} onInput={(e) => set("slug", e.currentTarget.value)} aria-describedby="ev-slug-hint" />
        </Field>
        <Field id="ev-start" label="Starts">
          <input id="ev-start" type="datetime-local" required value={f.startsAt} onInput={(e) => set("startsAt", e.currentTarget.value)} />
        </Field>
        <Field id="ev-end" label="Ends">
          <input id="ev-end" type="datetime-local" required value={f.endsAt} onInput={(e) => set("endsAt", e.currentTarget.value)} />
        </Field>
        <Field id="ev-freeze" label="Leaderboard freezes (optional)">
          <input id="ev-freeze" type="datetime-local" value={f.freezeAt} onInput={(e) => set("freezeAt", e.currentTarget.value)} />
        </Field>
        <Field id="ev-preset" label="Rules preset">
          <select id="ev-preset" value={f.preset} onChange={(e) => set("preset", e.currentTarget.value)}>
            <option value="default">Default (time-decay scoring)</option>
            <option value="enigma7">Enigma 7 (order scoring, XP cap 100)</option>
          </select>
        </Field>
        <Field id="ev-reg" label="Registration">
          <select id="ev-reg" value={f.registration} onChange={(e) => set("registration", e.currentTarget.value)}>
            <option value="open">Open</option>
            <option value="invite">Invite code</option>
            <option value="closed">Closed</option>
          </select>
        </Field>
        {f.registration === "invite" && (
          <Field id="ev-code" label="Invite code">
            <input id="ev-code" value={f.registrationCode} onInput={(e) => set("registrationCode", e.currentTarget.value)} placeholder={eventKey ? "(unchanged)" : ""} />
          </Field>
        )}
        <div class="field full">
          <div class="row between">
            <label for="ev-desc">Description (Markdown)</label>
            <button type="button" class="link" aria-pressed={preview} onClick={() => setPreview(!preview)}>
              {preview ? "Edit" : "Preview"}
            </button>
          </div>
          {preview ? <Markdown source={f.description} class="preview" /> : <textarea id="ev-desc" rows={5} value={f.description} onInput={(e) => set("description", e.currentTarget.value)} />}
        </div>
        <label class="check full">
          <input type="checkbox" checked={f.isDefault} onChange={(e) => set("isDefault", e.currentTarget.checked)} /> Default event (shown first)
        </label>
        <details class="full">
          <summary>Scoring, XP and powerup settings</summary>
          <div class="form-grid">
            <Field id="s-scoring" label="Scoring">
              <select id="s-scoring" value={f.settings.scoring ?? ""} onChange={(e) => setS("scoring", e.currentTarget.value || undefined)}>
                <option value="">(preset)</option>
                <option value="time">Time decay</option>
                <option value="order">Solve order tiers</option>
              </select>
            </Field>
            {SETTING_FIELDS.map(([k, label, hint]) => (
              <Field key={k} id={"s-" + k} label={label} hint={hint || undefined}>
                <input id={"s-" + k} type="number" min={0} value={f.settings[k] ?? ""} onInput={(e) => setS(k, e.currentTarget.value)} />
              </Field>
            ))}
            {(["hint", "skip", "close_enough"] as const).map((k) => (
              <Field key={k} id={"pc-" + k} label={`Powerup cost: ${k.replace("_", " ")} (XP)`}>
                <input id={"pc-" + k} type="number" min={0} value={f.settings.powerupCosts?.[k] ?? ""} onInput={(e) => setS("powerupCosts", { ...(f.settings.powerupCosts ?? {}), [k]: e.currentTarget.value })} />
              </Field>
            ))}
          </div>
        </details>
        <div class="full row">
          <button type="submit" disabled={save.busy}>
            {save.busy ? "Saving…" : eventKey ? "Save changes" : "Create event"}
          </button>
          <FormError error={save.error} />
        </div>
      </form>
      {eventKey && <PuzzleList eventKey={eventKey} />}
      {eventKey && <AnnouncementForm eventKey={eventKey} />}
    </Page>
  );
}

function PuzzleList({ eventKey }: { eventKey: string }) {
  const q = useApi(`/api/v1/events/${encodeURIComponent(eventKey)}/puzzles`);
  const [importing, setImporting] = useState<{ done: number; total: number; errors: string[] } | null>(null);
  const move = useAction(async (list: any[], i: number, dir: -1 | 1) => {
    const ids = list.map((p) => p.id);
    const j = i + dir;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    await put(`/api/v1/events/${encodeURIComponent(eventKey)}/puzzles/order`, { ids });
    q.reload();
  });
  const importFile = async (file: File) => {
    let items: any[];
    try {
      const parsed = JSON.parse(await file.text());
      items = Array.isArray(parsed) ? parsed : (parsed.puzzles ?? []);
      if (!Array.isArray(items) || !items.length) throw new Error("no puzzles");
    } catch {
      setImporting({ done: 0, total: 0, errors: ["That file is not a JSON array of puzzles (or an object with a puzzles array)."] });
      return;
    }
    const state = { done: 0, total: items.length, errors: [] as string[] };
    setImporting({ ...state });
    for (const [i, p] of items.entries()) {
      try {
        await post(`/api/v1/events/${encodeURIComponent(eventKey)}/puzzles`, p);
      } catch (e) {
        state.errors.push(`Puzzle ${i + 1} (${p?.title ?? "untitled"}): ${(e as Error).message}`);
      }
      state.done++;
      setImporting({ ...state });
    }
    announce(`Imported ${state.total - state.errors.length} of ${state.total} puzzles.`, state.errors.length ? "error" : "success");
    q.reload();
  };
  return (
    <section class="card" aria-labelledby="pz-title">
      <div class="row between">
        <h2 id="pz-title">Puzzles</h2>
        <div class="row">
          <label class="button secondary file">
            Import JSON
            <input type="file" accept="application/json,.json" class="sr-only" onChange={(e) => e.currentTarget.files?.[0] && importFile(e.currentTarget.files[0])} />
          </label>
          <a class="button" href={`/admin/events/${eventKey}/puzzles/new`}>
            Add puzzle
          </a>
        </div>
      </div>
      {importing && (
        <div class="import-progress" role="status">
          <label for="imp">
            {importing.done < importing.total ? `Importing… ${importing.done} of ${importing.total}` : `Imported ${importing.total - importing.errors.length} of ${importing.total}.`}
          </label>
          <progress id="imp" max={importing.total || 1} value={importing.done} />
          {importing.errors.map((e) => (
            <p key={e} class="form-error">
              {e}
            </p>
          ))}
        </div>
      )}
      <FormError error={move.error} />
      <Async q={q} what="puzzles">
        {(d) => {
          const list: any[] = pick(d, "puzzles") ?? [];
          if (!list.length) return <Empty>No puzzles yet.</Empty>;
          return (
            <ol class="puzzle-list">
              {list.map((p, i) => (
                <li key={p.id}>
                  <a href={`/admin/events/${eventKey}/puzzles/${p.id}`}>{p.title}</a>
                  <span class="muted small">
                    {p.hints?.length ?? 0} hints · {p.answers?.length ?? 0} answers
                  </span>
                  <span class="row tight">
                    <button class="icon-button" aria-label={`Move ${p.title} up`} disabled={i === 0 || move.busy} onClick={() => move.run(list, i, -1)}>
                      ↑
                    </button>
                    <button class="icon-button" aria-label={`Move ${p.title} down`} disabled={i === list.length - 1 || move.busy} onClick={() => move.run(list, i, 1)}>
                      ↓
                    </button>
                  </span>
                </li>
              ))}
            </ol>
          );
        }}
      </Async>
    </section>
  );
}

function AnnouncementForm({ eventKey }: { eventKey: string }) {
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const q = useApi(`/api/v1/events/${encodeURIComponent(eventKey)}/announcements`);
  const send = useAction(async () => {
    await post(`/api/v1/events/${encodeURIComponent(eventKey)}/announcements`, { title: title || null, body });
    setTitle("");
    setBody("");
    announce("Announcement posted.", "success");
    q.reload();
  });
  return (
    <section class="card" aria-labelledby="an-title">
      <h2 id="an-title">
        <Icon name="bell" /> Announcements
      </h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void send.run();
        }}
      >
        <Field id="an-head" label="Title (optional)">
          <input id="an-head" maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </Field>
        <Field id="an-body" label="Message (Markdown)">
          <textarea id="an-body" rows={3} required maxLength={10000} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        </Field>
        <FormError error={send.error} />
        <button type="submit" disabled={send.busy}>
          {send.busy ? "Posting…" : "Post announcement"}
        </button>
      </form>
      <Async q={q} what="announcements">
        {(d) => {
          const list: any[] = pick(d, "announcements") ?? [];
          return list.length ? (
            <ul class="announcements">
              {list.map((a) => (
                <li key={a.id}>
                  {a.title && <strong>{a.title}</strong>}
                  <Markdown source={a.body} />
                  <small class="muted">{fmtTime(a.createdAt)}</small>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">None posted yet.</p>
          );
        }}
      </Async>
    </section>
  );
}
