#!/usr/bin/env bun
/**
 * The `gauntlet` command line. Every command accepts the configuration flags
 * of config.ts (e.g. --data, --port); each also has flags of its own.
 * Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.
 */
import { ConfigError, loadConfig, SETTINGS, flagName, envName, type Config } from "./config.ts";
import { openCore } from "./core.ts";
import { openDb } from "./db/db.ts";
import { migrate } from "./db/migrate.ts";
import { dbTarget, PendingMigrationsError } from "./core.ts";
import { seedDemo, DEMO_ORGANISER, DEMO_PASSWORD, DEMO_PLAYERS } from "./demo/seed.ts";
import { randomToken } from "./auth/auth.service.ts";
import { handleSignals, startServer } from "./server.ts";
import { VERSION } from "./version.ts";
import { isAppError } from "./lib/errors.ts";
import { createLogger } from "./lib/log.ts";
import { BACKUP_COMMANDS } from "./backup/backup.cli.ts";
import { ARENA_COMMANDS } from "./arena/arena.cli.ts";
import { registerBackupJobs } from "./backup/backup.jobs.ts";
import { registerMultivacJobs } from "./multivac/multivac.service.ts";
import { SandboxUnavailable } from "./runner/sandbox.ts";
import { runnerService } from "./runner/runner.service.ts";
import { remoteRunnerLoop } from "./runner/remote.ts";
import { registerHuntJobs } from "./hunt/hunt.jobs.ts";
import { registerQueueJobs } from "./queue/queue.jobs.ts";
import { liveLeaderboard } from "./leaderboard/leaderboard.live.ts";
import { readPidFile } from "./upgrade/pidfile.ts";
import { serveHandoff } from "./upgrade/handoff.ts";
import { upgrade, UpgradeRefused } from "./upgrade/upgrade.ts";

class UsageError extends Error {}

interface Parsed {
  positionals: string[];
  flags: Record<string, string | boolean>;
}

const BOOL_FLAGS = new Set(["help", "version", "demo", "admin", "fake-clock", "json"]);

export function parseArgs(argv: string[]): Parsed {
  const positionals: string[] = [];
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (!name) throw new UsageError(`bad flag ${a}`);
      if (eq > 0) flags[name] = a.slice(eq + 1);
      else if (BOOL_FLAGS.has(name) || argv[i + 1] === undefined || argv[i + 1].startsWith("--")) flags[name] = true;
      else flags[name] = argv[++i];
    } else if (a === "-h") flags.help = true;
    else if (a === "-v") flags.version = true;
    else positionals.push(a);
  }
  return { positionals, flags };
}

interface Command {
  usage: string;
  summary: string;
  /** Flags the command owns; all others go to the Config. */
  own?: Record<string, string>;
  run(p: Parsed, configFlags: Record<string, string | boolean>): Promise<number>;
}

const configHelp = () =>
  SETTINGS.map((s) => `  --${flagName(s).padEnd(28)} ${envName(s.key).padEnd(38)} ${s.doc}`).join("\n");

function splitFlags(p: Parsed, own: Record<string, string> = {}) {
  const cfg: Record<string, string | boolean> = {};
  const mine: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(p.flags)) {
    if (k === "help") continue;
    if (k in own) mine[k] = v;
    else cfg[k] = v;
  }
  return { cfg, mine };
}

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: "gauntlet serve [--data DIR] [--port P] [--host H] [--roles api,worker,cron,runner] [--demo]",
    summary: "Run the server: API, websockets, web UI, queue workers, cron and runner supervisor.",
    async run(_p, cfgFlags) {
      const config = loadConfig({ flags: cfgFlags });
      // Read before this process binds: a server already on our port is the one to take over from once we are ready.
      const predecessor = config.port ? readPidFile(config.dataDir, config.port) : null;
      // The long-running server checkpoints the SQLite WAL on a thread of its own (src/db/checkpointer.ts).
      const s = openCore(config, { checkpointThread: true });
      if (config.demo && s.auth.store.countUsers() === 0) {
        const { created } = await seedDemo(s);
        s.log.info("demo data loaded", { users: created, organiser: DEMO_ORGANISER.username, playerPassword: DEMO_PASSWORD });
      }
      // The runner role never runs code unconfined: no sandbox, no start.
      if (config.roles.includes("runner")) {
        try {
          await s.runner.start();
        } catch (e) {
          if (e instanceof SandboxUnavailable) {
            console.error(`error: the runner role cannot start: ${e.message}`);
            s.db.close();
            return 2;
          }
          throw e;
        }
      }
      // Redis pub/sub (when configured) must be up before clients can subscribe.
      await s.realtime.start();
      // Points changes reach open leaderboards live: coalesced, score-free deltas on event:<id>.
      liveLeaderboard(s);
      // The XP ticker: a handler and a per-minute durable schedule on the queue.
      await registerHuntJobs(s);
      await registerBackupJobs(s);
      // Retention: an hourly durable job deletes finished jobs and cron fires older than queueRetentionDays.
      await registerQueueJobs(s);
      registerMultivacJobs(s);
      // Workers and the cron scheduler follow the roles; handlers were registered when the services were built.
      const workerRole = config.roles.includes("worker");
      const cronRole = config.roles.includes("cron");
      // Runs (playground and judging) go through the durable queue (kind "run"), shared by every runner node:
      // this process takes them where it both works the queue and has the sandbox; remote `gauntlet runner`s claim them over HTTP.
      s.runner.enableQueue(s.queue, { local: workerRole && config.roles.includes("runner") });
      if (workerRole || cronRole) s.queue.start({ workers: workerRole, cron: cronRole });
      const running = startServer(s, [s.queue, { name: "runner", stop: () => s.runner.stop() }, { name: "realtime", stop: (g) => s.realtime.stop(g) }]);
      // Zero-downtime upgrades: gauntlet.pid, taking over from a predecessor, SIGUSR2 starts a successor (src/upgrade/).
      const handoff = serveHandoff({ config, log: s.log, running, predecessor });
      handleSignals(running, handoff);
      if (!(await handoff.announce()) && !running.stopping) {
        await running.stop("not ready");
        return 1;
      }
      await running.done;
      handoff.stopped();
      return 0;
    },
  },
  migrate: {
    usage: "gauntlet migrate [--data DIR] [--database-url postgres://…]",
    summary: "Apply pending schema migrations and exit (on PostgreSQL, the only command that does).",
    async run(_p, cfgFlags) {
      const config = loadConfig({ flags: cfgFlags });
      const db = openDb(dbTarget(config));
      const applied = migrate(db);
      db.close();
      console.log(applied.length ? `applied: ${applied.join(", ")}` : "up to date");
      return 0;
    },
  },
  "check-ledger": {
    usage: "gauntlet check-ledger [--data DIR]",
    summary: "Verify that every player's ledger entries sum to the points and XP shown; exit 1 on a mismatch.",
    async run(_p, cfgFlags) {
      const config = loadConfig({ flags: cfgFlags });
      const s = openCore(config, { log: createLogger("warn") });
      try {
        const r = s.ledger.check();
        for (const m of r.mismatches.slice(0, 100)) console.error(`mismatch: event ${m.eventId} player ${m.playerId} ${m.field}: shown ${m.shown}, ledger ${m.ledger}`);
        console.log(`${r.entries} ledger entries, ${r.players} player totals, ${r.mismatches.length} mismatches`);
        return r.mismatches.length ? 1 : 0;
      } finally {
        s.db.close();
      }
    },
  },
  seed: {
    usage: "gauntlet seed --demo [--data DIR]",
    summary: "Load the demo hunt, demo problems and test users (idempotent).",
    own: { demo: "load the demo data set" },
    async run(p, cfgFlags) {
      if (!p.flags.demo) throw new UsageError("seed needs --demo (the only data set so far)");
      const config = loadConfig({ flags: cfgFlags });
      const s = openCore(config, { log: createLogger("warn") });
      const { created } = await seedDemo(s);
      await s.db.flush();
      s.db.close();
      console.log(created.length ? `created: ${created.join(", ")}` : "demo data already present");
      console.log(`organiser: ${DEMO_ORGANISER.username} / ${DEMO_ORGANISER.password}; players ${DEMO_PLAYERS.join(", ")} / ${DEMO_PASSWORD}`);
      return 0;
    },
  },
  runner: {
    usage: "gauntlet runner --server URL --token T [--concurrency N]   (or GAUNTLET_RUNNER_TOKEN=T)",
    summary: "Run code for a remote server: pull its run jobs with an organiser's runner token, run them in the local sandbox.",
    own: { server: "the server's base URL (https://…)", token: "a runner token (POST /api/v1/admin/runner/tokens)", concurrency: "jobs at once (default: cores)" },
    async run(p) {
      const server = typeof p.flags.server === "string" ? p.flags.server : "";
      // GAUNTLET_RUNNER_TOKEN keeps the secret out of `ps`.
      const token = typeof p.flags.token === "string" ? p.flags.token : (process.env.GAUNTLET_RUNNER_TOKEN ?? "");
      if (!/^https?:\/\//.test(server) || !token) throw new UsageError("usage: gauntlet runner --server URL --token T");
      const log = createLogger("info");
      const runner = runnerService({ config: { dataDir: "" } as Config, log });
      try {
        await runner.start();
      } catch (e) {
        if (e instanceof SandboxUnavailable) {
          console.error(`error: cannot run code on this host: ${e.message}`);
          return 2;
        }
        throw e;
      }
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      const concurrency = Number(p.flags.concurrency) > 0 ? Number(p.flags.concurrency) : runner.slots;
      log.info("remote runner started", { server, concurrency });
      try {
        await remoteRunnerLoop({ server, token, run: (r) => runner.run(r), concurrency, log, signal: ac.signal });
      } catch (e) {
        console.error(`error: ${(e as Error).message}`);
        return 1;
      } finally {
        await runner.stop();
      }
      return 0;
    },
  },
  user: {
    usage: "gauntlet user create USERNAME [--admin] [--password P] [--email E] [--data DIR]",
    summary: "Create an account (--admin: an organiser). Prints a one-time password if none is given.",
    own: { admin: "make the account an organiser", password: "the password (default: a random one, printed once)", email: "e-mail address" },
    async run(p, cfgFlags) {
      const [sub, username] = p.positionals.slice(1);
      if (sub !== "create" || !username) throw new UsageError("usage: gauntlet user create USERNAME [--admin] [--password P]");
      const config = loadConfig({ flags: cfgFlags });
      const s = openCore(config, { log: createLogger("warn") });
      const given = typeof p.flags.password === "string" ? p.flags.password : undefined;
      const password = given ?? randomToken(12);
      try {
        const u = await s.auth.createUser({ username, password, email: typeof p.flags.email === "string" ? p.flags.email : null, role: p.flags.admin ? "organiser" : "player" });
        console.log(`created ${u.role} ${u.username} (id ${u.id})`);
        if (!given) console.log(`one-time password: ${password}`);
        return 0;
      } catch (e) {
        if (isAppError(e)) {
          console.error(`error: ${e.message}`);
          return 1;
        }
        throw e;
      } finally {
        await s.db.flush();
        s.db.close();
      }
    },
  },
  upgrade: {
    usage: "gauntlet upgrade --binary NEW [--install-path PATH] [--data DIR] [--port P]",
    summary: "Install a new binary and hand the running server over to it without dropping a request.",
    own: {
      binary: "the new gauntlet executable",
      "install-path": "the installed binary to replace (default: the running server's executable)",
      timeout: "seconds the new server may take to be ready and the old one to drain (default 120)",
    },
    async run(p, cfgFlags) {
      const binary = p.flags.binary;
      if (typeof binary !== "string" || !binary) throw new UsageError("usage: gauntlet upgrade --binary NEW [--install-path PATH] [--data DIR]");
      const installPath = p.flags["install-path"];
      if (installPath !== undefined && (typeof installPath !== "string" || !installPath)) throw new UsageError("--install-path needs a path");
      const timeout = p.flags.timeout === undefined ? 120 : Number(p.flags.timeout);
      if (!(timeout > 0)) throw new UsageError("--timeout needs a number of seconds");
      const config = loadConfig({ flags: cfgFlags });
      try {
        // --port picks one of several instances on the data dir; without it, the newest server.
        const port = cfgFlags.port === undefined ? undefined : config.port;
        return await upgrade({ binary, installPath: installPath as string | undefined, dataDir: config.dataDir, port, timeoutMs: timeout * 1000 });
      } catch (e) {
        if (e instanceof UpgradeRefused) {
          console.error(`error: ${e.message}`);
          return 2;
        }
        throw e;
      }
    },
  },
  ...BACKUP_COMMANDS,
  ...ARENA_COMMANDS,
};

function mainHelp() {
  return [
    `gauntlet ${VERSION}: puzzle hunts and live coding matches in one binary.`,
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`),
    "",
    "Run `gauntlet COMMAND --help` for a command's flags. Settings (flag, environment, meaning):",
    configHelp(),
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parseArgs(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  if (p.flags.version) {
    console.log(VERSION);
    return 0;
  }
  const name = p.positionals[0];
  if (!name) {
    console.log(mainHelp());
    return p.flags.help ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`error: unknown command ${JSON.stringify(name)}\n\n${mainHelp()}`);
    return 2;
  }
  if (p.flags.help) {
    const own = Object.entries(cmd.own ?? {}).map(([f, d]) => `  --${f.padEnd(28)} ${d}`);
    console.log([`usage: ${cmd.usage}`, "", cmd.summary, ...(own.length ? ["", "Flags:", ...own] : []), "", "Settings:", configHelp()].join("\n"));
    return 0;
  }
  try {
    const { cfg } = splitFlags(p, cmd.own);
    return await cmd.run(p, cfg);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    if (e instanceof PendingMigrationsError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    console.error(e);
    return 1;
  }
}

export type { Config };

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // serve returns only after a clean stop; other commands exit with their code.
  process.exit(code);
}
