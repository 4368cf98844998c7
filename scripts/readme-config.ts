// Rewrites the configuration table in README.md (between the CONFIG markers)
// from the SETTINGS declared in src/config.ts. src/readme.test.ts fails when
// they drift, so run this after adding a setting.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { settingsTable } from "../src/config.ts";

const path = join(import.meta.dir, "..", "README.md");
const readme = readFileSync(path, "utf8");
const start = "<!-- CONFIG:START -->";
const end = "<!-- CONFIG:END -->";
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < 0) throw new Error("README.md has no CONFIG markers");
writeFileSync(path, readme.slice(0, i + start.length) + "\n" + settingsTable() + "\n" + readme.slice(j));
console.log("README configuration table updated");
