// Running things later: one-shot timers on the environment's clock, and the end of the current
// turn. Periodic work and retries are built on them (`every`, `retryUntilDone`), so that an
// implementation has only two operations to provide.

export interface TimerHandle {
  /** Idempotent; a cancelled timer never fires. */
  cancel(): void;
}

export interface Scheduler {
  /** Runs `fn` once, `delayMs` from now on the environment's clock (never synchronously). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /**
   * Runs `fn` once the current turn's synchronous work and the promise callbacks it set off are
   * done (Node's `setImmediate`): where the work of one turn is gathered (a Raft host cycle, a
   * group commit, the request gate's turn).
   */
  defer(fn: () => void): void;
}

/** Node's largest timer delay; longer ones fire at once (and warn). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Node's timers and `setImmediate`. Timers are unref'd: a pending timer never keeps the process
 * alive (its sockets and files do).
 */
export const systemScheduler: Scheduler = {
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, Math.min(delayMs, MAX_DELAY_MS)));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  defer: (fn) => void setImmediate(fn),
};

/**
 * Periodic work: `fn` every `periodMs` until cancelled, each period counted from the end of the
 * previous run (a throw is `onError`'s and does not stop it).
 */
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
