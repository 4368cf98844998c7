/**
 * postgres:// URLs as Gauntlet reads them: which settings name PostgreSQL,
 * our own `?schema=name` parameter (taken off before the driver sees the URL),
 * the per-schema key that names the schema's write lock and NOTIFY channels,
 * and the URL with its password hidden for logs.
 */

export const isPostgresUrl = (s: string) => /^postgres(ql)?:\/\//.test(s);

/** Hides the password of a postgres:// URL (logs, /metrics, errors). */
export const redactUrl = (s: string) => {
  if (!isPostgresUrl(s)) return s;
  const u = new URL(s);
  if (u.password) u.password = "***";
  return u.toString();
};

export interface PgTarget {
  /** The URL without our own `schema` parameter. */
  url: string;
  /** The schema every table lives in (search_path); default public. */
  schema: string;
}

/** Reads `?schema=name` off a postgres:// URL (the rest goes to the driver). */
export function parsePgUrl(raw: string): PgTarget {
  const u = new URL(raw);
  const schema = u.searchParams.get("schema") || "public";
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema must be a lower-case identifier, got ${JSON.stringify(schema)}`);
  u.searchParams.delete("schema");
  return { url: u.toString(), schema };
}

/** 32-bit FNV-1a: the advisory lock key and the NOTIFY channel of a schema. */
export function schemaKey(schema: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < schema.length; i++) {
    h ^= schema.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
