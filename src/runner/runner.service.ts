/**
 * The runner supervisor: a warm pool of prepared sandboxes per language (each
 * used once, refilled as soon as it is taken), execution slots sized to the
 * cores, compile-then-run for C and C++, and the health view. Nothing runs
 * until the host has been probed: if it cannot sandbox, every call fails with
 * `runner_unavailable` and `start()` throws why, so code never runs unconfined.
 */
import { availableParallelism } from "node:os";
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Deps } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import { buildPch, frame, languages as languageTable, LANGUAGE_IDS, type Language, type LanguageId } from "./languages.ts";
import type { QueueService } from "../queue/queue.service.ts";
import { remoteHub, runLimits } from "./remote.ts";
import type { CgroupMode } from "./cgroup.ts";
import { prepare, probeHost, SandboxUnavailable, type Host, type Prepared, type RunLimits, type SandboxResult, type SandboxSpec } from "./sandbox.ts";

export type RunStatus = "OK" | "CE" | "TLE" | "MLE" | "RE" | "OLE" | "IE";

export interface Limits {
  /** CPU time limit per run, ms (default 2000). */
  timeMs: number;
  /** Memory limit, MiB (default 256). */
  memoryMb: number;
  /** stdout/stderr cap, bytes (default 1 MiB). */
  outputBytes: number;
}

export const DEFAULT_LIMITS: Limits = { timeMs: 2000, memoryMb: 256, outputBytes: 1 << 20 };
export const MAX_LIMITS: Limits = { timeMs: 10_000, memoryMb: 1024, outputBytes: 8 << 20 };
const COMPILE_LIMITS: RunLimits = { cpuMs: 15_000, wallMs: 30_000, memoryBytes: 1536 << 20, outputBytes: 64 << 20, pids: 64 };
/** Processes and threads per run (Bun alone starts about one thread per core). */
const PIDS = Math.max(64, availableParallelism() * 2 + 32);

export interface RunRequest {
  language: string;
  source: string | Uint8Array;
  stdin?: string | Uint8Array;
  limits?: Partial<Limits>;
}

export interface RunResult {
  status: RunStatus;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  timeMs: number;
  memoryKb: number;
  /** Compiler diagnostics (C/C++), capped. */
  compileOutput?: string;
}

export interface Compiled {
  language: Language;
  /** What the run stub receives: the source, or the compiled binary. */
  program: Uint8Array;
  /** Set when compilation failed (CE) or the platform failed (IE). */
  failed?: RunResult;
  /**
   * Set when runs go through the queue: nothing was compiled here; each
   * execute() is a run job that compiles (cached on its node) and runs, and a
   * compile failure comes back as that run's CE/IE with compileOutput.
   */
  queued?: { language: string; source: string };
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (v: string | Uint8Array | undefined) => (v === undefined ? new Uint8Array() : typeof v === "string" ? enc.encode(v) : v);
const COMPILE_MSG_CAP = 16 << 10;

/** A counting semaphore: how many sandboxes execute at once. */
function semaphore(n: number) {
  let free = n;
  const waiters: Array<() => void> = [];
  return {
    get free() {
      return free;
    },
    get waiting() {
      return waiters.length;
    },
    async acquire() {
      if (free > 0) {
        free--;
        return;
      }
      await new Promise<void>((r) => waiters.push(r));
    },
    release() {
      const w = waiters.shift();
      if (w) w();
      else free++;
    },
  };
}

export interface RunnerOptions {
  slots?: number;
  /** Warm sandboxes kept per pool key. */
  warm?: Partial<Record<string, number>>;
  cacheDir?: string;
  bunPath?: string;
  /** Force a limits mode (tests of the fallback); default: the best the host has. */
  cgroups?: CgroupMode;
  /** Where to look for bwrap/setpriv/prlimit (tests of the refusal). */
  binDirs?: string[];
}

/** Bun reserves far more address space than any RLIMIT_AS a run could have. */
function rlimitOnly(l: Language): Language {
  if (l.id !== "javascript" && l.id !== "typescript") return l;
  return { ...l, available: false, reason: "needs a memory cgroup (no writable cgroup on this host; Bun cannot run under RLIMIT_AS)" };
}

function defaultCacheDir() {
  return process.getuid?.() === 0 ? "/var/cache/gauntlet-runner" : join(tmpdir(), `gauntlet-runner-${process.getuid?.() ?? 0}`);
}

/** The sandbox uid binds the JS runtime read-only, so it must be able to reach it; else a copy in the cache. */
function reachableBun(bun: string, cacheDir: string): string {
  try {
    let ok = (statSync(bun).mode & 0o005) === 0o005;
    for (let d = dirname(bun); ok && d !== "/"; d = dirname(d)) ok = (statSync(d).mode & 0o001) !== 0;
    if (ok) return bun;
    const copy = join(cacheDir, "bun");
    if (!existsSync(copy) || statSync(copy).size !== statSync(bun).size) {
      copyFileSync(bun, `${copy}.tmp`);
      chmodSync(`${copy}.tmp`, 0o755);
      renameSync(`${copy}.tmp`, copy);
    }
    return copy;
  } catch {
    return bun;
  }
}

/** The part of s.queue the runner uses (the durable queue domain), remote runners' claims included. */
export type RunQueue = Pick<QueueService, "register" | "add" | "wait" | "cancel" | "claimFor" | "heartbeatFor" | "completeFor">;

/**
 * Claims of a run job: a runner that dies mid-job (its lease runs out) gets it
 * retried once; after a second loss the job is DEAD and its caller gets IE.
 */
export const RUN_ATTEMPTS = 2;
/** Compiled programs kept per node, so a judge's runs (one job per test) compile once. */
const COMPILE_CACHE_ENTRIES = 16;
const COMPILE_CACHE_MAX_PROGRAM = 4 << 20;

export function runnerService(deps: Pick<Deps, "config" | "log"> & Partial<Pick<Deps, "db" | "clock">>, opts: RunnerOptions = {}) {
  const { log } = deps;
  const slots = opts.slots ?? Math.max(1, availableParallelism());
  // Outside the data dir: sandboxes bind the header cache, and their uid must be able to reach it.
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const sem = semaphore(slots);
  let host: Host | null = null;
  let unavailable: string | null = null;
  let langs: Language[] = languageTable({ bunPath: opts.bunPath });
  let pchPromise: Promise<string | null> | null = null;
  let stopped = false;
  const stats = { runs: 0, compiles: 0, cold: 0, warm: 0, ie: 0, byStatus: {} as Record<string, number> };
  let queue: RunQueue | null = null;
  /** This process takes "run" jobs from the queue itself. */
  let local = false;
  let started = false;
  // Remote runners (`gauntlet runner`) claim run jobs from the queue through this hub.
  const remote = deps.db && deps.clock ? remoteHub({ db: deps.db, clock: deps.clock, log }) : null;
  const localRole = () => deps.config.roles?.includes("runner") ?? true;
  /** Runs go through the queue, unless this process has its sandbox but does not work the queue. */
  const viaQueue = () => queue !== null && (local || !started);
  const noRunner = () => new AppError("runner_unavailable", "No code runner is connected to this server (start `gauntlet runner --server URL --token T`, or add the runner role).");
  const IE_RESULT: RunResult = { status: "IE", stdout: "", stderr: "", exitCode: null, timeMs: 0, memoryKb: 0 };

  interface Pool {
    key: string;
    spec: SandboxSpec;
    want: number;
    idle: Prepared[];
  }
  const pools = new Map<string, Pool>();

  function ensureHost(): Host {
    if (host) return host;
    if (unavailable) throw new AppError("runner_unavailable", unavailable);
    try {
      host = probeHost(cacheDir, opts.cgroups, opts.binDirs);
      const bunPath = reachableBun(opts.bunPath ?? process.execPath, cacheDir);
      if (bunPath !== (opts.bunPath ?? process.execPath)) opts = { ...opts, bunPath };
      langs = languageTable({ bunPath: opts.bunPath });
      if (host.cgroups.mode === "rlimit") langs = langs.map(rlimitOnly);
      log.info("runner sandbox ready", { cgroups: host.cgroups.mode, detail: host.cgroups.detail, slots });
      return host;
    } catch (err) {
      if (err instanceof SandboxUnavailable) {
        unavailable = err.message;
        throw new AppError("runner_unavailable", unavailable);
      }
      throw err;
    }
  }

  const defaultWarm = (key: string) => opts.warm?.[key] ?? (key === "python3" ? 2 : 1);

  function pool(key: string, spec: SandboxSpec): Pool {
    let p = pools.get(key);
    if (!p) {
      p = { key, spec, want: defaultWarm(key), idle: [] };
      pools.set(key, p);
    }
    return p;
  }

  function refill(p: Pool) {
    if (stopped || !host || host.cgroups.mode === "rlimit") return;
    p.idle = p.idle.filter((s) => s.alive);
    while (p.idle.length < p.want) {
      try {
        p.idle.push(prepare(host, p.spec));
      } catch (err) {
        log.warn("runner: could not prepare a sandbox", { key: p.key, err });
        return;
      }
    }
  }

  function take(key: string, spec: SandboxSpec, limits: RunLimits): Prepared {
    const h = ensureHost();
    // Without cgroups the limits are rlimits fixed at start, so every sandbox is made for its run.
    if (h.cgroups.mode === "rlimit") {
      stats.cold++;
      return prepare(h, { ...spec, rlimits: { ...spec.rlimits, asBytes: limits.memoryBytes, nproc: limits.pids, cpuSec: Math.ceil(limits.cpuMs / 1000) + 1 } }, limits);
    }
    const p = pool(key, spec);
    let s: Prepared | undefined;
    while ((s = p.idle.shift()) && !s.alive) void s.discard();
    if (s) stats.warm++;
    else {
      stats.cold++;
      s = prepare(h, spec);
    }
    // Refill at once so the next caller finds a warm sandbox.
    queueMicrotask(() => refill(p));
    return s;
  }

  async function exec(key: string, spec: SandboxSpec, input: Uint8Array, limits: RunLimits): Promise<SandboxResult> {
    await sem.acquire();
    try {
      const sb = take(key, spec, limits);
      return await sb.run(input, limits);
    } finally {
      sem.release();
    }
  }

  function language(id: string): Language {
    const l = langs.find((x) => x.id === id);
    if (!l) throw new AppError("unknown_language", `Unknown language ${JSON.stringify(id).slice(0, 40)}; one of ${LANGUAGE_IDS.join(", ")}.`);
    if (!l.available) throw new AppError("language_unavailable", `${l.name} is not available on this runner: ${l.reason}`);
    return l;
  }

  async function withPch() {
    if (!pchPromise) {
      pchPromise = buildPch(cacheDir).catch((err) => {
        log.warn("runner: precompiled header failed", { err });
        return null;
      });
      const dir = await pchPromise;
      langs = languageTable({ bunPath: opts.bunPath, pchDir: dir });
      if (host?.cgroups.mode === "rlimit") langs = langs.map(rlimitOnly);
      // Compile pools built before the header existed must not be reused.
      const old = pools.get("compile:cpp");
      if (old) {
        pools.delete("compile:cpp");
        for (const s of old.idle) void s.discard();
      }
    }
    await pchPromise;
  }

  function toLimits(l?: Partial<Limits>): RunLimits & { raw: Limits } {
    const raw: Limits = {
      timeMs: Math.min(l?.timeMs ?? DEFAULT_LIMITS.timeMs, MAX_LIMITS.timeMs),
      memoryMb: Math.min(l?.memoryMb ?? DEFAULT_LIMITS.memoryMb, MAX_LIMITS.memoryMb),
      outputBytes: Math.min(l?.outputBytes ?? DEFAULT_LIMITS.outputBytes, MAX_LIMITS.outputBytes),
    };
    return {
      raw,
      cpuMs: raw.timeMs,
      wallMs: raw.timeMs * 2 + 1000,
      memoryBytes: raw.memoryMb << 20,
      outputBytes: raw.outputBytes,
      pids: PIDS,
    };
  }

  function result(r: SandboxResult, compileOutput?: string): RunResult {
    stats.runs++;
    stats.byStatus[r.status] = (stats.byStatus[r.status] ?? 0) + 1;
    if (r.status === "IE") {
      stats.ie++;
      log.warn("runner internal error", { error: r.error });
    }
    const out: RunResult = { status: r.status, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr), exitCode: r.exitCode, timeMs: Math.round(r.timeMs), memoryKb: r.memoryKb };
    if (compileOutput) out.compileOutput = compileOutput;
    return out;
  }

  /** Compiles when the language needs it; CE carries the diagnostics. */
  async function compile(languageId: string, source: string | Uint8Array): Promise<Compiled> {
    if (languageId === "cpp") await withPch();
    const lang = language(languageId);
    const src = bytes(source);
    if (!lang.compile) return { language: lang, program: src };
    stats.compiles++;
    const r = await exec(`compile:${lang.id}`, lang.compile, frame(src, new Uint8Array()), COMPILE_LIMITS);
    const diag = dec.decode(r.stderr.subarray(0, COMPILE_MSG_CAP));
    if (r.status === "OK" && r.stdout.length > 0) return { language: lang, program: r.stdout };
    const status: RunStatus = r.status === "RE" || r.status === "TLE" || r.status === "MLE" || r.status === "OLE" || r.status === "OK" ? "CE" : "IE";
    if (status === "IE") log.warn("runner compile internal error", { error: r.error });
    return {
      language: lang,
      program: new Uint8Array(),
      failed: { status, stdout: "", stderr: diag, exitCode: r.exitCode, timeMs: Math.round(r.timeMs), memoryKb: r.memoryKb, compileOutput: diag || (r.status === "TLE" ? "compilation took too long" : r.status) },
    };
  }

  /** Runs an already compiled program on one input. */
  async function execute(c: Compiled, stdin: string | Uint8Array | undefined, limits?: Partial<Limits>): Promise<RunResult> {
    if (c.failed) return c.failed;
    const l = toLimits(limits);
    const key = c.language.compile ? "binary" : c.language.id;
    const r = await exec(key, c.language.run, frame(c.program, bytes(stdin)), l);
    return result(r);
  }

  // Successful compiles by (language, source), least recently used first.
  const compileCache = new Map<string, Promise<Compiled>>();
  function compileCached(languageId: string, source: string | Uint8Array): Promise<Compiled> {
    const l = langs.find((x) => x.id === languageId);
    if (!l?.compile) return compile(languageId, source);
    const key = new Bun.CryptoHasher("sha256").update(languageId).update("\0").update(source).digest("hex");
    const hit = compileCache.get(key);
    if (hit) {
      compileCache.delete(key);
      compileCache.set(key, hit);
      return hit;
    }
    const p = compile(languageId, source);
    compileCache.set(key, p);
    const forget = () => {
      if (compileCache.get(key) === p) compileCache.delete(key);
    };
    p.then((c) => {
      if (c.failed || c.program.length > COMPILE_CACHE_MAX_PROGRAM) forget();
    }, forget);
    while (compileCache.size > COMPILE_CACHE_ENTRIES) compileCache.delete(compileCache.keys().next().value!);
    return p;
  }

  async function runDirect(req: RunRequest): Promise<RunResult> {
    const c = await compileCached(req.language, req.source);
    if (c.failed) {
      stats.runs++;
      stats.byStatus[c.failed.status] = (stats.byStatus[c.failed.status] ?? 0) + 1;
      return c.failed;
    }
    return execute(c, req.stdin, req.limits);
  }

  function registerQueue(q: RunQueue) {
    // The handler's return value is the job's stored result, committed before the job completes.
    q.register("run", async (job) => runDirect(job.payload as RunRequest), { concurrency: slots * 2, prefetch: slots, timeoutMs: 120_000 });
  }

  const text = (v: string | Uint8Array | undefined) => (v === undefined ? "" : typeof v === "string" ? v : dec.decode(v));

  /** One run job (payload: the run request only); IE when it does not succeed or timeoutMs passes (then it is cancelled). */
  async function runQueued(req: { language: string; source: string; stdin: string; limits?: Partial<Limits> }, timeoutMs?: number): Promise<RunResult> {
    const payload: Record<string, unknown> = { language: req.language, source: req.source, stdin: req.stdin };
    const limits = runLimits(req.limits);
    if (limits) payload.limits = limits;
    const id = await queue!.add("run", payload, { maxAttempts: RUN_ATTEMPTS });
    let job: Awaited<ReturnType<RunQueue["wait"]>>;
    try {
      job = await queue!.wait(id, timeoutMs);
    } catch (err) {
      // Nobody waits for it any more: it must not run later for nothing.
      void queue!.cancel(id).catch(() => {});
      log.warn("runner: run job timed out", { id, err });
      stats.ie++;
      return IE_RESULT;
    }
    if (job.status !== "SUCCEEDED" || !job.result) {
      stats.ie++;
      log.warn("runner: run job did not succeed", { id, status: job.status, error: job.error });
      return IE_RESULT;
    }
    return job.result as RunResult;
  }

  return {
    slots,
    /**
     * Compile (if needed) and run once. Through the durable queue (kind "run")
     * once enableQueue() was called in a process whose queue workers run;
     * otherwise in process.
     */
    async run(req: RunRequest): Promise<RunResult> {
      if (!viaQueue()) {
        // A process without the runner role never runs code itself.
        if (!started && !localRole()) throw noRunner();
        return runDirect(req);
      }
      // Here, a playground run: refused at once when no runner would take it.
      if (!local && !remote?.active()) throw noRunner();
      // Which toolchains exist is the runner node's business; it answers CE/IE itself.
      if (local) language(req.language);
      else if (!LANGUAGE_IDS.includes(req.language as LanguageId)) language(req.language);
      // The player's request gives up at the request timeout; so does the job.
      return runQueued({ language: req.language, source: text(req.source), stdin: text(req.stdin), limits: req.limits }, deps.config.requestTimeoutMs ?? 120_000);
    },
    /**
     * Routes runs through the durable queue (kind "run"): playground runs, and
     * judging, whose compile() then only names the program and whose every
     * execute() is one run job. Remote runners claim these jobs through
     * `remote`; `local` (default: this process has the runner role) also
     * registers this process as a "run" worker, which takes them where the
     * queue's workers run. So every runner node, local or remote, shares one
     * queue. A process with its sandbox started but not `local` keeps running
     * its own runs in process.
     */
    enableQueue(q: RunQueue, o: { local?: boolean } = {}) {
      if (queue) return;
      local = o.local ?? localRole();
      if (local) registerQueue(q);
      queue = q;
      remote?.attach(q);
    },
    /** Compiles (C, C++) for execute(); through the queue, only names the program (see Compiled.queued). */
    async compile(languageId: string, source: string | Uint8Array): Promise<Compiled> {
      if (!viaQueue()) {
        if (!started && !localRole()) throw noRunner();
        return compile(languageId, source);
      }
      if (!LANGUAGE_IDS.includes(languageId as LanguageId)) language(languageId);
      const lang = langs.find((l) => l.id === languageId)!;
      return { language: lang, program: new Uint8Array(), queued: { language: languageId, source: text(source) } };
    },
    /** Runs a compiled program on one input; a queued one as a run job, waited for as long as it takes. */
    async execute(c: Compiled, stdin: string | Uint8Array | undefined, limits?: Partial<Limits>): Promise<RunResult> {
      if (!c.queued) return execute(c, stdin, limits);
      if (!queue) throw noRunner();
      // Judging waits for a runner rather than failing: the job is durable, and a dead runner's lease runs out.
      return runQueued({ language: c.queued.language, source: c.queued.source, stdin: text(stdin), limits }, undefined);
    },
    remote,
    languages() {
      return langs.map((l) => ({ id: l.id, name: l.name, available: l.available && !unavailable, ...(l.reason || unavailable ? { reason: unavailable ?? l.reason } : {}) }));
    },
    /** Probes the host, builds the C++ header and fills the warm pools. Throws SandboxUnavailable. */
    async start() {
      try {
        ensureHost();
      } catch (err) {
        if (err instanceof AppError) throw new SandboxUnavailable(err.message);
        throw err;
      }
      started = true;
      // The C++ header builds in the background (seconds, once per cache); C++ runs wait for it.
      void withPch();
      // Warm the pools after the caller goes on (the server listens first), one pool per timer tick.
      // Specs are looked up at each tick: the C++ compile spec changes once the header is built.
      const todo: Array<{ id: LanguageId; compile: boolean }> = [];
      for (const l of langs) {
        if (!l.available) continue;
        if (l.compile) todo.push({ id: l.id, compile: true });
        todo.push({ id: l.id, compile: false });
      }
      const next = () => {
        const item = todo.shift();
        if (!item || stopped) return;
        const l = langs.find((x) => x.id === item.id);
        if (l?.available) {
          if (item.compile && l.compile) refill(pool(`compile:${l.id}`, l.compile));
          else if (!item.compile) refill(pool(l.compile ? "binary" : l.id, l.run));
        }
        setTimeout(next, 5);
      };
      setTimeout(next, 0);
    },
    health() {
      return {
        available: !unavailable,
        reason: unavailable,
        sandbox: host ? { cgroups: host.cgroups.mode, detail: host.cgroups.detail, seccomp: true, bwrap: host.bwrap } : null,
        slots: { total: slots, busy: slots - sem.free, waiting: sem.waiting },
        pools: [...pools.values()].map((p) => ({ key: p.key, warm: p.idle.filter((s) => s.alive).length, target: p.want })),
        stats: { ...stats, byStatus: { ...stats.byStatus } },
        queue: queue ? "durable queue (kind run)" : "in-process",
        local: started,
        takesRunJobs: queue !== null && local,
        remote: remote?.stats() ?? null,
      };
    },
    async stop() {
      stopped = true;
      const all = [...pools.values()].flatMap((p) => p.idle.splice(0));
      await Promise.all(all.map((s) => s.discard()));
      host?.cgroups.drain();
    },
  };
}

export type RunnerService = ReturnType<typeof runnerService>;
