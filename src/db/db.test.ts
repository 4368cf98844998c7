import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "./db.ts";

let db: Db;
let dir: string;
afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});
const open = () => {
  dir = mkdtempSync(join(tmpdir(), "gauntlet-db-"));
  db = openDb(join(dir, "t.db"));
  db.writer.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
  return db;
};

describe("openDb", () => {
  test("pragmas: WAL, synchronous FULL, foreign keys, busy timeout; reader is query-only", () => {
    open();
    expect(db.writer.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.writer.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
    expect(db.writer.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    expect(db.writer.query("PRAGMA busy_timeout").get()).toEqual({ timeout: 5000 });
    expect(() => db.reader.run("INSERT INTO t (v) VALUES ('x')")).toThrow();
  });

  test("concurrent writes share one commit, and each resolves with its own result", async () => {
    open();
    const before = db.stats.batches;
    const ids = await Promise.all(Array.from({ length: 500 }, (_, i) => db.write(() => Number((db.writer.query("INSERT INTO t (v) VALUES (?) RETURNING id").get(`v${i}`) as { id: number }).id))));
    expect(new Set(ids).size).toBe(500);
    expect(db.stats.batches - before).toBe(1);
    expect(db.reader.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 500 });
  });

  test("a failing body rolls back alone; the rest of its batch commits", async () => {
    open();
    const results = await Promise.allSettled([
      db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('a')")),
      db.write(() => {
        db.writer.run("INSERT INTO t (v) VALUES ('b')");
        throw new Error("rule says no");
      }),
      db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('a')")), // UNIQUE violation
      db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('c')")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
    expect(db.reader.query("SELECT v FROM t ORDER BY v").all()).toEqual([{ v: "a" }, { v: "c" }]);
  });

  test("async bodies are refused (no I/O inside a transaction)", async () => {
    open();
    await expect(db.write((async () => 1) as never)).rejects.toThrow(/synchronous/);
  });

  test("a nested transaction is refused instead of silently committing early", async () => {
    open();
    await expect(db.write(() => db.transaction(() => 1))).rejects.toThrow(/nested/);
  });

  test("reads see only committed data", async () => {
    open();
    const p = db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('later')"));
    expect(db.reader.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 0 });
    await p;
    expect(db.reader.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 1 });
  });
});
