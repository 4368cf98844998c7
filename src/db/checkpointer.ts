/**
 * The thread that folds the WAL back into the database file, so the event
 * loop never does (openDb's `checkpointThread`; `gauntlet serve` turns it on).
 *
 * Every CHECKPOINT_EVERY_MS, on a connection of its own:
 * - a PASSIVE checkpoint copies the pages committed since the last pass into
 *   the file and syncs it, without taking any lock a writer or reader needs;
 * - once the WAL holds `restartFrames` frames, a FULL checkpoint follows: it
 *   takes the write lock for as long as it copies what committed since the
 *   PASSIVE pass (a few ms), so the WAL is then wholly in the file and the
 *   next commit starts it over from the beginning. The group commit meanwhile
 *   finds the lock taken and tries again on a timer: the event loop keeps
 *   serving (src/db/db.ts).
 * The writer's own automatic checkpoint stays, far higher, as the safety net
 * should this thread fall behind.
 *
 * An entrypoint of the compiled binary of its own (scripts/build.ts).
 */
import { Database } from "bun:sqlite";
import { parentPort, workerData } from "node:worker_threads";

export interface CheckpointerData {
  path: string;
  everyMs: number;
  restartFrames: number;
}

const { path, everyMs, restartFrames } = workerData as CheckpointerData;
const conn = new Database(path, { readwrite: true, create: false });
// FULL waits this long for readers to move to the newest snapshot; the write lock is never waited for past it.
conn.run("PRAGMA busy_timeout = 10");
conn.run("PRAGMA synchronous = FULL");
const passive = conn.prepare("PRAGMA wal_checkpoint(PASSIVE)");
const full = conn.prepare("PRAGMA wal_checkpoint(FULL)");
// Moves when another connection commits: an idle store costs a pass one read of the WAL index, no checkpoint.
const dataVersion = conn.prepare("PRAGMA data_version");
let seen = -1;

type Result = { busy: number; log: number; checkpointed: number };
let stopped = false;
const pass = () => {
  if (stopped) return;
  try {
    const v = (dataVersion.get() as { data_version: number }).data_version;
    if (v === seen) return;
    const r = passive.get() as Result;
    let whole = !r.busy && r.checkpointed >= r.log;
    if (r.log >= restartFrames) whole = !(full.get() as Result).busy;
    // Until the WAL is wholly in the file, look again on the next pass even without a new commit.
    seen = whole ? v : -1;
  } catch {
    // SQLITE_BUSY (the writer's own checkpoint is running) or a transient I/O error: the next pass tries again.
  }
};
const timer = setInterval(pass, everyMs);
parentPort?.on("message", (m: unknown) => {
  if (m !== "stop") return;
  stopped = true;
  clearInterval(timer);
  passive.finalize();
  full.finalize();
  dataVersion.finalize();
  conn.close();
  parentPort?.close();
});
