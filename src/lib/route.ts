/**
 * Endpoints declared as data (method, path, auth, input schemas, handler), the
 * rCTF way. `mount()` registers them on Hono and enforces what they declare:
 * the body is JSON (415 otherwise), valid UTF-8, parsed strictly and checked
 * against the zod schema (unknown fields refused); the auth level is checked
 * before the handler runs. The OpenAPI document is generated from the same
 * declarations, so it cannot drift from what the router enforces.
 *
 * @example
 * export const routes = [
 *   route({ method: "get", path: "/api/v1/me", auth: "user", summary: "Who am I",
 *           handler: (c, { user }) => ({ user }) }),
 * ];
 */
import type { Context, Hono } from "hono";
import { z, type ZodType } from "zod";
import { AppError } from "./errors.ts";
import type { AppEnv, SessionUser } from "./context.ts";

export type AuthLevel = "none" | "optional" | "user" | "organiser";

type Infer<T> = T extends ZodType<infer O> ? O : undefined;

export interface RouteInput<B, Q, P, A extends AuthLevel> {
  body: B;
  query: Q;
  params: P;
  user: A extends "user" | "organiser" ? SessionUser : SessionUser | null;
}

export interface RouteDef<BS extends ZodType | undefined = any, QS extends ZodType | undefined = any, PS extends ZodType | undefined = any, A extends AuthLevel = AuthLevel> {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  auth: A;
  summary: string;
  tags?: string[];
  body?: BS;
  query?: QS;
  params?: PS;
  /** Success status (default 200). */
  status?: number;
  /** Documented response schema (not enforced). */
  response?: ZodType;
  /** Body is optional (e.g. logout); an absent body validates as {}. */
  bodyOptional?: boolean;
  handler: (c: Context<AppEnv>, input: RouteInput<Infer<BS>, Infer<QS>, Infer<PS>, A>) => unknown | Promise<unknown>;
}

export function route<BS extends ZodType | undefined = undefined, QS extends ZodType | undefined = undefined, PS extends ZodType | undefined = undefined, A extends AuthLevel = AuthLevel>(
  def: RouteDef<BS, QS, PS, A>,
): RouteDef {
  return def as unknown as RouteDef;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Turns zod issues into a short, stable list for the client. */
export function zodDetails(err: z.ZodError) {
  return err.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), message: i.message }));
}

export function parseWith<T>(schema: ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const details = zodDetails(r.error);
    const first = details[0];
    throw new AppError("validation_failed", first ? `${where}${first.path ? "." + first.path : ""}: ${first.message}` : undefined, { details });
  }
  return r.data;
}

export async function readJsonBody(c: Context, optional: boolean): Promise<unknown> {
  const raw = await c.req.arrayBuffer();
  if (raw.byteLength === 0) {
    if (optional) return {};
    throw new AppError("invalid_json", "The request body is empty; send a JSON object.");
  }
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) throw new AppError("unsupported_media_type");
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new AppError("invalid_utf8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("invalid_json");
  }
}

function firstValues(q: Record<string, string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) out[k] = v[0];
  return out;
}

export function mount(app: Hono<AppEnv>, defs: RouteDef[]) {
  for (const d of defs) {
    app.on(d.method.toUpperCase(), d.path, async (c) => {
      const user = c.get("user");
      if ((d.auth === "user" || d.auth === "organiser") && !user) throw new AppError("unauthenticated");
      if (d.auth === "organiser" && user?.role !== "organiser") throw new AppError("forbidden");
      const params = d.params ? parseWith(d.params, c.req.param(), "path") : c.req.param();
      const query = d.query ? parseWith(d.query, firstValues(c.req.queries()), "query") : undefined;
      let body: unknown;
      if (d.body) body = parseWith(d.body, await readJsonBody(c, !!d.bodyOptional), "body");
      const out = await d.handler(c, { body, query, params, user: user ?? null } as never);
      if (out instanceof Response) return out;
      if (out === undefined || out === null) return c.body(null, (d.status ?? 204) as 204);
      return c.json(out as object, (d.status ?? 200) as 200);
    });
  }
}

/** The OpenAPI 3.1 document of the declared routes. */
export function openApiDocument(defs: RouteDef[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const toSchema = (s: ZodType) => z.toJSONSchema(s, { unrepresentable: "any", io: "input" });
  for (const d of defs) {
    const p = d.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const params: unknown[] = [];
    for (const m of d.path.matchAll(/:([A-Za-z0-9_]+)/g)) params.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
    if (d.query) {
      const js = toSchema(d.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(js.properties ?? {})) {
        params.push({ name, in: "query", required: js.required?.includes(name) ?? false, schema });
      }
    }
    const op: Record<string, unknown> = {
      summary: d.summary,
      tags: d.tags ?? [d.path.split("/")[3] ?? "misc"],
      parameters: params,
      security: d.auth === "none" || d.auth === "optional" ? [] : [{ session: [] }],
      "x-auth": d.auth,
      responses: {
        [String(d.status ?? 200)]: d.response
          ? { description: "OK", content: { "application/json": { schema: toSchema(d.response) } } }
          : { description: "OK" },
        "4XX": { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
    if (d.body) op.requestBody = { required: !d.bodyOptional, content: { "application/json": { schema: toSchema(d.body) } } };
    (paths[p] ??= {})[d.method] = op;
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    components: {
      securitySchemes: { session: { type: "apiKey", in: "cookie", name: "gauntlet_session" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
            },
          },
        },
      },
    },
  };
}
