/**
 * The PostgreSQL schema, DERIVED IN CODE from the SQLite one (./index.ts).
 *
 * Why derived: the stores are not written twice. The same SQLite-dialect SQL
 * (raw and drizzle sqlite-core builders) reaches PostgreSQL through the
 * translating connection (src/db/pg/), so PostgreSQL needs exactly the same
 * table, column, constraint and index names and the same semantics. Deriving
 * means the two cannot drift; drizzle-kit reads this file
 * (drizzle.pg.config.ts) to generate src/db/migrations/postgres.
 *
 * Type rules: every sqlite integer (number, boolean and timestamp modes) is a
 * bigint (ms timestamps overflow int4; booleans stay 0/1 because the app sends
 * 0/1), text is text, real is double precision, blob is bytea. An
 * autoincrement id is a bigserial. drizzle's sqlite-core INSERT sends an
 * explicit NULL for an omitted id (SQLite makes a new rowid of it), so the
 * hand-written migration 0001_fill_id adds a BEFORE INSERT trigger on each such
 * table that takes a NULL id from the sequence.
 *
 * Derived: columns in order, defaults, NOT NULL, primary keys, foreign keys
 * (names and ON DELETE/UPDATE), unique constraints, checks and indexes
 * (unique, partial, expression/DESC). The SQL fragments of checks, index
 * expressions and partial-index WHERE clauses are RE-BOUND: each sqlite column
 * in them is replaced by the pg column of the same name; the text around them
 * is kept as is (it is valid PostgreSQL for the current schema; the migration
 * test in pg.test.ts applies it). Hand-written: only the export list at the
 * end (pg.test.ts checks that it names every sqlite table) and the trigger
 * migration. Anything the derivation does not know (JS-side defaults,
 * generated columns, a new column type, a column of another table in a
 * fragment) throws, so a new SQLite feature cannot slip through unnoticed.
 */
import { getTableColumns, is, SQL, Table } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  customType,
  doublePrecision,
  foreignKey,
  index,
  pgTable,
  primaryKey,
  text,
  unique,
  uniqueIndex,
  type PgColumn,
  type PgTableWithColumns,
} from "drizzle-orm/pg-core";
import { getTableConfig, SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import * as sqliteSchema from "./index.ts";

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

// Loosely typed builder chain: the pg tables exist for migrations and the drift test, not for typed queries.
type AnyBuilder = any;

const fail = (table: string, what: string): never => {
  throw new Error(`schema/pg.ts: cannot derive ${table}: ${what}`);
};

function pgDefault(table: string, c: SQLiteColumn): unknown {
  const v: unknown = c.default;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" || typeof v === "string" || typeof v === "bigint") return v;
  if (is(v, SQL)) return rebind(table, v, () => fail(table, `column ${c.name}: default references a column`));
  return fail(table, `column ${c.name}: default of type ${typeof v}`);
}

function pgColumn(table: string, c: SQLiteColumn): AnyBuilder {
  if (c.defaultFn || c.onUpdateFn) fail(table, `column ${c.name}: JS-side default/onUpdate`);
  if (c.generated) fail(table, `column ${c.name}: generated column`);
  const autoIncrement = (c as { autoIncrement?: boolean }).autoIncrement === true;
  let b: AnyBuilder;
  switch (c.columnType) {
    case "SQLiteInteger":
    case "SQLiteBoolean":
    case "SQLiteTimestamp":
      b = autoIncrement ? bigserial(c.name, { mode: "number" }) : bigint(c.name, { mode: "number" });
      break;
    case "SQLiteText":
    case "SQLiteTextJson":
      b = c.enumValues?.length ? text(c.name, { enum: c.enumValues as [string, ...string[]] }) : text(c.name);
      break;
    case "SQLiteReal":
      b = doublePrecision(c.name);
      break;
    case "SQLiteBlobBuffer":
    case "SQLiteBlobJson":
    case "SQLiteBigInt":
      b = bytea(c.name);
      break;
    default:
      return fail(table, `column ${c.name}: type ${c.columnType}`);
  }
  if (c.primary) b = b.primaryKey();
  else if (c.notNull) b = b.notNull();
  if (c.isUnique) b = b.unique(c.uniqueName);
  if (c.default !== undefined) b = b.default(pgDefault(table, c));
  return b;
}

/** A copy of `q` with each sqlite column replaced by `col(column)`; other chunks are kept. */
function rebind(table: string, q: SQL, col: (c: SQLiteColumn) => PgColumn): SQL {
  const map = (ch: unknown): unknown => {
    if (Array.isArray(ch)) return ch.map(map);
    if (is(ch, SQLiteColumn)) return col(ch);
    if (is(ch, SQL)) return rebind(table, ch, col);
    if (is(ch, Table)) return fail(table, "a table inside an SQL fragment");
    return ch;
  };
  return new SQL(q.queryChunks.map(map) as SQL["queryChunks"]);
}

/** pg table per sqlite table; filled before any extra config runs (pgTable calls it lazily). */
const pgOf = new Map<SQLiteTable, PgTableWithColumns<any>>();

function pgColumnOf(table: string, c: SQLiteColumn): PgColumn {
  const pg = pgOf.get(c.table as SQLiteTable) ?? fail(table, `column ${c.name} of a table that is not exported`);
  const hit = (Object.values(getTableColumns(pg)) as PgColumn[]).find((x) => x.name === c.name);
  return hit ?? fail(table, `no pg column ${c.name}`);
}

function derive(t: SQLiteTable): PgTableWithColumns<any> {
  const cfg = getTableConfig(t);
  const name = cfg.name;
  const columns = Object.fromEntries(Object.entries(getTableColumns(t)).map(([key, c]) => [key, pgColumn(name, c)]));
  return pgTable(name, columns, (self) => {
    // Extra config takes the columns pgTable hands it (they carry index options), by name.
    const byName = new Map((Object.values(self) as PgColumn[]).map((c) => [c.name, c]));
    // A column of this table only: a fragment naming another table's column is not a re-bind we understand.
    const own = (c: SQLiteColumn): PgColumn =>
      (c.table === t ? byName.get(c.name) : undefined) ?? fail(name, `no pg column for ${c.name} (another table's column?)`);
    const bind = (q: SQL) => rebind(name, q, own);
    const extra: AnyBuilder[] = [];
    for (const pk of cfg.primaryKeys) extra.push(primaryKey({ name: pk.getName(), columns: pk.columns.map(own) as [PgColumn, ...PgColumn[]] }));
    for (const u of cfg.uniqueConstraints) extra.push(unique(u.getName()).on(...(u.columns.map(own) as [PgColumn, ...PgColumn[]])));
    for (const fk of cfg.foreignKeys) {
      const ref = fk.reference();
      const b = foreignKey({
        name: fk.getName(),
        columns: ref.columns.map(own) as [PgColumn, ...PgColumn[]],
        foreignColumns: ref.foreignColumns.map((c) => pgColumnOf(name, c)) as [PgColumn, ...PgColumn[]],
      });
      extra.push(b.onDelete(fk.onDelete ?? "no action").onUpdate(fk.onUpdate ?? "no action"));
    }
    for (const c of cfg.checks) extra.push(check(c.name, bind(c.value)));
    for (const ix of cfg.indexes) {
      const on = ix.config.columns.map((x) => (is(x, SQL) ? bind(x) : own(x as SQLiteColumn)));
      let b: AnyBuilder = (ix.config.unique ? uniqueIndex : index)(ix.config.name).on(...(on as [PgColumn, ...PgColumn[]]));
      if (ix.config.where) b = b.where(bind(ix.config.where));
      extra.push(b);
    }
    return extra;
  });
}

type Sqlite = typeof sqliteSchema;
type TableKeys = { [K in keyof Sqlite]: Sqlite[K] extends SQLiteTable ? K : never }[keyof Sqlite];
/** The pg counterpart of a sqlite table: same name and column keys, loosely typed columns. */
export type PgOf<T extends SQLiteTable> = PgTableWithColumns<{
  name: T["_"]["name"];
  schema: undefined;
  dialect: "pg";
  columns: { [K in keyof T["_"]["columns"]]: PgColumn };
}>;

/** Every pg table, under the sqlite export name. */
export const pgTables = (() => {
  const out: Record<string, PgTableWithColumns<any>> = {};
  for (const [key, v] of Object.entries(sqliteSchema)) {
    if (!is(v, SQLiteTable)) continue;
    const pg = derive(v);
    pgOf.set(v, pg);
    out[key] = pg;
  }
  return out as unknown as { [K in TableKeys]: PgOf<Sqlite[K]> };
})();

// drizzle-kit finds tables among a module's named exports, which cannot be made
// dynamically: this list is the one hand-written part (pg.test.ts checks it is complete).
export const {
  users,
  sessions,
  kv,
  events,
  puzzles,
  attachments,
  huntPlayers,
  progress,
  hintReveals,
  attempts,
  ledger,
  actionLog,
  huntScoreBuckets,
  requestLog,
  requestRollup,
  requestLatency,
  problems,
  problemTests,
  problemFiles,
  matches,
  matchPlayers,
  matchCode,
  submissions,
  arenaQueue,
  ratings,
  realtimeTopics,
  realtimeMessages,
  announcements,
  jobs,
  cronSchedules,
  cronFires,
} = pgTables;
