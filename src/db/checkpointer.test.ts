import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb, type Db } from "./db.ts";

let dir = "";
let db: Db | null = null;
afterEach(() => {
  db?.close();
  db = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Polls (real time: this is about a thread, not a game rule) until `ok` or the deadline. */
async function until(ok: () => boolean, ms = 5000) {
  const end = performance.now() + ms;
  while (!ok() && performance.now() < end) await Bun.sleep(20);
  return ok();
}

async function fill(d: Db, rows: number) {
  d.writer.run("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)");
  const pad = "x".repeat(500);
  for (let i = 0; i < rows; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => d.write(() => d.writer.query("INSERT INTO t (v) VALUES (?)").run(`${i + j}${pad}`))));
}

describe("WAL checkpoints on a worker thread", () => {
  test("the writer's automatic checkpoint is off, and the worker moves the WAL into the database file", async () => {
    dir = mkdtempSync(join(tmpdir(), "gauntlet-ckpt-"));
    const path = join(dir, "g.db");
    db = openDb(path, { checkpointer: true, checkpointIntervalMs: 20 });
    expect(db.writer.query("PRAGMA wal_autocheckpoint").get()).toEqual({ wal_autocheckpoint: 0 });
    const before = statSync(path).size;
    await fill(db, 3000); // ~1.5 MB of rows: well past what one page holds
    expect(await until(() => statSync(path).size > before + 1_000_000)).toBe(true);
    expect((db.reader.query("SELECT count(*) AS n FROM t").get() as { n: number }).n).toBe(3000);
  });

  test("without the worker nothing copies the WAL back while the writer's automatic checkpoint is off (the check above can fail)", async () => {
    dir = mkdtempSync(join(tmpdir(), "gauntlet-ckpt-"));
    const path = join(dir, "g.db");
    db = openDb(path);
    db.writer.run("PRAGMA wal_autocheckpoint = 0");
    const before = statSync(path).size;
    await fill(db, 3000);
    expect(await until(() => statSync(path).size > before + 1_000_000, 300)).toBe(false);
  });

  test("a worker that cannot open the database hands checkpoints back to the writer", async () => {
    dir = mkdtempSync(join(tmpdir(), "gauntlet-ckpt-"));
    const path = join(dir, "g.db");
    const errors: string[] = [];
    const { startCheckpointer } = await import("./checkpointer.ts");
    db = openDb(path);
    const c = startCheckpointer(join(dir, "missing", "nope.db"), db.writer, { intervalMs: 20, onError: (m) => errors.push(m) });
    expect(await until(() => errors.length > 0)).toBe(true);
    expect(db.writer.query("PRAGMA wal_autocheckpoint").get()).toEqual({ wal_autocheckpoint: 1000 });
    await c.stop();
  });
});
