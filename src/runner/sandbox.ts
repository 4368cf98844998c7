/**
 * One sandboxed process tree under bubblewrap. The chain, every link an argv:
 *
 *   sh LAUNCHER  (root: joins the run's cgroups, opens the seccomp program on fd 9)
 *   → setpriv    (drops to the sandbox's own uid/gid, no groups, no capabilities)
 *   → prlimit    (core 0, file size, open files, stack, processes per uid, CPU)
 *   → bwrap      (all namespaces, read-only /usr, tmpfs /tmp, cleared env, seccomp)
 *   → the language's stub, which blocks reading its program from stdin.
 *
 * LAUNCHER is a constant script; nothing from a user is ever spliced into it.
 * The program (source or binary) and the test input arrive through stdin, so
 * the host never writes into, reads from or deletes a path inside a sandbox:
 * its only writable place is a size-capped tmpfs that vanishes with its mount
 * namespace. A sandbox is prepared ahead (the warm pool) and used once.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { detectCgroups, type CgroupMode, type CgroupSupport, type RunGroup } from "./cgroup.ts";
import { seccompProgram } from "./seccomp.ts";

export type SandboxStatus = "OK" | "TLE" | "MLE" | "OLE" | "RE" | "IE";

export interface RunLimits {
  /** CPU time of the whole tree, ms. */
  cpuMs: number;
  /** Wall time, ms (sleepers and blocked readers). */
  wallMs: number;
  memoryBytes: number;
  /** Combined cap for stdout and for stderr (each). */
  outputBytes: number;
  pids: number;
}

export interface SandboxResult {
  status: SandboxStatus;
  exitCode: number | null;
  signal: string | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  stdoutTruncated: boolean;
  timeMs: number;
  wallMs: number;
  memoryKb: number;
  /** Why the run is IE, for logs. */
  error?: string;
}

export interface SandboxSpec {
  /** Command inside the sandbox. */
  argv: string[];
  /** Extra read-only binds (host path → sandbox path). */
  binds?: Array<[string, string]>;
  env?: Record<string, string>;
  tmpfsBytes?: number;
  /** Hard rlimits applied before bwrap (backstops; the cgroup is the real limit). */
  rlimits?: { fileBytes?: number; nofile?: number; stackBytes?: number; nproc?: number; cpuSec?: number; asBytes?: number };
}

const LAUNCHER = [
  'b="$1"; shift',
  'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do echo "$$" > "$1" || exit 125; shift; done',
  "shift",
  'exec "$@" 9<"$b"',
].join("\n");

export const UID_BASE = 200_000;

export interface Host {
  bwrap: string;
  setpriv: string;
  prlimit: string;
  sh: string;
  root: boolean;
  cgroups: CgroupSupport;
  seccompPath: string;
  /** Top-level entries: symlinks recreated, directories bound read-only. */
  rootfs: string[];
}

const whichIn = (name: string, dirs = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]) => {
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
  return null;
};

export class SandboxUnavailable extends Error {}

/**
 * What this host can do. Throws SandboxUnavailable with how to fix it: code is
 * never run unconfined.
 */
export function probeHost(cacheDir: string, cgroups?: CgroupMode, binDirs?: string[]): Host {
  const which = (name: string) => whichIn(name, binDirs);
  const bwrap = which("bwrap");
  if (!bwrap) throw new SandboxUnavailable("bubblewrap (bwrap) is not installed; install it: apt-get install bubblewrap");
  const setpriv = which("setpriv");
  const prlimit = which("prlimit");
  if (!setpriv || !prlimit) throw new SandboxUnavailable("setpriv/prlimit (util-linux) are missing; install util-linux");
  const sh = which("sh")!;
  const root = process.getuid?.() === 0;
  const maxNs = Number(safeRead("/proc/sys/user/max_user_namespaces") || "1");
  if (maxNs === 0) throw new SandboxUnavailable("user namespaces are disabled (user.max_user_namespaces = 0); enable them: sysctl -w user.max_user_namespaces=10000");
  if (!root) {
    throw new SandboxUnavailable("the runner needs root to give each sandbox its own unprivileged uid; run `gauntlet serve` as root or drop the runner role (--roles api,worker,cron)");
  }
  // Sandbox uids traverse the cache (the C++ header is bound from it); only root writes it.
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  chmodSync(cacheDir, 0o755);
  const seccompPath = join(cacheDir, "seccomp.bpf");
  writeFileSync(seccompPath, seccompProgram(), { mode: 0o600 });
  const rootfs: string[] = [];
  for (const e of ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) if (existsSync(e)) rootfs.push(e);
  return { bwrap, setpriv, prlimit, sh, root, cgroups: detectCgroups(cgroups), seccompPath, rootfs };
}

function safeRead(p: string) {
  try {
    return require("node:fs").readFileSync(p, "utf8").trim() as string;
  } catch {
    return "";
  }
}

/**
 * Distinct uid per live sandbox (per-uid RLIMIT_NPROC; "no process left" is
 * checkable by uid), and distinct across runner processes on one host: each
 * process claims a block of UIDS_PER_PROCESS uids with an exclusively
 * created lock file naming its pid (a dead owner's block is taken over).
 */
export const UIDS_PER_PROCESS = 64;
const BLOCKS = 1024;
const LOCK_DIR = "/run/gauntlet-runner";
let block: number | null = null;
const freeUids: number[] = [];
let nextIdx = 0;

function claimBlock(): number {
  if (block !== null) return block;
  mkdirSync(LOCK_DIR, { recursive: true, mode: 0o700 });
  const start = process.pid % BLOCKS;
  for (let k = 0; k < BLOCKS; k++) {
    const b = (start + k) % BLOCKS;
    const f = join(LOCK_DIR, `uids-${b}`);
    try {
      writeFileSync(f, String(process.pid), { flag: "wx" });
      block = b;
      break;
    } catch {
      const owner = Number(safeRead(f));
      if (owner === process.pid || !owner || !existsSync(`/proc/${owner}`)) {
        writeFileSync(f, String(process.pid));
        block = b;
        break;
      }
    }
  }
  if (block === null) throw new Error("no free sandbox uid block");
  process.once("exit", () => {
    try {
      require("node:fs").unlinkSync(join(LOCK_DIR, `uids-${block}`));
    } catch {}
  });
  return block;
}

/** The uids this process gives its sandboxes. */
export function uidRange(): { first: number; last: number } {
  const b = claimBlock();
  return { first: UID_BASE + b * UIDS_PER_PROCESS, last: UID_BASE + (b + 1) * UIDS_PER_PROCESS - 1 };
}

/** The block of another runner process (tests), or null. */
export function uidRangeOf(pid: number): { first: number; last: number } | null {
  for (let b = 0; b < BLOCKS; b++) {
    if (Number(safeRead(join(LOCK_DIR, `uids-${b}`))) === pid) return { first: UID_BASE + b * UIDS_PER_PROCESS, last: UID_BASE + (b + 1) * UIDS_PER_PROCESS - 1 };
  }
  return null;
}

function takeUid(): number {
  const { first } = uidRange();
  const u = freeUids.pop();
  if (u !== undefined) return u;
  if (nextIdx >= UIDS_PER_PROCESS) throw new Error("every sandbox uid of this process is in use");
  return first + nextIdx++;
}
const releaseUid = (u: number) => freeUids.push(u);


export function bwrapArgs(host: Host, spec: SandboxSpec, uid: number): string[] {
  const a = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session", "--as-pid-1", "--uid", String(uid), "--gid", String(uid), "--hostname", "sandbox"];
  for (const e of host.rootfs) {
    const st = lstatSync(e);
    if (st.isSymbolicLink()) a.push("--symlink", readlinkSync(e), e);
    else a.push("--ro-bind", e, e);
  }
  // Only these bits of /etc: the loader cache and the alternatives links (cc, c++).
  a.push("--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache", "--ro-bind-try", "/etc/alternatives", "/etc/alternatives");
  for (const [src, dest] of spec.binds ?? []) a.push("--ro-bind", src, dest);
  a.push("--proc", "/proc", "--dev", "/dev", "--size", String(spec.tmpfsBytes ?? 64 << 20), "--tmpfs", "/tmp", "--chdir", "/tmp");
  a.push("--size", String(16 << 20), "--tmpfs", "/dev/shm");
  // bwrap's root and /dev are tmpfs the sandbox uid owns, without a size cap:
  // freeze them, so the size-capped /tmp and /dev/shm are the only writable places.
  a.push("--remount-ro", "/", "--remount-ro", "/dev");
  a.push("--clearenv");
  const env = { PATH: "/usr/bin:/bin", HOME: "/tmp", LANG: "C.UTF-8", TMPDIR: "/tmp", ...spec.env };
  for (const [k, v] of Object.entries(env)) a.push("--setenv", k, v);
  a.push("--cap-drop", "ALL", "--seccomp", "9", "--");
  return [...a, ...spec.argv];
}

export interface Prepared {
  uid: number;
  pid: number;
  /** Feeds the program + input, enforces the limits, kills everything, and returns the result. */
  run(input: Uint8Array, limits: RunLimits): Promise<SandboxResult>;
  /** Throws the sandbox away unused. */
  discard(): Promise<void>;
  readonly alive: boolean;
}

export function prepare(host: Host, spec: SandboxSpec, limitsHint?: Partial<RunLimits>): Prepared {
  const uid = takeUid();
  let group: RunGroup;
  try {
    group = host.cgroups.acquire();
    group.setLimits({ memoryBytes: limitsHint?.memoryBytes ?? 512 << 20, pids: limitsHint?.pids ?? 64 });
  } catch (err) {
    releaseUid(uid);
    throw err;
  }
  const r = spec.rlimits ?? {};
  const pl = [
    host.prlimit,
    "--core=0",
    `--fsize=${r.fileBytes ?? 64 << 20}`,
    `--nofile=${r.nofile ?? 256}`,
    `--stack=${r.stackBytes ?? 256 << 20}`,
    `--nproc=${r.nproc ?? 256}`,
    `--cpu=${r.cpuSec ?? 60}`,
  ];
  if (host.cgroups.mode === "rlimit" && r.asBytes) pl.push(`--as=${r.asBytes}`);
  const argv = [
    host.sh, "-c", LAUNCHER, "gauntlet-launch", host.seccompPath, ...group.procsFiles, "--",
    host.setpriv, "--reuid", String(uid), "--regid", String(uid), "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--",
    ...pl, "--",
    host.bwrap, ...bwrapArgs(host, spec, uid),
  ];
  let proc: Subprocess<"pipe", "pipe", "pipe">;
  try {
    proc = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: {} });
  } catch (err) {
    host.cgroups.release(group);
    releaseUid(uid);
    throw err;
  }
  let used = false;
  let finished = false;
  const cleanup = async () => {
    if (finished) return;
    finished = true;
    try {
      proc.kill("SIGKILL");
    } catch {}
    await group.kill();
    await proc.exited.catch(() => {});
    host.cgroups.release(group);
    // The uid goes back only when nothing runs under it any more (dying tasks get a few more looks).
    const empty = () => (host.cgroups.mode === "rlimit" ? pidsOfUid(uid).length === 0 : group.pids().length === 0);
    if (empty()) releaseUid(uid);
    else {
      let tries = 0;
      const again = () => {
        if (empty()) releaseUid(uid);
        else if (++tries < 20) setTimeout(again, 250).unref();
      };
      setTimeout(again, 50).unref();
    }
  };

  return {
    uid,
    pid: proc.pid,
    get alive() {
      return !used && proc.exitCode === null && proc.signalCode === null;
    },
    discard: async () => {
      used = true;
      await cleanup();
    },
    async run(input, limits) {
      if (used) throw new Error("sandbox already used");
      used = true;
      const t0 = performance.now();
      let killedFor: "TLE" | "OLE" | null = null;
      const kill = (why: "TLE" | "OLE") => {
        killedFor ??= why;
        try {
          proc.kill("SIGKILL");
        } catch {}
        void group.kill();
      };
      try {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error("sandbox exited before its program arrived");
        group.setLimits({ memoryBytes: limits.memoryBytes, pids: limits.pids });
        group.resetAccounting();
      } catch (err) {
        await cleanup();
        return ieResult(`setup: ${(err as Error).message}`, t0);
      }

      // CPU: check when the budget could be spent, again for what is left; wall: a hard stop.
      let cpuTimer: ReturnType<typeof setTimeout> | undefined;
      const checkCpu = () => {
        const used = host.cgroups.mode === "rlimit" ? performance.now() - t0 : group.stats().cpuMs;
        if (used > limits.cpuMs) return kill("TLE");
        cpuTimer = setTimeout(checkCpu, Math.max(5, Math.min(limits.cpuMs - used, 50)));
      };
      cpuTimer = setTimeout(checkCpu, limits.cpuMs);
      const wallTimer = setTimeout(() => kill("TLE"), limits.wallMs);

      const feed = (async () => {
        try {
          proc.stdin.write(input);
          await proc.stdin.end();
        } catch {
          // The program may exit (or be killed) without reading all its input.
        }
      })();
      const drain = async (stream: ReadableStream<Uint8Array>, isStdout: boolean) => {
        const parts: Uint8Array[] = [];
        let size = 0;
        let truncated = false;
        const reader = stream.getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (truncated) continue;
            if (size + value.length > limits.outputBytes) {
              parts.push(value.subarray(0, limits.outputBytes - size));
              size = limits.outputBytes;
              truncated = true;
              // Too much stdout is OLE; too much stderr is only cut (it is drained so the program never blocks on it).
              if (isStdout) kill("OLE");
              continue;
            }
            parts.push(value);
            size += value.length;
          }
        } catch {}
        const out = new Uint8Array(size);
        let o = 0;
        for (const p of parts) {
          out.set(p, o);
          o += p.length;
        }
        return { out, truncated };
      };
      const [so, se] = await Promise.all([drain(proc.stdout, true), drain(proc.stderr, false), proc.exited, feed]);
      const wallMs = performance.now() - t0;
      clearTimeout(cpuTimer);
      clearTimeout(wallTimer);
      let stats = group.stats();
      if (host.cgroups.mode === "rlimit") {
        const ru = proc.resourceUsage();
        stats = { cpuMs: ru ? Number(ru.cpuTime.total) / 1000 : wallMs, peakBytes: ru ? ru.maxRSS * 1024 : 0, oomKilled: false };
      }
      await cleanup();
      const exitCode = proc.exitCode;
      const signal = proc.signalCode ?? null;
      let status: SandboxStatus;
      if (killedFor === "OLE") status = "OLE";
      else if (killedFor === "TLE" || stats.cpuMs > limits.cpuMs) status = "TLE";
      // A peak at the limit counts as MLE only when the death looks like memory
      // (SIGKILL from the OOM killer, or an allocation failure the program
      // reported); a reused cgroup's stale accounting must never turn an
      // ordinary crash (SIGABRT from an uncaught exception) into MLE.
      else if (stats.oomKilled || (exitCode !== 0 && stats.peakBytes >= limits.memoryBytes * 0.97 && (exitCode === 128 + 9 || signal === "SIGKILL" || /MemoryError|bad_alloc|Cannot allocate memory|out of memory/i.test(new TextDecoder().decode(se.out.subarray(-4096)))))) status = "MLE";
      // bwrap reports a child killed by SIGXCPU (the rlimit backstop) as 128+24.
      else if (exitCode === 128 + 24) status = "TLE";
      // Without a memory cgroup, RLIMIT_AS makes allocations fail instead of an OOM kill.
      else if (host.cgroups.mode === "rlimit" && exitCode !== 0 && /MemoryError|bad_alloc|Cannot allocate memory|out of memory/i.test(new TextDecoder().decode(se.out.subarray(-4096)))) status = "MLE";
      else if (exitCode !== 0) status = "RE";
      else status = "OK";
      return {
        status,
        exitCode,
        signal,
        stdout: so.out,
        stderr: se.out,
        stdoutTruncated: so.truncated,
        timeMs: Math.round(Math.max(stats.cpuMs, 0) * 10) / 10,
        wallMs: Math.round(wallMs * 10) / 10,
        memoryKb: Math.round(stats.peakBytes / 1024),
      };
    },
  };
}

function ieResult(error: string, t0: number): SandboxResult {
  return { status: "IE", exitCode: null, signal: null, stdout: new Uint8Array(), stderr: new Uint8Array(), stdoutTruncated: false, timeMs: 0, wallMs: performance.now() - t0, memoryKb: 0, error };
}

/** Every pid on the host whose real uid is `uid` (for tests and health: nothing may outlive its run). */
export function pidsOfUid(uid: number): number[] {
  const out: number[] = [];
  const fs = require("node:fs") as typeof import("node:fs");
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/status`, "utf8");
      const m = /^Uid:\s+(\d+)/m.exec(st);
      if (m && Number(m[1]) === uid) out.push(Number(d));
    } catch {}
  }
  return out;
}
