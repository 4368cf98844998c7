/**
 * The thread that fsyncs the WAL for the group commit (src/db/db.ts). Its
 * own thread, not node:fs's fdatasync on the shared pool: there a sync waited
 * behind argon2 hashes (240 ms during 40 signups' hashes, against 0.6 ms
 * alone), and every write of the process with it.
 *
 * One per process, serving every store it opens: a request is a WAL file
 * descriptor (descriptors are the process's, shared by all threads); the
 * answer comes back with the request's id, with the error if the sync failed.
 *
 * An entrypoint of the compiled binary of its own (scripts/build.ts).
 */
import { fdatasyncSync } from "node:fs";
import { parentPort } from "node:worker_threads";

export interface WalSyncRequest {
  id: number;
  fd: number;
}
export interface WalSyncReply {
  id: number;
  error?: { message: string; code?: string };
}

parentPort?.on("message", ({ id, fd }: WalSyncRequest) => {
  let reply: WalSyncReply = { id };
  try {
    fdatasyncSync(fd);
  } catch (e) {
    reply = { id, error: { message: (e as Error).message, code: (e as { code?: string }).code } };
  }
  parentPort?.postMessage(reply);
});
