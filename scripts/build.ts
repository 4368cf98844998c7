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
  // The threads are modules of their own: the PostgreSQL connection (src/db/pg/bridge.ts starts it), the SQLite
  // checkpoint and WAL sync threads (src/db/db.ts).
  entrypoints: ["main.ts", "db/pg/worker.ts", "db/checkpointer.ts", "db/walsync.ts"].map((f) => join(root, "src", f)),
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
