/**
 * Remote runners: `gauntlet runner --server URL --token T` on another box
 * pulls run jobs from this server and posts the results back. Every call
 * carries a token an organiser created (only its SHA-256 is stored; revoking
 * it cuts the runner off at its next call). The server never exposes an
 * unauthenticated run endpoint; a remote runner never gets a player's data
 * beyond the job it runs.
 *
 * Jobs wait in memory (a playground run is interactive; a lost one is an IE
 * the player retries). The server uses remote runners only when it has no
 * local runner role and at least one runner polled recently.
 */
import { timingSafeEqual } from "node:crypto";
import type { Deps } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import type { RunRequest, RunResult } from "./runner.service.ts";
import { runnerStore } from "./runner.store.ts";

export const CLAIM_WAIT_MS = 20_000;
const ACTIVE_MS = CLAIM_WAIT_MS + 10_000;
const JOB_TIMEOUT_MS = 60_000;
const RESULT_CAP = 512 * 1024;

const b64 = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
const sha256hex = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

export interface RemoteJob {
  id: string;
  language: string;
  source: string;
  stdin: string;
  limits?: RunRequest["limits"];
}

interface Pending {
  job: RemoteJob;
  resolve(r: RunResult): void;
  timer: ReturnType<typeof setTimeout>;
  tokenId?: string;
}

const IE: RunResult = { status: "IE", stdout: "", stderr: "", exitCode: null, timeMs: 0, memoryKb: 0 };

export function remoteHub(deps: Pick<Deps, "db" | "clock" | "log">) {
  const store = runnerStore(deps.db);
  const queue: Pending[] = [];
  const inflight = new Map<string, Pending>();
  const pollers: Array<{ tokenId: string; give(p: Pending | null): void }> = [];
  const lastSeen = new Map<string, number>();
  let seq = 0;

  const active = () => {
    const now = performance.now();
    for (const t of lastSeen.values()) if (now - t < ACTIVE_MS) return true;
    return false;
  };
  const hand = (p: Pending) => {
    const w = pollers.shift();
    if (!w) return false;
    w.give(p);
    return true;
  };

  return {
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
      for (const w of pollers.filter((x) => x.tokenId === id)) {
        pollers.splice(pollers.indexOf(w), 1);
        w.give(null);
      }
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
    /** Whether some runner polled recently (then runs may be sent to it). */
    active,
    dispatch(req: RunRequest): Promise<RunResult> {
      if (typeof req.source !== "string" || (req.stdin !== undefined && typeof req.stdin !== "string")) return Promise.resolve(IE);
      const job: RemoteJob = { id: `${Date.now().toString(36)}-${++seq}`, language: req.language, source: req.source, stdin: req.stdin ?? "", limits: req.limits };
      return new Promise<RunResult>((resolve) => {
        const p: Pending = {
          job,
          resolve,
          timer: setTimeout(() => {
            const i = queue.indexOf(p);
            if (i >= 0) queue.splice(i, 1);
            inflight.delete(job.id);
            deps.log.warn("remote run timed out", { job: job.id, runner: p.tokenId });
            resolve(IE);
          }, JOB_TIMEOUT_MS),
        };
        if (!hand(p)) queue.push(p);
      });
    },
    /** Long poll: the next job for this runner, or null after waitMs. */
    claim(tokenId: string, waitMs = CLAIM_WAIT_MS, signal?: AbortSignal): Promise<RemoteJob | null> {
      const take = (p: Pending | null) => {
        if (!p) return null;
        p.tokenId = tokenId;
        inflight.set(p.job.id, p);
        return p.job;
      };
      const next = queue.shift();
      if (next) return Promise.resolve(take(next));
      return new Promise((resolve) => {
        const w = {
          tokenId,
          give: (p: Pending | null) => {
            clearTimeout(timer);
            resolve(take(p));
          },
        };
        const drop = () => {
          const i = pollers.indexOf(w);
          if (i >= 0) pollers.splice(i, 1);
          w.give(null);
        };
        const timer = setTimeout(drop, Math.max(0, Math.min(waitMs, CLAIM_WAIT_MS)));
        signal?.addEventListener("abort", drop);
        pollers.push(w);
      });
    },
    /** A runner reports a job it claimed; anyone else's report is refused. */
    complete(tokenId: string, jobId: string, result: RunResult) {
      const p = inflight.get(jobId);
      if (!p || p.tokenId !== tokenId) throw new AppError("not_found", "No such job claimed by this runner.");
      inflight.delete(jobId);
      clearTimeout(p.timer);
      p.resolve(result);
    },
    stats() {
      return { queued: queue.length, inflight: inflight.size, pollers: pollers.length, active: active() };
    },
  };
}

export type RemoteHub = ReturnType<typeof remoteHub>;

/** The `gauntlet runner` loop: claim, run in the local sandbox, report; `concurrency` loops at once. */
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
  const one = async () => {
    let backoff = 500;
    while (!opts.signal.aborted) {
      try {
        const res = await fetch(`${base}/api/v1/runner/remote/claim`, { method: "POST", headers, body: "{}", signal: opts.signal });
        if (res.status === 401) throw new Error("the server refused the runner token (revoked or wrong)");
        if (res.status === 204) continue;
        if (!res.ok) throw new Error(`claim: HTTP ${res.status}`);
        const { job } = (await res.json()) as { job: RemoteJob };
        const result: RunResult = await opts.run({ language: job.language, source: job.source, stdin: job.stdin, limits: job.limits }).catch(() => IE);
        // The server's request body limit (1 MiB by default) bounds what comes back.
        result.stdout = result.stdout.slice(0, RESULT_CAP);
        result.stderr = result.stderr.slice(0, RESULT_CAP / 4);
        if (result.compileOutput) result.compileOutput = result.compileOutput.slice(0, RESULT_CAP / 4);
        const done = await fetch(`${base}/api/v1/runner/remote/jobs/${encodeURIComponent(job.id)}`, { method: "POST", headers, body: JSON.stringify(result) });
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
