/**
 * SQLite SQL → PostgreSQL SQL, for the statements Gauntlet's stores write.
 *
 * The stores speak one dialect: SQLite's, as drizzle's sqlite-core builder and
 * the hand-written hot statements produce it. Most of it is already standard
 * SQL; this rewrites the few places where the two differ, outside string
 * literals and quoted identifiers:
 * - placeholders `?` and `?NNN` become `$n`;
 * - unquoted camelCase aliases (`AS eventId`) are quoted, since PostgreSQL
 *   folds unquoted names to lower case;
 * - `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`, `IFNULL` `COALESCE`,
 *   `char()` `chr()`, `LIKE` `ILIKE` (SQLite's LIKE ignores ASCII case),
 *   `CAST(… AS INTEGER)` a BIGINT cast (timestamps are ms), `LIMIT -1` `LIMIT ALL`;
 * - `json_each(?)` over a list of ids becomes `json_array_elements_text`.
 * Store SQL that cannot be said portably is written portably at its source
 * instead (scalar MIN/MAX as CASE, string_agg); src/db/pg/translate.test.ts
 * lists what is covered. Results are cached per statement text.
 */

const cache = new Map<string, string>();

/** Splits SQL into code and quoted parts ('…' literals, "…" identifiers), keeping every character. */
function segments(sql: string): Array<{ code: boolean; text: string }> {
  const out: Array<{ code: boolean; text: string }> = [];
  let i = 0;
  let start = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'" || ch === '"' || ch === "`") {
      if (i > start) out.push({ code: true, text: sql.slice(start, i) });
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) break;
        if (sql[j] === ch) {
          if (sql[j + 1] === ch) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      let text = sql.slice(i, j + 1);
      // SQLite accepts MySQL-style `name`; PostgreSQL wants "name".
      if (ch === "`") text = `"${text.slice(1, -1).replaceAll('"', '""')}"`;
      out.push({ code: false, text });
      i = j + 1;
      start = i;
      continue;
    }
    if (ch === "-" && sql[i + 1] === "-") {
      // A comment runs to the end of the line; keep it as code (no rewrite matches inside a -- line that matters).
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? sql.length : nl;
      continue;
    }
    i++;
  }
  if (start < sql.length) out.push({ code: true, text: sql.slice(start) });
  return out;
}

const REWRITES: Array<[RegExp, string | ((...m: string[]) => string)]> = [
  [/\bINSERT\s+OR\s+IGNORE\s+INTO\b/gi, "INSERT INTO"],
  [/\bIFNULL\s*\(/gi, "COALESCE("],
  [/\bchar\s*\(/gi, "chr("],
  [/\bNOT\s+LIKE\b/gi, "NOT ILIKE"],
  [/(?<!NOT\s+)\bLIKE\b/gi, "ILIKE"],
  [/\bAS\s+INTEGER\s*\)/gi, "AS BIGINT)"],
  [/\bLIMIT\s+-1\b/gi, "LIMIT ALL"],
  // SQLite's planner hint; PostgreSQL plans by statistics.
  [/\bINDEXED\s+BY\s+\w+/gi, ""],
  [/\bSELECT\s+value\s+FROM\s+json_each\s*\(\s*(\?\d*)\s*\)/gi, (_m, p) => `SELECT value::bigint FROM json_array_elements_text(${p}::text::json)`],
];

/** camelCase aliases (a lower-case and an upper-case letter, so `AS INTEGER` and `AS x` stay), quoted wherever the statement names them. */
function quoteAliases(t: string): string {
  const names = new Set<string>();
  for (const m of t.matchAll(/\bAS\s+([a-z_][a-z0-9_]*[A-Z][A-Za-z0-9_]*)\b/g)) names.add(m[1]);
  for (const name of names) t = t.replace(new RegExp(`(?<![.\\w$])${name}\\b`, "g"), `"${name}"`);
  return t;
}

export function toPostgres(sql: string): string {
  const hit = cache.get(sql);
  if (hit !== undefined) return hit;
  // Quoted parts are masked as \0<n>\0 so rewrites see the statement's shape but never a literal's content.
  const quoted: string[] = [];
  let t = segments(sql)
    .map((s) => (s.code ? s.text : `\0${quoted.push(s.text) - 1}\0`))
    .join("");
  const ignore = /\bINSERT\s+OR\s+IGNORE\b/i.test(t);
  for (const [re, to] of REWRITES) t = t.replace(re, to as never);
  t = quoteAliases(t);
  // drizzle's sqlite-core names a conflict target "table"."column"; PostgreSQL wants the column alone.
  t = t.replace(/\bON\s+CONFLICT\s*\(([^)]*)\)/gi, (_m, cols: string) => `on conflict (${cols.replace(/\0\d+\0\./g, "")})`);
  // Placeholders last: `?NNN` keeps its number; a bare `?` takes the next one, as in SQLite.
  let next = 0;
  t = t.replace(/\?(\d*)/g, (_m, n: string) => {
    if (n) {
      next = Math.max(next, Number(n));
      return `$${n}`;
    }
    return `$${++next}`;
  });
  if (ignore) {
    const m = /\bRETURNING\b/i.exec(t);
    t = m ? `${t.slice(0, m.index)}ON CONFLICT DO NOTHING ${t.slice(m.index)}` : `${t.replace(/;\s*$/, "")} ON CONFLICT DO NOTHING`;
  }
  const out = t.replace(/\0(\d+)\0/g, (_m, i: string) => quoted[Number(i)]);
  if (cache.size > 5000) cache.clear();
  cache.set(sql, out);
  return out;
}
