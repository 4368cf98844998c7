/**
 * The one catalog of error responses. A service throws `new AppError("code")`
 * (optionally with a message and details); `onError` in app.ts maps it to
 * `{"error":{"code","message"}}` with the status listed here. Anything that is
 * not an AppError is a bug and becomes a bare 500 with the request id.
 */
export const ERRORS = {
  // 400
  bad_request: [400, "The request is not valid."],
  invalid_json: [400, "The request body is not valid JSON."],
  invalid_utf8: [400, "The request body is not valid UTF-8."],
  validation_failed: [400, "Some fields are missing or invalid."],
  empty_answer: [400, "The answer is empty once normalized."],
  weak_password: [400, "That password is too common; choose another."],
  unknown_language: [400, "Unknown language."],
  language_unavailable: [400, "That language is not available on this runner."],
  // 401 / 403
  unauthenticated: [401, "You need to log in."],
  invalid_credentials: [401, "Wrong username or password."],
  forbidden: [403, "You are not allowed to do that."],
  cross_origin: [403, "Cross-origin state-changing requests are refused."],
  banned: [403, "This account is banned."],
  // 404 / 405
  not_found: [404, "Not found."],
  method_not_allowed: [405, "Method not allowed."],
  upgrade_required: [426, "Connect with a websocket upgrade."],
  // 409
  conflict: [409, "The request conflicts with the current state."],
  username_taken: [409, "That username is taken."],
  event_not_started: [409, "The event has not started."],
  event_over: [409, "The event is over."],
  already_solved: [409, "This puzzle is already solved."],
  no_hint_left: [409, "No hint left for this puzzle."],
  insufficient_xp: [409, "Not enough XP."],
  already_active: [409, "That powerup is already active."],
  job_running: [409, "The job is running; cancel it first."],
  job_finished: [409, "The job has already finished."],
  // arena
  unsupported_language: [400, "That language is not available."],
  invalid_invite: [404, "No open room has that invite code."],
  not_in_match: [403, "You are not a player in this match."],
  wrong_role: [403, "Your role in this match cannot do that."],
  slug_taken: [409, "A problem with that slug exists."],
  problem_in_use: [409, "The problem has submissions or matches; it cannot be deleted."],
  problem_no_tests: [409, "This problem has no tests."],
  room_full: [409, "The room is full."],
  already_in_match: [409, "You are already in a match or room."],
  already_queued: [409, "You are already in the queue."],
  match_over: [409, "The match is over."],
  match_not_started: [409, "The match has not started."],
  match_started: [409, "The match has started."],
  no_code: [409, "There is no code to run yet."],
  // 413 / 415 / 429
  payload_too_large: [413, "The request body is too large."],
  unsupported_media_type: [415, "Send the body as application/json."],
  rate_limited: [429, "Too many requests; try again later."],
  // 5xx that are deliberate (not bugs)
  not_ready: [503, "The service is not ready."],
  database_busy: [503, "The database is busy; try again in a moment."],
  runner_unavailable: [503, "The code runner cannot sandbox on this host."],
  timeout: [504, "The request took too long."],
  internal: [500, "Internal server error."],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  /** Seconds, sent as Retry-After with 429/503. */
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message?: string, opts: { details?: unknown; retryAfter?: number } = {}) {
    super(message ?? ERRORS[code][1]);
    this.name = "AppError";
    this.code = code;
    this.status = ERRORS[code][0];
    this.details = opts.details;
    this.retryAfter = opts.retryAfter;
  }

  toJSON() {
    const body: { code: ErrorCode; message: string; details?: unknown } = { code: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    return { error: body };
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
