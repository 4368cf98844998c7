/**
 * The SQL of backups: a consistent snapshot of a live database and the
 * checks a restored file must pass. Each opens its own connection, so it runs
 * beside a serving process (WAL: readers never block the writer).
 */
import { Database } from "bun:sqlite";

/**
 * VACUUM INTO copies one read transaction's view of the database into a new,
 * compact file: a consistent snapshot even while another process commits.
 */
export function snapshotInto(dbPath: string, target: string) {
  const conn = new Database(dbPath, { readonly: false, create: false });
  try {
    conn.run("PRAGMA busy_timeout = 10000");
    conn.query("VACUUM INTO ?").run(target);
  } finally {
    conn.close();
  }
}

/** "ok" when the file is a sound SQLite database; otherwise the first problems found. */
export function integrityCheck(dbPath: string): string {
  const conn = new Database(dbPath, { readonly: true, create: false });
  try {
    const rows = conn.query("PRAGMA integrity_check(20)").all() as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join("; ");
  } finally {
    conn.close();
  }
}

/** Tables and row counts, for the restore report. */
export function tableCounts(dbPath: string): Record<string, number> {
  const conn = new Database(dbPath, { readonly: true, create: false });
  try {
    const names = conn.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
    const out: Record<string, number> = {};
    for (const { name } of names) out[name] = (conn.query(`SELECT COUNT(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number }).n;
    return out;
  } finally {
    conn.close();
  }
}
