/**
 * A live socket lasts only as long as its session: logout, ban, password reset
 * and role changes reach open sockets (services.ts wiring, one server), and a
 * second "instance" that shares only the database catches a session deleted
 * there by its periodic re-check.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { eq } from "drizzle-orm";
import { events, sessions } from "../db/schema/index.ts";
import { startServer, type Running } from "../server.ts";
import { testServices } from "../testing.ts";
import { buildApp } from "../app.ts";
import { httpClient } from "../../test/helpers/server.ts";
import { liveClient, type LiveClient } from "../../test/helpers/live.ts";
import { realtimeService, type RealtimeService } from "./realtime.service.ts";
import { CLOSE } from "./realtime.protocol.ts";

type S = ReturnType<typeof testServices>;

let s: S;
let running: Running;
let base: string;
let eventId: number;
let olga: ReturnType<typeof httpClient>;
/** The second instance: its own realtime, told nothing by auth, with a 300 ms re-check. */
let other: { rt: RealtimeService; server: Server<unknown>; base: string };
const RECHECK_MS = 300;
const PASS = "a strong passphrase";

async function signup(name: string, on = base) {
  const c = httpClient(on);
  const r = await c.json("POST", "/api/v1/auth/signup", { username: name, password: PASS });
  if (r.status !== 201) throw new Error(`signup failed ${r.status}`);
  return Object.assign(c, { id: r.body.user.id as number });
}

async function login(name: string, password = PASS, on = base) {
  const c = httpClient(on);
  const r = await c.json("POST", "/api/v1/auth/login", { username: name, password });
  if (r.status !== 200) throw new Error(`login failed ${r.status}`);
  return Object.assign(c, { id: r.body.user.id as number });
}

/** A live client on `on` with `cookie`, subscribed to `topics` (each must be granted). */
async function socket(cookie: string | null, topics: string[], opts: { on?: string; autoReconnect?: boolean } = {}) {
  const c = await liveClient(opts.on ?? base, { cookie, autoReconnect: opts.autoReconnect ?? false, maxBackoffMs: 50 });
  for (const t of topics) expect(await c.subscribe(t)).toMatchObject({ type: "subscribed", topic: t });
  return c;
}

const closedWith = (c: LiveClient, code: number) => c.stats.closes.some((x) => x.code === code);

/** Publishes `marker` on the private topic and `ping` on a public one the client also reads; resolves once the public one arrived, so a missing private one really is missing. */
async function privateNotDelivered(c: LiveClient, privateTopic: string, publicTopic: string, rt: RealtimeService = s.realtime) {
  const marker = `secret-${Math.random()}`;
  await rt.publish(privateTopic, { marker });
  const seq = await rt.publish(publicTopic, { ping: marker });
  await c.waitFor(() => c.messages(publicTopic).some((m) => m.seq === seq));
  expect(JSON.stringify(c.messages(privateTopic))).not.toContain(marker);
  expect(JSON.stringify(c.control)).not.toContain(marker);
}

beforeAll(async () => {
  s = testServices({ port: "0", host: "127.0.0.1" });
  await s.realtime.start();
  running = startServer(s, [{ name: "realtime", stop: (g) => s.realtime.stop(g) }]);
  base = running.url!;
  eventId = s.db.transaction((tx) =>
    tx.insert(events).values({ slug: "autumn", title: "Autumn hunt", startsAt: 0, endsAt: 1e13, createdAt: 0 }).returning({ id: events.id }).get(),
  ).id;
  await s.auth.createUser({ username: "olga", password: "organiser passphrase", role: "organiser" });
  olga = await login("olga", "organiser passphrase");

  // Another instance on the same database: it hears of logouts and bans only by reading the sessions table.
  const rt = realtimeService(s, {
    sessionRecheckMs: RECHECK_MS,
    sessions: { sessionUser: (id) => s.auth.sessionUser(id), onSessionEnded: () => () => {}, onUserChanged: () => () => {} },
  });
  await rt.start();
  const twin = { ...s, realtime: rt };
  const { app } = buildApp(twin);
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req, srv) => app.fetch(req, srv), websocket: rt.websocket }) as Server<unknown>;
  other = { rt, server, base: `http://127.0.0.1:${server.port}` };
});

afterAll(async () => {
  await other.rt.stop();
  other.server.stop(true);
  await running.stop();
  s.cleanup();
});

describe("logout", () => {
  test("closes that session's sockets with 4401; on reconnect the client is anonymous and gets no private message", async () => {
    const ann = await signup("ann");
    const annPhone = await login("ann");
    const pub = `event:${eventId}`;
    const mine = `user:${ann.id}`;
    const c = await socket(ann.cookie, [mine, pub], { autoReconnect: true });
    const phone = await socket(annPhone.cookie, [mine, pub]);

    expect((await ann.json("POST", "/api/v1/auth/logout")).status).toBe(204);
    await c.waitFor(() => closedWith(c, CLOSE.unauthenticated));
    expect(c.stats.closes[0]).toEqual({ code: 4401, reason: "session ended" });
    // The client comes back (its old cookie is now worthless) and resumes: the public topic is granted, the private one refused.
    await c.waitFor(() => c.stats.reconnects === 1 && c.control.some((m) => m.type === "error" && m.topic === mine));
    expect(c.control.findLast((m) => m.topic === mine)).toMatchObject({ type: "error", code: "forbidden" });
    await c.waitFor(() => c.control.filter((m) => m.type === "subscribed" && m.topic === pub).length === 2);
    await privateNotDelivered(c, mine, pub);

    // The other session of the same user is untouched.
    expect(phone.connected).toBe(true);
    const seq = await s.realtime.publish(mine, { still: "phone" });
    await phone.waitFor(() => phone.messages(mine).some((m) => m.seq === seq));
    expect(phone.stats.closes).toEqual([]);
    c.close();
    phone.close();
  });

  test("logging in again on the same browser ends the old session's sockets too", async () => {
    const bea = await signup("bea");
    const c = await socket(bea.cookie, [`user:${bea.id}`]);
    const r = await bea.json("POST", "/api/v1/auth/login", { username: "bea", password: PASS });
    expect(r.status).toBe(200);
    await c.waitFor(() => closedWith(c, CLOSE.unauthenticated));
  });
});

describe("ban and password reset", () => {
  test("a ban closes every socket of the user, and only theirs", async () => {
    const bob = await signup("bob");
    const bobPhone = await login("bob");
    const bystander = await signup("cid");
    const mine = `user:${bob.id}`;
    const pub = `event:${eventId}`;
    const sockets = [await socket(bob.cookie, [mine, pub]), await socket(bobPhone.cookie, [mine]), await socket(null, [pub])];
    const cid = await socket(bystander.cookie, [`user:${bystander.id}`, pub]);

    expect((await olga.json("POST", `/api/v1/admin/users/${bob.id}/ban`)).status).toBe(200);
    // The anonymous socket is not bob's, even though it reads the same public topic.
    const [laptop, phone, anon] = sockets;
    for (const c of [laptop, phone]) await c.waitFor(() => closedWith(c, CLOSE.unauthenticated));
    const seq = await s.realtime.publish(mine, { banned: "secret" });
    await s.realtime.publish(`user:${bystander.id}`, { hi: 1 });
    await cid.waitFor(() => cid.messages(`user:${bystander.id}`).length === 1);
    expect(anon.connected).toBe(true);
    expect(cid.connected).toBe(true);
    for (const c of [laptop, phone]) expect(c.messages(mine).some((m) => m.seq === seq)).toBe(false);
    for (const c of [anon, cid]) c.close();
  });

  test("an organiser's password reset closes the user's sockets", async () => {
    const dan = await signup("dan");
    const c = await socket(dan.cookie, [`user:${dan.id}`]);
    expect((await olga.json("POST", `/api/v1/admin/users/${dan.id}/password`, { password: "a brand new passphrase" })).status).toBeLessThan(300);
    await c.waitFor(() => closedWith(c, CLOSE.unauthenticated));
  });
});

describe("role change", () => {
  test("a demoted organiser loses the organiser-only topic at once, keeps the rest and the socket", async () => {
    await s.auth.createUser({ username: "dora", password: "organiser passphrase", role: "organiser" });
    const dora = await login("dora", "organiser passphrase");
    const org = `event:${eventId}:org`;
    const pub = `event:${eventId}`;
    const mine = `user:${dora.id}`;
    const c = await socket(dora.cookie, [org, pub, mine]);

    const r = await olga.json("POST", `/api/v1/admin/users/${dora.id}/role`, { role: "player" });
    expect(r.status).toBe(200);
    await c.waitFor(() => c.control.some((m) => m.type === "error" && m.topic === org));
    expect(c.control.find((m) => m.type === "error")).toEqual({ type: "error", code: "forbidden", topic: org, message: "You may no longer read this topic." });
    // Still connected, still hers: the frozen leaderboard does not reach her, her own topic does.
    await privateNotDelivered(c, org, pub);
    const seq = await s.realtime.publish(mine, { xp: 1 });
    await c.waitFor(() => c.messages(mine).some((m) => m.seq === seq));
    expect(c.connected).toBe(true);
    // Subscribing again is refused too: the socket now holds her current role.
    expect(await c.subscribe(org)).toMatchObject({ type: "error", code: "forbidden" });

    // Promoted back, the same socket may read it again without reconnecting.
    expect((await olga.json("POST", `/api/v1/admin/users/${dora.id}/role`, { role: "organiser" })).status).toBe(200);
    expect(await c.subscribe(org)).toMatchObject({ type: "subscribed", topic: org });
    expect(c.stats.closes).toEqual([]);
    c.close();
  });
});

describe("another instance (only the database is shared)", () => {
  test(`a session deleted in the database closes its socket within one re-check period (${RECHECK_MS} ms); live sessions stay`, async () => {
    const eve = await signup("eve");
    const fay = await signup("fay");
    const pub = `event:${eventId}`;
    const mine = `user:${eve.id}`;
    const c = await socket(eve.cookie, [mine, pub], { on: other.base });
    const stays = await socket(fay.cookie, [`user:${fay.id}`], { on: other.base });
    const sessionId = decodeURIComponent(eve.cookie!.split("=")[1]).split(".")[0];

    // What a logout on another process leaves behind: the row is gone; this process was told nothing.
    const t0 = performance.now();
    await s.db.write((tx) => tx.delete(sessions).where(eq(sessions.id, sessionId)).run());
    await c.waitFor(() => closedWith(c, CLOSE.unauthenticated), 5000);
    const took = performance.now() - t0;
    // One period plus one sweep (a tenth of it), with room for a busy machine.
    expect(took).toBeLessThan(RECHECK_MS * 1.1 + 400);
    const seq = await other.rt.publish(mine, { secret: "for eve" });
    await other.rt.publish(`user:${fay.id}`, { hi: 1 });
    await stays.waitFor(() => stays.messages(`user:${fay.id}`).length === 1);
    expect(c.messages(mine).some((m) => m.seq === seq)).toBe(false);

    // Several periods later, a session that is still valid has not been touched.
    await Bun.sleep(RECHECK_MS * 3);
    expect(stays.connected).toBe(true);
    expect(stays.stats.closes).toEqual([]);
    stays.close();
  });

  test("a ban written by another instance closes the socket; a role change there drops the organiser topic", async () => {
    const gus = await signup("gus");
    await s.auth.createUser({ username: "hal", password: "organiser passphrase", role: "organiser" });
    const hal = await login("hal", "organiser passphrase");
    const org = `event:${eventId}:org`;
    const g = await socket(gus.cookie, [`user:${gus.id}`], { on: other.base });
    const h = await socket(hal.cookie, [org, `event:${eventId}`], { on: other.base });
    // The first instance (s.auth) does the writes; the second one's realtime is not told.
    await s.auth.setBanned(gus.id, true);
    await s.auth.setRole(hal.id, "player");
    await g.waitFor(() => closedWith(g, CLOSE.unauthenticated), 5000);
    await h.waitFor(() => h.control.some((m) => m.type === "error" && m.topic === org), 5000);
    expect(h.connected).toBe(true);
    await privateNotDelivered(h, org, `event:${eventId}`, other.rt);
    h.close();
  });
});
