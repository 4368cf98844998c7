/** Read-only queries over accounts for the organiser's user list; writes go through the auth service. */
import { asc, or, sql } from "drizzle-orm";
import type { Db } from "../db/db.ts";
import { users } from "../db/schema/index.ts";

export interface UserListRow {
  id: number;
  username: string;
  email: string | null;
  role: "player" | "organiser";
  bannedAt: number | null;
  createdAt: number;
}

/** LIKE wildcards in the search text are matched literally. */
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => "\\" + m);

/** Username (by its case-folded key) or email contains q. */
function matches(q: string) {
  const pattern = `%${escapeLike(q.toLowerCase())}%`;
  return or(sql`${users.usernameKey} LIKE ${pattern} ESCAPE '\\'`, sql`lower(${users.email}) LIKE ${pattern} ESCAPE '\\'`);
}

export function usersAdminStore(db: Db) {
  const cols = { id: users.id, username: users.username, email: users.email, role: users.role, bannedAt: users.bannedAt, createdAt: users.createdAt };
  return {
    search(q: string, limit: number, offset: number): UserListRow[] {
      const base = db.r.select(cols).from(users);
      return (q ? base.where(matches(q)) : base).orderBy(asc(users.id)).limit(limit).offset(offset).all();
    },
    count(q: string): number {
      const base = db.r.select({ n: sql<number>`count(*)` }).from(users);
      return (q ? base.where(matches(q)) : base).get()!.n;
    },
  };
}
