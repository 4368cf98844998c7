import { defineConfig } from "drizzle-kit";

// The PostgreSQL migrations, generated from src/db/schema/pg.ts (which is
// derived from the SQLite schema). Like drizzle.config.ts this only generates;
// the app applies the SQL embedded by scripts/gen-migrations.ts
// (npm run db:generate runs both generators, then that script).
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/pg.ts",
  out: "./src/db/migrations/postgres",
});
