/**
 * Content-addressed blob store under <dataDir>/blobs/<sha[0:2]>/<sha>.
 * `put` writes to a temp file, fsyncs it, renames it into place and fsyncs the
 * directory, so a row that names a blob (written after put returns) never
 * points at a missing or torn file, even after power loss. Identical content
 * is stored once.
 *
 * @example
 * const blobs = blobStore(config.dataDir);
 * const { sha, bytes } = blobs.put("1 2\n");   // before the db.write naming sha
 * blobs.get(sha)?.toString();
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export const SHA_RE = /^[0-9a-f]{64}$/;

export interface BlobStore {
  readonly dir: string;
  put(data: Uint8Array | string): { sha: string; bytes: number };
  get(sha: string): Buffer | null;
  text(sha: string): string | null;
  has(sha: string): boolean;
  pathOf(sha: string): string;
}

function fsyncDir(dir: string) {
  let fd: number | null = null;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself is synced.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

export function blobStore(dataDir: string): BlobStore {
  const dir = join(dataDir, "blobs");
  const pathOf = (sha: string) => {
    if (!SHA_RE.test(sha)) throw new Error(`not a blob id: ${sha}`);
    return join(dir, sha.slice(0, 2), sha);
  };
  return {
    dir,
    pathOf,
    put(data) {
      const buf = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const sha = new Bun.CryptoHasher("sha256").update(buf).digest("hex");
      const final = pathOf(sha);
      if (existsSync(final)) return { sha, bytes: buf.byteLength };
      const sub = join(dir, sha.slice(0, 2));
      mkdirSync(sub, { recursive: true });
      const tmp = join(sub, `.tmp-${randomBytes(6).toString("hex")}`);
      const fd = openSync(tmp, "w", 0o640);
      try {
        let off = 0;
        while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, final);
      fsyncDir(sub);
      return { sha, bytes: buf.byteLength };
    },
    get(sha) {
      try {
        return readFileSync(pathOf(sha));
      } catch {
        return null;
      }
    },
    text(sha) {
      const b = this.get(sha);
      return b ? b.toString("utf8") : null;
    },
    has: (sha) => SHA_RE.test(sha) && existsSync(pathOf(sha)),
  };
}
