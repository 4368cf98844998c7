/**
 * Arena endpoints in one place (the arena API was being built alongside this
 * UI; keeping the paths together makes following it a one-file change).
 */
export const ARENA = {
  queue: "/api/v1/arena/queue",
  rooms: "/api/v1/arena/rooms",
  join: (code: string) => `/api/v1/arena/rooms/${encodeURIComponent(code)}/join`,
  match: (id: string) => `/api/v1/arena/matches/${encodeURIComponent(id)}`,
  submit: (id: string) => `/api/v1/arena/matches/${encodeURIComponent(id)}/submissions`,
  testRun: (id: string) => `/api/v1/arena/matches/${encodeURIComponent(id)}/tests`,
  myMatches: "/api/v1/arena/matches?mine=1",
  profile: (u: string) => `/api/v1/users/${encodeURIComponent(u)}/profile`,
  languages: "/api/v1/runner/languages",
  run: "/api/v1/run",
};

/** The match id from whatever shape a queue/room/match-found answer takes. */
export function matchIdOf(d: any): string | null {
  const id = d?.matchId ?? d?.match?.id ?? (d?.kind === "match_found" || d?.type === "match_found" ? d?.id : undefined) ?? d?.room?.matchId;
  return id === undefined || id === null ? null : String(id);
}
