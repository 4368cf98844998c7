/**
 * MultiVAC through real processes: a datum posted to an api-only server is
 * a durable job; the server is killed with SIGKILL before any worker ran;
 * a restarted server with the worker role processes it.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type ServerProc } from "../helpers/server.ts";

const INSUFFICIENT = "INSUFFICIENT DATA FOR MEANINGFUL ANSWER.";
const procs: ServerProc[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-multivac-"));
afterAll(() => {
  for (const p of procs) p.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

const post = (url: string, data: string) =>
  fetch(url + "/multivac/data", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ data }) });

async function answerWithin(url: string, ms: number, want: string) {
  const until = performance.now() + ms;
  let last = "";
  while (performance.now() < until) {
    last = await (await fetch(url + "/multivac")).text();
    if (last === want) return last;
    await Bun.sleep(50);
  }
  return last;
}

test("a datum posted before kill -9 is processed by the worker after restart", async () => {
  const api = await startServer({ dataDir, args: ["--roles", "api"] });
  procs.push(api);
  expect(await (await fetch(api.url + "/multivac")).text()).toBe(INSUFFICIENT);
  const r = await post(api.url, "THERE IS AS YET INSUFFICIENT DATA");
  expect(r.status).toBe(200);
  expect(await r.json()).toEqual({ response: "MultiVAC updated!" });
  // No worker in this process: nothing is processed however long we wait.
  await Bun.sleep(300);
  expect(await (await fetch(api.url + "/multivac")).text()).toBe(INSUFFICIENT);
  await api.kill();

  const worker = await startServer({ dataDir, args: ["--roles", "api,worker"] });
  procs.push(worker);
  expect(await answerWithin(worker.url, 10_000, "THERE IS AS YET INSUFFICIENT DATA")).toBe("THERE IS AS YET INSUFFICIENT DATA");

  // Later data never replaces the first datum ever processed.
  expect((await post(worker.url, "LET THERE BE LIGHT")).status).toBe(200);
  await Bun.sleep(300);
  expect(await (await fetch(worker.url + "/multivac")).text()).toBe("THERE IS AS YET INSUFFICIENT DATA");

  // /zzz sleeps the bounded time and refuses more than 10 s.
  const t0 = performance.now();
  expect((await fetch(worker.url + "/zzz?ms=200")).status).toBe(200);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  expect((await fetch(worker.url + "/zzz?ms=10001")).status).toBe(400);
  expect(await worker.stop()).toBe(0);
}, 60_000);
