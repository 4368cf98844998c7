/**
 * The one clock of the server. Every time-based rule reads `clock.now()`.
 *
 * The fake clock (GAUNTLET_FAKE_CLOCK=1, refused in production) is frozen: it
 * starts at the real time of first boot and moves only when an organiser
 * advances it (POST /api/v1/admin/clock). Frozen rather than "real time plus an
 * offset" so that a test advancing 59,999 ms sees exactly 0 elapsed minutes,
 * never 1 because the machine was slow. Its value is persisted by the caller
 * (see db kv `fake_clock`), so a restart does not move time backwards.
 */
export interface Clock {
  now(): number;
  readonly fake: boolean;
  /** Fake clocks only: move forward by ms (never backward). Returns the new now. */
  advance(ms: number): number;
  /** Fake clocks only: jump to an absolute time if it is later (another process advanced). */
  syncTo(now: number): void;
  /** Called after every change of a fake clock, e.g. to persist it and wake the scheduler. */
  onAdvance(fn: (now: number) => void): () => void;
  /** Fake clocks shared through the database: adopt a later time another process saved (set by core.ts). */
  refresh?(): void;
}

export function systemClock(): Clock {
  return {
    now: () => Date.now(),
    fake: false,
    advance() {
      throw new Error("the system clock cannot be advanced");
    },
    syncTo() {},
    onAdvance: () => () => {},
  };
}

export function fakeClock(start = Date.now()): Clock {
  let current = Math.floor(start);
  const listeners = new Set<(now: number) => void>();
  const notify = () => {
    for (const fn of listeners) fn(current);
  };
  return {
    now: () => current,
    fake: true,
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError("advanceMs must be a non-negative number");
      current += Math.floor(ms);
      notify();
      return current;
    },
    syncTo(now: number) {
      if (now > current) {
        current = now;
        notify();
      }
    },
    onAdvance(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
