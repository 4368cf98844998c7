// Compiles the whole server (and the embedded web assets, migrations and data
// files it imports) into one executable: dist/gauntlet. The binary never
// autoloads .env or bunfig.toml from the directory it is started in.
import { $ } from "bun";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
if (!existsSync(join(root, "src", "web", "assets.gen.ts"))) await $`bun run ${join(root, "scripts", "build-web.ts")}`;
const target = process.env.GAUNTLET_TARGET; // e.g. bun-linux-arm64 for install.sh's other architecture
const result = await Bun.build({
  // The PostgreSQL connection thread and the SQLite checkpoint thread are modules of their own (src/db/pg/bridge.ts and src/db/db.ts start them).
  entrypoints: [join(root, "src", "main.ts"), join(root, "src", "db", "pg", "worker.ts"), join(root, "src", "db", "checkpointer.ts")],
  compile: {
    outfile: join(root, "dist", "gauntlet"),
    ...(target ? { target: target as never } : {}),
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
  minify: true,
  sourcemap: "linked",
  bytecode: true,
  format: "esm",
});
if (!result.success) {
  for (const l of result.logs) console.error(l);
  process.exit(1);
}
console.log(`built ${join(root, "dist", "gauntlet")}`);
