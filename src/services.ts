/**
 * Builds every domain service once from the process dependencies. Routes and
 * CLI commands receive this object; a domain reaches another through it.
 */
import { authService } from "./auth/auth.service.ts";
import type { Deps } from "./lib/context.ts";

export function createServices(deps: Deps) {
  const auth = authService(deps);
  return { ...deps, auth };
}

export type Services = ReturnType<typeof createServices>;
