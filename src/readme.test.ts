import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settingsTable } from "./config.ts";

test("README's configuration table matches the declared settings (bun run scripts/readme-config.ts)", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "README.md"), "utf8");
  expect(readme).toContain(settingsTable());
});

test("README gives the two commands and .ci/run runs the README's test command", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "README.md"), "utf8");
  expect(readme).toContain("npm ci && npm start");
  expect(readme).toContain("npm ci && npm test");
  const ci = readFileSync(join(import.meta.dir, "..", ".ci", "run"), "utf8");
  expect(ci).toMatch(/^npm ci --no-audit --no-fund\nnpm test$/m);
});
