import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { openDb } from "../db/db.ts";
import { migrate } from "../db/migrate.ts";
import { createBackup, pruneBackups, restoreBackup } from "./backup.service.ts";
import { padding, readTar, tarHeader, trailer } from "./tar.ts";
import { sqliteOnly } from "../testing.ts";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "gauntlet-backup-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

function dataDirWithContent() {
  const dir = tmp();
  const db = openDb(join(dir, "gauntlet.db"));
  migrate(db);
  db.transaction(() => {
    for (let i = 0; i < 500; i++) db.writer.run("INSERT INTO kv (key, value) VALUES (?, ?)", [`k${i}`, "x".repeat(i)]);
  });
  db.close();
  for (const content of ["first blob", "second blob", ""]) {
    const h = sha(content);
    mkdirSync(join(dir, "blobs", h.slice(0, 2)), { recursive: true });
    writeFileSync(join(dir, "blobs", h.slice(0, 2), h), content);
  }
  // An in-flight put's temp file is not a blob and must not travel.
  writeFileSync(join(dir, "blobs", sha("first blob").slice(0, 2), ".tmp-123"), "partial");
  return dir;
}

/** Builds a .tar.gz from raw entries, to feed restore archives it would never write itself. */
function archive(entries: { name: string; data: string | Uint8Array }[], opts: { noTrailer?: boolean } = {}) {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const d = typeof e.data === "string" ? Buffer.from(e.data) : e.data;
    parts.push(tarHeader(e.name, d.length, 0), d, padding(d.length));
  }
  if (!opts.noTrailer) parts.push(trailer());
  return gzipSync(Buffer.concat(parts));
}

describe("tar", () => {
  test("round-trips entries of every size around the block boundary, in small chunks", async () => {
    const sizes = [0, 1, 511, 512, 513, 4096, 70_000];
    const entries = sizes.map((n, i) => ({ name: `f${i}`, data: new Uint8Array(n).map((_, j) => (j * 31 + i) & 255) }));
    const gz = archive(entries);
    const raw = gunzipSync(gz);
    async function* chunks() {
      for (let i = 0; i < raw.length; i += 333) yield raw.subarray(i, i + 333);
    }
    const got: Record<string, Buffer> = {};
    await readTar(chunks(), (e) => {
      const parts: Uint8Array[] = [];
      return { write: (c) => void parts.push(Buffer.from(c)), end: () => void (got[e.name] = Buffer.concat(parts)) };
    });
    for (const e of entries) expect(Buffer.compare(got[e.name], Buffer.from(e.data))).toBe(0);
  });

  test("refuses a truncated archive and a corrupted header", async () => {
    const raw = gunzipSync(archive([{ name: "a", data: "hello" }]));
    const sink = () => ({ write() {}, end() {} });
    const once = async function* (b: Uint8Array) {
      yield b;
    };
    await expect(readTar(once(raw.subarray(0, 600)), sink)).rejects.toThrow(/truncated/);
    const bad = Uint8Array.from(raw);
    bad[10] ^= 1;
    await expect(readTar(once(bad), sink)).rejects.toThrow(/checksum/);
  });
});

describe("backup and restore", () => {
  test("round trip: database rows, blobs and nothing else; system tar can read it", async () => {
    const data = dataDirWithContent();
    const out = join(tmp(), "b.tar.gz");
    const phases = new Set<string>();
    const r = await createBackup({ dataDir: data, to: out, progress: (_d, _t, p) => phases.add(p) });
    expect(r.blobs).toBe(3);
    expect(phases).toEqual(new Set(["snapshot", "archive"]));
    expect(existsSync(out + ".partial")).toBe(false);
    const list = Bun.spawnSync(["tar", "tzf", out]).stdout.toString().trim().split("\n").sort();
    expect(list).toEqual(["blobs/" + sha("").slice(0, 2) + "/" + sha(""), "blobs/" + sha("first blob").slice(0, 2) + "/" + sha("first blob"), "blobs/" + sha("second blob").slice(0, 2) + "/" + sha("second blob"), "gauntlet.db", "manifest.json"].sort());

    const target = join(tmp(), "restored");
    const res = await restoreBackup({ file: out, dataDir: target });
    expect(res.tables.kv).toBe(500);
    const db = new Database(join(target, "gauntlet.db"), { readonly: true });
    expect((db.query("SELECT value FROM kv WHERE key = 'k499'").get() as { value: string }).value).toBe("x".repeat(499));
    db.close();
    expect(readFileSync(join(target, "blobs", sha("second blob").slice(0, 2), sha("second blob")), "utf8")).toBe("second blob");
  });

  test("a missing blobs folder is fine; a missing database is an error", async () => {
    const data = dataDirWithContent();
    rmSync(join(data, "blobs"), { recursive: true });
    const out = join(tmp(), "b.tar.gz");
    expect((await createBackup({ dataDir: data, to: out })).blobs).toBe(0);
    await expect(createBackup({ dataDir: tmp(), to: join(tmp(), "x.tar.gz") })).rejects.toThrow(/no database/);
  });

  test("restore refuses a non-empty data dir and leaves it untouched", async () => {
    const data = dataDirWithContent();
    const out = join(tmp(), "b.tar.gz");
    await createBackup({ dataDir: data, to: out });
    const target = tmp();
    writeFileSync(join(target, "keep.txt"), "mine");
    await expect(restoreBackup({ file: out, dataDir: target })).rejects.toThrow(/not empty/);
    expect(readdirSync(target)).toEqual(["keep.txt"]);
  });

  const manifestOf = (files: { name: string; data: string }[]) =>
    JSON.stringify({ format: "gauntlet-backup", version: 1, gauntlet: "t", createdAt: "t", files: files.map((f) => ({ name: f.name, bytes: Buffer.byteLength(f.data), sha256: sha(f.data) })) });

  test.each([
    ["path traversal", [{ name: "../evil", data: "x" }], /unexpected entry/],
    ["absolute path", [{ name: "/tmp/evil", data: "x" }], /unexpected entry/],
    ["stray file", [{ name: "gauntlet.toml", data: "port = 1" }], /unexpected entry/],
    ["no manifest", [{ name: "gauntlet.db", data: "x" }], /no manifest/],
    ["not a database", [{ name: "gauntlet.db", data: "not sqlite" }, { name: "manifest.json", data: manifestOf([{ name: "gauntlet.db", data: "not sqlite" }]) }], /integrity_check|not a database|file is not/],
    [
      "blob not matching its address",
      [
        { name: `blobs/${sha("a").slice(0, 2)}/${sha("a")}`, data: "b" },
        { name: "manifest.json", data: manifestOf([{ name: `blobs/${sha("a").slice(0, 2)}/${sha("a")}`, data: "b" }]) },
      ],
      /content address/,
    ],
    ["checksum mismatch", [{ name: "gauntlet.db", data: "x" }, { name: "manifest.json", data: manifestOf([{ name: "gauntlet.db", data: "y" }]) }], /checksum/],
  ] as const)("restore refuses %s and leaves the data dir empty", async (_n, entries, err) => {
    const file = join(tmp(), "evil.tar.gz");
    writeFileSync(file, archive(entries as unknown as { name: string; data: string }[]));
    const target = join(tmp(), "t");
    await expect(restoreBackup({ file, dataDir: target })).rejects.toThrow(err);
    expect(readdirSync(target)).toEqual([]);
    expect(existsSync(join(target, "..", "evil"))).toBe(false);
  });

  test("restore refuses a file that is not gzip, and a truncated archive", async () => {
    const notGz = join(tmp(), "x.tar.gz");
    writeFileSync(notGz, "hello");
    await expect(restoreBackup({ file: notGz, dataDir: join(tmp(), "t") })).rejects.toThrow();
    const data = dataDirWithContent();
    const out = join(tmp(), "b.tar.gz");
    await createBackup({ dataDir: data, to: out });
    const cut = join(tmp(), "cut.tar.gz");
    const whole = readFileSync(out);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const target = join(tmp(), "t2");
    await expect(restoreBackup({ file: cut, dataDir: target })).rejects.toThrow();
    expect(readdirSync(target)).toEqual([]);
  });

  test("pruneBackups keeps the newest N of its own files only", () => {
    const dir = tmp();
    const names = ["gauntlet-20300101T000000Z.tar.gz", "gauntlet-20300102T000000Z.tar.gz", "gauntlet-20300103T000000Z.tar.gz", "pre-upgrade-x", "notes.txt"];
    for (const n of names) writeFileSync(join(dir, n), "");
    expect(pruneBackups(dir, 2)).toEqual(["gauntlet-20300101T000000Z.tar.gz"]);
    expect(readdirSync(dir).sort()).toEqual(names.slice(1).sort());
  });
});

describe.skipIf(sqliteOnly("scheduled backups archive the SQLite file; on PostgreSQL the job is not registered (pg_dump)"))("scheduled backups", () => {
  test("the cron schedule fires a durable job that writes an archive and keeps backupKeep", async () => {
    const { testServices } = await import("../testing.ts");
    const { registerBackupJobs, BACKUP_JOB } = await import("./backup.jobs.ts");
    const s = testServices({ "backup-cron": "0 3 * * *", "backup-keep": "2" });
    try {
      await registerBackupJobs(s);
      s.queue.start({ workers: true, cron: true });
      const backups = join(s.config.dataDir, "backups");
      for (let day = 1; day <= 3; day++) {
        // T0 is 12:00 UTC: the next 03:00 is 15 h ahead, then every 24 h.
        s.clock.advance(day === 1 ? 15 * 3_600_000 + 60_000 : 24 * 3_600_000);
        // The cron tick commits the fired job asynchronously; poll for it (real time, not a game rule).
        for (let i = 0; i < 500 && s.queue.list({ kind: BACKUP_JOB }).total < day; i++) await Bun.sleep(10);
        const all = s.queue.list({ kind: BACKUP_JOB });
        expect(all.total).toBe(day);
        for (const j of all.jobs) expect((await s.queue.wait(j.id, 10_000)).status).toBe("SUCCEEDED");
      }
      const files = readdirSync(backups).filter((f) => f.endsWith(".tar.gz"));
      expect(files.length).toBe(2);
      // The kept archives are real backups.
      const r = await restoreBackup({ file: join(backups, files.sort().at(-1)!), dataDir: join(tmp(), "r") });
      expect(r.tables.jobs).toBeGreaterThanOrEqual(1);
    } finally {
      await s.queue.stop(1000);
      s.cleanup();
    }
  }, 30_000);
});
