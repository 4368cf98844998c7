/**
 * `gauntlet upgrade --binary NEW`: replaces the installed binary and hands the
 * running server over to it without dropping a request.
 *
 * 1. NEW must be an executable Gauntlet binary with this hand-over in it
 *    (`NEW --version`, `NEW --help`); anything else is refused (exit 2).
 * 2. NEW is copied beside the installed binary and renamed over it; the old
 *    one stays as `<path>.previous`. A running process keeps its own inode.
 * 3. The server named by `<data>/gauntlet.pid` gets SIGUSR2: it starts the
 *    installed (new) binary as its successor with its own arguments and
 *    environment (src/upgrade/handoff.ts); the successor binds the same port
 *    (reusePort), answers /readyz, writes the pid file and sends the old
 *    server SIGTERM; the old one drains (src/server.ts) and exits 0.
 * 4. This command waits for all of that and checks /readyz. If the successor
 *    fails to start, the previous binary is put back and the old server, which
 *    never stopped, keeps serving (exit 1).
 *
 * Also sets net.ipv4.tcp_migrate_req=1 when permitted: without it, connections
 * the kernel queued for the old listener at the instant it closes are reset.
 *
 * @example
 * const code = await upgrade({ binary: "./gauntlet-new", dataDir: "/var/lib/gauntlet", out: console.log });
 */
import { spawn } from "bun";
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { EXEC_PATH, handoffPath, isCompiled, readHandoff } from "./handoff.ts";
import { isRunning, pidFilePath, readPidFile, type PidRecord } from "./pidfile.ts";

/** A refusal before anything was changed: exit 2 with this message. */
export class UpgradeRefused extends Error {}

const VERSION_RE = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;
export const MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req";

async function run(cmd: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

/** Checks that `path` is a Gauntlet binary that can take part in a hand-over; returns its version. */
export async function verifyBinary(path: string, timeoutMs = 20_000): Promise<{ version: string }> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UpgradeRefused(`--binary ${path}: no such file`);
  }
  if (!st.isFile()) throw new UpgradeRefused(`--binary ${path}: not a file`);
  if ((st.mode & 0o111) === 0) throw new UpgradeRefused(`--binary ${path}: not executable (chmod +x it, or give the gauntlet binary)`);
  const notGauntlet = (why: string) => new UpgradeRefused(`--binary ${path} is not a Gauntlet binary: ${why}`);
  let v;
  try {
    v = await run([path, "--version"], timeoutMs);
  } catch (e) {
    throw notGauntlet(`it does not run here (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; another architecture, or not a program)`);
  }
  const version = v.out.trim();
  if (v.code !== 0 || !VERSION_RE.test(version)) throw notGauntlet(`\`--version\` ${v.code === 0 ? `printed ${JSON.stringify(version.slice(0, 80))}` : `exited ${v.code}`}, not a version number`);
  const h = await run([path, "--help"], timeoutMs);
  if (h.code !== 0 || !h.out.startsWith(`gauntlet ${version}:`)) throw notGauntlet("`--help` does not describe gauntlet");
  if (!/^ {2}upgrade /m.test(h.out)) throw new UpgradeRefused(`--binary ${path} (gauntlet ${version}) has no \`upgrade\` command, so it cannot take over a running server; stop the server, install it, start it`);
  return { version };
}

function fsyncPath(path: string) {
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {}
}

const sameFile = (a: string, b: string) => {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
};

/** Byte for byte, in 1 MiB chunks (binaries are ~100 MB). */
function sameContent(a: string, b: string): boolean {
  try {
    if (statSync(a).size !== statSync(b).size) return false;
  } catch {
    return false;
  }
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  try {
    const ba = Buffer.alloc(1 << 20);
    const bb = Buffer.alloc(1 << 20);
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null);
      const nb = readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/**
 * Installs `src` at `dest` by rename, so `dest` is never missing or half
 * written; the file that was at `dest` becomes `dest.previous` (a hard link:
 * no copy). Nothing changes when `dest` already holds the same bytes (a second
 * instance upgraded to the same binary keeps the real previous one).
 */
export function swapBinary(src: string, dest: string): { swapped: boolean; previous: string | null } {
  if (sameFile(src, dest) || sameContent(src, dest)) return { swapped: false, previous: null };
  const dir = dirname(dest);
  const tmp = join(dir, `.${basename(dest)}.new-${process.pid}`);
  copyFileSync(src, tmp);
  chmodSync(tmp, 0o755);
  fsyncPath(tmp);
  let previous: string | null = null;
  if (existsSync(dest)) {
    previous = `${dest}.previous`;
    const prevTmp = join(dir, `.${basename(dest)}.previous-${process.pid}`);
    try {
      linkSync(dest, prevTmp);
    } catch {
      copyFileSync(dest, prevTmp);
      chmodSync(prevTmp, 0o755);
    }
    renameSync(prevTmp, previous);
  }
  renameSync(tmp, dest);
  fsyncPath(dir);
  return { swapped: true, previous };
}

/** Puts `dest.previous` back at `dest` (it stays as .previous too). */
export function restoreBinary(dest: string) {
  const previous = `${dest}.previous`;
  const tmp = join(dirname(dest), `.${basename(dest)}.restore-${process.pid}`);
  try {
    linkSync(previous, tmp);
  } catch {
    copyFileSync(previous, tmp);
    chmodSync(tmp, 0o755);
  }
  renameSync(tmp, dest);
  fsyncPath(dirname(dest));
}

/** Turns on net.ipv4.tcp_migrate_req (Linux ≥ 5.14) when allowed; says what happened. */
export function enableMigrateReq(path = MIGRATE_REQ): { ok: boolean; message: string } {
  let now: string;
  try {
    now = readFileSync(path, "utf8").trim();
  } catch {
    return { ok: false, message: "net.ipv4.tcp_migrate_req is not available (Linux older than 5.14?)" };
  }
  if (now === "1") return { ok: true, message: "net.ipv4.tcp_migrate_req is 1" };
  try {
    writeFileSync(path, "1\n");
    return { ok: true, message: "set net.ipv4.tcp_migrate_req=1" };
  } catch (e) {
    return { ok: false, message: `net.ipv4.tcp_migrate_req is ${now} and could not be set (${(e as NodeJS.ErrnoException).code ?? e}); run as root, or: sysctl -w net.ipv4.tcp_migrate_req=1` };
  }
}

export interface UpgradeOptions {
  binary: string;
  /** The installed binary to replace; default: the running server's executable, else this one's when compiled. */
  installPath?: string;
  dataDir: string;
  /** The instance's port when several serve the data dir (default: the newest, gauntlet.pid). */
  port?: number;
  /** How long the successor may take to be ready, and the old server to drain. */
  timeoutMs?: number;
  out?: (line: string) => void;
  /** Test hook: where the sysctl lives. */
  migrateReqPath?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the upgrade; resolves with the exit code. Refusals (exit 2) throw UpgradeRefused before anything changes. */
export async function upgrade(opts: UpgradeOptions): Promise<number> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const say = (l: string) => out(`upgrade: ${l}`);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const binary = resolve(opts.binary);
  const { version } = await verifyBinary(binary);

  const rec = readPidFile(opts.dataDir, opts.port);
  const server: PidRecord | null = rec && isRunning(rec) ? rec : null;
  let installPath: string;
  if (opts.installPath) installPath = resolve(opts.installPath);
  else if (server?.compiled) installPath = server.exe;
  else if (!server && isCompiled()) installPath = EXEC_PATH;
  else if (server) throw new UpgradeRefused(`the server (pid ${server.pid}) runs from source (${server.exe}); there is no installed binary to replace: restart it instead, or pass --install-path`);
  else throw new UpgradeRefused("this gauntlet runs from source: pass --install-path PATH (where the binary is installed)");
  if (server) {
    if (!server.compiled) throw new UpgradeRefused(`the server (pid ${server.pid}) runs from source (${server.exe}), not from ${installPath}: restart it instead`);
    if (!sameFile(server.exe, installPath) && resolve(server.exe) !== installPath) {
      throw new UpgradeRefused(`the server (pid ${server.pid}) runs ${server.exe}; replacing ${installPath} would not upgrade it`);
    }
    try {
      process.kill(server.pid, 0);
    } catch (e) {
      throw new UpgradeRefused(`cannot signal the server (pid ${server.pid}): ${(e as NodeJS.ErrnoException).code}; run as its user or as root`);
    }
  }
  if (existsSync(installPath) && !statSync(installPath).isFile()) throw new UpgradeRefused(`${installPath} is not a file`);

  const { swapped } = swapBinary(binary, installPath);
  say(swapped ? `installed ${installPath} (${version}); the previous binary is ${installPath}.previous` : `${installPath} already holds ${binary} (${version})`);
  if (!server) {
    say(`no server is running for ${opts.dataDir} (no live process in ${pidFilePath(opts.dataDir, opts.port)}): nothing to hand over; start it with \`gauntlet serve\``);
    return 0;
  }

  const migrate = enableMigrateReq(opts.migrateReqPath);
  say(migrate.ok ? migrate.message : `warning: ${migrate.message}; a connection arriving at the instant the old listener closes may be reset`);

  const rollBack = (why: string) => {
    if (swapped) {
      restoreBinary(installPath);
      say(`${why}; put the previous binary back at ${installPath}; pid ${server.pid} keeps serving`);
    } else say(`${why}; pid ${server.pid} keeps serving`);
    return 1;
  };

  try {
    unlinkSync(handoffPath(opts.dataDir));
  } catch {}
  const startedAt = Date.now();
  process.kill(server.pid, "SIGUSR2");
  say(`asked pid ${server.pid} (${server.version}) on ${server.url} to start its successor`);

  // 1. The successor writes the pid file once it answers /readyz.
  const deadline = startedAt + timeoutMs;
  let next: PidRecord | null = null;
  while (!next) {
    const now = readPidFile(opts.dataDir, server.port);
    if (now && now.pid !== server.pid && isRunning(now)) {
      next = now;
      break;
    }
    const st = readHandoff(opts.dataDir);
    if (st?.from === server.pid && st.state === "failed") {
      return rollBack(`the new server failed to start (${st.code !== undefined ? `exit code ${st.code}` : st.message}); see the server's log`);
    }
    if (!isRunning(server)) {
      // It may have drained between the two reads: the successor's record is there by now if it took over.
      const again = readPidFile(opts.dataDir, server.port);
      if (again && again.pid !== server.pid && isRunning(again)) continue;
      return rollBack(`pid ${server.pid} exited during the upgrade without a successor`);
    }
    if (Date.now() > deadline) {
      if (st?.to) {
        try {
          process.kill(st.to, "SIGTERM");
        } catch {}
      }
      return rollBack(`the new server was not ready within ${Math.round(timeoutMs / 1000)} s (stopped it)`);
    }
    await sleep(100);
  }
  say(`pid ${next.pid} (${next.version}) is ready on ${next.url} and took over`);

  // 2. The old server drains: in-flight requests finish, websockets are told to reconnect, job leases go back.
  while (isRunning(server)) {
    if (Date.now() > deadline) {
      say(`pid ${server.pid} is still draining after ${Math.round((Date.now() - startedAt) / 1000)} s; the new server serves`);
      return 1;
    }
    await sleep(100);
  }
  say(`pid ${server.pid} drained and exited`);

  // 3. Whatever instance answers now is the new one.
  try {
    const r = await fetch(`${next.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
    if (r.status !== 200) {
      say(`${next.url}/readyz answered ${r.status}`);
      return 1;
    }
  } catch (e) {
    say(`${next.url}/readyz failed: ${(e as Error).message}`);
    return 1;
  }
  say(`done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${server.version} -> ${next.version}`);
  return 0;
}
