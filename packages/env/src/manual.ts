// A clock and scheduler for tests, where time moves only when the test says so.
import type { Clock } from './clock.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A deterministic clock and scheduler for tests: time moves only through `advance`, and due timers
 * run in order of their deadline (ties in order of creation), each seeing the clock at its
 * deadline. Both clocks read the same time. `defer` is the real end of the turn (`setImmediate`):
 * this controls time, not the order of turns (the simulator, tools/sim, controls both).
 */
export class ManualScheduler implements Clock, Scheduler {
  private time: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.time = startMs;
  }

  nowMs(): number {
    return this.time;
  }

  monotonicMs(): number {
    return this.time;
  }

  /** @deprecated `nowMs()` (the name before the environment seam). */
  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = {
      at: this.time + Math.max(0, delayMs),
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  defer(fn: () => void): void {
    setImmediate(fn);
  }

  /** Pending (not cancelled) timers. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves the clock forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= end && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq)))
          next = t;
      }
      if (next === undefined) break;
      this.time = Math.max(this.time, next.at);
      next.cancelled = true;
      next.fn();
    }
    this.time = end;
  }
}
