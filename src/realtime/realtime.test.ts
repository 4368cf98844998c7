import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import WebSocket from "ws";
import { events } from "../db/schema/index.ts";
import { startServer, type Running } from "../server.ts";
import { testServices } from "../testing.ts";
import { httpClient } from "../../test/helpers/server.ts";
import { liveClient, nonReaders, openSocket, wsUrl } from "../../test/helpers/live.ts";
import { realtimeService } from "./realtime.service.ts";
import { parseClientMessage } from "./realtime.protocol.ts";

type S = ReturnType<typeof testServices>;

let s: S;
let running: Running;
let base: string;
let eventId: number;
let ann: Awaited<ReturnType<typeof signup>>;
let bob: Awaited<ReturnType<typeof signup>>;
let org: ReturnType<typeof httpClient>;

async function signup(name: string) {
  const c = httpClient(base);
  const r = await c.json("POST", "/api/v1/auth/signup", { username: name, password: "a strong passphrase" });
  if (r.status !== 201) throw new Error(`signup failed ${r.status}`);
  return Object.assign(c, { id: r.body.user.id as number });
}

/** Closes with its code and reason; resolves once the socket is closed. */
function closed(ws: WebSocket) {
  return new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

function frames(ws: WebSocket) {
  const got: any[] = [];
  ws.on("message", (d) => got.push(JSON.parse(d.toString())));
  return got;
}

async function until(pred: () => unknown, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

beforeAll(async () => {
  s = testServices({ port: "0", host: "127.0.0.1", "realtime-retain-count": "10" });
  // Small slow-consumer limit so the test fills it quickly; the rest are the defaults.
  (s as { realtime: unknown }).realtime = realtimeService(s, { slowConsumerBytes: 32 * 1024, rateBurst: 30, ratePerSec: 10 });
  await s.realtime.start();
  running = startServer(s, [{ name: "realtime", stop: (g) => s.realtime.stop(g) }]);
  base = running.url!;
  eventId = s.db.transaction((tx) =>
    tx.insert(events).values({ slug: "spring", title: "Spring hunt", startsAt: 0, endsAt: 1e13, createdAt: 0 }).returning({ id: events.id }).get(),
  ).id;
  ann = await signup("ann");
  bob = await signup("bob");
  await s.auth.createUser({ username: "olga", password: "organiser passphrase", role: "organiser" });
  org = httpClient(base);
  const r = await org.json("POST", "/api/v1/auth/login", { username: "olga", password: "organiser passphrase" });
  expect(r.status).toBe(200);
});

afterAll(async () => {
  await running.stop();
  s.cleanup();
});

describe("sequence numbers and resume", () => {
  test("each topic numbers its messages 1, 2, 3… independently and subscribers get them in order", async () => {
    const c = await liveClient(base);
    expect(await c.subscribe("event:100")).toEqual({ type: "subscribed", topic: "event:100", seq: 0 });
    const seqs = await Promise.all([1, 2, 3].map((i) => s.realtime.publish("event:100", { i })));
    expect(seqs).toEqual([1, 2, 3]);
    expect(await s.realtime.publish("event:101", { other: true })).toBe(1);
    await c.waitFor(() => c.messages("event:100").length === 3);
    expect(c.messages("event:100").map((m) => [m.seq, m.data.i])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(c.messages("event:101")).toEqual([]);
    c.close();
  });

  test("a client that reconnects with resume gets exactly the missed messages, in order, no duplicates", async () => {
    const topic = "event:200";
    const c = await liveClient(base, { maxBackoffMs: 50 });
    await c.subscribe(topic);
    for (let i = 1; i <= 3; i++) await s.realtime.publish(topic, { i });
    await c.waitFor(() => c.messages(topic).length === 3);
    // Cut the connection under the client (not a clean close), then publish while it is away.
    c.ws!.terminate();
    const during = Promise.all([4, 5, 6, 7].map((i) => s.realtime.publish(topic, { i })));
    await during;
    await c.waitFor(() => c.stats.reconnects >= 1);
    for (let i = 8; i <= 9; i++) await s.realtime.publish(topic, { i });
    await c.waitFor(() => c.messages(topic).length === 9);
    await Bun.sleep(50);
    expect(c.messages(topic).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(c.messages(topic).map((m) => m.data.i)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(c.stats.duplicates).toBe(0);
    c.close();
  });

  test("resume replays from the database before the subscribed frame", async () => {
    const topic = "event:300";
    for (let i = 1; i <= 5; i++) await s.realtime.publish(topic, { i });
    const ws = await openSocket(wsUrl(base));
    const got = frames(ws);
    ws.send(JSON.stringify({ type: "resume", topic, after: 2 }));
    await until(() => got.some((m) => m.type === "subscribed"));
    expect(got).toEqual([
      { type: "msg", topic, seq: 3, data: { i: 3 } },
      { type: "msg", topic, seq: 4, data: { i: 4 } },
      { type: "msg", topic, seq: 5, data: { i: 5 } },
      { type: "subscribed", topic, seq: 5 },
    ]);
    ws.close();
  });

  test("a gap older than the count window gets a resync, then the current head", async () => {
    const topic = "event:400";
    for (let i = 1; i <= 25; i++) await s.realtime.publish(topic, { i });
    const ws = await openSocket(wsUrl(base));
    const got = frames(ws);
    ws.send(JSON.stringify({ type: "subscribe", topic, after: 2 }));
    await until(() => got.some((m) => m.type === "subscribed"));
    expect(got).toEqual([{ type: "resync", topic }, { type: "subscribed", topic, seq: 25 }]);
    // Within the window (retain count 10) it replays.
    ws.send(JSON.stringify({ type: "resume", topic, after: 20 }));
    await until(() => got.length >= 8);
    expect(got.slice(2).map((m) => (m.type === "msg" ? m.seq : m.type))).toEqual([21, 22, 23, 24, 25, "subscribed"]);
    ws.close();
  });

  test("a gap older than the age window gets a resync; sequence numbers never go back after pruning", async () => {
    const topic = "event:500";
    for (let i = 1; i <= 3; i++) await s.realtime.publish(topic, { i });
    s.clock.advance(61 * 60_000);
    expect(await s.realtime.prune()).toBeGreaterThanOrEqual(3);
    const ws = await openSocket(wsUrl(base));
    const got = frames(ws);
    ws.send(JSON.stringify({ type: "resume", topic, after: 1 }));
    await until(() => got.some((m) => m.type === "subscribed"));
    expect(got).toEqual([{ type: "resync", topic }, { type: "subscribed", topic, seq: 3 }]);
    expect(await s.realtime.publish(topic, { i: 4 })).toBe(4);
    ws.close();
  });

  test("a client ahead of the server (restored database) is told to resync", async () => {
    const ws = await openSocket(wsUrl(base));
    const got = frames(ws);
    ws.send(JSON.stringify({ type: "resume", topic: "event:600", after: 99 }));
    await until(() => got.some((m) => m.type === "subscribed"));
    expect(got).toEqual([{ type: "resync", topic: "event:600" }, { type: "subscribed", topic: "event:600", seq: 0 }]);
    ws.close();
  });
});

describe("publishInTx", () => {
  test("fans out only after commit, and never a rolled-back message", async () => {
    const c = await liveClient(base);
    await c.subscribe("event:700");
    await expect(
      s.db.write((tx) => {
        s.realtime.publishInTx(tx, "event:700", { rolled: "back" });
        throw new Error("domain rule failed");
      }),
    ).rejects.toThrow("domain rule failed");
    const seq = await s.db.write((tx) => s.realtime.publishInTx(tx, "event:700", { kept: true }));
    expect(seq).toBe(1);
    await c.waitFor(() => c.messages("event:700").length === 1);
    await Bun.sleep(30);
    expect(c.messages("event:700")).toEqual([{ topic: "event:700", seq: 1, data: { kept: true } }]);
    expect(JSON.stringify(c.messages("event:700"))).not.toContain("rolled");
    c.close();
  });

  test("refuses a bad topic or unserialisable data before touching the database", async () => {
    await expect(s.realtime.publish("nonsense", {})).rejects.toThrow("bad topic");
    await expect(s.realtime.publish("event:1", undefined)).rejects.toThrow("JSON");
  });
});

describe("coalescing", () => {
  test("many updates become a few messages carrying the latest value per key", async () => {
    const topic = "event:800";
    const c = await liveClient(base);
    await c.subscribe(topic);
    for (let i = 0; i < 200; i++) s.realtime.coalesce(topic, `player${i % 5}`, { player: i % 5, score: i }, 4);
    await c.waitFor(() => c.messages(topic).length >= 1);
    await Bun.sleep(100);
    // Same turn of the event loop: one message with one entry per key, latest values.
    expect(c.messages(topic).length).toBe(1);
    expect(c.messages(topic)[0].data.batch.map((d: any) => d.score).sort((a: number, b: number) => a - b)).toEqual([195, 196, 197, 198, 199]);
    // Calls spread over 600 ms at 4/s: at most 3-4 messages more, not 60.
    const t0 = performance.now();
    while (performance.now() - t0 < 600) {
      s.realtime.coalesce(topic, "player1", { player: 1, score: Math.round(performance.now()) }, 4);
      await Bun.sleep(10);
    }
    await Bun.sleep(300);
    expect(c.messages(topic).length).toBeGreaterThanOrEqual(2);
    expect(c.messages(topic).length).toBeLessThanOrEqual(5);
    c.close();
  });
});

describe("authorization", () => {
  test("user:<id> is readable only with that user's valid session", async () => {
    const topic = `user:${ann.id}`;
    const cases: Array<[string, string | null, string]> = [
      ["no cookie", null, "forbidden"],
      ["forged cookie", "gauntlet_session=abc.def", "forbidden"],
      ["forged secret on a real session id", ann.cookie!.replace(/\.[^.]+$/, ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "forbidden"],
      ["another user's session", bob.cookie, "forbidden"],
      ["the organiser's session", org.cookie, "forbidden"],
      ["ann's own session", ann.cookie, "subscribed"],
    ];
    const clients = [];
    for (const [name, cookie, want] of cases) {
      const c = await liveClient(base, { cookie, autoReconnect: false });
      const answer = await c.subscribe(topic);
      expect({ name, type: answer.type, code: answer.code }).toEqual({ name, type: want === "subscribed" ? "subscribed" : "error", code: want === "subscribed" ? undefined : want });
      clients.push(c);
    }
    await s.realtime.publish(topic, { xp: 10, secret: "only-for-ann" });
    const annClient = clients.at(-1)!;
    await annClient.waitFor(() => annClient.messages(topic).length === 1);
    await Bun.sleep(30);
    for (const c of clients.slice(0, -1)) {
      expect(c.messages(topic)).toEqual([]);
      expect(JSON.stringify(c.control)).not.toContain("only-for-ann");
    }
    for (const c of clients) c.close();
  });

  test("organiser-only twin topics and unknown prefixes", async () => {
    const player = await liveClient(base, { cookie: bob.cookie, autoReconnect: false });
    const anon = await liveClient(base, { autoReconnect: false });
    const organiser = await liveClient(base, { cookie: org.cookie, autoReconnect: false });
    expect((await player.subscribe(`event:${eventId}:org`)).code).toBe("forbidden");
    expect((await anon.subscribe(`event:${eventId}:org`)).code).toBe("forbidden");
    expect((await organiser.subscribe(`event:${eventId}:org`)).type).toBe("subscribed");
    expect((await anon.subscribe(`event:${eventId}`)).type).toBe("subscribed");
    expect((await anon.subscribe("match:1")).code).toBe("bad_topic"); // no authorizer registered yet
    expect((await anon.subscribe("../etc")).code).toBe("bad_topic");
    expect((await anon.subscribe("user:1:org")).code).toBe("forbidden");
    await s.realtime.publish(s.realtime.orgTopic(`event:${eventId}`), { frozen: "delta" });
    await organiser.waitFor(() => organiser.messages(`event:${eventId}:org`).length === 1);
    await Bun.sleep(30);
    expect(JSON.stringify(player.control) + JSON.stringify(anon.control)).not.toContain("frozen");
    for (const c of [player, anon, organiser]) c.close();
  });

  test("registered authorizers decide their prefix; user topics cannot be overridden", async () => {
    s.realtime.authorize("match", (user, id) => user !== null && id === "42");
    const anon = await liveClient(base, { autoReconnect: false });
    const b = await liveClient(base, { cookie: bob.cookie, autoReconnect: false });
    expect((await anon.subscribe("match:42")).code).toBe("forbidden");
    expect((await b.subscribe("match:41")).code).toBe("forbidden");
    expect((await b.subscribe("match:42")).type).toBe("subscribed");
    expect(() => s.realtime.authorize("user", () => true)).toThrow();
    s.realtime.authorize("match", () => {
      throw new Error("bug in a domain");
    });
    expect((await b.subscribe("match:43")).code).toBe("forbidden");
    anon.close();
    b.close();
  });
});

describe("the upgrade", () => {
  test("a foreign Origin is refused with 403 JSON before the upgrade; our own Origin is accepted", async () => {
    const host = new URL(base).host;
    for (const origin of ["https://evil.example", `http://${host}.evil.example`, "null"]) {
      const err: any = await openSocket(wsUrl(base), { origin, cookie: ann.cookie }).catch((e) => e);
      expect(err.status).toBe(403);
      expect(JSON.parse(err.body).error.code).toBe("cross_origin");
    }
    const ws = await openSocket(wsUrl(base), { origin: `http://${host}` });
    ws.close();
  });

  test("a plain GET gets 426 JSON, not a hang", async () => {
    const r = await fetch(base + "/api/v1/live");
    expect(r.status).toBe(426);
    expect((await r.json()).error.code).toBe("upgrade_required");
  });
});

describe("bad clients", () => {
  const cases: Array<[string, string | Buffer, number]> = [
    ["not JSON", "{nope", 4400],
    ["unknown type", JSON.stringify({ type: "publish", topic: "event:1", data: 1 }), 4400],
    ["unknown field", JSON.stringify({ type: "ping", extra: 1 }), 4400],
    ["negative after", JSON.stringify({ type: "resume", topic: "event:1", after: -1 }), 4400],
    ["JSON array", "[]", 4400],
    ["binary frame", Buffer.from([1, 2, 3]), 1003],
    ["oversized frame", JSON.stringify({ type: "subscribe", topic: "event:1", pad: "x".repeat(10_000) }), 1009],
  ];
  for (const [name, payload, code] of cases) {
    test(`${name} closes with ${code} and the server keeps serving`, async () => {
      const bystander = await liveClient(base, { autoReconnect: false });
      await bystander.subscribe("event:900");
      const ws = await openSocket(wsUrl(base));
      const done = closed(ws);
      ws.send(payload);
      const { code: got, reason } = await done;
      expect(got).toBe(code);
      if (code === 4400) expect(reason).toStartWith("malformed message");
      await s.realtime.publish("event:900", { still: "alive" });
      await bystander.waitFor(() => bystander.messages("event:900").length >= 1);
      expect((await fetch(base + "/healthz")).status).toBe(200);
      bystander.close();
    });
  }

  test("a flood past the per-connection rate limit closes with 4429", async () => {
    const ws = await openSocket(wsUrl(base));
    const done = closed(ws);
    for (let i = 0; i < 100; i++) ws.send('{"type":"ping"}');
    expect((await done).code).toBe(4429);
  });

  test("ping gets pong", async () => {
    const ws = await openSocket(wsUrl(base));
    const got = frames(ws);
    ws.send('{"type":"ping"}');
    await until(() => got.length === 1);
    expect(got).toEqual([{ type: "pong" }]);
    ws.close();
  });

  test("protocol parser: table of frames", () => {
    expect(parseClientMessage('{"type":"subscribe","topic":"event:1"}')).toEqual({ ok: true, msg: { type: "subscribe", topic: "event:1" } });
    expect(parseClientMessage('{"type":"resume","topic":"event:1"}').ok).toBe(false);
    expect(parseClientMessage('{"type":"subscribe","topic":"event:1","after":1.5}').ok).toBe(false);
    expect(parseClientMessage("null").ok).toBe(false);
  });

  test("a client that stops reading is dropped at the backpressure limit while a reader keeps up", async () => {
    const topic = "event:1000";
    const reader = await liveClient(base, { autoReconnect: false });
    await reader.subscribe(topic);
    const before = s.realtime.connections();
    // Bun's `ws` cannot stop reading, so the non-reading client is Node's real `ws` in a child process.
    const slow = await nonReaders(wsUrl(base), topic, 1);
    try {
    await until(() => s.realtime.connections() === before + 1);
    const big = "x".repeat(60_000);
    for (let i = 0; i < 400; i++) await s.realtime.publish(topic, { i, big });
    await until(() => s.realtime.connections() === before, 15_000);
    await reader.waitFor(() => reader.messages(topic).length === 400);
    expect(reader.messages(topic).map((m) => m.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    } finally {
      reader.close();
      slow.kill();
    }
  }, 30_000);
});

describe("announcements", () => {
  test("organisers post; the announcement is stored, listed and pushed on event:<id>; players cannot post", async () => {
    const c = await liveClient(base, { autoReconnect: false });
    await c.subscribe(`event:${eventId}`);
    const posted = await org.json("POST", `/api/v1/events/spring/announcements`, { title: "Hint", body: "Look up." });
    expect(posted.status).toBe(201);
    expect(posted.body.announcement).toMatchObject({ eventId, title: "Hint", body: "Look up." });
    expect(posted.body.announcement).not.toHaveProperty("authorId");
    await c.waitFor(() => c.messages(`event:${eventId}`).some((m) => m.data.kind === "announcement"));
    const pushed = c.messages(`event:${eventId}`).find((m) => m.data.kind === "announcement")!;
    expect(pushed.data.announcement).toEqual(posted.body.announcement);
    const listed = await bob.json("GET", `/api/v1/events/${eventId}/announcements`);
    expect(listed.status).toBe(200);
    expect(listed.body.announcements[0]).toEqual(posted.body.announcement);
    expect((await bob.json("POST", `/api/v1/events/${eventId}/announcements`, { body: "fake" })).status).toBe(403);
    expect((await httpClient(base).json("POST", `/api/v1/events/${eventId}/announcements`, { body: "fake" })).status).toBe(401);
    c.close();
  });

  const bad: Array<[string, string, unknown, number]> = [
    ["empty body", "spring", { body: "  " }, 400],
    ["unknown field", "spring", { body: "x", pin: true }, 400],
    ["body too long", "spring", { body: "x".repeat(10_001) }, 400],
    ["unknown event", "autumn", { body: "x" }, 404],
    ["bad event ref", "a%20b", { body: "x" }, 400],
  ];
  for (const [name, ev, body, status] of bad) {
    test(`POST announcement: ${name} → ${status}`, async () => {
      const r = await org.json("POST", `/api/v1/events/${ev}/announcements`, body);
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBeString();
    });
  }
});
