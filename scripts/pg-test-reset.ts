// Drops the schemas an earlier PostgreSQL test run left behind (t_…, one per
// test data dir; see testDatabaseUrl in src/testing.ts), so each run of the
// PostgreSQL leg starts from an empty database. Prints what it dropped.
import postgres from "postgres";

const url = process.env.GAUNTLET_TEST_DATABASE_URL;
if (!url) throw new Error("GAUNTLET_TEST_DATABASE_URL is not set");
const sql = postgres(url, { max: 1, onnotice: () => {} });
try {
  const rows = await sql<{ name: string }[]>`SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 't\\_%'`;
  for (const { name } of rows) await sql.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  console.log(`postgres test schemas dropped: ${rows.length}`);
} finally {
  await sql.end({ timeout: 1 });
}
