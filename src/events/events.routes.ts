import { z } from "zod";
import { AppError } from "../lib/errors.ts";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { EventSettingsInput, NormalizeMode, PuzzleScoringInput } from "./events.settings.ts";

const time = z.number().int().min(0).max(8.64e15);
const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and '-'");
const EventBody = z.strictObject({
  slug: Slug,
  title: z.string().min(1).max(200),
  description: z.string().max(100_000).optional(),
  startsAt: time,
  endsAt: time,
  freezeAt: time.nullable().optional(),
  preset: z.enum(["default", "enigma7"]).optional(),
  settings: EventSettingsInput.optional(),
  registration: z.enum(["open", "closed", "invite"]).optional(),
  registrationCode: z.string().min(1).max(200).nullable().optional(),
  isDefault: z.boolean().optional(),
});
const Answer = z.string().min(1).max(1000);
const PuzzleBody = z.strictObject({
  title: z.string().min(1).max(200),
  body: z.string().max(1_000_000).optional(),
  story: z.string().max(1_000_000).nullable().optional(),
  answers: z.array(Answer).min(1).max(100),
  closeAnswers: z.array(Answer).max(100).optional(),
  // A bare string is a hint at the event's default cost.
  hints: z
    .array(z.union([z.string().min(1).max(100_000), z.strictObject({ text: z.string().min(1).max(100_000), costPoints: z.number().int().min(0).max(1_000_000).optional() })]))
    .max(100)
    .optional(),
  scoring: PuzzleScoringInput.optional(),
  normalize: NormalizeMode.nullable().optional(),
});
const Ev = z.strictObject({ event: z.string().min(1).max(100) });
const Id = z.string().regex(/^\d{1,15}$/).transform(Number);
const EvPuzzle = Ev.extend({ puzzle: Id });

export function eventsRoutes(s: Services) {
  const { events } = s;
  return [
    route({ method: "get", path: "/api/v1/events", auth: "optional", summary: "Every event", tags: ["events"], handler: () => ({ events: events.list() }) }),
    route({
      method: "get",
      path: "/api/v1/events/:event",
      auth: "optional",
      summary: "One event (by slug or id)",
      tags: ["events"],
      params: Ev,
      handler: (_c, { params }) => ({ event: events.publicView(events.get(params.event)) }),
    }),
    route({
      method: "post",
      path: "/api/v1/events",
      auth: "organiser",
      summary: "Create an event",
      tags: ["events"],
      body: EventBody,
      status: 201,
      handler: async (_c, { body }) => ({ event: events.publicView(await events.create(body)) }),
    }),
    route({
      method: "patch",
      path: "/api/v1/events/:event",
      auth: "organiser",
      summary: "Change an event (settings merge with those already set)",
      tags: ["events"],
      params: Ev,
      body: EventBody.partial(),
      handler: async (_c, { params, body }) => ({ event: events.publicView(await events.update(params.event, body)) }),
    }),
    route({
      method: "get",
      path: "/api/v1/events/:event/puzzles",
      auth: "organiser",
      summary: "Every puzzle of an event with answers and hints (organisers only)",
      tags: ["events"],
      params: Ev,
      handler: (_c, { params }) => ({ puzzles: events.organiserPuzzles(params.event) }),
    }),
    route({
      method: "post",
      path: "/api/v1/events/:event/puzzles",
      auth: "organiser",
      summary: "Add a puzzle at the end",
      tags: ["events"],
      params: Ev,
      body: PuzzleBody,
      status: 201,
      handler: async (_c, { params, body }) => ({ puzzle: await events.addPuzzle(params.event, body) }),
    }),
    route({
      method: "put",
      path: "/api/v1/events/:event/puzzles/order",
      auth: "organiser",
      summary: "Reorder the puzzles (every id once)",
      tags: ["events"],
      params: Ev,
      body: z.strictObject({ order: z.array(z.number().int().positive()).max(10_000) }),
      handler: async (_c, { params, body }) => ({ puzzles: await events.reorder(params.event, body.order) }),
    }),
    route({
      method: "get",
      path: "/api/v1/events/:event/puzzles/:puzzle",
      auth: "organiser",
      summary: "One puzzle with answers and hints (organisers only)",
      tags: ["events"],
      params: EvPuzzle,
      handler: (_c, { params }) => ({ puzzle: events.organiserPuzzle(params.event, params.puzzle) }),
    }),
    route({
      method: "patch",
      path: "/api/v1/events/:event/puzzles/:puzzle",
      auth: "organiser",
      summary: "Change a puzzle (answers, close answers, hints, scoring)",
      tags: ["events"],
      params: EvPuzzle,
      body: PuzzleBody.partial(),
      handler: async (_c, { params, body }) => ({ puzzle: await events.updatePuzzle(params.event, params.puzzle, body) }),
    }),
    route({
      method: "delete",
      path: "/api/v1/events/:event/puzzles/:puzzle",
      auth: "organiser",
      summary: "Delete a puzzle nobody has reached",
      tags: ["events"],
      params: EvPuzzle,
      status: 204,
      handler: async (_c, { params }) => {
        await events.deletePuzzle(params.event, params.puzzle);
        return null;
      },
    }),
    route({
      method: "post",
      path: "/api/v1/events/:event/puzzles/:puzzle/attachments",
      auth: "organiser",
      summary: "Attach a file (base64) to a puzzle",
      tags: ["events"],
      params: EvPuzzle,
      body: z.strictObject({ name: z.string().regex(/^[\w.-]{1,128}$/), contentType: z.string().min(1).max(200), dataBase64: z.string().max(48_000_000) }),
      status: 201,
      handler: async (_c, { params, body }) => {
        const data = Buffer.from(body.dataBase64, "base64");
        return { attachment: await events.addAttachment(params.event, params.puzzle, { name: body.name, contentType: body.contentType, data }) };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/events/:event/attachments/:id",
      auth: "user",
      summary: "Download an attachment of a puzzle you have reached",
      tags: ["events"],
      params: Ev.extend({ id: Id }),
      handler: (c, { params, user }) => {
        const ev = events.get(params.event);
        const { row, data } = events.readAttachment(ev, params.id);
        if (user.role !== "organiser" && !s.hunt.store.progress(ev.row.id, user.id).some((g) => g.puzzleId === row.puzzleId)) throw new AppError("not_found", "No such attachment.");
        return new Response(data as unknown as BodyInit, { headers: { "Content-Type": row.contentType, "Content-Disposition": `attachment; filename="${row.name}"`, "X-Content-Type-Options": "nosniff" } });
      },
    }),
  ];
}
