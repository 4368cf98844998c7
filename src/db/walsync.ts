/**
 * The thread that fsyncs the WAL for the group commit (src/db/db.ts). Its
 * own thread, not node:fs's fdatasync on the shared pool: there a sync waited
 * behind argon2 hashes (1,768 ms with 40 hashes queued, 0.3 ms with none),
 * and every write of the process with it.
 *
 * One per process, one sync at a time, through a shared Int32Array rather
 * than messages: Bun 1.4.5 held back a worker's reply message until an
 * unrelated timer fired (seen in src/queue/queue.test.ts's cancel test, a
 * write waiting 5 s for a reply the worker had sent at once). The main
 * thread writes the descriptor and a new request number and notifies; this
 * thread syncs and stores the request number as done (and the errno, if the
 * sync failed); the main thread looks for it on a timer (db.ts).
 *
 * An entrypoint of the compiled binary of its own (scripts/build.ts).
 */
import { fdatasyncSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { DONE, ERRNO, FD, REQ } from "./walsync.shared.ts";

const a = new Int32Array((workerData as { buffer: SharedArrayBuffer }).buffer);
let seen = 0;
for (;;) {
  Atomics.wait(a, REQ, seen);
  seen = Atomics.load(a, REQ);
  let errno = 0;
  try {
    fdatasyncSync(Atomics.load(a, FD));
  } catch (e) {
    errno = Math.abs(Number((e as { errno?: number }).errno)) || 5; // EIO when the error says nothing
  }
  Atomics.store(a, ERRNO, errno);
  Atomics.store(a, DONE, seen);
}
