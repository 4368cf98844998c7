/**
 * The client → server frames of the live protocol (see PROTOCOL.md), parsed
 * strictly: unknown types or fields are a protocol error, as on the REST API.
 */
import { z } from "zod";

/** Close codes the server uses; 4xxx are ours (RFC 6455 leaves them to applications). */
export const CLOSE = {
  /** Service restart: reconnect after the `reconnect` frame's delay. */
  restarting: 1012,
  /** Binary frame: only JSON text is spoken. */
  unsupported: 1003,
  /** Bun closes with 1009 itself when a frame exceeds maxPayloadLength. */
  tooLarge: 1009,
  internal: 1011,
  /** Not JSON, or not a known message. */
  malformed: 4400,
  /** Sent more than the per-connection rate allows. */
  rateLimited: 4429,
  /** Could not keep up: the server's buffer for it passed the slow-consumer limit. */
  slowConsumer: 4008,
  /** The session the socket was opened with ended (logout, ban, password reset, expiry): reconnect, as whoever the cookie now says. */
  unauthenticated: 4401,
} as const;

const topic = z.string().min(1).max(128);
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ClientMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("subscribe"), topic, after: seq.optional() }),
  z.strictObject({ type: z.literal("resume"), topic, after: seq }),
  z.strictObject({ type: z.literal("unsubscribe"), topic }),
  z.strictObject({ type: z.literal("ping") }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export function parseClientMessage(raw: string): { ok: true; msg: ClientMessage } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, reason: "malformed message: not JSON" };
  }
  const r = ClientMessage.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    // Close reasons are capped at 123 bytes by the protocol.
    return { ok: false, reason: `malformed message: ${i.path.join(".") || "type"} ${i.message}`.slice(0, 120) };
  }
  return { ok: true, msg: r.data };
}
