/**
 * Two scheduler processes share one database file and each has its own fake
 * clock (synced through kv `fake_clock`). Both are told to advance at the same
 * moment, and one is kill -9'ed and restarted now and then. Every slot must be
 * fired exactly once: one cron_fires row, one job, and the fires the two
 * processes report add up to the number of slots.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDataDb, readLines } from "../helpers/server.ts";

const dir = mkdtempSync(join(tmpdir(), "gauntlet-cron2-"));
/** Every scheduler process started, so a failed assertion does not leave one running. */
const started: Subprocess[] = [];
afterAll(() => {
  for (const p of started) p.kill(9);
  rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  name: string;
  p: Subprocess<"pipe", "pipe", "inherit">;
  fired: number;
  lines: string[];
  ready: Promise<void>;
}

function start(name: string, carried = 0): Proc {
  const p = spawn([process.execPath, "run", join(import.meta.dir, "cron-proc.ts"), dir], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  started.push(p);
  let onReady!: () => void;
  const proc: Proc = { name, p, fired: carried, lines: [], ready: new Promise((r) => (onReady = r)) };
  void readLines(p.stdout, (line) => {
    proc.lines.push(line);
    try {
      const o = JSON.parse(line);
      if (o.msg === "ready") onReady();
      if (o.msg === "cron fired") proc.fired += o.fired;
    } catch {}
  });
  return proc;
}

const send = (x: Proc, line: string) => {
  x.p.stdin.write(line + "\n");
  x.p.stdin.flush();
};

test("two processes on one database fire each cron slot exactly once, across kill -9 and restarts", async () => {
  let a = start("A");
  await a.ready;
  let b = start("B");
  await b.ready;
  const db = openDataDb(dir, { readonly: true });
  const settle = async () => {
    // Both schedulers catch up within a few polls (100 ms) of the last advance.
    let last = -1;
    for (let i = 0; i < 100; i++) {
      await Bun.sleep(60);
      const n = (db.query("SELECT count(*) AS n FROM cron_fires").get() as { n: number }).n;
      if (n === last && i > 3) return;
      last = n;
    }
  };
  let killed = 0;
  for (let round = 1; round <= 24; round++) {
    // One process alone, each in turn: the other follows through the saved clock. Without
    // the B-only rounds a slow box could let A win every race (B restarts cold after each
    // kill), and B never fired a slot (seen once on the PostgreSQL leg: A 36, B 0).
    if (round % 6 === 0) send(a, "advance 60000");
    else if (round % 6 === 3) send(b, "advance 60000");
    else {
      // Both at once, in alternating order, so each wins some slots.
      const [x, y] = round % 2 ? [a, b] : [b, a];
      send(x, "advance 60000");
      send(y, "advance 60000");
    }
    if (round % 8 === 0) {
      b.p.kill(9);
      await b.p.exited;
      killed++;
      b = start("B", b.fired);
      await b.ready;
    }
    if (round % 4 === 0) await settle();
    else await Bun.sleep(20);
  }
  await settle();

  const created = (db.query("SELECT name, created_at FROM cron_schedules").all() as { name: string; created_at: number }[]).reduce(
    (m, r) => ((m[r.name] = r.created_at), m),
    {} as Record<string, number>,
  );
  const now = Number((db.query("SELECT value FROM kv WHERE key = 'fake_clock'").get() as { value: string }).value);
  const fires = db.query("SELECT s.name, f.slot, f.job_id FROM cron_fires f JOIN cron_schedules s ON s.id = f.schedule_id ORDER BY s.name, f.slot").all() as {
    name: string;
    slot: number;
    job_id: number;
  }[];
  const minute = fires.filter((f) => f.name === "minute").map((f) => f.slot);
  const first = Math.ceil(created.minute / 60_000) * 60_000;
  const expected: number[] = [];
  for (let t = first; t <= now; t += 60_000) expected.push(t);
  // catch_up: every slot from creation to now, each once.
  expect(minute).toEqual(expected);
  const even = fires.filter((f) => f.name === "even").map((f) => f.slot);
  expect(new Set(even).size).toBe(even.length);
  for (const slot of even) expect(slot % 120_000).toBe(0);
  expect(even.length).toBeGreaterThanOrEqual(10);

  // One job per fire, keyed cron:<name>:<slot>, and no other cron jobs.
  const jobs = db.query("SELECT idempotency_key k FROM jobs WHERE kind LIKE 'cron.%' ORDER BY id").all() as { k: string }[];
  expect(jobs.length).toBe(fires.length);
  expect(new Set(jobs.map((j) => j.k))).toEqual(new Set(fires.map((f) => `cron:${f.name}:${f.slot}`)));
  for (const f of fires) expect(f.job_id).toBeGreaterThan(0);

  // What the processes say they fired adds up to the slots: nobody fired a slot twice.
  console.log(`cron: ${fires.length} slots fired (A ${a.fired}, B ${b.fired}), ${killed} kill -9 restarts of B`);
  expect(a.fired + b.fired).toBe(fires.length);
  expect(b.fired).toBeGreaterThan(0);
  expect(a.fired).toBeGreaterThan(0);

  send(a, "stop");
  send(b, "stop");
  await Promise.all([a.p.exited, b.p.exited]);
  db.close();
}, 60_000);
