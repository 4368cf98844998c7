/**
 * The only SQL of the runner domain: remote-runner tokens, kept in the kv
 * table as `runner_token:<id>` → {name, hash, createdAt, revokedAt}. Only the
 * SHA-256 of a token's secret is stored; the secret is shown once.
 */
import { eq, like } from "drizzle-orm";
import type { Db, Drizzle } from "../db/db.ts";
import { kv } from "../db/schema/index.ts";

export interface RunnerTokenRow {
  id: string;
  name: string;
  /** hex SHA-256 of the secret */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
}

const PREFIX = "runner_token:";

export function runnerStore(db: Db) {
  const parse = (key: string, value: string): RunnerTokenRow => ({ id: key.slice(PREFIX.length), ...(JSON.parse(value) as Omit<RunnerTokenRow, "id">) });
  return {
    get(id: string): RunnerTokenRow | undefined {
      const row = db.r.select().from(kv).where(eq(kv.key, PREFIX + id)).get();
      return row ? parse(row.key, row.value) : undefined;
    },
    list(): RunnerTokenRow[] {
      return db.r
        .select()
        .from(kv)
        .where(like(kv.key, `${PREFIX}%`))
        .all()
        .map((r) => parse(r.key, r.value))
        .sort((a, b) => a.createdAt - b.createdAt);
    },
    insert(tx: Drizzle, t: RunnerTokenRow) {
      const { id, ...rest } = t;
      tx.insert(kv).values({ key: PREFIX + id, value: JSON.stringify(rest) }).run();
    },
    /** Marks revoked; returns false when there is no such token. */
    revoke(tx: Drizzle, id: string, at: number): boolean {
      const row = tx.select().from(kv).where(eq(kv.key, PREFIX + id)).get();
      if (!row) return false;
      const t = parse(row.key, row.value);
      if (t.revokedAt === null) t.revokedAt = at;
      const { id: _id, ...rest } = t;
      tx.update(kv).set({ value: JSON.stringify(rest) }).where(eq(kv.key, row.key)).run();
      return true;
    },
  };
}
