import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, envName, loadConfig, settingsTable } from "./config.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "gauntlet-cfg-"));
  dirs.push(d);
  return d;
};

describe("config", () => {
  test("defaults, frozen", () => {
    const c = loadConfig({ env: {}, noFile: true });
    expect(c.port).toBe(3000);
    expect(c.host).toBe("127.0.0.1");
    expect(c.bodyLimitBytes).toBe(1024 * 1024);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.roles)).toBe(true);
  });

  test("precedence: flag > env > gauntlet.toml > default", () => {
    const dir = tmp();
    writeFileSync(join(dir, "gauntlet.toml"), 'port = 4000\nhost = "0.0.0.0"\nlogLevel = "warn"\n');
    const c = loadConfig({ flags: { data: dir, port: "5000" }, env: { GAUNTLET_PORT: "4500", GAUNTLET_HOST: "::1" } });
    expect(c.port).toBe(5000);
    expect(c.host).toBe("::1");
    expect(c.logLevel).toBe("warn");
    expect(c.dataDir).toBe(dir);
  });

  test("the data dir comes from the environment too", () => {
    const dir = tmp();
    expect(loadConfig({ env: { GAUNTLET_DATA_DIR: dir }, noFile: true }).dataDir).toBe(dir);
  });

  test.each([
    [{ flags: { port: "70000" } }, "port"],
    [{ flags: { port: "12abc" } }, "port"],
    [{ env: { GAUNTLET_BODY_LIMIT_BYTES: "-1" } }, "bodyLimitBytes"],
    [{ env: { GAUNTLET_DEMO: "maybe" } }, "demo"],
    [{ env: { GAUNTLET_LOG_LEVEL: "loud" } }, "logLevel"],
    [{ env: { GAUNTLET_ROLES: "api,chef" } }, "roles"],
    [{ env: { GAUNTLET_ENV: "production", GAUNTLET_FAKE_CLOCK: "1" } }, "fakeClock"],
    [{ env: { GAUNTLET_DATABASE_URL: "mysql://x" } }, "databaseUrl"],
    [{ env: { GAUNTLET_DATABASE_URL: "postgres://h/db?schema=Bad-Name" } }, "databaseUrl"],
    [{ env: { GAUNTLET_REDIS_PREFIX: "has space" } }, "redisPrefix"],
    [{ env: { GAUNTLET_REDIS_PREFIX: "" } }, "redisPrefix"],
    [{ flags: { "no-such": "1" } }, "--no-such"],
  ] as const)("bad value %# names its setting", (src, name) => {
    try {
      loadConfig({ env: {}, noFile: true, ...(src as object) });
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toContain(name);
    }
  });

  test("a bad gauntlet.toml names the file; unknown keys are refused", () => {
    const dir = tmp();
    writeFileSync(join(dir, "gauntlet.toml"), "port = [");
    expect(() => loadConfig({ flags: { data: dir }, env: {} })).toThrow(/gauntlet.toml/);
    writeFileSync(join(dir, "gauntlet.toml"), "prot = 1\n");
    expect(() => loadConfig({ flags: { data: dir }, env: {} })).toThrow(/prot/);
  });

  test("NODE_ENV is honoured when GAUNTLET_ENV is absent", () => {
    expect(loadConfig({ env: { NODE_ENV: "production" }, noFile: true }).env).toBe("production");
  });

  test("the settings table documents every environment variable", () => {
    const table = settingsTable();
    expect(table).toContain(envName("bodyLimitBytes"));
    expect(table).toContain("GAUNTLET_DATA_DIR");
  });
});
