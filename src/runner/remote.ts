/**
 * Remote runners: `gauntlet runner --server URL --token T` on another box
 * takes run jobs from this server's durable queue and posts the results back.
 * They are the same jobs (kind "run") a process with the worker and runner
 * roles takes: playground runs and every test run of arena judging (judge.ts
 * runs on the server; each of its runs is one job). So any number of runner
 * nodes, local or remote, share one queue and each job is claimed once.
 *
 * The protocol (every call carries `Authorization: Bearer <runner token>`, a
 * token an organiser created; only its SHA-256 is stored, and revoking it
 * cuts the runner off at its next call):
 * - `POST /api/v1/runner/remote/claim` waits up to 20 s: 200 `{job}` or 204.
 *   The server claims the next run job in the runner's name (lease owner
 *   `remote:<token id>`, lease 30 s) and sends only the run request:
 *   `{id, language, source, stdin, limits}`, never who submitted it or why.
 * - `POST …/jobs/:id/heartbeat` renews the lease; the runner sends one every
 *   10 s while the job runs. 404 once the claim is no longer its own.
 * - `POST …/jobs/:id` with the result completes the job (stored with it, as a
 *   local runner's is); 404 when the claim is no longer its own. stdout goes
 *   whole, gzipped (`stdoutGz`) when the JSON would pass the body limit, and
 *   the result is IE when even that does not fit: never a shortened stdout.
 * The job id is `<queue job id>.<fence>`: a claim, not just a job.
 *
 * A runner that dies mid-job stops renewing: its lease expires and the
 * queue's reaper puts the job back (after backoff) for any runner. A run job
 * has two attempts; after a second lost lease it is DEAD and its caller gets
 * IE (judging then retries the submission as for any IE), so a program that
 * kills runner nodes does not get a third. A late report of a reaped claim is
 * refused, so each job's result is stored once.
 */
import { timingSafeEqual } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { Deps } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import type { QueueService } from "../queue/queue.service.ts";
import type { Limits, RunRequest, RunResult } from "./runner.service.ts";
import { runnerStore } from "./runner.store.ts";

export const CLAIM_WAIT_MS = 20_000;
/** A remote claim's lease; the runner renews it every HEARTBEAT_MS. */
export const LEASE_MS = 30_000;
export const HEARTBEAT_MS = 10_000;
const ACTIVE_MS = CLAIM_WAIT_MS + 10_000;

const b64 = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
const sha256hex = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

/** What a remote runner gets: the run request and nothing else. */
export interface RemoteJob {
  id: string;
  language: string;
  source: string;
  stdin: string;
  limits?: Partial<Limits>;
}

/** The part of the durable queue remote runners use. */
export type RemoteQueue = Pick<QueueService, "claimFor" | "heartbeatFor" | "completeFor">;

const IE: RunResult = { status: "IE", stdout: "", stderr: "", exitCode: null, timeMs: 0, memoryKb: 0 };

/** Only the numeric limits of a run request. */
export function runLimits(l: unknown): Partial<Limits> | undefined {
  if (!l || typeof l !== "object") return undefined;
  const out: Partial<Limits> = {};
  for (const k of ["timeMs", "memoryMb", "outputBytes"] as const) {
    const v = (l as Record<string, unknown>)[k];
    if (typeof v === "number" && Number.isFinite(v) && v > 0) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

export function remoteHub(deps: Pick<Deps, "db" | "clock" | "log">) {
  const store = runnerStore(deps.db);
  let queue: RemoteQueue | null = null;
  const lastSeen = new Map<string, number>();
  // Open long polls per token, so a revocation ends them at once.
  const polls = new Map<string, Set<AbortController>>();
  const counts = new Map<string, { claimed: number; completed: number; refused: number }>();

  const owner = (tokenId: string) => `remote:${tokenId}`;
  const count = (tokenId: string) => {
    let c = counts.get(tokenId);
    if (!c) counts.set(tokenId, (c = { claimed: 0, completed: 0, refused: 0 }));
    return c;
  };
  const active = () => {
    const now = performance.now();
    for (const t of lastSeen.values()) if (now - t < ACTIVE_MS) return true;
    return false;
  };
  const need = () => {
    if (!queue) throw new AppError("runner_unavailable", "This server process does not share a run queue with remote runners.");
    return queue;
  };
  const claimOf = (jobId: string) => {
    const m = /^(\d{1,15})\.(\d{1,15})$/.exec(jobId);
    if (!m) throw new AppError("not_found", "No such job claimed by this runner.");
    return { id: Number(m[1]), fence: Number(m[2]) };
  };

  return {
    /** Remote runners claim from this queue (called by s.runner.enableQueue). */
    attach(q: RemoteQueue) {
      queue = q;
    },
    async createToken(name: string) {
      const id = b64(9);
      const secret = b64(32);
      const row = { id, name, hash: sha256hex(secret), createdAt: deps.clock.now(), revokedAt: null };
      await deps.db.write((tx) => store.insert(tx, row));
      return { id, name, createdAt: row.createdAt, token: `${id}.${secret}` };
    },
    listTokens() {
      return store.list().map(({ id, name, createdAt, revokedAt }) => ({ id, name, createdAt, revokedAt }));
    },
    async revokeToken(id: string) {
      const ok = await deps.db.write((tx) => store.revoke(tx, id, deps.clock.now()));
      if (!ok) throw new AppError("not_found", "No such runner token.");
      lastSeen.delete(id);
      // End its open long polls now: its next call is refused.
      for (const ac of polls.get(id) ?? []) ac.abort();
    },
    /** The token id for an `Authorization: Bearer <id>.<secret>` header, or 401. */
    authenticate(header: string | undefined): string {
      const m = /^Bearer ([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,128})$/.exec(header ?? "");
      const row = m ? store.get(m[1]) : undefined;
      const given = Buffer.from(sha256hex(m?.[2] ?? ""), "hex");
      const want = Buffer.from(row?.hash ?? "0".repeat(64), "hex");
      if (!m || !row || row.revokedAt !== null || !timingSafeEqual(given, want)) throw new AppError("unauthenticated", "A valid runner token is required.");
      lastSeen.set(row.id, performance.now());
      return row.id;
    },
    /** Whether some runner polled this process recently (then playground runs are accepted). */
    active,
    /** Long poll: claims the next run job for this runner, or null after waitMs. */
    async claim(tokenId: string, waitMs = CLAIM_WAIT_MS, signal?: AbortSignal): Promise<RemoteJob | null> {
      const q = need();
      const ac = new AbortController();
      const stop = () => ac.abort();
      signal?.addEventListener("abort", stop, { once: true });
      const mine = polls.get(tokenId) ?? new Set<AbortController>();
      polls.set(tokenId, mine.add(ac));
      try {
        const job = await q.claimFor("run", owner(tokenId), { leaseMs: LEASE_MS, waitMs: Math.max(0, Math.min(waitMs, CLAIM_WAIT_MS)), signal: ac.signal });
        if (!job) return null;
        count(tokenId).claimed++;
        // Only the run request goes out, whatever else a payload might carry.
        const p = (job.payload ?? {}) as Record<string, unknown>;
        const out: RemoteJob = { id: `${job.id}.${job.fence}`, language: String(p.language ?? ""), source: typeof p.source === "string" ? p.source : "", stdin: typeof p.stdin === "string" ? p.stdin : "" };
        const limits = runLimits(p.limits);
        if (limits) out.limits = limits;
        return out;
      } finally {
        signal?.removeEventListener("abort", stop);
        mine.delete(ac);
        if (!mine.size) polls.delete(tokenId);
      }
    },
    /** Renews the lease of a job this runner holds; 404 when it no longer does. */
    async heartbeat(tokenId: string, jobId: string) {
      const { id, fence } = claimOf(jobId);
      const r = await need().heartbeatFor(id, fence, owner(tokenId), LEASE_MS);
      if (!r) throw new AppError("not_found", "No such job claimed by this runner (its lease may have expired).");
    },
    /** A runner reports a job it holds; anyone else's report, or a reaped claim's, is refused. */
    async complete(tokenId: string, jobId: string, result: RunResult) {
      const { id, fence } = claimOf(jobId);
      const ok = await need().completeFor(id, fence, owner(tokenId), result);
      if (!ok) {
        count(tokenId).refused++;
        throw new AppError("not_found", "No such job claimed by this runner (its lease may have expired).");
      }
      count(tokenId).completed++;
    },
    stats() {
      let pollers = 0;
      for (const s of polls.values()) pollers += s.size;
      return { pollers, active: active(), byToken: Object.fromEntries(counts) };
    },
  };
}

export type RemoteHub = ReturnType<typeof remoteHub>;

/** stderr never decides a verdict; the report keeps its start. */
const STDERR_CAP = 64 * 1024;
/** A report's JSON body stays under the server's default body limit (1 MiB). */
export const REPORT_MAX = (1 << 20) - 4096;

/**
 * The report of a result: stdout whole (a cut output could be judged AC where
 * the whole one is WA), gzipped when the plain JSON would not fit; IE when
 * even that does not fit, never a shortened stdout.
 */
export function encodeReport(r: RunResult): string {
  const base = { ...r, stderr: r.stderr.slice(0, STDERR_CAP), ...(r.compileOutput ? { compileOutput: r.compileOutput.slice(0, STDERR_CAP) } : {}) };
  const plain = JSON.stringify(base);
  if (Buffer.byteLength(plain) <= REPORT_MAX) return plain;
  const gz = JSON.stringify({ ...base, stdout: "", stdoutGz: Buffer.from(gzipSync(Buffer.from(r.stdout))).toString("base64") });
  if (Buffer.byteLength(gz) <= REPORT_MAX) return gz;
  return JSON.stringify({ ...IE, stderr: "the run's output is too large to report to the server" });
}

/** The server's side of encodeReport: stdout back from stdoutGz, at most maxBytes. */
export function decodeStdout(gz: string, maxBytes: number): string {
  try {
    return gunzipSync(Buffer.from(gz, "base64"), { maxOutputLength: maxBytes }).toString("utf8");
  } catch {
    throw new AppError("bad_request", "stdoutGz is not a gzip of at most the largest output a run may have.");
  }
}

/**
 * The `gauntlet runner` loop: claim, run in the local sandbox (renewing the
 * lease meanwhile), report; `concurrency` loops at once.
 */
export async function remoteRunnerLoop(opts: {
  server: string;
  token: string;
  run(req: RunRequest): Promise<RunResult>;
  concurrency: number;
  log: Pick<Deps["log"], "info" | "warn">;
  signal: AbortSignal;
}) {
  const base = opts.server.replace(/\/+$/, "");
  const headers = { authorization: `Bearer ${opts.token}`, "content-type": "application/json" };
  const jobUrl = (id: string) => `${base}/api/v1/runner/remote/jobs/${encodeURIComponent(id)}`;
  const one = async () => {
    let backoff = 500;
    while (!opts.signal.aborted) {
      try {
        const asked = performance.now();
        const res = await fetch(`${base}/api/v1/runner/remote/claim`, { method: "POST", headers, body: "{}", signal: opts.signal });
        if (res.status === 401) throw new Error("the server refused the runner token (revoked or wrong)");
        if (res.status === 204) {
          // An early "nothing" (the server is shutting down) must not become a busy loop.
          if (performance.now() - asked < 1000) await Bun.sleep(500);
          continue;
        }
        if (!res.ok) throw new Error(`claim: HTTP ${res.status}`);
        const { job } = (await res.json()) as { job: RemoteJob };
        // Renew the lease while the job runs; if this process dies, the lease runs out and the job goes to another runner.
        const beat = setInterval(() => {
          fetch(`${jobUrl(job.id)}/heartbeat`, { method: "POST", headers, body: "{}" }).then(
            (r) => {
              if (r.status === 404) opts.log.warn("runner: lease lost; the job will run elsewhere", { job: job.id });
            },
            () => {},
          );
        }, HEARTBEAT_MS);
        let result: RunResult;
        try {
          result = await opts.run({ language: job.language, source: job.source, stdin: job.stdin, limits: job.limits }).catch(() => IE);
        } finally {
          clearInterval(beat);
        }
        let done = await fetch(jobUrl(job.id), { method: "POST", headers, body: encodeReport(result) });
        // A server with a smaller body limit: the job still ends, as an internal error.
        if (done.status === 413) done = await fetch(jobUrl(job.id), { method: "POST", headers, body: JSON.stringify({ ...IE, stderr: "the run's output is too large to report to the server" }) });
        if (!done.ok) opts.log.warn("result refused", { job: job.id, status: done.status });
        backoff = 500;
      } catch (err) {
        if (opts.signal.aborted) return;
        if ((err as Error).message.includes("refused the runner token")) throw err;
        opts.log.warn("runner: server unreachable, retrying", { err: (err as Error).message, inMs: backoff });
        await Bun.sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, one));
}
