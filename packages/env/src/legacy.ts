// The timer shapes the packages took before the environment seam, declared once here so that their
// documented options keep compiling: @chronik/wal's GroupCommitter `timers` and @chronik/raft-grpc's
// GrpcTransport `timers` took `Timers`; @chronik/raft-host's RaftHost `scheduler` took
// `IntervalTimers`. New code takes a `Scheduler`.
import type { Scheduler } from './scheduler.js';

/** @deprecated `Scheduler` (its `setTimer` returns a handle that cancels itself). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** @deprecated `Scheduler` (periodic work: `every`). */
export interface IntervalTimers extends Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** A Scheduler whose timers are `timers`' and whose end of the turn is `defer`. */
export function schedulerOfTimers(timers: Timers, defer: (fn: () => void) => void): Scheduler {
  return {
    setTimer(delayMs, fn) {
      const h = timers.setTimeout(fn, delayMs);
      return { cancel: () => timers.clearTimeout(h) };
    },
    defer,
  };
}
