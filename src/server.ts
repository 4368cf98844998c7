/**
 * Bun.serve around the Hono app, with graceful shutdown: on SIGTERM/SIGINT
 * stop accepting, let in-flight requests finish (bounded by shutdownGraceMs),
 * close the database cleanly, exit. reusePort lets a new process bind the
 * same port before this one exits (zero-downtime upgrades, src/upgrade/).
 *
 * Draining without a failed request (each step below was measured; README, Upgrading):
 * Bun's stop(false) closes idle keep-alive connections at once, and a request
 * a client sends on one just then is lost. So from the moment the drain starts
 * every response says `Connection: close` (Bun then closes that connection
 * after it), and when a successor already serves the port the listener stays
 * open for HANDOFF_KEEPALIVE_MS first: every client that is using its
 * connection gets one last answer with `Connection: close` and reconnects
 * (to either process; the kernel balances reusePort listeners). Only then is
 * the listener closed; what the kernel had queued for it moves to the
 * successor when net.ipv4.tcp_migrate_req is 1. Websockets are told to
 * reconnect after the listener has closed, so they all land on the successor.
 */
import type { Server } from "bun";
import { buildApp } from "./app.ts";
import type { Services } from "./services.ts";

/** How long a draining process keeps its listener open while a successor serves the same port. */
export const HANDOFF_KEEPALIVE_MS = 1000;

export interface StopOptions {
  /** A successor serves the port: answer `Connection: close` for a while before closing the listener. */
  handoff?: boolean;
}

export interface Running {
  server: Server<unknown> | null;
  url: string | null;
  stop(reason?: string, opts?: StopOptions): Promise<void>;
  /** GET /readyz through the app in process: true when it answers 200 (false without the api role). */
  ready(): Promise<boolean>;
  /** True from the moment stop() is called. */
  readonly stopping: boolean;
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
  let app: ReturnType<typeof buildApp>["app"] | null = null;
  let draining = false;
  // From the start of a drain every answer closes its connection, so no client sends another request on a socket about to be closed.
  const closeWhenDraining = (res: Response): Response => {
    if (!draining || !res) return res;
    try {
      res.headers.set("Connection", "close");
      return res;
    } catch {
      // Immutable headers (Response.redirect/error): copy.
      const h = new Headers(res.headers);
      h.set("Connection", "close");
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
    }
  };
  if (config.roles.includes("api")) {
    const hono = (app = buildApp(s).app);
    server = Bun.serve({
      hostname: config.host,
      port: config.port,
      reusePort: true,
      // Bun's own limit is a backstop; the app's bodyLimit answers 413 in JSON first.
      maxRequestBodySize: config.bodyLimitBytes * 2 + 65536,
      idleTimeout: 60,
      fetch: (req, srv) => {
        const res = hono.fetch(req, srv);
        return res instanceof Promise ? res.then(closeWhenDraining) : closeWhenDraining(res);
      },
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

  const stop = (reason = "stop", opts: StopOptions = {}) =>
    (stopping ??= (async () => {
      const grace = config.shutdownGraceMs;
      log.info("shutting down", { reason, handoff: !!opts.handoff });
      draining = true;
      if (server && opts.handoff) await Bun.sleep(Math.min(HANDOFF_KEEPALIVE_MS, grace));
      const tasks: Promise<unknown>[] = [];
      // The listener closes first (synchronously), then websockets are told to reconnect: they come back to the successor, not here.
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
      tasks.push(...extra.map((x) => x.stop(grace).catch((err) => log.warn(`${x.name} stop failed`, { err }))));
      await Promise.all(tasks);
      // Requests are drained, so every analytics row is recorded; write them before the database closes.
      await s.analytics.stop().catch((err) => log.warn("analytics stop failed", { err }));
      await s.db.flush().catch(() => {});
      s.db.close();
      // Nothing uses the request-path Redis connection any more (the hub closed its own with the realtime stop).
      s.redis?.close();
      log.info("stopped");
      resolveDone();
    })());

  const ready = async () => {
    if (!app || !url) return false;
    try {
      const res = await app.fetch(new Request(`${url}/readyz`), server);
      return res.status === 200;
    } catch {
      return false;
    }
  };

  return {
    server,
    url,
    stop,
    ready,
    done,
    get stopping() {
      return stopping !== null;
    },
  };
}

/**
 * SIGTERM/SIGINT stop the server and exit 0. A repeated SIGTERM (systemd, and
 * a successor taking over, may both send one) changes nothing; `handoff` says
 * whether a successor already serves the port, which makes the drain keep the
 * listener open a moment (see the top of this file).
 */
export function handleSignals(running: Running, handoff: { successorServing(): boolean; stopped(): void } | null = null) {
  const onSignal = (sig: string) => {
    void running.stop(sig, { handoff: handoff?.successorServing() ?? false }).then(() => {
      handoff?.stopped();
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  // Once: a second Ctrl-C falls through to the default action and ends the process at once.
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
