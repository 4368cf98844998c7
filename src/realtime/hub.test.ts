import { expect, test } from "bun:test";
import { RedisClient } from "bun";
import { silentLogger } from "../lib/log.ts";
import { redisHub } from "./hub.ts";

const URL = "redis://127.0.0.1:6379";

async function redisUp() {
  const c = new RedisClient(URL, { connectionTimeout: 1000, autoReconnect: false });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

test("redis hub: another process's publish arrives intact (newlines in data included), never our own", async () => {
  if (!(await redisUp())) return console.log("SKIP: Redis on 127.0.0.1:6379 is unreachable");
  const channel = `gauntlet:test:${crypto.randomUUID()}`;
  const a = redisHub(URL, silentLogger(), { channel });
  const b = redisHub(URL, silentLogger(), { channel });
  const gotA: unknown[] = [];
  const gotB: unknown[] = [];
  a.onMessage((t, s, d) => gotA.push([t, s, d]));
  b.onMessage((t, s, d) => gotB.push([t, s, d]));
  await a.start();
  await b.start();
  a.publish("event:1", 7, '{"text":"two\\nlines","raw":"\n"}');
  b.publish("user:2", 1, "{}");
  const end = Date.now() + 3000;
  while ((gotA.length < 1 || gotB.length < 1) && Date.now() < end) await Bun.sleep(10);
  expect(gotB).toEqual([["event:1", 7, '{"text":"two\\nlines","raw":"\n"}']]);
  expect(gotA).toEqual([["user:2", 1, "{}"]]);
  await a.stop();
  await b.stop();
});

test("redis hub: an unreachable Redis does not stop the server from starting", async () => {
  const h = redisHub("redis://127.0.0.1:1", silentLogger(), { channel: "x" });
  await h.start();
  h.publish("event:1", 1, "{}");
  await h.stop();
}, 10_000);
