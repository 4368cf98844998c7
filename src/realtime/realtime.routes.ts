/**
 * The live websocket and organiser announcements. The websocket route is
 * declared like any other, so it sits behind the same request id, client IP
 * and session-cookie middleware, and appears in the OpenAPI document.
 */
import { z } from "zod";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";

const EventParams = z.strictObject({ event: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, "an event id or slug") });

export function realtimeRoutes(s: Services) {
  return [
    route({
      method: "get",
      path: "/api/v1/live",
      auth: "optional",
      summary: "Upgrade to the live websocket (protocol: src/realtime/PROTOCOL.md). Session cookie optional; Origin must match Host.",
      tags: ["realtime"],
      handler: (c, { user }) => s.realtime.upgrade(c, user),
    }),
    route({
      method: "post",
      path: "/api/v1/events/:event/announcements",
      auth: "organiser",
      summary: "Post an announcement to an event; it is stored and pushed on event:<id>.",
      tags: ["realtime"],
      params: EventParams,
      body: z.strictObject({ title: z.string().trim().min(1).max(200).nullable().optional(), body: z.string().trim().min(1).max(10_000) }),
      status: 201,
      handler: async (_c, { params, body, user }) => ({ announcement: await s.realtime.announce(params.event, user, body) }),
    }),
    route({
      method: "get",
      path: "/api/v1/events/:event/announcements",
      auth: "optional",
      summary: "An event's announcements, newest first.",
      tags: ["realtime"],
      params: EventParams,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).optional(), before: z.coerce.number().int().min(1).optional() }),
      handler: (_c, { params, query }) => ({ announcements: s.realtime.listAnnouncements(params.event, query.limit ?? 50, query.before) }),
    }),
  ];
}
