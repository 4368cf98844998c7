/** Two processes on one port (reusePort): the new one serves while the old one drains and exits. */
import { afterAll, expect, test } from "bun:test";
import { startServer, type ServerProc } from "../helpers/server.ts";

const procs: ServerProc[] = [];
afterAll(() => procs.forEach((p) => p.cleanup()));

test("a second server binds the same port; stopping the first loses no request", async () => {
  const a = await startServer();
  procs.push(a);
  const b = await startServer({ dataDir: a.dataDir, port: a.port });
  procs.push(b);
  expect(b.port).toBe(a.port);

  let failures = 0;
  let ok = 0;
  let running = true;
  const load = (async () => {
    while (running) {
      const batch = await Promise.all(
        Array.from({ length: 8 }, () =>
          fetch(`${a.url}/readyz`)
            .then((r) => r.status)
            .catch(() => 0),
        ),
      );
      for (const s of batch) s === 200 ? ok++ : failures++;
    }
  })();
  await Bun.sleep(300);
  expect(await a.stop()).toBe(0);
  await Bun.sleep(300);
  running = false;
  await load;
  expect(ok).toBeGreaterThan(50);
  expect(failures).toBe(0);
  expect(await b.stop()).toBe(0);
  // Two starts and two graceful stops, one of them a hand-over that keeps its listener open 1 s (src/server.ts).
}, 20_000);
