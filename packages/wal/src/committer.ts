/**
 * Group commit: many logs (one per Raft group / partition) share one flush cycle. A cycle
 * fdatasyncs every log that asked for durability since the previous cycle, each once, in
 * parallel, and then resolves all of their waiters.
 */
import {
  type Clock,
  type Logger,
  type Scheduler,
  type TimerHandle,
  type Timers,
  schedulerOfTimers,
  silentLogger,
  systemScheduler,
} from '@chronik/env';
import { WalError, WalErrorCode } from './errors.js';

/** Something the committer can make durable (a log, a state file). */
export interface Flushable {
  /** Makes everything written so far durable. Called at most once at a time per target. */
  flushDurable(): Promise<void>;
}

/**
 * When to fsync:
 * - `batch` (default): a cycle starts as soon as one is requested and none is running (deferred to
 *   the end of the current event-loop turn, so the requests of one turn share it); requests that
 *   arrive during a cycle form the next batch.
 * - `interval`: a cycle runs at most every `intervalMs`; waiters wait up to that long.
 * - `unsafe-none`: never fsync; sync() resolves at once. Data acknowledged this way can be lost
 *   on power loss. For tests and benchmarks only.
 */
export type SyncPolicy =
  { kind: 'batch' } | { kind: 'interval'; intervalMs: number } | { kind: 'unsafe-none' };

/**
 * Counters of a committer and of every log that shares it (public API: a server reports them as
 * metrics, a test reads them). Plain numbers, only ever increased; read them whenever you like.
 */
export class WalStats {
  /** Record bytes (headers and payloads) written to segment files. */
  bytesWritten = 0;
  /** fdatasync calls on segment files by flush cycles (a log with nothing new written is skipped). */
  fsyncs = 0;
  /** Flush cycles that completed (each flushes every log that asked since the last one). */
  flushCycles = 0;
  /** Logs whose flush failed (each stops its log). */
  flushFailures = 0;
  /**
   * What recovery did when the logs were opened, by case of the decision table: torn tails cut
   * (`tailsTruncated`), `.broken` copies written, segments and temp files removed, sparse indexes
   * rebuilt, and logs cut at a corruption by the operator option (`corruptionsTruncated`).
   */
  readonly recovery = {
    logsOpened: 0,
    tailsTruncated: 0,
    brokenCopies: 0,
    segmentsRemoved: 0,
    tempFilesRemoved: 0,
    indexesRebuilt: 0,
    corruptionsTruncated: 0,
  };
}

/** Told about each flush cycle (GroupCommitterOptions.observer); keep it cheap. */
export interface WalObserver {
  /**
   * A flush cycle ended: `durationMs` from its start to the last fdatasync settling (the fsync
   * latency a waiter saw, queueing in the thread pool included), `logs` it flushed.
   */
  onFlushCycle?(durationMs: number, logs: number): void;
}

export interface GroupCommitterOptions {
  readonly policy?: SyncPolicy;
  /** Bound on requests waiting for a cycle; more are rejected with Overloaded. Default 100 000. */
  readonly maxWaiters?: number;
  /**
   * Where a `batch` cycle starts (`defer`: the end of the current turn, so that every log asking in
   * it shares the cycle) and the `interval` policy's timer. Default `systemScheduler`
   * (`setImmediate`, Node timers); a deterministic simulation injects its own.
   */
  readonly scheduler?: Scheduler;
  /** @deprecated `scheduler` (its `setTimer`). Overrides the scheduler's timers. */
  readonly timers?: Timers;
  /** @deprecated `scheduler` (its `defer`). Overrides the scheduler's `defer`. */
  readonly defer?: (fn: () => void) => void;
  readonly logger?: Logger;
  /** Told about each flush cycle; needs `clock` for its durations. */
  readonly observer?: WalObserver;
  /** Times flush cycles for the observer (only `monotonicMs` is read, and only with an observer). */
  readonly clock?: Pick<Clock, 'monotonicMs'>;
}

/** @deprecated `systemScheduler` of @chronik/env: Node's timers, unref'd, in the shape before it. */
export const systemTimers: Timers = {
  setTimeout: (fn, delayMs) => systemScheduler.setTimer(delayMs, fn),
  clearTimeout: (h) => (h as TimerHandle).cancel(),
};

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A result nobody awaits must not raise an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

interface Batch {
  /** One result per target, so one failing log never fails the others. */
  readonly targets: Map<Flushable, Deferred>;
  waiters: number;
}

export class GroupCommitter {
  readonly policy: SyncPolicy;
  private readonly maxWaiters: number;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private next: Batch | undefined;
  private running = false;
  private timer: TimerHandle | undefined;
  private deferred = false;
  private closed = false;
  /** Number of completed flush cycles (observability, tests). */
  cycles = 0;
  /** Counters of this committer and of every log that shares it. */
  readonly stats = new WalStats();
  private readonly observer: WalObserver | undefined;
  private readonly clock: Pick<Clock, 'monotonicMs'> | undefined;

  constructor(options: GroupCommitterOptions = {}) {
    this.policy = options.policy ?? { kind: 'batch' };
    if (this.policy.kind === 'interval' && !(this.policy.intervalMs > 0)) {
      throw new WalError(WalErrorCode.InvalidArgument, 'interval policy needs intervalMs > 0');
    }
    this.maxWaiters = options.maxWaiters ?? 100_000;
    const scheduler = options.scheduler ?? systemScheduler;
    // The options before the scheduler, where given, replace its parts.
    const defer = options.defer ?? ((fn: () => void) => scheduler.defer(fn));
    const timers = options.timers ? schedulerOfTimers(options.timers, defer) : scheduler;
    this.scheduler =
      options.timers === undefined && options.defer === undefined
        ? scheduler
        : { setTimer: (ms, fn) => timers.setTimer(ms, fn), defer };
    this.logger = options.logger ?? silentLogger;
    this.observer = options.observer?.onFlushCycle !== undefined ? options.observer : undefined;
    this.clock = options.clock;
  }

  /** Resolves once `target` has been flushed by a cycle that started after this call. */
  requestSync(target: Flushable): Promise<void> {
    if (this.closed) return Promise.reject(new WalError(WalErrorCode.Closed, 'group committer is closed'));
    if (this.policy.kind === 'unsafe-none') return Promise.resolve();
    const batch = (this.next ??= { targets: new Map(), waiters: 0 });
    if (batch.waiters >= this.maxWaiters) {
      return Promise.reject(
        new WalError(WalErrorCode.Overloaded, `more than ${this.maxWaiters} sync waiters`),
      );
    }
    batch.waiters++;
    let d = batch.targets.get(target);
    if (!d) {
      d = deferred();
      batch.targets.set(target, d);
    }
    this.schedule();
    return d.promise;
  }

  private schedule(): void {
    if (this.running || !this.next) return;
    if (this.policy.kind === 'interval') {
      if (this.timer === undefined) {
        this.timer = this.scheduler.setTimer(this.policy.intervalMs, () => {
          this.timer = undefined;
          this.startCycle();
        });
      }
      return;
    }
    if (!this.deferred) {
      this.deferred = true;
      this.scheduler.defer(() => {
        this.deferred = false;
        this.startCycle();
      });
    }
  }

  private startCycle(): void {
    if (this.running || !this.next) return;
    const batch = this.next;
    this.next = undefined;
    this.running = true;
    const entries = [...batch.targets];
    const startMs = this.observer !== undefined ? this.clock?.monotonicMs() : undefined;
    void Promise.allSettled(entries.map(([t]) => t.flushDurable())).then((results) => {
      this.running = false;
      this.cycles++;
      this.stats.flushCycles++;
      if (startMs !== undefined)
        this.observer?.onFlushCycle?.(this.clock!.monotonicMs() - startMs, entries.length);
      const more = this.next !== undefined;
      results.forEach((r, i) => {
        const d = entries[i]![1];
        if (r.status === 'fulfilled') {
          d.resolve();
        } else {
          this.stats.flushFailures++;
          this.logger.error('wal flush failed', { error: String(r.reason) });
          d.reject(r.reason);
        }
      });
      // Requests that arrived during the cycle were gathered already: start the next one now.
      if (more) this.startCycle();
    });
  }

  /** Rejects future requests; waiters of cycles already requested still settle. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) {
      this.timer.cancel();
      this.timer = undefined;
      this.startCycle();
    }
  }
}
