import { z } from "zod";
import { route } from "../lib/route.ts";
import type { Services } from "../services.ts";
import { usersAdminService } from "./users.service.ts";

const UserOut = z.object({
  id: z.number(),
  username: z.string(),
  email: z.string().nullable(),
  role: z.enum(["player", "organiser"]),
  bannedAt: z.number().nullable().optional(),
  createdAt: z.number(),
});
const Id = z.strictObject({ id: z.coerce.number().int().positive().max(2 ** 53) });

export function adminUserRoutes(s: Services) {
  const svc = usersAdminService({ db: s.db, auth: s.auth });
  const tags = ["admin"];
  return [
    route({
      method: "get",
      path: "/api/v1/admin/users",
      auth: "organiser",
      tags,
      summary: "Search accounts by username or email (substring, case-insensitive)",
      query: z.strictObject({
        q: z.string().max(100).optional(),
        limit: z.coerce.number().int().min(1).max(200).optional(),
        offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
      }),
      response: z.object({ users: z.array(UserOut), total: z.number() }),
      handler: (_c, { query }) => svc.search(query.q ?? "", query.limit ?? 50, query.offset ?? 0),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/users/:id/ban",
      auth: "organiser",
      tags,
      summary: "Ban an account (ends its sessions; banned players are not ranked)",
      params: Id,
      bodyOptional: true,
      body: z.strictObject({}),
      response: z.object({ user: UserOut }),
      handler: async (_c, { params, user }) => ({ user: await svc.ban(user.id, params.id) }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/users/:id/unban",
      auth: "organiser",
      tags,
      summary: "Lift a ban",
      params: Id,
      bodyOptional: true,
      body: z.strictObject({}),
      response: z.object({ user: UserOut }),
      handler: async (_c, { params }) => ({ user: await svc.unban(params.id) }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/users/:id/role",
      auth: "organiser",
      tags,
      summary: "Make an account an organiser or a player",
      params: Id,
      body: z.strictObject({ role: z.enum(["player", "organiser"]) }),
      response: z.object({ user: UserOut }),
      handler: async (_c, { params, body, user }) => ({ user: await svc.setRole(user.id, params.id, body.role) }),
    }),
    route({
      method: "post",
      path: "/api/v1/admin/users/:id/password",
      auth: "organiser",
      tags,
      summary: "Set a new password (signs the user out everywhere)",
      params: Id,
      body: z.strictObject({ password: z.string().min(1).max(1024) }),
      status: 204,
      handler: async (_c, { params, body }) => {
        await svc.setPassword(params.id, body.password);
        return null;
      },
    }),
  ];
}
