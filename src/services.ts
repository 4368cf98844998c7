/**
 * Builds every domain service once from the process dependencies. Routes and
 * CLI commands receive this object; a domain reaches another through it.
 */
import { authService } from "./auth/auth.service.ts";
import { queueService } from "./queue/queue.service.ts";
import { analyticsService } from "./analytics/analytics.service.ts";
import { metricsService } from "./metrics/metrics.service.ts";
import { multivacService } from "./multivac/multivac.service.ts";
import type { Deps } from "./lib/context.ts";
import { eventsService } from "./events/events.service.ts";
import { huntService } from "./hunt/hunt.service.ts";
import { ledgerService } from "./ledger/ledger.service.ts";
import { leaderboardService } from "./leaderboard/leaderboard.service.ts";
import { runnerService } from "./runner/runner.service.ts";
import { realtimeService } from "./realtime/realtime.service.ts";
import { arenaService } from "./arena/arena.service.ts";

export function createServices(deps: Deps) {
  const auth = authService(deps);
  // Built early: other domains enqueue jobs and register handlers on it.
  const queue = queueService(deps);
  const metrics = metricsService(deps);
  const analytics = analyticsService(deps, { metrics });
  const runner = runnerService(deps);
  // Realtime learns of logouts, bans and role changes from auth (it is handed auth as a SessionSource; neither imports the other).
  const realtime = realtimeService(deps, { sessions: auth });
  const events = eventsService(deps);
  const ledger = ledgerService(deps);
  const hunt = huntService({ ...deps, events, ledger });
  const leaderboard = leaderboardService({ ...deps, events });
  const arena = arenaService({ ...deps, queue, runner, realtime });
  const multivac = multivacService({ ...deps, queue });
  return { ...deps, auth, queue, events, ledger, hunt, leaderboard, metrics, analytics, multivac, runner, realtime, arena };
}

export type Services = ReturnType<typeof createServices>;
