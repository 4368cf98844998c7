/**
 * The drain, on real sockets (test/helpers/http1.ts never retries): what Bun's
 * stop(false) does on its own, and what startServer adds so that no client
 * request is lost when a successor takes over (src/upgrade/).
 */
import { afterEach, expect, test } from "bun:test";
import net from "node:net";
import { KeepAliveClient } from "../test/helpers/http1.ts";
import { HANDOFF_KEEPALIVE_MS, startServer, type Running } from "./server.ts";
import { testServices } from "./testing.ts";

const open: Array<{ running: Running; s: ReturnType<typeof testServices> }> = [];
afterEach(async () => {
  for (const { running, s } of open.splice(0)) {
    await running.stop();
    s.cleanup();
  }
});

function serve() {
  const s = testServices({ port: "0", host: "127.0.0.1", "multivac-per-ip-per-minute": "100000" });
  const running = startServer(s);
  open.push({ running, s });
  return { running, port: running.server!.port! };
}

const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });

test("Bun's stop(false) alone closes an idle keep-alive connection at once (the race the drain avoids)", async () => {
  const srv = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
  try {
    const c = new KeepAliveClient("127.0.0.1", srv.port!);
    expect((await c.request("GET", "/")).connectionClose).toBe(false);
    void srv.stop(false);
    const end = Date.now() + 2000;
    while (c.stats.idleClosedByServer === 0 && Date.now() < end) await Bun.sleep(5);
    // A request written just before that FIN arrived would have been lost.
    expect(c.stats.idleClosedByServer).toBe(1);
  } finally {
    srv.stop(true);
  }
});

test("a hand-over drain: Connection: close on every answer, the listener open HANDOFF_KEEPALIVE_MS, idle connections closed only then", async () => {
  const { running, port } = serve();
  const busy = new KeepAliveClient("127.0.0.1", port);
  const idle = new KeepAliveClient("127.0.0.1", port);
  expect((await busy.request("GET", "/healthz")).connectionClose).toBe(false);
  expect((await idle.request("GET", "/healthz")).connectionClose).toBe(false);
  // In flight when the drain starts, and still after the listener has closed.
  const slow = new KeepAliveClient("127.0.0.1", port);
  const inFlight = slow.request("GET", `/zzz?ms=${HANDOFF_KEEPALIVE_MS + 300}`);
  await Bun.sleep(50);

  const started = performance.now();
  const stopped = running.stop("test", { handoff: true });
  // The connection in use gets an answer that closes it; the next request, on a new connection, is still accepted.
  const a = await busy.request("GET", "/healthz");
  expect({ status: a.status, close: a.connectionClose }).toEqual({ status: 200, close: true });
  const b = await busy.request("POST", "/multivac/data", { "content-type": "application/x-www-form-urlencoded" }, "data=x");
  expect({ status: b.status, close: b.connectionClose }).toEqual({ status: 200, close: true });
  expect(busy.stats.connects).toBe(2);
  expect(idle.stats.idleClosedByServer).toBe(0);

  // Then the listener closes (new connections are refused here: the successor has its own listener).
  while (await connects(port)) await Bun.sleep(20);
  const closedAfter = performance.now() - started;
  expect(closedAfter).toBeGreaterThanOrEqual(HANDOFF_KEEPALIVE_MS - 50);
  const r = await inFlight;
  expect({ status: r.status, close: r.connectionClose }).toEqual({ status: 200, close: true });
  await stopped;
  expect(idle.stats.idleClosedByServer).toBe(1);
  for (const c of [busy, idle, slow]) c.close();
});

test("a plain stop closes the listener at once; a request in flight still gets its answer, with Connection: close", async () => {
  const { running, port } = serve();
  const c = new KeepAliveClient("127.0.0.1", port);
  const inFlight = c.request("GET", "/zzz?ms=300");
  await Bun.sleep(50);
  const stopped = running.stop("test");
  expect(await connects(port)).toBe(false);
  const r = await inFlight;
  expect({ status: r.status, close: r.connectionClose }).toEqual({ status: 200, close: true });
  await stopped;
  c.close();
});
