/**
 * Applies the SQL migrations that drizzle-kit generated, embedded in the
 * binary (migrations/sqlite/index.ts imports each file as text). Each
 * migration runs in its own immediate transaction and is recorded in
 * `_migrations`; a second process starting at the same time waits on the
 * write lock and then finds the work done.
 */
import type { Db } from "./db.ts";
import { MIGRATIONS } from "./migrations/sqlite/index.ts";

const ensureTable = (db: Db) =>
  db.writer.run("CREATE TABLE IF NOT EXISTS _migrations (tag TEXT PRIMARY KEY, hash TEXT NOT NULL, applied_at INTEGER NOT NULL)");

const hashOf = (sql: string) => new Bun.CryptoHasher("sha256").update(sql).digest("hex");

export function appliedTags(db: Db): Set<string> {
  try {
    const rows = db.reader.query("SELECT tag FROM _migrations").all() as { tag: string }[];
    return new Set(rows.map((r) => r.tag));
  } catch {
    return new Set();
  }
}

export function pendingMigrations(db: Db): string[] {
  const done = appliedTags(db);
  return MIGRATIONS.filter((m) => !done.has(m.tag)).map((m) => m.tag);
}

/** Applies what is pending; returns the tags applied now. */
export function migrate(db: Db, now = Date.now()): string[] {
  ensureTable(db);
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    const did = db.transaction(() => {
      const row = db.writer.query("SELECT hash FROM _migrations WHERE tag = ?").get(m.tag) as { hash: string } | null;
      if (row) return false;
      for (const stmt of m.sql.split("--> statement-breakpoint")) {
        if (stmt.trim()) db.writer.run(stmt);
      }
      db.writer.query("INSERT INTO _migrations (tag, hash, applied_at) VALUES (?, ?, ?)").run(m.tag, hashOf(m.sql), now);
      return true;
    });
    if (did) applied.push(m.tag);
  }
  return applied;
}
