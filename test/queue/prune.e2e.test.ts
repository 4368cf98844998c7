/**
 * Queue retention in a real server: `serve` registers the hourly queue.prune
 * cron schedule; with the fake clock advanced past --queue-retention-days, its
 * job deletes the finished jobs older than that, the organiser API answers 404
 * for them, and the counts and /metrics agree on what is left.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePrometheus } from "../../src/metrics/prom-parse.ts";
import { command, httpClient, openDataDb, startServer, type ServerProc } from "../helpers/server.ts";

const procs: ServerProc[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "gauntlet-queue-prune-"));
afterAll(() => {
  for (const p of procs) p.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

const HOUR = 3_600_000;

async function until<T>(what: string, fn: () => Promise<T | undefined>, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test(
  "serve schedules queue.prune hourly; past the retention its job deletes old finished jobs and the counts stay right",
  async () => {
    const mk = Bun.spawnSync(command(["user", "create", "pruneorg", "--admin", "--password", "organiser prune pass", "--data", dataDir]), { env: { ...process.env, GAUNTLET_ENV: "test" } });
    expect(mk.exitCode).toBe(0);
    const srv = await startServer({ dataDir, args: ["--roles", "api,worker,cron", "--queue-retention-days", "1"], env: { GAUNTLET_FAKE_CLOCK: "1" } });
    procs.push(srv);
    const org = httpClient(srv.url);
    expect((await org.json("POST", "/api/v1/auth/login", { username: "pruneorg", password: "organiser prune pass" })).status).toBe(200);

    const db = openDataDb(dataDir, { readonly: true });
    try {
      expect(db.query("SELECT every_ms, cron, kind, missed FROM cron_schedules WHERE name = 'queue.prune'").all()).toEqual([
        { every_ms: HOUR, cron: null, kind: "queue.prune", missed: "skip" },
      ]);
    } finally {
      db.close();
    }

    // A minute passes: the XP ticker's job runs and finishes.
    expect((await org.json("POST", "/api/v1/admin/clock", { advanceMs: 60_000 })).status).toBe(200);
    const old = await until("an XP tick job to succeed", async () => {
      const r = await org.json("GET", "/api/v1/admin/jobs?kind=hunt.xp_tick&status=SUCCEEDED");
      return r.body.jobs[0]?.id as number | undefined;
    });
    expect((await org.json("GET", `/api/v1/admin/jobs/${old}`)).status).toBe(200);

    // A day and an hour later the hourly prune runs with the old job past the 1-day retention.
    expect((await org.json("POST", "/api/v1/admin/clock", { advanceMs: 25 * HOUR })).status).toBe(200);
    const pruned = await until("a queue.prune job that deleted something", async () => {
      const r = await org.json("GET", "/api/v1/admin/jobs?kind=queue.prune&status=SUCCEEDED");
      for (const j of r.body.jobs as { id: number }[]) {
        const d = (await org.json("GET", `/api/v1/admin/jobs/${j.id}`)).body.job;
        if (d.result?.jobs >= 1) return d;
      }
      return undefined;
    });
    expect(pruned.result.before).toBeGreaterThan(0);
    expect((await org.json("GET", `/api/v1/admin/jobs/${old}`)).status).toBe(404);

    // Once nothing is in flight, the organiser counts, the list and /metrics agree.
    const counts = await until("the queue to go idle", async () => {
      const c = (await org.json("GET", "/api/v1/admin/jobs/counts")).body.counts as Record<string, number>;
      return c.QUEUED === 0 && c.RUNNING === 0 ? c : undefined;
    });
    expect(counts.SUCCEEDED).toBeGreaterThanOrEqual(2); // this prune job and the latest XP tick, at least
    expect((await org.json("GET", "/api/v1/admin/jobs?status=SUCCEEDED")).body.total).toBe(counts.SUCCEEDED);
    const { samples } = parsePrometheus(await (await fetch(srv.url + "/metrics")).text());
    const gauges = Object.fromEntries(samples.filter((x) => x.name === "gauntlet_queue_jobs").map((x) => [x.labels.status, x.value]));
    expect(gauges).toEqual(counts);
    expect(await srv.stop()).toBe(0);
  },
  60_000,
);
