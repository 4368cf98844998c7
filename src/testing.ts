/**
 * In-process test harness: a fresh data dir, migrated database, frozen fake
 * clock and silent logger, and an app to call with `app.request()`.
 *
 * @example
 * const t = await testApp();
 * const res = await t.req("POST", "/api/v1/auth/signup", { username: "ann", password: "long enough pw" });
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "./app.ts";
import { loadConfig, type Config } from "./config.ts";
import { openCore } from "./core.ts";
import { fakeClock } from "./lib/clock.ts";
import { silentLogger, type Logger } from "./lib/log.ts";
import type { Services } from "./services.ts";

export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

export function testServices(overrides: Record<string, string> = {}, opts: { log?: Logger; start?: number } = {}): Services & { cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "gauntlet-test-"));
  const config: Config = loadConfig({
    flags: { data: dir, ...overrides },
    env: { GAUNTLET_ENV: "test", GAUNTLET_FAKE_CLOCK: "1" },
    noFile: true,
  });
  const s = openCore(config, { log: opts.log ?? silentLogger(), clock: fakeClock(opts.start ?? T0) });
  return Object.assign(s, {
    cleanup() {
      try {
        s.db.close();
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export interface TestClient {
  cookie: string | null;
  ip: string;
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  json<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T; res: Response }>;
}

export async function testApp(overrides: Record<string, string> = {}) {
  const s = testServices(overrides);
  const { app, routes } = buildApp(s);
  const client = (ip = "10.0.0.1"): TestClient => {
    const c: TestClient = {
      cookie: null,
      ip,
      async req(method, path, body, headers = {}) {
        const h: Record<string, string> = { ...headers };
        if (c.cookie && !("cookie" in h)) h.cookie = c.cookie;
        let payload: BodyInit | undefined;
        if (body !== undefined) {
          if (typeof body === "string" || body instanceof Uint8Array) payload = body as BodyInit;
          else {
            payload = JSON.stringify(body);
            h["content-type"] ??= "application/json";
          }
        }
        const res = await app.request(path, { method, headers: h, body: payload }, { requestIP: () => ({ address: c.ip }) });
        const set = res.headers.get("set-cookie");
        if (set) {
          const m = /gauntlet_session=([^;]*)/.exec(set);
          if (m) c.cookie = m[1] ? `gauntlet_session=${m[1]}` : null;
        }
        return res;
      },
      async json(method, path, body, headers) {
        const res = await c.req(method, path, body, headers);
        const text = await res.text();
        let parsed: unknown = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = text;
        }
        return { status: res.status, body: parsed as any, res };
      },
    };
    return c;
  };

  /** Signs up a fresh player and returns a logged-in client. */
  let n = 0;
  const player = async (name = `player${++n}`, ip?: string) => {
    const c = client(ip);
    const r = await c.json("POST", "/api/v1/auth/signup", { username: name, password: "a strong passphrase" });
    if (r.status !== 201) throw new Error(`signup ${name} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return Object.assign(c, { user: r.body.user as { id: number; username: string } });
  };
  const organiser = async (name = `org${++n}`) => {
    await s.auth.createUser({ username: name, password: "organiser passphrase", role: "organiser" });
    const c = client();
    const r = await c.json("POST", "/api/v1/auth/login", { username: name, password: "organiser passphrase" });
    if (r.status !== 200) throw new Error(`login ${name} failed: ${r.status}`);
    return Object.assign(c, { user: r.body.user as { id: number; username: string } });
  };
  return { s, app, routes, client, player, organiser, cleanup: s.cleanup };
}
