/**
 * The small part of POSIX ustar that backups need: regular files with names
 * under 100 bytes, written and read as streams so a large database never has
 * to fit in memory. Anything else in an archive (links, devices, long names,
 * pax headers) is refused on read rather than guessed at.
 */

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

export function tarHeader(name: string, size: number, mtimeSec: number): Uint8Array {
  const nameBytes = enc.encode(name);
  if (nameBytes.length > 100) throw new Error(`tar name too long: ${name}`);
  if (size > 0o77777777777) throw new Error(`file too large for ustar: ${name}`);
  const h = new Uint8Array(BLOCK);
  const put = (off: number, s: string) => h.set(enc.encode(s), off);
  h.set(nameBytes, 0);
  put(100, octal(0o644, 8));
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(size, 12));
  put(136, octal(Math.max(0, Math.floor(mtimeSec)), 12));
  put(148, "        "); // checksum is computed with its own field as spaces
  put(156, "0");
  put(257, "ustar\0");
  put(263, "00");
  let sum = 0;
  for (const b of h) sum += b;
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

export const padding = (size: number) => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
/** Two zero blocks end an archive. */
export const trailer = () => new Uint8Array(BLOCK * 2);

export interface TarEntry {
  name: string;
  size: number;
}

function parseHeader(h: Uint8Array): TarEntry | null {
  if (h.every((b) => b === 0)) return null;
  const str = (off: number, len: number) => {
    const s = h.subarray(off, off + len);
    const z = s.indexOf(0);
    return dec.decode(z < 0 ? s : s.subarray(0, z));
  };
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  const stored = parseInt(str(148, 8).trim(), 8);
  if (stored !== sum) throw new Error("tar header checksum mismatch (not a backup archive, or corrupt)");
  if (!str(257, 6).startsWith("ustar")) throw new Error("not a ustar archive");
  const type = String.fromCharCode(h[156] || 48);
  if (type !== "0") throw new Error(`unsupported tar entry type ${JSON.stringify(type)}`);
  if (str(345, 155)) throw new Error("unsupported long tar name");
  const size = parseInt(str(124, 12).trim() || "0", 8);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error("bad tar entry size");
  return { name: str(0, 100), size };
}

/**
 * Reads entries from a stream of archive bytes. For each entry, `onEntry`
 * returns a sink for its data (called with chunks in order, then `end`).
 */
export async function readTar(
  chunks: AsyncIterable<Uint8Array>,
  onEntry: (e: TarEntry) => { write(chunk: Uint8Array): void | Promise<void>; end(): void | Promise<void> },
): Promise<void> {
  let buf: Uint8Array = new Uint8Array(0);
  let entry: { sink: ReturnType<typeof onEntry>; left: number; pad: number } | null = null;
  let ended = false;
  const append = (c: Uint8Array) => {
    if (!buf.length) return (buf = c);
    const n = new Uint8Array(buf.length + c.length);
    n.set(buf);
    n.set(c, buf.length);
    buf = n;
  };
  for await (const chunk of chunks) {
    if (ended) continue;
    append(chunk);
    for (;;) {
      if (entry) {
        if (entry.left > 0) {
          if (!buf.length) break;
          const take = Math.min(entry.left, buf.length);
          await entry.sink.write(buf.subarray(0, take));
          entry.left -= take;
          buf = buf.subarray(take);
          if (entry.left > 0) break;
        }
        if (buf.length < entry.pad) break;
        buf = buf.subarray(entry.pad);
        await entry.sink.end();
        entry = null;
        continue;
      }
      if (buf.length < BLOCK) break;
      const e = parseHeader(buf.subarray(0, BLOCK));
      buf = buf.subarray(BLOCK);
      if (!e) {
        ended = true;
        break;
      }
      entry = { sink: onEntry(e), left: e.size, pad: (BLOCK - (e.size % BLOCK)) % BLOCK };
    }
  }
  if (entry || !ended) throw new Error("archive is truncated");
}
