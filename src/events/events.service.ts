/**
 * Events and their puzzles: organiser CRUD and the cached, parsed view the
 * hunt reads on every request. The cache holds an event for at most a second
 * (another process may have edited it) and is dropped at once on a local edit.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../lib/errors.ts";
import type { Deps } from "../lib/context.ts";
import { normalizeAnswer, type AnswerKey } from "../hunt/hunt.rules.ts";
import { effectiveSettings, puzzleSettings, type EventSettings, type EventSettingsInput, type NormalizeMode, type Preset, type PuzzleScoringInput, type PuzzleSettings } from "./events.settings.ts";
import { eventsStore, type AttachmentRow, type EventRow, type PuzzleRow } from "./events.store.ts";

export interface Hint {
  text: string;
  costPoints: number;
}

export interface LoadedPuzzle {
  id: number;
  /** 1-based place in the event's order. */
  position: number;
  title: string;
  body: string;
  story: string | null;
  hints: Hint[];
  settings: PuzzleSettings;
  key: AnswerKey;
  attachments: Array<Pick<AttachmentRow, "id" | "name" | "contentType" | "size">>;
}

export interface LoadedEvent {
  row: EventRow;
  settings: EventSettings;
  puzzles: LoadedPuzzle[];
  byId: Map<number, LoadedPuzzle>;
}

export interface EventInput {
  slug: string;
  title: string;
  description?: string;
  startsAt: number;
  endsAt: number;
  freezeAt?: number | null;
  preset?: Preset;
  settings?: EventSettingsInput;
  registration?: "open" | "closed" | "invite";
  registrationCode?: string | null;
  isDefault?: boolean;
}

export interface PuzzleInput {
  title: string;
  body?: string;
  story?: string | null;
  answers: string[];
  closeAnswers?: string[];
  hints?: Array<string | { text: string; costPoints?: number }>;
  scoring?: PuzzleScoringInput;
  normalize?: NormalizeMode | null;
}

const CACHE_MS = 1000;

/** What anyone may see of an event (never the invite code). */
export function publicEvent(e: EventRow, settings: EventSettings) {
  return {
    id: e.id,
    slug: e.slug,
    title: e.title,
    description: e.description,
    startsAt: e.startsAt,
    endsAt: e.endsAt,
    freezeAt: e.freezeAt,
    preset: e.preset,
    registration: e.registration,
    isDefault: e.isDefault,
    settings,
  };
}

export function organiserPuzzle(p: PuzzleRow, position: number, attachments: AttachmentRow[]) {
  return {
    id: p.id,
    position,
    title: p.title,
    body: p.body,
    story: p.story,
    answers: JSON.parse(p.answers) as string[],
    closeAnswers: JSON.parse(p.closeAnswers) as string[],
    hints: JSON.parse(p.hints) as Hint[],
    scoring: JSON.parse(p.scoring) as PuzzleScoringInput,
    normalize: p.normalize,
    attachments: attachments.map((a) => ({ id: a.id, name: a.name, contentType: a.contentType, size: a.size, sha256: a.sha256 })),
  };
}

export function eventsService(deps: Deps) {
  const { db, clock, config } = deps;
  const store = eventsStore(db);
  const cache = new Map<number, { at: number; ev: LoadedEvent }>();
  const slugs = new Map<string, number>();
  const blobDir = join(config.dataDir, "blobs");

  function load(row: EventRow): LoadedEvent {
    const settings = effectiveSettings(row.preset, JSON.parse(row.settings));
    const puzzles = store.puzzlesOf(row.id).map((p, i): LoadedPuzzle => {
      const ps = puzzleSettings(settings, JSON.parse(p.scoring), p.normalize);
      const hints = (JSON.parse(p.hints) as Hint[]).map((h) => ({ text: h.text, costPoints: h.costPoints ?? settings.hintCostPoints }));
      const norm = (a: string) => normalizeAnswer(a, ps.normalize);
      return {
        id: p.id,
        position: i + 1,
        title: p.title,
        body: p.body,
        story: p.story,
        hints,
        settings: ps,
        key: { accepted: (JSON.parse(p.answers) as string[]).map(norm).filter(Boolean), close: (JSON.parse(p.closeAnswers) as string[]).map(norm).filter(Boolean), closeDistance: ps.closeDistance },
        attachments: store.attachmentsOf(p.id).map((a) => ({ id: a.id, name: a.name, contentType: a.contentType, size: a.size })),
      };
    });
    return { row, settings, puzzles, byId: new Map(puzzles.map((p) => [p.id, p])) };
  }

  function invalidate(id: number) {
    cache.delete(id);
    for (const [k, v] of slugs) if (v === id) slugs.delete(k);
  }

  /** `ref` is a slug or a numeric id; unknown → 404. */
  function get(ref: string | number): LoadedEvent {
    const t = performance.now();
    let id = typeof ref === "number" ? ref : /^\d{1,15}$/.test(ref) ? Number(ref) : slugs.get(ref);
    if (id !== undefined) {
      const hit = cache.get(id);
      if (hit && t - hit.at < CACHE_MS) return hit.ev;
    }
    const row = id !== undefined ? store.eventById(id) : store.eventBySlug(String(ref));
    if (!row) throw new AppError("not_found", "No such event.");
    const ev = load(row);
    cache.set(row.id, { at: t, ev });
    slugs.set(row.slug, row.id);
    return ev;
  }

  function validateWindow(startsAt: number, endsAt: number, freezeAt: number | null | undefined) {
    if (endsAt <= startsAt) throw new AppError("validation_failed", "endsAt must be after startsAt.");
    if (freezeAt != null && (freezeAt < startsAt || freezeAt > endsAt)) throw new AppError("validation_failed", "freezeAt must be between startsAt and endsAt.");
  }

  function puzzleValues(input: Partial<PuzzleInput>) {
    const v: Record<string, unknown> = {};
    if (input.title !== undefined) v.title = input.title;
    if (input.body !== undefined) v.body = input.body;
    if (input.story !== undefined) v.story = input.story;
    if (input.answers !== undefined) v.answers = JSON.stringify(input.answers);
    if (input.closeAnswers !== undefined) v.closeAnswers = JSON.stringify(input.closeAnswers);
    if (input.hints !== undefined) v.hints = JSON.stringify(input.hints.map((h) => (typeof h === "string" ? { text: h } : h.costPoints === undefined ? { text: h.text } : h)));
    if (input.scoring !== undefined) v.scoring = JSON.stringify(input.scoring);
    if (input.normalize !== undefined) v.normalize = input.normalize;
    return v;
  }

  function puzzleOf(ev: LoadedEvent, puzzleRef: number): PuzzleRow {
    const p = store.puzzleById(puzzleRef);
    if (!p || p.eventId !== ev.row.id) throw new AppError("not_found", "No such puzzle in this event.");
    return p;
  }

  const svc = {
    store,
    get,
    invalidate,
    list: () => store.listEvents().map((r) => publicEvent(r, effectiveSettings(r.preset, JSON.parse(r.settings)))),
    publicView: (ev: LoadedEvent) => publicEvent(ev.row, ev.settings),
    defaultEvent: () => store.listEvents().find((e) => e.isDefault),

    async create(input: EventInput): Promise<LoadedEvent> {
      validateWindow(input.startsAt, input.endsAt, input.freezeAt);
      if (input.registration === "invite" && !input.registrationCode) throw new AppError("validation_failed", "An invite-only event needs a registrationCode.");
      const row = await db.write((tx) => {
        if (input.isDefault) store.clearDefault(tx);
        return store.insertEvent(tx, {
          slug: input.slug,
          title: input.title,
          description: input.description ?? "",
          startsAt: input.startsAt,
          endsAt: input.endsAt,
          freezeAt: input.freezeAt ?? null,
          preset: input.preset ?? "default",
          settings: JSON.stringify(input.settings ?? {}),
          registration: input.registration ?? "open",
          registrationCode: input.registrationCode ?? null,
          isDefault: input.isDefault ?? false,
          createdAt: clock.now(),
        });
      });
      if (!row) throw new AppError("conflict", "An event with that slug exists.");
      return get(row.id);
    },

    async update(ref: string, input: Partial<EventInput>): Promise<LoadedEvent> {
      const ev = get(ref);
      const cur = ev.row;
      validateWindow(input.startsAt ?? cur.startsAt, input.endsAt ?? cur.endsAt, input.freezeAt === undefined ? cur.freezeAt : input.freezeAt);
      const v: Record<string, unknown> = { ...input };
      if (input.settings !== undefined) v.settings = JSON.stringify({ ...JSON.parse(cur.settings), ...input.settings });
      const row = await db.write((tx) => {
        if (input.isDefault) store.clearDefault(tx);
        try {
          return store.updateEvent(tx, cur.id, v);
        } catch (e) {
          if (String(e).includes("UNIQUE")) throw new AppError("conflict", "An event with that slug exists.");
          throw e;
        }
      });
      invalidate(cur.id);
      return get(row!.id);
    },

    organiserPuzzles(ref: string) {
      const ev = get(ref);
      return store.puzzlesOf(ev.row.id).map((p, i) => organiserPuzzle(p, i + 1, store.attachmentsOf(p.id)));
    },
    organiserPuzzle(ref: string, puzzleId: number) {
      const ev = get(ref);
      const p = puzzleOf(ev, puzzleId);
      return organiserPuzzle(p, ev.byId.get(p.id)?.position ?? 0, store.attachmentsOf(p.id));
    },

    async addPuzzle(ref: string, input: PuzzleInput) {
      const ev = get(ref);
      const row = await db.write((tx) =>
        store.insertPuzzle(tx, { eventId: ev.row.id, position: store.maxPosition(tx, ev.row.id) + 1, createdAt: clock.now(), answers: "[]", ...(puzzleValues(input) as { title: string }) }),
      );
      invalidate(ev.row.id);
      return svc.organiserPuzzle(ref, row.id);
    },

    async updatePuzzle(ref: string, puzzleId: number, input: Partial<PuzzleInput>) {
      const ev = get(ref);
      puzzleOf(ev, puzzleId);
      await db.write((tx) => store.updatePuzzle(tx, puzzleId, puzzleValues(input)));
      invalidate(ev.row.id);
      return svc.organiserPuzzle(ref, puzzleId);
    },

    async deletePuzzle(ref: string, puzzleId: number) {
      const ev = get(ref);
      puzzleOf(ev, puzzleId);
      await db.write((tx) => {
        // Attempts and ledger entries name the puzzle; once anyone played it, it stays.
        if (store.puzzleHasProgress(tx, puzzleId)) throw new AppError("conflict", "Players have reached this puzzle; it cannot be deleted.");
        store.deletePuzzle(tx, puzzleId);
      });
      invalidate(ev.row.id);
    },

    async reorder(ref: string, ids: number[]) {
      const ev = get(ref);
      const current = store.puzzlesOf(ev.row.id).map((p) => p.id);
      if (ids.length !== current.length || new Set(ids).size !== ids.length || !ids.every((id) => current.includes(id)))
        throw new AppError("validation_failed", "order must list every puzzle of the event exactly once.");
      await db.write((tx) => store.reorder(tx, ev.row.id, ids));
      invalidate(ev.row.id);
      return svc.organiserPuzzles(ref);
    },

    /** Writes the file (fsynced, content-addressed) before the row that names it. */
    async addAttachment(ref: string, puzzleId: number, a: { name: string; contentType: string; data: Uint8Array }) {
      const ev = get(ref);
      puzzleOf(ev, puzzleId);
      const sha = new Bun.CryptoHasher("sha256").update(a.data).digest("hex");
      const dir = join(blobDir, sha.slice(0, 2));
      const path = join(dir, sha);
      if (!existsSync(path)) {
        mkdirSync(dir, { recursive: true });
        const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
        const fd = openSync(tmp, "w");
        try {
          writeSync(fd, a.data);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
        const dfd = openSync(dir, "r");
        try {
          fsyncSync(dfd);
        } finally {
          closeSync(dfd);
        }
      }
      const row = await db.write((tx) => store.upsertAttachment(tx, { puzzleId, name: a.name, contentType: a.contentType, sha256: sha, size: a.data.byteLength, createdAt: clock.now() }));
      invalidate(ev.row.id);
      return { id: row.id, name: row.name, contentType: row.contentType, size: row.size, sha256: row.sha256 };
    },

    readAttachment(ev: LoadedEvent, id: number): { row: AttachmentRow; data: Uint8Array } {
      const row = store.attachmentById(id);
      if (!row || !ev.byId.has(row.puzzleId)) throw new AppError("not_found", "No such attachment.");
      return { row, data: readFileSync(join(blobDir, row.sha256.slice(0, 2), row.sha256)) };
    },
  };
  return svc;
}

export type EventsService = ReturnType<typeof eventsService>;
