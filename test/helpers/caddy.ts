/**
 * The real Caddy (Debian's, installed by .ci/run) in front of test servers:
 * run with its state under a temporary dir, so a test never touches the
 * machine's Caddy data, and waited for until the proxy answers.
 *
 * @example
 * const proxy = await runCaddy(dir, config, async () => (await fetch(`${base}/readyz`)).status === 200);
 * afterAll(() => proxy.stop());
 */
import { spawn, type Subprocess } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const CADDY = Bun.which("caddy");

/** Caddy's environment: HOME and XDG dirs in `dir`. */
export const caddyEnv = (dir: string) => ({ ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir });

export interface CaddyProc {
  proc: Subprocess;
  /** What Caddy wrote to stderr so far. */
  output(): string;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

/** Writes `config` to dir/Caddyfile, starts `caddy run`, and resolves once `ready()` is true (15 s at most). */
export async function runCaddy(dir: string, config: string, ready: () => Promise<boolean>): Promise<CaddyProc> {
  const file = join(dir, "Caddyfile");
  writeFileSync(file, config);
  const proc = spawn([CADDY!, "run", "--adapter", "caddyfile", "--config", file], { stdout: "pipe", stderr: "pipe", env: caddyEnv(dir) });
  let out = "";
  void new Response(proc.stderr as ReadableStream).text().then((t) => (out += t));
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if (await ready()) break;
    } catch {}
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGTERM");
      throw new Error(`caddy did not come up: ${out}`);
    }
    await Bun.sleep(50);
  }
  return {
    proc,
    output: () => out,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
