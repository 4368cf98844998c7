/**
 * Organiser user administration: search, ban/unban, role, password reset.
 * The writes are the auth service's (they also end sessions); this adds the
 * rules that protect an organiser from locking themselves out.
 */
import type { AuthService } from "../auth/auth.service.ts";
import type { Db } from "../db/db.ts";
import { AppError } from "../lib/errors.ts";
import { usersAdminStore } from "./users.store.ts";

export function usersAdminService(deps: { db: Db; auth: AuthService }) {
  const store = usersAdminStore(deps.db);
  const { auth } = deps;
  const notSelf = (actorId: number, targetId: number, what: string) => {
    if (actorId === targetId) throw new AppError("conflict", `You cannot ${what} your own account.`);
  };
  return {
    search(q: string, limit: number, offset: number) {
      const needle = q.normalize("NFKC").trim();
      return { users: store.search(needle, limit, offset), total: store.count(needle) };
    },
    async ban(actorId: number, userId: number) {
      notSelf(actorId, userId, "ban");
      return auth.setBanned(userId, true);
    },
    unban: (userId: number) => auth.setBanned(userId, false),
    async setRole(actorId: number, userId: number, role: "player" | "organiser") {
      if (role !== "organiser") notSelf(actorId, userId, "demote");
      return auth.setRole(userId, role);
    },
    async setPassword(userId: number, password: string) {
      if (!auth.store.findById(userId)) throw new AppError("not_found", "No such user.");
      await auth.setPassword(userId, password);
    },
  };
}
