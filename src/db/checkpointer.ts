/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs
 * inside the COMMIT that crosses 1,000 WAL pages, on the thread that
 * commits: our event loop. Under load that is every few hundred
 * milliseconds, each time copying megabytes into the database file and
 * fsyncing it (synchronous=FULL) while every request waits. The server turns
 * the automatic checkpoint off on its writer and lets this thread, with a
 * connection of its own, run PASSIVE checkpoints on a timer: PASSIVE never
 * blocks the writer or readers, and the copy and fsync use the core the
 * event loop is not using.
 *
 * If the worker fails, the writer gets its automatic checkpoint back, so the
 * WAL never grows without bound.
 */
import type { Database } from "bun:sqlite";

// Inline source (a Blob URL), so the compiled binary needs no extra entry point.
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db = null;
let timer = null;
self.onmessage = (e) => {
  const m = e.data;
  if (m.type === "start") {
    try {
      db = new Database(m.path);
      db.run("PRAGMA busy_timeout = 1000");
      db.run("PRAGMA synchronous = FULL");
      const q = db.query("PRAGMA wal_checkpoint(PASSIVE)");
      timer = setInterval(() => {
        try {
          q.get();
        } catch (err) {
          postMessage({ type: "error", message: String(err && err.message || err) });
        }
      }, m.intervalMs);
      postMessage({ type: "started" });
    } catch (err) {
      postMessage({ type: "error", fatal: true, message: String(err && err.message || err) });
    }
  } else if (m.type === "stop") {
    if (timer) clearInterval(timer);
    try { db && db.close(); } catch {}
    postMessage({ type: "stopped" });
  }
};
`;

export interface Checkpointer {
  /** Stops the timer and closes the worker's connection; resolves when it has. */
  stop(): Promise<void>;
}

export function startCheckpointer(path: string, writer: Database, opts: { intervalMs?: number; onError?: (message: string) => void } = {}): Checkpointer {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const worker = new Worker(url);
  // Bun's Worker has unref() (not in the DOM type): the thread must not keep a stopping process alive.
  (worker as unknown as { unref(): void }).unref();
  writer.run("PRAGMA wal_autocheckpoint = 0");
  let stopped = false;
  let onStopped: (() => void) | null = null;
  const fallBack = (message: string) => {
    opts.onError?.(message);
    if (!stopped) writer.run("PRAGMA wal_autocheckpoint = 1000");
  };
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data as { type: string; message?: string; fatal?: boolean };
    if (m.type === "error") fallBack(m.message ?? "checkpoint failed");
    else if (m.type === "stopped") onStopped?.();
  };
  worker.onerror = (e) => fallBack(e.message);
  worker.postMessage({ type: "start", path, intervalMs: opts.intervalMs ?? 100 });
  return {
    stop() {
      if (stopped) return Promise.resolve();
      stopped = true;
      return new Promise<void>((resolve) => {
        const done = () => {
          worker.terminate();
          URL.revokeObjectURL(url);
          resolve();
        };
        onStopped = done;
        worker.postMessage({ type: "stop" });
        // A wedged worker must not hold up shutdown.
        setTimeout(done, 1000).unref();
      });
    },
  };
}
