/**
 * The PostgreSQL schema against the SQLite one it is derived from.
 *
 * (a) Drift guard without a database: every sqlite table has a pg table under
 *     the same export name with the same table name, column keys and names in
 *     order, NOT NULL flags, defaults, types per the rules in pg.ts,
 *     and the same primary key, foreign key, index, unique and check names.
 * (b) With PostgreSQL on 127.0.0.1:5432 (skipped with a reason otherwise):
 *     every statement of every postgres migration applies in a throwaway
 *     schema, foreign keys point inside that schema, each autoincrement table
 *     has the id-fill trigger on its own sequence, and an INSERT with an
 *     explicit NULL id (what drizzle's sqlite-core builder sends) gets an id.
 */
import { expect, test } from "bun:test";
import { getTableColumns, is, SQL } from "drizzle-orm";
import { getTableConfig as pgConfig, PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import postgres from "postgres";
import { MIGRATIONS } from "../migrations/postgres/index.ts";
import * as sqliteSchema from "./index.ts";
import * as pgSchema from "./pg.ts";

const sqliteTables = Object.entries(sqliteSchema as Record<string, unknown>).filter((e): e is [string, SQLiteTable] => is(e[1], SQLiteTable));
const isAutoIncrement = (c: unknown) => (c as { autoIncrement?: boolean }).autoIncrement === true;
/** Tables whose id is `integer().primaryKey({ autoIncrement: true })`. */
const autoIdTables = sqliteTables
  .map(([, t]) => sqliteConfig(t))
  .filter((c) => c.columns.some(isAutoIncrement))
  .map((c) => c.name)
  .sort();

const PG_TYPE: Record<string, string> = { integer: "bigint", text: "text", real: "double precision", blob: "bytea" };

test("pg.ts exports a pg table for every sqlite table, and nothing else", () => {
  const pgKeys = Object.entries(pgSchema)
    .filter(([, v]) => is(v, PgTable))
    .map(([k]) => k)
    .sort();
  expect(pgKeys).toEqual(sqliteTables.map(([k]) => k).sort());
});

for (const [key, sqliteTable] of sqliteTables) {
  test(`pg ${key} matches sqlite`, () => {
    const pgTable = (pgSchema as Record<string, unknown>)[key] as PgTable;
    expect(is(pgTable, PgTable)).toBe(true);
    const s = sqliteConfig(sqliteTable);
    const p = pgConfig(pgTable);
    expect(p.name).toBe(s.name);

    // Columns: same JS keys and SQL names in the same order, same NOT NULL, same default (booleans as 0/1).
    expect(Object.keys(getTableColumns(pgTable))).toEqual(Object.keys(getTableColumns(sqliteTable)));
    const dflt = (v: unknown) => (typeof v === "boolean" ? Number(v) : is(v, SQL) ? "(sql)" : v);
    const cols = (cs: typeof s.columns | typeof p.columns) => cs.map((c) => ({ name: c.name, notNull: c.notNull, default: dflt(c.default) }));
    expect(cols(p.columns)).toEqual(cols(s.columns));
    for (const [i, c] of s.columns.entries()) {
      const want = isAutoIncrement(c) ? "bigserial" : PG_TYPE[c.getSQLType()];
      expect(`${c.name} ${p.columns[i]!.getSQLType()}`).toBe(`${c.name} ${want}`);
    }

    // Constraints and indexes by name (sqlite's column-level unique is a unique index there, a constraint here).
    const uniques = (u: { getName(): string | undefined }[], cs: { isUnique: boolean; uniqueName?: string }[]) =>
      [...u.map((x) => x.getName()), ...cs.filter((c) => c.isUnique).map((c) => c.uniqueName!)].sort();
    expect(uniques(p.uniqueConstraints, p.columns)).toEqual(uniques(s.uniqueConstraints, s.columns));
    const indexes = (ix: { config: { name?: string; unique: boolean; where?: unknown } }[]) =>
      ix.map((i) => `${i.config.name}${i.config.unique ? " unique" : ""}${i.config.where ? " partial" : ""}`).sort();
    expect(indexes(p.indexes)).toEqual(indexes(s.indexes));
    expect(p.checks.map((c) => c.name).sort()).toEqual(s.checks.map((c) => c.name).sort());
    expect(p.primaryKeys.map((k) => k.getName())).toEqual(s.primaryKeys.map((k) => k.getName()));
    expect(p.columns.filter((c) => c.primary).map((c) => c.name)).toEqual(s.columns.filter((c) => c.primary).map((c) => c.name));
    const fks = (f: { getName(): string; onDelete?: string; onUpdate?: string }[]) =>
      f.map((x) => `${x.getName()} ON DELETE ${x.onDelete ?? "no action"} ON UPDATE ${x.onUpdate ?? "no action"}`).sort();
    expect(fks(p.foreignKeys)).toEqual(fks(s.foreignKeys));
  });
}

const PG_URL = "postgres://postgres@127.0.0.1:5432/test";

test("postgres migrations apply in a fresh schema; a NULL id is filled from the table's sequence", async () => {
  // One connection, so SET search_path holds for every statement.
  const sql = postgres(PG_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
  } catch (e) {
    await sql.end({ timeout: 1 }).catch(() => {});
    console.log(`SKIP: PostgreSQL on 127.0.0.1:5432 is unreachable (${(e as Error).message})`);
    return;
  }
  const schema = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  try {
    await sql.unsafe(`CREATE SCHEMA ${schema}`);
    await sql.unsafe(`SET search_path TO ${schema}`);
    for (const m of MIGRATIONS) {
      for (const stmt of m.sql.split("--> statement-breakpoint")) {
        if (!stmt.trim()) continue;
        try {
          await sql.unsafe(stmt);
        } catch (e) {
          throw new Error(`${m.tag}: ${(e as Error).message}\n${stmt.trim().slice(0, 300)}`);
        }
      }
    }

    // Every foreign key targets a table of this schema (no "public"."…" left in the SQL).
    const outside = await sql`
      SELECT conname FROM pg_constraint
      WHERE contype = 'f' AND connamespace = ${schema}::regnamespace
        AND (SELECT relnamespace FROM pg_class WHERE oid = confrelid) <> ${schema}::regnamespace`;
    expect(outside.map((r) => r.conname)).toEqual([]);

    // Each autoincrement table: a BEFORE INSERT trigger that fills the id from that table's own sequence.
    for (const table of autoIdTables) {
      const qualified = `${schema}.${table}`;
      const [row] = await sql`
        SELECT pg_get_serial_sequence(${qualified}, 'id') AS seq,
               array(SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = ${qualified}::regclass AND NOT tgisinternal) AS defs`;
      const seq = String(row!.seq).split(".").pop();
      const defs = row!.defs as string[];
      expect({ table, ok: defs.some((d) => d.includes("BEFORE INSERT") && d.includes(`gauntlet_fill_id('${seq}')`)) }).toEqual({ table, ok: true });
    }

    const now = 1_800_000_000_000; // past int4: the columns must be bigint
    const users = await sql`
      INSERT INTO users (id, username, username_key, password_hash, created_at)
      VALUES (NULL, 'ann', 'ann', 'h', ${now}), (NULL, 'bob', 'bob', 'h', ${now}) RETURNING id, created_at`;
    expect(users.map((r) => Number(r.id))).toEqual([1, 2]);
    expect(Number(users[0]!.created_at)).toBe(now);
    const [job] = await sql`INSERT INTO jobs (id, kind, run_at, created_at, updated_at) VALUES (NULL, 'k', ${now}, ${now}, ${now}) RETURNING id`;
    expect(Number(job!.id)).toBe(1);
    // An omitted id still takes the column default (same sequence).
    const [third] = await sql`INSERT INTO users (username, username_key, password_hash, created_at) VALUES ('cy', 'cy', 'h', ${now}) RETURNING id`;
    expect(Number(third!.id)).toBe(3);
  } finally {
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await sql.end({ timeout: 5 });
  }
});
