import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { spawn, type Subprocess } from "bun";
import { fstatSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCK_WAIT_MS, openDb, WAL_AUTOCHECKPOINT, WAL_AUTOCHECKPOINT_BEHIND_THREAD, type Db } from "./db.ts";

let db: Db;
let dir: string;
afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});
const open = (opts: Parameters<typeof openDb>[1] = {}) => {
  dir = mkdtempSync(join(tmpdir(), "gauntlet-db-"));
  db = openDb(join(dir, "t.db"), opts);
  db.writer.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
  return db;
};

describe("openDb", () => {
  test("the WAL stays small under sustained group commits while the reader reads (it is checkpointed and restarted)", async () => {
    // The mechanism at SQLite's default threshold, so the test stays quick; the shipped one is checked with the pragmas.
    open({ walAutocheckpoint: 1000 });
    const pad = "x".repeat(1000);
    let n = 0;
    // ~40 MB of rows in 200 commits, a read between commits: ten times the automatic checkpoint's 1,000 pages.
    for (let batch = 0; batch < 200; batch++) {
      await Promise.all(Array.from({ length: 200 }, () => db.write(() => db.writer.query("INSERT INTO t (v) VALUES (?)").run(`${n++}${pad}`))));
      db.reader.query("SELECT count(*) AS c FROM t").get();
    }
    expect((db.reader.query("SELECT count(*) AS c FROM t").get() as { c: number }).c).toBe(40_000);
    expect(statSync(join(dir, "t.db-wal")).size).toBeLessThan(16 * 1024 * 1024);
  });

  test("with the checkpoint thread the WAL stays small too, though the writer's own threshold is far above", async () => {
    open({ checkpointThread: { restartFrames: 1000 } });
    expect(db.writer.query("PRAGMA wal_autocheckpoint").get()).toEqual({ wal_autocheckpoint: WAL_AUTOCHECKPOINT_BEHIND_THREAD });
    const pad = "x".repeat(1000);
    let n = 0;
    // ~40 MB in 200 commits, as above: 10,000 pages, a fifth of the writer's own threshold.
    for (let batch = 0; batch < 200; batch++) {
      await Promise.all(Array.from({ length: 200 }, () => db.write(() => db.writer.query("INSERT INTO t (v) VALUES (?)").run(`${n++}${pad}`))));
      db.reader.query("SELECT count(*) AS c FROM t").get();
      if (batch % 20 === 19) await Bun.sleep(25); // a pass of the thread (every 20 ms) between bursts
    }
    expect((db.reader.query("SELECT count(*) AS c FROM t").get() as { c: number }).c).toBe(40_000);
    expect(statSync(join(dir, "t.db-wal")).size).toBeLessThan(16 * 1024 * 1024);
  });

  test("pragmas: WAL, synchronous FULL, foreign keys, busy timeout; reader is query-only", () => {
    open();
    expect(db.writer.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.writer.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
    expect(db.writer.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    expect(db.writer.query("PRAGMA busy_timeout").get()).toEqual({ timeout: 5000 });
    expect(db.writer.query("PRAGMA wal_autocheckpoint").get()).toEqual({ wal_autocheckpoint: WAL_AUTOCHECKPOINT });
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

describe("group commit durability: the WAL is synced off the event loop before writes resolve", () => {
  /** A syncWal that holds each sync until the test releases it. */
  const heldSyncs = () => {
    const calls: Array<{ fd: number; done: (err: Error | null) => void }> = [];
    return { calls, syncWal: (fd: number, done: (err: Error | null) => void) => void calls.push({ fd, done }) };
  };
  const turn = () => new Promise((r) => setImmediate(r));
  const count = () => (db.reader.query("SELECT count(*) AS n FROM t").get() as { n: number }).n;

  test("a write is committed at once but resolves only after a sync of the WAL file that started after its COMMIT", async () => {
    const h = heldSyncs();
    open({ syncWal: h.syncWal });
    let first = false;
    const p1 = db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('a')")).then(() => (first = true));
    await turn();
    expect(count()).toBe(1); // committed: other connections see it
    expect(h.calls.length).toBe(1);
    expect(fstatSync(h.calls[0].fd).ino).toBe(statSync(join(dir, "t.db-wal")).ino);
    await turn();
    expect(first).toBe(false); // not acknowledged before its sync returns

    // A second commit while the first sync is in flight: that sync may have started before it, so it waits for the next.
    let second = false;
    const p2 = db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('b')")).then(() => (second = true));
    await turn();
    expect(count()).toBe(2);
    expect(h.calls.length).toBe(1); // one sync in flight at a time
    h.calls[0].done(null);
    await p1;
    await turn();
    expect(second).toBe(false);
    expect(h.calls.length).toBe(2);
    h.calls[1].done(null);
    await p2;
    expect(second).toBe(true);
    // Outside the group commit the connection is FULL again (transaction(), migrations, checkpoints sync in SQLite).
    expect(db.writer.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
  });

  test("many writes in one commit share one sync", async () => {
    const h = heldSyncs();
    open({ syncWal: h.syncWal });
    const all = Promise.all(Array.from({ length: 100 }, (_, i) => db.write(() => db.writer.run("INSERT INTO t (v) VALUES (?)", [`v${i}`]))));
    await turn();
    expect(h.calls.length).toBe(1);
    h.calls[0].done(null);
    await all;
  });

  test("a failed sync fails the writes it covered, with its error; the store goes on", async () => {
    let fail = true;
    open({ syncWal: (_fd, done) => queueMicrotask(() => done(fail ? Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }) : null)) });
    const r = await Promise.allSettled([db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('a')")), db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('b')"))]);
    expect(r.map((x) => x.status)).toEqual(["rejected", "rejected"]);
    expect(((r[0] as PromiseRejectedResult).reason as { code: string }).code).toBe("EIO");
    fail = false;
    await db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('c')"));
    expect(count()).toBe(3);
  });

  test("close() syncs and settles the writes still waiting for a sync", async () => {
    const h = heldSyncs();
    open({ syncWal: h.syncWal });
    const p1 = db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('a')"));
    await turn();
    const p2 = db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('b')"));
    await turn();
    expect(h.calls.length).toBe(1);
    db.close();
    await Promise.all([p1, p2]);
    h.calls[0].done(null); // the late callback settles nothing twice and closes the WAL's fd
    const check = new Database(join(dir, "t.db"));
    expect(check.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 2 });
    check.close();
  });

  test("the sync has a thread of its own: a write is acknowledged while argon2 hashes fill the shared pool", async () => {
    open();
    await db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('warm')")); // the thread is up
    const order: string[] = [];
    const hashes = Array.from({ length: 16 }, () => Bun.password.hash("a signup storm").then(() => order.push("hash")));
    await Bun.sleep(5); // the hashes have the pool
    await db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('during')")).then(() => order.push("write"));
    await Promise.all(hashes);
    // On node:fs's pool the sync waited behind them (240 ms during 40 hashes here); on its thread it waits for none.
    expect(order[0]).toBe("write");
  });

  test("an in-memory store has no WAL to sync", async () => {
    const h = heldSyncs();
    dir = mkdtempSync(join(tmpdir(), "gauntlet-db-"));
    db = openDb(":memory:", { syncWal: h.syncWal });
    db.writer.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    await db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('a')"));
    expect(h.calls.length).toBe(0);
  });
});

/**
 * A second process on the same file, driven line by line over stdin:
 * "lock" takes the write lock (BEGIN IMMEDIATE) and writes an uncommitted row,
 * "commit" releases it, "hold MS" locks and commits by itself MS later, "churn N" commits N small transactions each followed
 * by a TRUNCATE checkpoint. Each command answers one line when done.
 */
const OTHER = `
import { Database } from "bun:sqlite";
const db = new Database(process.argv[1]);
db.run("PRAGMA busy_timeout = 5000");
const out = (s) => process.stdout.write(s + "\\n");
let buf = "";
process.stdin.on("data", (c) => {
  buf += c;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const [cmd, n] = buf.slice(0, i).split(" ");
    buf = buf.slice(i + 1);
    if (cmd === "lock" || cmd === "hold") { db.run("BEGIN IMMEDIATE"); db.run("INSERT INTO t (v) VALUES ('other')"); out("locked"); }
    if (cmd === "hold") setTimeout(() => db.run("COMMIT"), Number(n));
    else if (cmd === "commit") { db.run("COMMIT"); out("committed"); }
    else if (cmd === "churn") {
      db.run("PRAGMA synchronous = OFF"); // many commits fast; durability is not what is tested
      for (let k = 0; k < Number(n); k++) { db.run("INSERT INTO t (v) VALUES (?)", ["churn" + k]); db.run("PRAGMA wal_checkpoint(TRUNCATE)"); }
      out("churned");
    }
  }
});
out("ready");
`;

async function otherProcess(path: string) {
  const p: Subprocess<"pipe", "pipe", "inherit"> = spawn([process.execPath, "-e", OTHER, path], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = p.stdout.getReader();
  let buf = "";
  const line = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf("\n");
      if (i >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        return l;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`other process exited (${await p.exited})`);
      buf += new TextDecoder().decode(value);
    }
  };
  expect(await line()).toBe("ready");
  return {
    async do(cmd: string) {
      p.stdin.write(cmd + "\n");
      p.stdin.flush();
      return line();
    },
    kill: () => p.kill(9),
  };
}

/** Counts timer ticks and the longest gap between two: a blocked event loop shows as a long gap. */
function ticker(everyMs = 5) {
  let ticks = 0;
  let last = performance.now();
  let maxGap = 0;
  const t = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, everyMs);
  return {
    get ticks() {
      return ticks;
    },
    get maxGap() {
      return maxGap;
    },
    /** Resolves after `n` more ticks: real time passing, measured by the event loop itself. */
    after(n: number) {
      const goal = ticks + n;
      return new Promise<void>((r) => {
        const c = setInterval(() => {
          if (ticks >= goal) (clearInterval(c), r());
        }, everyMs);
      });
    },
    stop: () => clearInterval(t),
  };
}

describe("another process holds the write lock", () => {
  test("the event loop keeps running; queued writes join one batch and commit once the lock is released", async () => {
    open();
    const other = await otherProcess(db.path);
    try {
      expect(await other.do("lock")).toBe("locked");
      const tick = ticker();
      const batchesBefore = db.stats.batches;
      const started = performance.now();
      const first = Array.from({ length: 50 }, (_, i) => db.write(() => db.writer.run("INSERT INTO t (v) VALUES (?)", [`a${i}`])));
      let settled = 0;
      for (const p of first) p.then(() => settled++, () => settled++);
      await tick.after(20);
      // Written while the first ones wait: they join the same queue.
      const later = Array.from({ length: 50 }, (_, i) => db.write(() => db.writer.run("INSERT INTO t (v) VALUES (?)", [`b${i}`])));
      await tick.after(20);
      expect(settled).toBe(0);
      expect(db.stats.busyRetries).toBeGreaterThan(5);
      // Reads are not blocked either: committed data only, at once.
      expect(db.reader.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 0 });

      expect(await other.do("commit")).toBe("committed");
      await Promise.all([...first, ...later]);
      const waited = performance.now() - started;
      tick.stop();
      console.log(`lock held ${waited.toFixed(0)} ms by another process: ${tick.ticks} ticks of 5 ms, longest gap ${tick.maxGap.toFixed(1)} ms, ${db.stats.busyRetries} retries, ${db.stats.batches - batchesBefore} commit(s) for 100 writes`);
      // With SQLite's busy handler the loop would sleep through the whole wait (5 s: the release above could never be sent).
      expect(tick.maxGap).toBeLessThan(250);
      expect(db.stats.batches - batchesBefore).toBeLessThanOrEqual(2);
      expect(db.stats.lockTimeouts).toBe(0);
      expect(db.reader.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 101 });
    } finally {
      other.kill();
    }
  });

  test("a write that waits past the bound fails with database_busy; the loop never stalls; the next write commits", async () => {
    expect(LOCK_WAIT_MS).toBe(5000);
    open({ lockWaitMs: 300 });
    const other = await otherProcess(db.path);
    try {
      expect(await other.do("lock")).toBe("locked");
      const tick = ticker();
      const started = performance.now();
      const err = await db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('late')")).then(
        () => null,
        (e) => e,
      );
      const waited = performance.now() - started;
      tick.stop();
      console.log(`bound 300 ms: failed after ${waited.toFixed(0)} ms, longest event-loop gap ${tick.maxGap.toFixed(1)} ms`);
      expect(err?.code).toBe("database_busy");
      expect(err?.status).toBe(503);
      expect(err?.message).toMatch(/another process held its write lock/);
      expect(waited).toBeGreaterThanOrEqual(300);
      // Bounded by the setting, not by SQLite's 5 s busy handler; slack for a busy machine.
      expect(waited).toBeLessThan(1500);
      expect(tick.maxGap).toBeLessThan(250);
      expect(db.stats.lockTimeouts).toBe(1);

      expect(await other.do("commit")).toBe("committed");
      await db.write(() => db.writer.run("INSERT INTO t (v) VALUES ('after')"));
      expect(db.reader.query("SELECT v FROM t ORDER BY v").all()).toEqual([{ v: "after" }, { v: "other" }]);
    } finally {
      other.kill();
    }
  });

  test("transaction() (CLI, migrations) still waits for the lock in SQLite's busy handler", async () => {
    open();
    const other = await otherProcess(db.path);
    try {
      expect(db.writer.query("PRAGMA busy_timeout").get()).toEqual({ timeout: LOCK_WAIT_MS });
      expect(await other.do("hold 200")).toBe("locked");
      const started = performance.now();
      db.transaction(() => db.writer.run("INSERT INTO t (v) VALUES ('cli')"));
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThan(100);
      expect(db.reader.query("SELECT v FROM t ORDER BY v").all()).toEqual([{ v: "cli" }, { v: "other" }]);
    } finally {
      other.kill();
    }
  });

  test("readers never get SQLITE_BUSY, even with no busy handler, while another process writes and truncates the WAL", async () => {
    open();
    const other = await otherProcess(db.path);
    const ro = new Database(db.path, { readonly: true });
    ro.run("PRAGMA busy_timeout = 0");
    try {
      expect(await other.do("lock")).toBe("locked");
      expect(ro.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 0 });
      expect(await other.do("commit")).toBe("committed");
      const churn = other.do("churn 1000");
      let reads = 0;
      let done = false;
      void churn.then(() => (done = true));
      const q = ro.query("SELECT count(*) AS n FROM t");
      while (!done) {
        for (let i = 0; i < 200; i++) q.get(); // throws on SQLITE_BUSY
        reads += 200;
        await new Promise((r) => setImmediate(r));
      }
      console.log(`${reads} reads with busy_timeout 0 during 1,000 commits + TRUNCATE checkpoints by another process: no SQLITE_BUSY`);
      expect(reads).toBeGreaterThan(0);
      expect(q.get()).toEqual({ n: 1001 });
    } finally {
      ro.close();
      other.kill();
    }
  });
});
