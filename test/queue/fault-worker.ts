/**
 * The worker process of test/queue/fault.test.ts, kill -9'ed at random.
 * Its handler's effect is a row keyed by (job id, attempt) written in its own
 * transaction before the job's completion, so a kill between the two leaves
 * an effect whose job runs again: a duplicate the test must count.
 */
import { loadConfig } from "../../src/config.ts";
import { openCore } from "../../src/core.ts";
import { onPostgres, testDatabaseUrl } from "../../src/testing.ts";
import { createLogger } from "../../src/lib/log.ts";
import { queueService } from "../../src/queue/queue.service.ts";

const dataDir = process.argv[2];
const config = loadConfig({ flags: { data: dataDir, ...(onPostgres ? { "database-url": testDatabaseUrl(dataDir) } : {}) }, env: { GAUNTLET_ENV: "test" }, noFile: true });
const s = openCore(config, { log: createLogger("warn"), migrate: true });
// Short leases so the jobs of a killed worker come back within a second.
const queue = queueService(s, { heartbeatMs: 250, leaseMs: 1000, backoffBaseMs: 50, backoffMaxMs: 500 });
const insert = s.db.writer.prepare("INSERT INTO fault_effects (job_id, attempt, pid) VALUES (?, ?, ?)");
queue.register(
  "fault.effect",
  async (job) => {
    await Bun.sleep(2 + Math.random() * 4);
    await s.db.write(() => insert.run(job.id, job.attempts, process.pid));
    return { pid: process.pid };
  },
  { concurrency: 8 },
);
queue.start({ cron: false });
console.log(JSON.stringify({ msg: "ready", pid: process.pid }));
