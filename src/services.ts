/**
 * Builds every domain service once from the process dependencies. Routes and
 * CLI commands receive this object; a domain reaches another through it.
 */
import { authService } from "./auth/auth.service.ts";
import type { Deps } from "./lib/context.ts";
import { runnerService } from "./runner/runner.service.ts";

export function createServices(deps: Deps) {
  const auth = authService(deps);
  const runner = runnerService(deps);
  return { ...deps, auth, runner };
}

export type Services = ReturnType<typeof createServices>;
