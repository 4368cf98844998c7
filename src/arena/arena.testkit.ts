/**
 * Test helpers for the arena: a deterministic fake runner (no code is run: a
 * source names a behaviour) and an app whose arena uses in-process queue and
 * realtime stand-ins, so every published message can be inspected.
 */
import { buildApp } from "../app.ts";
import { testApp } from "../testing.ts";
import type { RunnerService } from "../runner/runner.service.ts";
import { arenaService } from "./arena.service.ts";
import { memoryQueue, memoryRealtime } from "./ports.ts";

/**
 * Sources the fake runner understands: `echo` prints its input, `wrong` prints
 * "nope", `slow` is a TLE, `crash` an RE, `broken` a CE, `flaky` an IE on its
 * first N runs (N in `flaky.ieLeft`).
 */
export function fakeRunner() {
  const state = { ieLeft: 0, runs: 0 };
  const runner = {
    languages: () => [{ id: "python3", name: "Python 3", available: true }],
    async compile(language: string, source: string) {
      const lang = { id: language } as any;
      if (source.includes("broken")) return { language: lang, program: new Uint8Array(), failed: { status: "CE", stdout: "", stderr: "", exitCode: 1, timeMs: 0, memoryKb: 0, compileOutput: "syntax error" } };
      return { language: lang, program: new TextEncoder().encode(source) };
    },
    async execute(c: { program: Uint8Array }, stdin?: string | Uint8Array) {
      state.runs++;
      const src = new TextDecoder().decode(c.program);
      const input = typeof stdin === "string" ? stdin : new TextDecoder().decode(stdin ?? new Uint8Array());
      const base = { stderr: "", exitCode: 0, timeMs: 10, memoryKb: 1000 };
      if (src.includes("flaky") && state.ieLeft > 0) {
        state.ieLeft--;
        return { ...base, status: "IE", stdout: "" };
      }
      if (src.includes("slow")) return { ...base, status: "TLE", stdout: "", timeMs: 2000 };
      if (src.includes("crash")) return { ...base, status: "RE", stdout: "", exitCode: 1 };
      if (src.includes("wrong")) return { ...base, status: "OK", stdout: "nope\n" };
      return { ...base, status: "OK", stdout: input };
    },
  };
  return { runner: runner as unknown as RunnerService, state };
}

export async function arenaTestApp(opts: { random?: () => number; reconnectGraceSec?: number; countdownSec?: number } = {}) {
  const t = await testApp();
  const realtime = memoryRealtime();
  const queue = memoryQueue(t.s.clock, t.s.log);
  const fr = fakeRunner();
  const arena = arenaService({ ...t.s, runner: fr.runner }, { ...opts, realtime, queue, runner: fr.runner as any });
  const s = { ...t.s, arena };
  const { app } = buildApp(s as any);
  const client = () => {
    let cookie: string | null = null;
    const c = {
      get cookie() {
        return cookie;
      },
      async json<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
        const h: Record<string, string> = {};
        if (cookie) h.cookie = cookie;
        if (body !== undefined) h["content-type"] = "application/json";
        const res = await app.request(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) }, { requestIP: () => ({ address: "10.0.0.9" }) });
        const set = res.headers.get("set-cookie");
        const m = set ? /gauntlet_session=([^;]*)/.exec(set) : null;
        if (m) cookie = m[1] ? `gauntlet_session=${m[1]}` : null;
        const text = await res.text();
        let parsed: any = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = text;
        }
        return { status: res.status, body: parsed };
      },
    };
    return c;
  };
  let n = 0;
  const player = async (name = `arena${++n}`) => {
    const c = client();
    const r = await c.json("POST", "/api/v1/auth/signup", { username: name, password: "a strong passphrase" });
    if (r.status !== 201) throw new Error(`signup ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    return Object.assign(c, { user: (r.body as any).user as { id: number; username: string } });
  };
  const organiser = async (name = `org${++n}`) => {
    await t.s.auth.createUser({ username: name, password: "organiser passphrase", role: "organiser" });
    const c = client();
    const r = await c.json("POST", "/api/v1/auth/login", { username: name, password: "organiser passphrase" });
    if (r.status !== 200) throw new Error(`login ${name}: ${r.status}`);
    return Object.assign(c, { user: (r.body as any).user as { id: number; username: string } });
  };
  /** Every message published on a topic, with its sequence number. */
  const seen = new Map<string, Array<{ seq: number; data: any }>>();
  const all: Array<{ topic: string; seq: number; data: any }> = [];
  const origPublish = realtime.publish.bind(realtime);
  realtime.publish = async (topic: string, data: unknown) => {
    const seq = await origPublish(topic, data);
    const list = seen.get(topic) ?? [];
    list.push({ seq, data });
    seen.set(topic, list);
    all.push({ topic, seq, data });
    return seq;
  };
  /** Lets queued jobs (after-commit timers) and their writes run. */
  const settle = async (rounds = 20) => {
    for (let i = 0; i < rounds; i++) {
      await new Promise((r) => setTimeout(r, 2));
      await t.s.db.flush();
    }
  };
  return { ...t, s, app, client, player, organiser, arena, realtime, queue, runner: fr, seen, all, settle };
}
