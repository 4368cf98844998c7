/**
 * `<data>/gauntlet.pid`: which process serves this data directory's HTTP
 * port, for `gauntlet upgrade`, for a second `gauntlet serve` that takes over,
 * and for systemd (the unit's PIDFile=: systemd reads the first line when the
 * main process exits, so a successor that wrote it becomes the service's new
 * main process). Several API instances on one data directory (each on its
 * own port) also write `<data>/gauntlet.<port>.pid`: the hand-over on a port
 * reads that one, and `gauntlet upgrade --port P` picks the instance.
 *
 * Line 1 is the pid alone (what systemd and `kill $(head -1 …)` read); line 2
 * is JSON with what the upgrade needs (port, host, executable). Written to a
 * temporary file and renamed, so a reader never sees half of it. During an
 * upgrade two processes serve the same data dir; the file names the newest.
 *
 * @example
 * writePidFile(dataDir, { pid: process.pid, port, host, url, exe, compiled, version });
 * const rec = readPidFile(dataDir); // null when absent or unreadable
 * if (rec && isRunning(rec)) process.kill(rec.pid, "SIGUSR2");
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const PID_FILE = "gauntlet.pid";

export interface PidRecord {
  pid: number;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22): tells a recycled pid apart. */
  startTicks: number | null;
  host: string;
  port: number;
  url: string;
  /** The executable the successor is started from (the installed binary, or bun in development). */
  exe: string;
  /** True for the compiled binary; false under `bun run src/main.ts`. */
  compiled: boolean;
  version: string;
}

/** The data dir's file (the newest server), or one port's. */
export const pidFilePath = (dataDir: string, port?: number) => join(dataDir, port ? `gauntlet.${port}.pid` : PID_FILE);

/** Fields 3 (state) and 22 (start time) of /proc/<pid>/stat; null where there is no /proc (not Linux) or no such process. */
function procStat(pid: number): { state: string; startTicks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(rest[19]);
    return Number.isFinite(ticks) ? { state: rest[0], startTicks: ticks } : null;
  } catch {
    return null;
  }
}

export const processStartTicks = (pid: number): number | null => procStat(pid)?.startTicks ?? null;

/** Writes the port's file, then the data dir's. */
export function writePidFile(dataDir: string, rec: Omit<PidRecord, "startTicks"> & { startTicks?: number | null }): PidRecord {
  const full: PidRecord = { ...rec, startTicks: rec.startTicks ?? processStartTicks(rec.pid) };
  for (const path of [pidFilePath(dataDir, full.port), pidFilePath(dataDir)]) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${full.pid}\n${JSON.stringify(full)}\n`, { mode: 0o644 });
    renameSync(tmp, path);
  }
  return full;
}

export function readPidFile(dataDir: string, port?: number): PidRecord | null {
  let text: string;
  try {
    text = readFileSync(pidFilePath(dataDir, port), "utf8");
  } catch {
    return null;
  }
  const [first, json] = text.split("\n");
  const pid = Number(first);
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  try {
    const rec = JSON.parse(json) as PidRecord;
    return rec.pid === pid ? rec : null;
  } catch {
    return null;
  }
}

/** The process the record names still runs, and is the same process (not a recycled pid). */
export function isRunning(rec: PidRecord): boolean {
  try {
    process.kill(rec.pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user (the service user, seen by a non-root admin).
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = procStat(rec.pid);
  // Exited but not yet reaped by its parent: gone as far as serving goes.
  if (now?.state === "Z") return false;
  return now === null || rec.startTicks === null || now.startTicks === rec.startTicks;
}

/** Removes the port's file and the data dir's, each only while it still names `pid`: a successor's record stays. */
export function removePidFileIfOurs(dataDir: string, pid: number, port: number) {
  for (const p of [port, undefined]) {
    if (readPidFile(dataDir, p)?.pid !== pid) continue;
    try {
      unlinkSync(pidFilePath(dataDir, p));
    } catch {}
  }
}
