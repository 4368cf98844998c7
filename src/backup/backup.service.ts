/**
 * `gauntlet backup` / `gauntlet restore`: one gzipped tar holding a
 * consistent snapshot of the database, the content-addressed blobs, and a
 * manifest with each file's SHA-256.
 *
 * Order matters for consistency: the database snapshot is taken first, the
 * blob folder listed after it. Blobs are immutable and written (fsynced)
 * before any row names them, so every blob a snapshot row can reference
 * already exists when the folder is listed; extra newer blobs are harmless.
 *
 * The archive is written to `<file>.partial`, fsynced, then renamed, so a
 * crash mid-backup never leaves something that looks like a finished backup.
 */
import { once } from "node:events";
import { closeSync, createReadStream, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { createGunzip, createGzip } from "node:zlib";
import { VERSION } from "../version.ts";
import { integrityCheck, snapshotInto, tableCounts } from "./backup.store.ts";
import { padding, readTar, tarHeader, trailer } from "./tar.ts";

export const DB_NAME = "gauntlet.db";
const BLOB_NAME = /^blobs\/[0-9a-f]{2}\/[0-9a-f]{64}$/;
const MANIFEST = "manifest.json";

export interface Progress {
  (done: number, total: number, phase: string): void;
}

export interface BackupResult {
  file: string;
  bytes: number;
  files: number;
  blobs: number;
  dbBytes: number;
  ms: number;
}

export interface Manifest {
  format: "gauntlet-backup";
  version: 1;
  gauntlet: string;
  createdAt: string;
  files: { name: string; bytes: number; sha256: string }[];
}

/** Sorts by time as a string; milliseconds keep two quick backups apart. */
export const defaultBackupName = (now: number) => `gauntlet-${new Date(now).toISOString().replace(/[-:]/g, "")}.tar.gz`;

function listBlobs(dataDir: string): { name: string; path: string; size: number }[] {
  const root = join(dataDir, "blobs");
  if (!existsSync(root)) return [];
  const out: { name: string; path: string; size: number }[] = [];
  for (const pre of readdirSync(root).sort()) {
    if (!/^[0-9a-f]{2}$/.test(pre)) continue;
    const dir = join(root, pre);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir).sort()) {
      // Temp files of an in-flight put are not blobs yet.
      const name = `blobs/${pre}/${f}`;
      if (!BLOB_NAME.test(name)) continue;
      const p = join(dir, f);
      const st = statSync(p);
      if (st.isFile()) out.push({ name, path: p, size: st.size });
    }
  }
  return out;
}

function fsyncPath(p: string, dir = false) {
  let fd: number | null = null;
  try {
    fd = openSync(p, "r");
    fsyncSync(fd);
  } catch (e) {
    if (!dir) throw e;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Takes a consistent online backup of `dataDir` into `to` (a .tar.gz). */
export async function createBackup(opts: { dataDir: string; to: string; progress?: Progress; now?: number }): Promise<BackupResult> {
  const started = performance.now();
  const dataDir = resolve(opts.dataDir);
  const dbPath = join(dataDir, DB_NAME);
  if (!existsSync(dbPath)) throw new Error(`no database at ${dbPath}`);
  const to = resolve(opts.to);
  mkdirSync(dirname(to), { recursive: true });
  const partial = to + ".partial";
  const snap = join(dirname(to), `.${basename(to)}.db-snapshot`);
  for (const p of [partial, snap]) rmSync(p, { force: true });

  try {
    opts.progress?.(0, 1, "snapshot");
    snapshotInto(dbPath, snap);
    const dbBytes = statSync(snap).size;
    const blobs = listBlobs(dataDir);
    const entries = [{ name: DB_NAME, path: snap, size: dbBytes }, ...blobs];
    const total = entries.reduce((a, e) => a + e.size, 0);
    const mtime = (opts.now ?? Date.now()) / 1000;

    const gz = createGzip({ level: 6 });
    const out = createWriteStream(partial, { mode: 0o600 });
    const finished = new Promise<void>((res, rej) => {
      out.on("finish", res);
      out.on("error", rej);
      gz.on("error", rej);
    });
    gz.pipe(out);
    const write = async (b: Uint8Array) => {
      if (!gz.write(b)) await once(gz, "drain");
    };

    const manifest: Manifest = { format: "gauntlet-backup", version: 1, gauntlet: VERSION, createdAt: new Date(opts.now ?? Date.now()).toISOString(), files: [] };
    let done = 0;
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (const e of entries) {
      await write(tarHeader(e.name, e.size, mtime));
      const fh = await open(e.path, "r");
      const hash = new Bun.CryptoHasher("sha256");
      let left = e.size;
      try {
        while (left > 0) {
          const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, left), e.size - left);
          if (bytesRead === 0) throw new Error(`${e.name} shrank while being archived`);
          const piece = Buffer.from(chunk.subarray(0, bytesRead));
          hash.update(piece);
          await write(piece);
          left -= bytesRead;
          done += bytesRead;
          opts.progress?.(done, total, "archive");
        }
      } finally {
        await fh.close();
      }
      await write(padding(e.size));
      manifest.files.push({ name: e.name, bytes: e.size, sha256: hash.digest("hex") });
    }
    const m = Buffer.from(JSON.stringify(manifest, null, 2));
    await write(tarHeader(MANIFEST, m.length, mtime));
    await write(m);
    await write(padding(m.length));
    await write(trailer());
    gz.end();
    await finished;
    fsyncPath(partial);
    renameSync(partial, to);
    fsyncPath(dirname(to), true);
    return { file: to, bytes: statSync(to).size, files: entries.length, blobs: blobs.length, dbBytes, ms: Math.round(performance.now() - started) };
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  } finally {
    rmSync(snap, { force: true });
  }
}

export class RestoreError extends Error {}

/**
 * Restores an archive into `dataDir`, which must be absent or empty. Every
 * file is checked against the manifest's SHA-256, blobs against their own
 * names, and the database with `PRAGMA integrity_check`; on any failure the
 * partly restored folder is emptied again.
 */
export async function restoreBackup(opts: { file: string; dataDir: string; progress?: Progress }) {
  const file = resolve(opts.file);
  const dataDir = resolve(opts.dataDir);
  if (!existsSync(file)) throw new RestoreError(`no such backup file: ${file}`);
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) throw new RestoreError(`${dataDir} is not a directory`);
    const present = readdirSync(dataDir);
    if (present.length) throw new RestoreError(`refusing to restore into ${dataDir}: it is not empty (${present.slice(0, 3).join(", ")}${present.length > 3 ? ", …" : ""})`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });

  const total = statSync(file).size;
  const seen = new Map<string, { bytes: number; sha256: string }>();
  let manifest: Manifest | null = null;
  try {
    const raw = createReadStream(file);
    let readBytes = 0;
    raw.on("data", (c) => {
      readBytes += c.length;
      opts.progress?.(readBytes, total, "restore");
    });
    const gunzip = raw.pipe(createGunzip());
    raw.on("error", (e) => gunzip.destroy(e));
    await readTar(gunzip as AsyncIterable<Uint8Array>, (e) => {
      if (seen.has(e.name)) throw new RestoreError(`duplicate entry ${e.name}`);
      if (e.name === MANIFEST) {
        if (e.size > 64 << 20) throw new RestoreError("manifest too large");
        const parts: Uint8Array[] = [];
        return {
          write: (c) => void parts.push(Buffer.from(c)),
          end() {
            manifest = JSON.parse(Buffer.concat(parts).toString("utf8")) as Manifest;
            if (manifest.format !== "gauntlet-backup" || manifest.version !== 1) throw new RestoreError("not a gauntlet backup (unknown manifest)");
            seen.set(MANIFEST, { bytes: e.size, sha256: "" });
          },
        };
      }
      // Only names the backup writes are accepted: no path can leave the data dir.
      if (e.name !== DB_NAME && !BLOB_NAME.test(e.name)) throw new RestoreError(`unexpected entry ${JSON.stringify(e.name)} in archive`);
      const dest = join(dataDir, e.name);
      mkdirSync(dirname(dest), { recursive: true });
      const fd = openSync(dest, "wx", 0o640);
      const hash = new Bun.CryptoHasher("sha256");
      let bytes = 0;
      return {
        write(c) {
          hash.update(c);
          bytes += c.length;
          let off = 0;
          while (off < c.length) off += writeSync(fd, c, off, c.length - off);
        },
        end() {
          fsyncSync(fd);
          closeSync(fd);
          seen.set(e.name, { bytes, sha256: hash.digest("hex") });
        },
      };
    });
    const m = manifest as Manifest | null;
    if (!m) throw new RestoreError("archive has no manifest");
    for (const f of m.files) {
      const got = seen.get(f.name);
      if (!got) throw new RestoreError(`archive is missing ${f.name}`);
      if (got.bytes !== f.bytes || got.sha256 !== f.sha256) throw new RestoreError(`${f.name} does not match its checksum`);
      if (f.name.startsWith("blobs/") && basename(f.name) !== f.sha256) throw new RestoreError(`${f.name} does not match its content address`);
    }
    for (const name of seen.keys()) if (name !== MANIFEST && !m.files.some((f) => f.name === name)) throw new RestoreError(`${name} is not in the manifest`);
    if (!seen.has(DB_NAME)) throw new RestoreError("archive has no database");
    const check = integrityCheck(join(dataDir, DB_NAME));
    if (check !== "ok") throw new RestoreError(`restored database fails integrity_check: ${check}`);
    for (const d of new Set([dataDir, ...[...seen.keys()].filter((n) => n.startsWith("blobs/")).map((n) => dirname(join(dataDir, n)))])) fsyncPath(d, true);
    return { dataDir, manifest: m, tables: tableCounts(join(dataDir, DB_NAME)), blobs: m.files.length - 1 };
  } catch (e) {
    for (const f of readdirSync(dataDir)) rmSync(join(dataDir, f), { recursive: true, force: true });
    if (e instanceof RestoreError) throw e;
    throw new RestoreError(`restore failed: ${(e as Error).message}`);
  }
}

/** Keeps the newest `keep` backups named like defaultBackupName in `dir`; returns the deleted names. */
export function pruneBackups(dir: string, keep: number): string[] {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir)
    .filter((n) => /^gauntlet-\d{8}T\d{6}(\.\d{3})?Z\.tar\.gz$/.test(n))
    .sort()
    .reverse();
  const gone = names.slice(keep);
  for (const n of gone) unlinkSync(join(dir, n));
  return gone;
}

/** A one-line progress bar on a terminal (stderr), nothing otherwise. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY) return undefined;
  let last = 0;
  let lastPhase = "";
  return (done, total, phase) => {
    const now = performance.now();
    if (phase === lastPhase && now - last < 100 && done < total) return;
    last = now;
    lastPhase = phase;
    const width = 30;
    const frac = total ? Math.min(1, done / total) : 0;
    const fill = Math.round(frac * width);
    const mb = (n: number) => (n / 1048576).toFixed(1);
    stream.write(`\r${phase.padEnd(8)} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${String(Math.round(frac * 100)).padStart(3)}% ${mb(done)}/${mb(total)} MB`);
    if (done >= total && phase !== "snapshot") stream.write("\n");
  };
}
