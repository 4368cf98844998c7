import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command } from "../helpers/server.ts";
import { sqliteOnly } from "../../src/testing.ts";

describe.skipIf(sqliteOnly("backup and restore archive the SQLite file; a PostgreSQL store is backed up with pg_dump (gauntlet backup says so)"))("backup CLI", () => {

const run = (args: string[]) => {
  const p = Bun.spawnSync(command(args), { env: { ...process.env, GAUNTLET_ENV: "test" } });
  return { code: p.exitCode, err: p.stderr.toString(), out: p.stdout.toString() };
};

test.each([
  ["backup of a data dir without a database", ["backup", "--data", "/nonexistent/gauntlet-x"], 1, "no database"],
  ["backup against PostgreSQL", ["backup", "--database-url", "postgres://x/y"], 2, "pg_dump"],
  ["backup --to without a file", ["backup", "--to"], 2, "--to needs a file"],
  ["restore without a file", ["restore"], 2, "usage"],
  ["restore of a missing file", ["restore", "/nonexistent/x.tar.gz", "--data", "/nonexistent/d"], 1, "no such backup file"],
])("%s exits %p with a clear message", (_n, args, code, msg) => {
  const r = run(args as string[]);
  expect(r.code).toBe(code as number);
  expect(r.err).toContain(msg as string);
});

test("restore of a file that is not a backup exits 1 and leaves the data dir empty", () => {
  const dir = mkdtempSync(join(tmpdir(), "gauntlet-cli-"));
  try {
    writeFileSync(join(dir, "junk.tar.gz"), "not a backup at all");
    const r = run(["restore", join(dir, "junk.tar.gz"), "--data", join(dir, "d")]);
    expect(r.code).toBe(1);
    expect(r.err).toStartWith("error: ");
    expect(Bun.spawnSync(["ls", "-A", join(dir, "d")]).stdout.toString()).toBe("");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
});
