/**
 * MultiVAC's memory: the first datum ever processed, kept in the server's kv
 * table. "First" is a constraint, not a check: INSERT … ON CONFLICT DO NOTHING
 * lets exactly one processing win, however many workers race.
 */
import type { Db } from "../db/db.ts";

const FIRST = "multivac.first";
const COUNT = "multivac.processed";

export function multivacStore(db: Db) {
  return {
    /** Inside a db.write body: remembers `datum` if nothing was processed before; counts every processing. */
    recordProcessed(datum: string) {
      db.writer.prepare("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING").run(FIRST, datum);
      db.writer
        .prepare("INSERT INTO kv (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = CAST(kv.value AS INTEGER) + 1")
        .run(COUNT);
    },
    first(): string | null {
      const r = db.reader.query("SELECT value FROM kv WHERE key = ?").get(FIRST) as { value: string } | null;
      return r ? r.value : null;
    },
    processed(): number {
      const r = db.reader.query("SELECT value FROM kv WHERE key = ?").get(COUNT) as { value: string } | null;
      return r ? Number(r.value) : 0;
    },
  };
}
