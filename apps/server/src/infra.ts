// The broker's seams to the outside world that are not I/O devices: a clock with one-shot timers,
// and randomness. Every component takes them as arguments; only the modes (src/modes/) and main.ts
// use the system implementations below, so the whole broker can run under a simulated clock
// (ManualScheduler) and seeded randomness. The file system is @chronik/wal's FileSystem seam, the
// Raft transport @chronik/raft-host's HostTransport.
import { randomBytes, randomUUID } from 'node:crypto';

export interface TimerHandle {
  /** Idempotent; a cancelled timer never fires. */
  cancel(): void;
}

export interface Scheduler {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once, `delayMs` from now (never synchronously). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/** The wall clock and Node timers (unref'd: a pending timer never keeps the process alive). */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A deterministic scheduler for tests: time moves only through `advance`, and due timers run in
 * order of their deadline (ties in order of creation), each seeing `now()` equal to its deadline.
 */
export class ManualScheduler implements Scheduler {
  private time: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.time = startMs;
  }

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

/** Randomness: ids that must not repeat (topic ids, cluster ids, member ids, incarnations). */
export interface Random {
  /** `n` random bytes. */
  bytes(n: number): Buffer;
  /** A random RFC 4122 version-4 UUID, lower case. */
  uuid(): string;
}

export const systemRandom: Random = {
  bytes: (n) => randomBytes(n),
  uuid: () => randomUUID(),
};

/** Periodic work on a Scheduler: `fn` every `periodMs` until cancelled (a throw is `onError`'s). */
export function every(
  scheduler: Scheduler,
  periodMs: number,
  fn: () => void,
  onError: (e: unknown) => void,
): TimerHandle {
  let handle: TimerHandle | undefined;
  let cancelled = false;
  const run = (): void => {
    if (cancelled) return;
    try {
      fn();
    } catch (e) {
      onError(e);
    }
    if (!cancelled) handle = scheduler.setTimer(periodMs, run);
  };
  handle = scheduler.setTimer(periodMs, run);
  return {
    cancel: () => {
      cancelled = true;
      handle?.cancel();
    },
  };
}

/**
 * Runs `attempt` until it resolves true: again `retryMs` after it resolves false or fails (a
 * failure is `onError`'s). The handle stops it.
 */
export function retryUntilDone(
  scheduler: Scheduler,
  retryMs: number,
  attempt: () => Promise<boolean>,
  onError: (e: unknown) => void,
): TimerHandle {
  let timer: TimerHandle | undefined;
  let cancelled = false;
  const run = (): void => {
    if (cancelled) return;
    attempt().then(
      (done) => {
        if (!done && !cancelled) timer = scheduler.setTimer(retryMs, run);
      },
      (e: unknown) => {
        onError(e);
        if (!cancelled) timer = scheduler.setTimer(retryMs, run);
      },
    );
  };
  run();
  return {
    cancel: () => {
      cancelled = true;
      timer?.cancel();
    },
  };
}
