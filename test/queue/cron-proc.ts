/**
 * One scheduler process for test/queue/cron.test.ts: opens the shared data dir
 * with the fake clock, upserts two schedules, runs the cron role only, and
 * obeys "advance <ms>" lines on stdin. Each fire is logged by the queue
 * ("cron fired" with a count), which the test adds up per process.
 */
import { loadConfig } from "../../src/config.ts";
import { openCore } from "../../src/core.ts";
import { onPostgres, testDatabaseUrl } from "../../src/testing.ts";
import { createLogger } from "../../src/lib/log.ts";

const dataDir = process.argv[2];
const config = loadConfig({ flags: { data: dataDir, ...(onPostgres ? { "database-url": testDatabaseUrl(dataDir) } : {}) }, env: { GAUNTLET_ENV: "test", GAUNTLET_FAKE_CLOCK: "1" }, noFile: true });
const s = openCore(config, { log: createLogger("info"), migrate: true });
await s.queue.schedule({ name: "minute", everyMs: 60_000, kind: "cron.minute", missed: "catch_up" });
await s.queue.schedule({ name: "even", cron: "*/2 * * * *", tz: "Asia/Kolkata", kind: "cron.even", missed: "skip" });
s.queue.start({ workers: false, cron: true });
console.log(JSON.stringify({ msg: "ready", pid: process.pid, now: s.clock.now() }));

const dec = new TextDecoder();
let buf = "";
for await (const chunk of Bun.stdin.stream()) {
  buf += dec.decode(chunk, { stream: true });
  let i: number;
  while ((i = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, i).trim();
    buf = buf.slice(i + 1);
    const m = /^advance (\d+)$/.exec(line);
    if (m) console.log(JSON.stringify({ msg: "advanced", now: s.clock.advance(Number(m[1])) }));
    if (line === "stop") {
      await s.queue.stop(1000);
      s.db.close();
      process.exit(0);
    }
  }
}
