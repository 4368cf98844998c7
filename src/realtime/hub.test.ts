import { expect, test } from "bun:test";
import postgres from "postgres";
import { silentLogger } from "../lib/log.ts";
import { testServices } from "../testing.ts";
import { pgChannel, pgHub, redisHub, type Hub } from "./hub.ts";
import { realtimeService, type Conn } from "./realtime.service.ts";
import { REDIS, redisUp } from "../../test/helpers/redis.ts";

const URL = REDIS;

async function until(pred: () => unknown, ms = 3000) {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await Bun.sleep(10);
}

/** Two hubs on one channel: each hears the other's publish intact (newlines in data included), and never its own. */
async function expectCrossDelivery(a: Hub, b: Hub) {
  const gotA: unknown[] = [];
  const gotB: unknown[] = [];
  a.onMessage((t, s, d) => gotA.push([t, s, d]));
  b.onMessage((t, s, d) => gotB.push([t, s, d]));
  await a.start();
  await b.start();
  a.publish("event:1", 7, '{"text":"two\\nlines","raw":"\n"}');
  b.publish("user:2", 1, "{}");
  await until(() => gotA.length >= 1 && gotB.length >= 1);
  await Bun.sleep(100); // would our own message come back too?
  expect(gotB).toEqual([["event:1", 7, '{"text":"two\\nlines","raw":"\n"}']]);
  expect(gotA).toEqual([["user:2", 1, "{}"]]);
  await a.stop();
  await b.stop();
}

test("redis hub: another process's publish arrives intact (newlines in data included), never our own", async () => {
  if (!(await redisUp())) return console.log("SKIP: Redis on 127.0.0.1:6379 is unreachable");
  const channel = `gauntlet:test:${crypto.randomUUID()}`;
  await expectCrossDelivery(redisHub(URL, silentLogger(), { channel }), redisHub(URL, silentLogger(), { channel }));
});

// ---- PostgreSQL LISTEN/NOTIFY ------------------------------------------

const PG_URL = "postgres://postgres@127.0.0.1:5432/test";

async function pgUp() {
  try {
    await Bun.connect({ hostname: "127.0.0.1", port: 5432, socket: { data() {}, open(s) { s.end(); } } });
    return true;
  } catch {
    return false;
  }
}

const pgChannelForTest = () => `gauntlet_test_${crypto.randomUUID().replaceAll("-", "")}`;

test("pg hub: another process's notify arrives intact (newlines in data included), never our own", async () => {
  if (!(await pgUp())) return console.log("SKIP: PostgreSQL on 127.0.0.1:5432 is unreachable");
  const channel = pgChannelForTest();
  // ?schema= is ours: the driver would refuse it as a connection parameter.
  const a = pgHub(`${PG_URL}?schema=hub_test`, silentLogger(), { channel });
  expect(a.kind).toBe("postgres");
  await expectCrossDelivery(a, pgHub(PG_URL, silentLogger(), { channel }));
});

test("pg hub: the default channel is per schema", () => {
  expect(pgChannel("public")).toMatch(/^gauntlet_rt_[0-9a-f]{1,8}$/);
  expect(pgChannel("t_one")).not.toBe(pgChannel("t_two"));
});

test("pg hub: a lost LISTEN connection comes back by itself and asks for a resync", async () => {
  if (!(await pgUp())) return console.log("SKIP: PostgreSQL on 127.0.0.1:5432 is unreachable");
  const channel = pgChannelForTest();
  const a = pgHub(PG_URL, silentLogger(), { channel });
  const b = pgHub(PG_URL, silentLogger(), { channel });
  const got: unknown[] = [];
  let resyncs = 0;
  b.onMessage((t, s) => got.push([t, s]));
  b.onResync(() => resyncs++);
  await a.start();
  await b.start();
  expect(resyncs).toBe(0);
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  try {
    // Kills every session LISTENing on the test channel: b's listener (a's too; both come back).
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE ${`listen "${channel}"%`}`;
    await until(() => resyncs > 0);
    expect(resyncs).toBe(1);
    a.publish("event:3", 2, "{}");
    await until(() => got.length > 0);
    expect(got).toEqual([["event:3", 2]]);
  } finally {
    await admin.end();
    await a.stop();
    await b.stop();
  }
}, 10_000);

test("pg hub: a payload too large for NOTIFY reaches the other process as topic+seq, whose service reads it from the database", async () => {
  if (!(await pgUp())) return console.log("SKIP: PostgreSQL on 127.0.0.1:5432 is unreachable");
  const channel = pgChannelForTest();
  const big = { text: "é".repeat(6000) }; // 12 000 bytes of UTF-8: past NOTIFY's 8000 though shorter in characters
  // Hub level: data null, topic and seq intact.
  const a = pgHub(PG_URL, silentLogger(), { channel });
  const b = pgHub(PG_URL, silentLogger(), { channel });
  const got: unknown[] = [];
  b.onMessage((t, s, d) => got.push([t, s, d]));
  // Service level: two services on one database, as two instances would be; B has a subscriber.
  const s = testServices();
  const svcA = realtimeService(s, { hub: a });
  const svcB = realtimeService(s, { hub: b });
  const sent: any[] = [];
  const conn: Conn = { ws: null, user: null, ip: "127.0.0.1", subs: new Map(), tokens: 30, refilledAt: performance.now(), closing: false, recheckAt: Infinity };
  const ws = { data: { conn }, send: (t: string) => (sent.push(JSON.parse(t)), t.length), getBufferedAmount: () => 0, close() {}, terminate() {}, readyState: 1 };
  try {
    await svcA.start();
    await svcB.start();
    svcB.websocket.open!(ws as never);
    svcB.websocket.message!(ws as never, JSON.stringify({ type: "subscribe", topic: "event:9" }));
    expect(await svcA.publish("event:9", { small: 1 })).toBe(1);
    expect(await svcA.publish("event:9", big)).toBe(2);
    await until(() => sent.filter((f) => f.type === "msg").length >= 2);
    expect(got).toEqual([
      ["event:9", 1, '{"small":1}'],
      ["event:9", 2, null],
    ]);
    expect(sent.filter((f) => f.type !== "subscribed")).toEqual([
      { type: "msg", topic: "event:9", seq: 1, data: { small: 1 } },
      { type: "msg", topic: "event:9", seq: 2, data: big },
    ]);
  } finally {
    await svcA.stop();
    await svcB.stop();
    s.cleanup();
  }
}, 10_000);

// An unreachable broker never stops a server from starting; publishing into it is not an error either.
test.each([
  ["redis hub: an unreachable Redis", () => redisHub("redis://127.0.0.1:1", silentLogger(), { channel: "x" })],
  ["pg hub: an unreachable PostgreSQL", () => pgHub("postgres://postgres@127.0.0.1:1/test", silentLogger(), { channel: "x" })],
])("%s does not stop the server from starting", async (_name, make) => {
  const h = make();
  await h.start();
  h.publish("event:1", 1, "{}");
  await h.stop();
}, 10_000);
