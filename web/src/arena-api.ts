/** Arena endpoints in one place. */
export const ARENA = {
  queue: "/api/v1/arena/queue",
  rooms: "/api/v1/arena/rooms",
  join: "/api/v1/arena/rooms/join",
  match: (id: string) => `/api/v1/arena/matches/${encodeURIComponent(id)}`,
  submit: (id: string) => `/api/v1/arena/matches/${encodeURIComponent(id)}/submissions`,
  presence: (id: string) => `/api/v1/arena/matches/${encodeURIComponent(id)}/presence`,
  testerRun: (id: string) => `/api/v1/arena/matches/${encodeURIComponent(id)}/tests`,
  profile: (userId: number | string) => `/api/v1/users/${encodeURIComponent(String(userId))}/profile`,
  languages: "/api/v1/runner/languages",
  run: "/api/v1/run",
};

/** The match id from a queue/room answer or a match.found message. */
export function matchIdOf(d: any): string | null {
  const id = d?.matchId ?? d?.match?.id;
  return id === undefined || id === null ? null : String(id);
}
