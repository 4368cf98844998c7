import { defineConfig } from "drizzle-kit";

// drizzle-kit only generates migrations; the app applies them (src/db/migrate.ts)
// from SQL embedded in the binary. After generating, run scripts/gen-migrations.ts
// (npm run db:generate does both).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema/index.ts",
  out: "./src/db/migrations/sqlite",
});
