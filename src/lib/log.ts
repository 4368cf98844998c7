/**
 * Structured JSON logs, one line each, to stdout. Levels below the configured
 * one cost a comparison and nothing else.
 */
export type Level = "debug" | "info" | "warn" | "error" | "silent";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  readonly level: Level;
}

export function createLogger(level: Level = "info", base: Record<string, unknown> = {}, write: (line: string) => void = (l) => process.stdout.write(l + "\n")): Logger {
  const min = RANK[level];
  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    let err: unknown;
    if (fields && fields.err instanceof Error) {
      const e = fields.err;
      err = { name: e.name, message: e.message, stack: e.stack };
    }
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields, ...(err ? { err } : {}) }));
  };
  return {
    level,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

export const silentLogger = (): Logger => createLogger("silent");
