/**
 * Test services for queue tests, stopped and removed after each test.
 *
 * @example
 * const { make, row } = queueTestKit();
 * test("…", async () => { const s = make(); const id = await s.queue.add("k", null); expect(row(s, id).status).toBe("QUEUED"); });
 */
import { afterEach } from "bun:test";
import { testServices } from "../testing.ts";

export type QueueTestServices = ReturnType<typeof testServices>;

/** Call at the top level of a test file: registers the afterEach that stops and removes what `make` opened. */
export function queueTestKit() {
  const open: QueueTestServices[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) {
      await s.queue.stop(100).catch(() => {});
      s.cleanup();
    }
  });
  return {
    make(overrides: Record<string, string> = {}) {
      const s = testServices(overrides);
      open.push(s);
      return s;
    },
    /** A jobs row as stored. */
    row: (s: QueueTestServices, id: number) => s.db.reader.query("SELECT * FROM jobs WHERE id = ?").get(id) as Record<string, any>,
  };
}
