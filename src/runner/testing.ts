/**
 * For tests that need the real sandbox: the cache dir they share, and why the
 * sandbox cannot run on this host (printed once), or null when it can.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeHost, SandboxUnavailable } from "./sandbox.ts";

export const TEST_RUNNER_CACHE = process.getuid?.() === 0 ? "/var/cache/gauntlet-runner" : join(tmpdir(), "gauntlet-runner-test");

/** Null when the sandbox works here; else the reason, printed as "SKIP <what>: <reason>". */
export function sandboxSkipReason(what: string): string | null {
  try {
    probeHost(TEST_RUNNER_CACHE);
    return null;
  } catch (e) {
    if (!(e instanceof SandboxUnavailable)) throw e;
    console.log(`SKIP ${what}: ${e.message}`);
    return e.message;
  }
}
