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
import { createLogger, silentLogger, type Logger } from "./lib/log.ts";
import type { Services } from "./services.ts";
import type { Db } from "./db/db.ts";
import type { PgDatabase } from "./db/pg/compat.ts";
import { schemaKey } from "./db/pg/url.ts";

function dropTestSchema(db: Db) {
  const w = db.writer as unknown as PgDatabase;
  w.execRaw(`DROP SCHEMA IF EXISTS "${w.target.schema}" CASCADE`);
}

export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

/**
 * The test matrix: with GAUNTLET_TEST_DATABASE_URL=postgres://… every test
 * database is a fresh PostgreSQL schema instead of a SQLite file (scripts/test.sh
 * runs the suite once each way).
 */
export const TEST_PG_URL = process.env.GAUNTLET_TEST_DATABASE_URL ?? "";
export const onPostgres = TEST_PG_URL !== "";

/** The database URL of a test data dir on the PostgreSQL leg: one schema per dir, so a restart finds its data. */
export function testDatabaseUrl(dataDir: string): string {
  const u = new URL(TEST_PG_URL);
  u.searchParams.set("schema", `t_${(schemaKey(dataDir) >>> 0).toString(36)}_${dataDir.length}`);
  return u.toString();
}

/** Config flags for a test data dir: on the PostgreSQL leg, also its schema. */
export const dataFlags = (dataDir: string): Record<string, string> => (onPostgres ? { data: dataDir, "database-url": testDatabaseUrl(dataDir) } : { data: dataDir });

/** describe() for behaviour of the embedded SQLite store only (file, WAL, backup of the file); says why on the PostgreSQL leg. */
export function sqliteOnly(why: string): boolean {
  if (onPostgres) console.log(`skip on PostgreSQL: ${why}`);
  return onPostgres;
}

export function testServices(overrides: Record<string, string> = {}, opts: { log?: Logger; start?: number } = {}): Services & { cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "gauntlet-test-"));
  const config: Config = loadConfig({
    flags: { data: dir, ...(onPostgres ? { "database-url": testDatabaseUrl(dir) } : {}), ...overrides },
    env: { GAUNTLET_ENV: "test", GAUNTLET_FAKE_CLOCK: "1" },
    noFile: true,
  });
  // GAUNTLET_TEST_LOG=error shows what a silent test server logged (a 500's cause).
  const log = opts.log ?? (process.env.GAUNTLET_TEST_LOG ? createLogger(process.env.GAUNTLET_TEST_LOG as never) : silentLogger());
  const s = openCore(config, { log, clock: fakeClock(opts.start ?? T0), migrate: true });
  return Object.assign(s, {
    cleanup() {
      try {
        if (s.db.dialect === "postgres") dropTestSchema(s.db);
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
