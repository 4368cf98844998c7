/**
 * Bun.serve around the Hono app, with graceful shutdown: on SIGTERM/SIGINT
 * stop accepting, let in-flight requests finish (bounded by shutdownGraceMs),
 * close the database cleanly, exit. reusePort lets a new process bind the
 * same port before this one exits (zero-downtime upgrades).
 */
import type { Server } from "bun";
import { buildApp } from "./app.ts";
import type { Services } from "./services.ts";

export interface Running {
  server: Server<unknown> | null;
  url: string | null;
  stop(reason?: string): Promise<void>;
  /** Resolves when the process should exit (after a signal-triggered stop). */
  done: Promise<void>;
}

export interface Stoppable {
  name: string;
  stop(graceMs: number): Promise<void>;
}

export function startServer(s: Services, extra: Stoppable[] = []): Running {
  const { config, log } = s;
  let server: Server<unknown> | null = null;
  if (config.roles.includes("api")) {
    const { app } = buildApp(s);
    server = Bun.serve({
      hostname: config.host,
      port: config.port,
      reusePort: true,
      // Bun's own limit is a backstop; the app's bodyLimit answers 413 in JSON first.
      maxRequestBodySize: config.bodyLimitBytes * 2 + 65536,
      idleTimeout: 60,
      fetch: (req, srv) => app.fetch(req, srv),
      // The live websocket (src/realtime): Bun's native handler; the Hono route upgrades into it.
      websocket: s.realtime.websocket,
      error(err) {
        log.error("server error", { err });
        return new Response(JSON.stringify({ error: { code: "internal", message: "Internal server error." } }), { status: 500, headers: { "Content-Type": "application/json" } });
      },
    });
  }
  const url = server ? `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}` : null;
  log.info("listening", { url, roles: config.roles, pid: process.pid });
  logProcessErrors(log);

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping: Promise<void> | null = null;

  const stop = (reason = "stop") =>
    (stopping ??= (async () => {
      log.info("shutting down", { reason });
      const grace = config.shutdownGraceMs;
      const tasks: Promise<unknown>[] = extra.map((x) => x.stop(grace).catch((err) => log.warn(`${x.name} stop failed`, { err })));
      if (server) {
        const srv = server;
        const drained = srv.stop(false);
        const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), grace).unref());
        tasks.push(
          Promise.race([drained, timer]).then((r) => {
            if (r === "timeout") {
              log.warn("grace period over; closing remaining connections", { pending: srv.pendingRequests });
              return srv.stop(true);
            }
          }),
        );
      }
      await Promise.all(tasks);
      // Requests are drained, so every analytics row is recorded; write them before the database closes.
      await s.analytics.stop().catch((err) => log.warn("analytics stop failed", { err }));
      await s.db.flush().catch(() => {});
      s.db.close();
      log.info("stopped");
      resolveDone();
    })());

  return { server, url, stop, done };
}

export function handleSignals(running: Running) {
  const onSignal = (sig: string) => {
    void running.stop(sig).then(() => process.exit(0));
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
}

let watchingErrors = false;
/**
 * Errors nobody caught still leave one structured line with the stack. A
 * rejected promise is logged and the server keeps serving; an uncaught
 * exception leaves the process in an unknown state, so it exits non-zero for
 * the supervisor (systemd) to restart it.
 */
function logProcessErrors(log: Services["log"]) {
  if (watchingErrors) return;
  watchingErrors = true;
  process.on("unhandledRejection", (err) => log.error("unhandled rejection", { err }));
  process.on("uncaughtException", (err) => {
    log.error("uncaught exception", { err });
    process.exit(1);
  });
}
