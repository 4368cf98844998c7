/**
 * The server's side of a zero-downtime hand-over between two `gauntlet serve`
 * processes on one port and one data directory (the CLI side is upgrade.ts).
 *
 * - Once ready (listening, /readyz answers 200 in process) a server writes
 *   `<data>/gauntlet.pid`; if that file named another live server on the same
 *   host and port when it started, it then sends that predecessor SIGTERM:
 *   the predecessor drains (src/server.ts) and exits 0.
 * - On SIGUSR2 a server starts its own successor: the executable it was
 *   started from (after `gauntlet upgrade` swapped it: the new binary), with
 *   its own arguments, environment and working directory, and the port it
 *   really listens on. So the successor is in the same systemd cgroup, runs
 *   as the same user under the same sandbox, and takes over as above. Its
 *   progress is written to `<data>/gauntlet.handoff.json` for the upgrade
 *   command: `starting`, or `failed` with the exit code if it died first (this
 *   server then keeps serving).
 *
 * @example
 * const predecessor = config.port ? readPidFile(config.dataDir, config.port) : null; // before anything binds
 * const running = startServer(s, …);
 * const handoff = serveHandoff({ config, log, running, predecessor });
 * handleSignals(running, handoff);
 * await handoff.announce();
 */
import { spawn, type Subprocess } from "bun";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.ts";
import type { Logger } from "../lib/log.ts";
import type { Running } from "../server.ts";
import { VERSION } from "../version.ts";
import { isRunning, readPidFile, removePidFileIfOurs, writePidFile, type PidRecord } from "./pidfile.ts";

export const HANDOFF_FILE = "gauntlet.handoff.json";

export interface HandoffStatus {
  /** The server asked to hand over. */
  from: number;
  /** Its successor's pid (null when it could not even be spawned). */
  to: number | null;
  state: "starting" | "failed";
  /** The successor's exit code when it failed. */
  code?: number | null;
  message?: string;
  at: number;
}

/** Taken when the module loads: the path this process was started from, before anything can replace the file. */
export const EXEC_PATH = process.execPath;

/** A compiled binary runs its entry point from Bun's embedded file system. */
export const isCompiled = (main = Bun.main) => main.startsWith("/$bunfs/") || main.startsWith("B:/~BUN/");

/**
 * The successor's command line: this process's own, started from `exe`, with
 * `--port` set to the port really bound (a server started with port 0 must be
 * succeeded on the same port). Flags are last-one-wins, so it is appended.
 */
export function successorCommand(port: number, argv: string[] = process.argv, compiled = isCompiled(), exe = EXEC_PATH): string[] {
  // Compiled: argv is ["bun", "/$bunfs/root/gauntlet", ...args]; from source: [bun, /path/src/main.ts, ...args].
  const given = argv.slice(compiled ? 2 : 1);
  // Drop the port given before, so a chain of upgrades does not grow the command line.
  const args: string[] = [];
  for (let i = 0; i < given.length; i++) {
    if (given[i] === "--") {
      args.push(...given.slice(i));
      break;
    }
    if (given[i] === "--port") i++;
    else if (!given[i].startsWith("--port=")) args.push(given[i]);
  }
  const extra = ["--port", String(port)];
  const sep = args.indexOf("--");
  if (sep >= 0) args.splice(sep, 0, ...extra);
  else args.push(...extra);
  return [exe, ...args];
}

/** Whether `rec` is another live server on this host and port: the one to take over from, or the one that took over. */
export function sameListener(rec: PidRecord | null, host: string, port: number, self = process.pid): rec is PidRecord {
  return rec !== null && rec.pid !== self && rec.host === host && rec.port === port && isRunning(rec);
}

export const handoffPath = (dataDir: string) => join(dataDir, HANDOFF_FILE);

export function writeHandoff(dataDir: string, status: HandoffStatus) {
  const path = handoffPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(status) + "\n");
  renameSync(tmp, path);
}

export function readHandoff(dataDir: string): HandoffStatus | null {
  try {
    return JSON.parse(readFileSync(handoffPath(dataDir), "utf8")) as HandoffStatus;
  } catch {
    return null;
  }
}

export interface HandoffDeps {
  config: Pick<Config, "dataDir" | "host">;
  log: Logger;
  running: Running;
  /** The port's pid file as it was before this process bound the port (null for port 0). */
  predecessor: PidRecord | null;
}

export function serveHandoff({ config, log, running, predecessor }: HandoffDeps) {
  const { dataDir, host } = config;
  const port = running.server?.port ?? 0;
  const url = running.url ?? "";
  let successor: Subprocess | null = null;

  /** Writes gauntlet.pid once ready and sends the predecessor (if any) SIGTERM. False when not ready. */
  async function announce(): Promise<boolean> {
    if (!running.server) return true;
    let ready = await running.ready();
    for (let i = 0; !ready && i < 20 && !running.stopping; i++) {
      await Bun.sleep(250);
      ready = await running.ready();
    }
    if (!ready) {
      log.error("not ready 5 s after start: /readyz does not answer 200; giving up (a server being taken over keeps serving)");
      return false;
    }
    // Read before writing ours: a predecessor recorded since we started (two starts at once) is taken over too.
    const before = readPidFile(dataDir, port);
    writePidFile(dataDir, { pid: process.pid, host, port, url, exe: EXEC_PATH, compiled: isCompiled(), version: VERSION });
    // A hand-over that started us is complete: its status file has nothing more to say.
    if (readHandoff(dataDir)?.to === process.pid) rmSync(handoffPath(dataDir), { force: true });
    const previous = new Map<number, PidRecord>();
    for (const p of [predecessor, before]) if (sameListener(p, host, port)) previous.set(p.pid, p);
    for (const p of previous.values()) {
      log.info("taking over from the previous server", { pid: p.pid, version: p.version });
      try {
        process.kill(p.pid, "SIGTERM");
      } catch (err) {
        log.warn("could not signal the previous server", { pid: p.pid, err });
      }
    }
    return true;
  }

  function startSuccessor() {
    if (running.stopping || !running.server) return;
    if (successor) {
      log.warn("SIGUSR2 ignored: a successor is already starting", { pid: successor.pid });
      return;
    }
    const cmd = successorCommand(port);
    log.info("SIGUSR2: starting a successor", { cmd });
    let child: Subprocess;
    try {
      child = spawn(cmd, { cwd: process.cwd(), env: process.env, stdio: ["ignore", "inherit", "inherit"] });
    } catch (err) {
      log.error("could not start a successor; still serving", { err });
      writeHandoff(dataDir, { from: process.pid, to: null, state: "failed", message: (err as Error).message, at: Date.now() });
      return;
    }
    successor = child;
    // It must outlive us: nothing here waits for it.
    child.unref();
    writeHandoff(dataDir, { from: process.pid, to: child.pid, state: "starting", at: Date.now() });
    void child.exited.then((code) => {
      if (successor !== child) return;
      successor = null;
      if (readPidFile(dataDir, port)?.pid === child.pid) return;
      log.error("the successor exited before taking over; still serving", { pid: child.pid, code });
      writeHandoff(dataDir, { from: process.pid, to: child.pid, state: "failed", code, at: Date.now() });
    });
  }

  const onUsr2 = () => startSuccessor();
  process.on("SIGUSR2", onUsr2);

  return {
    announce,
    /** Another live server has written the pid file for our port: we are draining for it. */
    successorServing: () => sameListener(readPidFile(dataDir, port), host, port),
    /** After a clean stop: the pid file goes, unless it already names a successor. */
    stopped() {
      process.off("SIGUSR2", onUsr2);
      removePidFileIfOurs(dataDir, process.pid, port);
    },
  };
}
