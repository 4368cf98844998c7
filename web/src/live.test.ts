/**
 * The live client against a scripted socket: resume after the last seq per
 * topic, duplicates dropped, gaps and resync frames turned into a refetch,
 * and a server "reconnect" frame obeyed.
 */
import { afterAll, beforeEach, expect, test } from "bun:test";

class FakeSocket {
  static OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: any[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.();
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  push(o: object) {
    this.onmessage?.({ data: JSON.stringify(o) });
  }
}
const RealWebSocket = globalThis.WebSocket;
(globalThis as any).WebSocket = FakeSocket;
const { LiveClient } = await import("./live.ts");
// Other test files in the same process get the real one back.
afterAll(() => {
  globalThis.WebSocket = RealWebSocket;
});

const nextSocket = async (after: number) => {
  for (let i = 0; i < 200 && FakeSocket.all.length <= after; i++) await Bun.sleep(10);
  expect(FakeSocket.all.length).toBe(after + 1);
  return FakeSocket.all[after]!;
};

beforeEach(() => {
  FakeSocket.all = [];
});

test("subscribes, delivers in order, drops duplicates, resumes after the last seq on reconnect", async () => {
  const c = new LiveClient("ws://x/api/v1/live");
  const got: number[] = [];
  let resyncs = 0;
  c.subscribe("event:1", (d) => got.push(d.n), () => resyncs++);
  const ws = await nextSocket(0);
  ws.open();
  expect(ws.sent).toEqual([{ type: "subscribe", topic: "event:1" }]);
  ws.push({ type: "subscribed", topic: "event:1", seq: 4 });
  ws.push({ type: "msg", topic: "event:1", seq: 5, data: { n: 5 } });
  ws.push({ type: "msg", topic: "event:1", seq: 6, data: { n: 6 } });
  ws.push({ type: "msg", topic: "event:1", seq: 6, data: { n: 6 } });
  expect(got).toEqual([5, 6]);

  ws.close();
  const ws2 = await nextSocket(1);
  ws2.open();
  expect(ws2.sent).toEqual([{ type: "resume", topic: "event:1", after: 6 }]);
  ws2.push({ type: "msg", topic: "event:1", seq: 6, data: { n: 6 } });
  ws2.push({ type: "msg", topic: "event:1", seq: 7, data: { n: 7 } });
  expect(got).toEqual([5, 6, 7]);
  expect(resyncs).toBe(0);
  c.close();
});

test("a gap or a resync frame asks the page to refetch; the new head is then followed", async () => {
  const c = new LiveClient("ws://x/api/v1/live");
  const got: number[] = [];
  let resyncs = 0;
  c.subscribe("user:3", (d) => got.push(d.n), () => resyncs++);
  const ws = await nextSocket(0);
  ws.open();
  ws.push({ type: "subscribed", topic: "user:3", seq: 1 });
  ws.push({ type: "msg", topic: "user:3", seq: 4, data: { n: 4 } });
  expect(resyncs).toBe(1);
  ws.push({ type: "msg", topic: "user:3", seq: 5, data: { n: 5 } });
  expect(got).toEqual([5]);
  ws.push({ type: "resync", topic: "user:3" });
  expect(resyncs).toBe(2);
  ws.push({ type: "subscribed", topic: "user:3", seq: 20 });
  ws.push({ type: "msg", topic: "user:3", seq: 21, data: { n: 21 } });
  expect(got).toEqual([5, 21]);
  // Frames for topics nobody listens to, and garbage, are ignored.
  ws.push({ type: "msg", topic: "user:9", seq: 1, data: { n: 99 } });
  ws.onmessage?.({ data: "not json" });
  expect(got).toEqual([5, 21]);
  c.close();
});

test("a server reconnect frame closes and comes back with jitter; unsubscribing the last listener sends unsubscribe", async () => {
  const c = new LiveClient("ws://x/api/v1/live");
  const off = c.subscribe("match:7", () => {});
  const ws = await nextSocket(0);
  ws.open();
  ws.push({ type: "subscribed", topic: "match:7", seq: 0 });
  ws.push({ type: "reconnect", afterMs: 50 });
  expect(ws.readyState).toBe(3);
  const ws2 = await nextSocket(1);
  ws2.open();
  expect(ws2.sent).toEqual([{ type: "resume", topic: "match:7", after: 0 }]);
  off();
  expect(ws2.sent.at(-1)).toEqual({ type: "unsubscribe", topic: "match:7" });
  c.close();
});
