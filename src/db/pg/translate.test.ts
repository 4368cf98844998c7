import { describe, expect, test } from "bun:test";
import { toPostgres } from "./translate.ts";

describe("SQLite → PostgreSQL statement text", () => {
  test("placeholders: bare ? in order, ?NNN keeps its number", () => {
    expect(toPostgres("SELECT a FROM t WHERE x = ? AND y = ?")).toBe("SELECT a FROM t WHERE x = $1 AND y = $2");
    expect(toPostgres("UPDATE t SET a = ?2 WHERE id = ?1 AND b = ?2")).toBe("UPDATE t SET a = $2 WHERE id = $1 AND b = $2");
  });

  test("nothing inside string literals or quoted identifiers is rewritten", () => {
    expect(toPostgres(`SELECT 'a ? b LIKE c' AS "weirdName?" FROM t WHERE n LIKE ?`)).toBe(`SELECT 'a ? b LIKE c' AS "weirdName?" FROM t WHERE n ILIKE $1`);
    expect(toPostgres("SELECT 'it''s ?' FROM t WHERE x = ?")).toBe("SELECT 'it''s ?' FROM t WHERE x = $1");
  });

  test("camelCase aliases are quoted; lower-case and type names are not", () => {
    expect(toPostgres("SELECT event_id AS eventId, points AS p, CAST(v AS INTEGER) AS n FROM x")).toBe(
      'SELECT event_id AS "eventId", points AS p, CAST(v AS BIGINT) AS n FROM x',
    );
  });

  test("INSERT OR IGNORE becomes ON CONFLICT DO NOTHING, before RETURNING", () => {
    expect(toPostgres("INSERT OR IGNORE INTO t (a) VALUES (?)")).toBe("INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING");
    expect(toPostgres("INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING id")).toBe("INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id");
  });

  test("functions and clauses SQLite spells its own way", () => {
    expect(toPostgres("SELECT ifnull(a, 0), string_agg(u, char(31)) FROM t WHERE n NOT LIKE ? LIMIT -1 OFFSET 5")).toBe(
      "SELECT COALESCE(a, 0), string_agg(u, chr(31)) FROM t WHERE n NOT ILIKE $1 LIMIT ALL OFFSET 5",
    );
    expect(toPostgres("SELECT x FROM t WHERE id IN (SELECT value FROM json_each(?3))")).toBe(
      "SELECT x FROM t WHERE id IN (SELECT value::bigint FROM json_array_elements_text($3::text::json))",
    );
  });

  test("backtick identifiers become double-quoted", () => {
    expect(toPostgres("SELECT `key` FROM `kv`")).toBe('SELECT "key" FROM "kv"');
  });
});

test("a conflict target loses drizzle's table qualifier", () => {
  expect(toPostgres('insert into "users" ("id", "k") values (null, ?) on conflict ("users"."k") do nothing returning "id"')).toBe(
    'insert into "users" ("id", "k") values (null, $1) on conflict ("k") do nothing returning "id"',
  );
});
