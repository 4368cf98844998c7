/**
 * Starts a real server process on a free port for end-to-end tests: the
 * compiled binary when GAUNTLET_BIN is set (CI builds it), else
 * `bun run src/main.ts`. Resolves once it logs its URL.
 */
import { spawn, type Subprocess } from "bun";
import { Database } from "bun:sqlite";
import { PgDatabase } from "../../src/db/pg/compat.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onPostgres, testDatabaseUrl } from "../../src/testing.ts";

const ROOT = join(import.meta.dir, "..", "..");

export interface ServerProc {
  url: string;
  port: number;
  dataDir: string;
  proc: Subprocess;
  logs: string[];
  /** SIGTERM and wait. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  cleanup(): void;
}

/** Calls `onLine` with each complete line of a child process's output (its JSON log lines), until the stream ends. */
export async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
}

/** A TCP port on 127.0.0.1 that the kernel says is free right now. */
export async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/**
 * The argv that runs the binary with `args`. On the PostgreSQL leg of the test
 * matrix a command given `--data DIR` also gets that dir's own schema
 * (testDatabaseUrl), so every data dir of a test is a database of its own.
 */
export function command(args: string[]): string[] {
  const bin = process.env.GAUNTLET_BIN;
  const i = args.indexOf("--data");
  const db = onPostgres && i >= 0 && args[i + 1] && !args.includes("--database-url") ? ["--database-url", testDatabaseUrl(args[i + 1])] : [];
  // Commands other than migrate need a migrated schema, as on a real PostgreSQL install.
  if (db.length && args[0] !== "migrate") migrateFor(args[i + 1]);
  return bin ? [bin, ...args, ...db] : [process.execPath, "run", join(ROOT, "src", "main.ts"), ...args, ...db];
}

/**
 * A data dir's database for a test to inspect: its SQLite file, or on the
 * PostgreSQL leg its schema through PgDatabase (the same query/get/all surface).
 */
export function openDataDb(dataDir: string, opts: { readonly?: boolean } = {}): Database {
  if (onPostgres) return new PgDatabase(testDatabaseUrl(dataDir), opts) as unknown as Database;
  return new Database(join(dataDir, "gauntlet.db"), opts.readonly ? { readonly: true } : {});
}

const migrated = new Set<string>();
/** On the PostgreSQL leg, `gauntlet migrate` for a data dir once (serve never migrates PostgreSQL). */
export function migrateFor(dataDir: string, env: Record<string, string> = {}) {
  if (!onPostgres || migrated.has(dataDir)) return;
  migrated.add(dataDir);
  const r = Bun.spawnSync(command(["migrate", "--data", dataDir]), { cwd: ROOT, env: { ...process.env, GAUNTLET_ENV: "test", ...env } });
  if (r.exitCode !== 0) throw new Error(`gauntlet migrate failed: ${r.stderr.toString()}${r.stdout.toString()}`);
}

export async function startServer(opts: { dataDir?: string; port?: number; args?: string[]; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ServerProc> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "gauntlet-e2e-"));
  const args = ["serve", "--data", dataDir, "--port", String(opts.port ?? 0), "--host", "127.0.0.1", ...(opts.args ?? [])];
  migrateFor(dataDir, opts.env);
  const proc = spawn(command(args), {
    cwd: ROOT,
    env: { ...process.env, GAUNTLET_ENV: "test", ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: string[] = [];
  let resolveUrl!: (u: string) => void;
  let rejectUrl!: (e: Error) => void;
  const urlP = new Promise<string>((res, rej) => ((resolveUrl = res), (rejectUrl = rej)));
  const onLine = (line: string) => {
    if (logs.length < 20000) logs.push(line);
    if (line.includes('"msg":"listening"')) {
      try {
        const u = JSON.parse(line).url;
        if (u) resolveUrl(u);
      } catch {}
    }
  };
  void readLines(proc.stdout as ReadableStream<Uint8Array>, onLine);
  void readLines(proc.stderr as ReadableStream<Uint8Array>, onLine);
  void proc.exited.then((code) => rejectUrl(new Error(`server exited (${code}) before listening:\n${logs.slice(-30).join("\n")}`)));
  const timer = setTimeout(() => rejectUrl(new Error(`server did not start in time:\n${logs.slice(-30).join("\n")}`)), opts.timeoutMs ?? 20000);
  const url = await urlP.finally(() => clearTimeout(timer));
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    dataDir,
    proc,
    logs,
    async stop() {
      proc.kill("SIGTERM");
      return await proc.exited;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    cleanup() {
      try {
        proc.kill("SIGKILL");
      } catch {}
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A tiny cookie-keeping HTTP client for real-server tests. */
export function httpClient(base: string) {
  let cookie: string | null = null;
  return {
    get cookie() {
      return cookie;
    },
    set cookie(v: string | null) {
      cookie = v;
    },
    async json<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const h: Record<string, string> = { ...headers };
      if (cookie) h.cookie = cookie;
      if (body !== undefined) h["content-type"] ??= "application/json";
      const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
      const set = res.headers.get("set-cookie");
      if (set) {
        const m = /gauntlet_session=([^;]*)/.exec(set);
        if (m) cookie = m[1] ? `gauntlet_session=${m[1]}` : null;
      }
      const text = await res.text();
      let parsed: any = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed as T, res };
    },
  };
}
