/**
 * Applies the SQL migrations that drizzle-kit generated, embedded in the
 * binary (migrations/<dialect>/index.ts imports each file as text). Each
 * migration runs in its own immediate transaction and is recorded in
 * `_migrations`; a second process starting at the same time waits on the
 * write lock (SQLite's, or the advisory lock on PostgreSQL) and then finds
 * the work done.
 *
 * On PostgreSQL `gauntlet serve` never migrates (instances would race a schema
 * change under load): `gauntlet migrate` does, and serve refuses to start
 * while a migration is pending (core.ts).
 */
import type { Db } from "./db.ts";
import type { PgDatabase } from "./pg/compat.ts";
import { MIGRATIONS as PG_MIGRATIONS } from "./migrations/postgres/index.ts";
import { MIGRATIONS } from "./migrations/sqlite/index.ts";

const listFor = (db: Db) => (db.dialect === "postgres" ? PG_MIGRATIONS : MIGRATIONS);

/** Migration SQL goes to PostgreSQL as written (no SQLite translation: function bodies, `?` operators). */
const runDdl = (db: Db, sql: string) => (db.dialect === "postgres" ? (db.writer as unknown as PgDatabase).execRaw(sql) : db.writer.run(sql));

function ensureTable(db: Db) {
  if (db.dialect === "sqlite") {
    db.writer.run("CREATE TABLE IF NOT EXISTS _migrations (tag TEXT PRIMARY KEY, hash TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    return;
  }
  const schema = (db.writer as unknown as PgDatabase).target.schema;
  // Under the write lock: two processes creating the same table at once would collide in pg_type.
  db.transaction(() => {
    runDdl(db, `CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    runDdl(db, "CREATE TABLE IF NOT EXISTS _migrations (tag TEXT PRIMARY KEY, hash TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  });
}

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
  return listFor(db)
    .filter((m) => !done.has(m.tag))
    .map((m) => m.tag);
}

/** Applies what is pending; returns the tags applied now. */
export function migrate(db: Db, now = Date.now()): string[] {
  ensureTable(db);
  const applied: string[] = [];
  for (const m of listFor(db)) {
    const did = db.transaction(() => {
      const row = db.writer.query("SELECT hash FROM _migrations WHERE tag = ?").get(m.tag) as { hash: string } | null;
      if (row) return false;
      for (const stmt of m.sql.split("--> statement-breakpoint")) {
        if (stmt.trim()) runDdl(db, stmt);
      }
      db.writer.query("INSERT INTO _migrations (tag, hash, applied_at) VALUES (?, ?, ?)").run(m.tag, hashOf(m.sql), now);
      return true;
    });
    if (did) applied.push(m.tag);
  }
  return applied;
}
