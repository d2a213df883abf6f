// The log cleaner: runs Kafka's log compaction over the partitions of this node whose topic has
// cleanup.policy=compact (docs/design/compaction.md) — in a cluster only those it leads, whose
// followers apply what the leader writes.
//
// - One pass at a time (Kafka's log.cleaner.threads = 1), on the dirtiest partition that is due:
//   one whose dirty part is at least min.cleanable.dirty.ratio of what may be cleaned, or whose
//   oldest dirty batch is older than max.compaction.lag.ms (those first). After a completed pass it
//   looks again at once; with nothing due it waits `backoffMs` (log.cleaner.backoff.ms).
// - Every byte a pass reads or writes is charged to one rate (log.cleaner.io.max.bytes.per.second,
//   all passes together): a pass waits before its next step until the rate allows it. Between steps
//   it gives the event loop back (`defer`), and a step reads at most 256 KiB, so produce and fetch
//   are never held for long (partition/cleaner.ts).
// - A pass that stops early (leadership moved, a relocation found stale, the partition stopped) is
//   logged at debug and the partition is looked at again later.
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import type { Logger } from '../logger.js';
import type { CleanerIo, CleaningPlan, ManagedPartition, PassResult } from '../partition/types.js';

export interface LogCleanerOptions {
  /** The replicas of this node (each says whether it may be cleaned here: ManagedPartition.cleanable). */
  replicas(): Iterable<ManagedPartition>;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /** log.cleaner.enable */
  enabled: boolean;
  /** log.cleaner.io.max.bytes.per.second */
  ioBytesPerSecond: number;
  /** log.cleaner.dedupe.buffer.size */
  dedupeBufferBytes: number;
  /** log.cleaner.backoff.ms */
  backoffMs: number;
  /** Each pass's outcome (metrics). */
  onPass?(p: ManagedPartition, result: PassResult): void;
}

/** Time spent planning before the event loop is given back. */
const PICK_SLICE_MS = 5;
/** Waits shorter than this are not taken (the rate evens out over the next steps). */
const MIN_WAIT_MS = 2;

class Aborted extends Error {
  constructor() {
    super('the log cleaner is closing');
    this.name = 'Aborted';
  }
}

export class LogCleaner {
  private timer: TimerHandle | undefined;
  private closed = false;
  /** When the I/O charged so far has been paid for at the rate (ms, the clock's monotonic time). */
  private ioFreeAtMs = 0;
  private running: Promise<void> | undefined;
  /** A pass waiting for the rate: closing ends the wait. */
  private waiting: { timer: TimerHandle; abort(): void } | undefined;

  constructor(private readonly options: LogCleanerOptions) {}

  start(): void {
    if (!this.options.enabled) return;
    this.schedule(this.options.backoffMs);
  }

  /** Stops after the current step; resolves once a pass under way has stopped. */
  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    if (this.waiting !== undefined) {
      this.waiting.timer.cancel();
      this.waiting.abort();
      this.waiting = undefined;
    }
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = this.options.scheduler.setTimer(delayMs, () => {
      this.timer = undefined;
      this.running = this.cleanOne().then(
        (cleaned) => {
          this.running = undefined;
          this.schedule(cleaned ? 0 : this.options.backoffMs);
        },
        (e: unknown) => {
          this.running = undefined;
          if (!(e instanceof Aborted))
            this.options.logger.warn(
              { err: e instanceof Error ? e.message : String(e) },
              'log cleaner: pass failed',
            );
          this.schedule(this.options.backoffMs);
        },
      );
    });
  }

  /**
   * The partition most in need of cleaning and its plan: overdue first, then the dirtiest. A plan
   * looks at the partition's index (up to the rows of its active segment): the event loop is given
   * back whenever looking took PICK_SLICE_MS.
   */
  private async pick(nowMs: number): Promise<{ p: ManagedPartition; plan: CleaningPlan } | undefined> {
    let best: { p: ManagedPartition; plan: CleaningPlan } | undefined;
    let sliceStart = this.options.clock.monotonicMs();
    for (const p of [...this.options.replicas()]) {
      if (this.options.clock.monotonicMs() - sliceStart >= PICK_SLICE_MS) {
        await this.yieldTurn();
        sliceStart = this.options.clock.monotonicMs();
      }
      let plan: CleaningPlan | undefined;
      try {
        plan = p.cleanable(nowMs);
      } catch (e) {
        this.options.logger.debug(
          { topic: p.topic, partition: p.partition, err: e instanceof Error ? e.message : String(e) },
          'log cleaner: could not plan a pass',
        );
      }
      if (plan === undefined) continue;
      if (
        best === undefined ||
        (plan.overdue && !best.plan.overdue) ||
        (plan.overdue === best.plan.overdue && plan.dirtyRatio > best.plan.dirtyRatio)
      )
        best = { p, plan };
    }
    return best;
  }

  /** Runs one pass if a partition is due; whether one completed. */
  private async cleanOne(): Promise<boolean> {
    const nowMs = this.options.clock.nowMs();
    const next = await this.pick(nowMs);
    if (next === undefined) return false;
    const { p, plan } = next;
    const startMs = this.options.clock.monotonicMs();
    const result = await p.clean(plan, nowMs, this.io());
    this.options.onPass?.(p, result);
    const fields = {
      topic: p.topic,
      partition: p.partition,
      dirty: `[${plan.firstDirty}, ${plan.firstUncleanable})`,
      dirtyRatio: Number(plan.dirtyRatio.toFixed(3)),
      endOffset: String(result.endOffset),
      bytesRead: result.bytesRead,
      bytesWritten: result.bytesWritten,
      batchesRemoved: result.batchesRemoved,
      batchesRewritten: result.batchesRewritten,
      tookMs: Math.round(this.options.clock.monotonicMs() - startMs),
    };
    if (result.completed) this.options.logger.info(fields, 'log cleaner: partition cleaned');
    else this.options.logger.debug({ ...fields, stopped: result.stopped }, 'log cleaner: pass stopped');
    return result.completed;
  }

  private io(): CleanerIo {
    return {
      mapBytes: this.options.dedupeBufferBytes,
      throttle: (bytes) => this.throttle(bytes),
      pause: () => this.yieldTurn(),
    };
  }

  /** Gives the event loop back (rejects once closing). */
  private yieldTurn(): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.options.scheduler.defer(() => (this.closed ? reject(new Aborted()) : resolve())),
    );
  }

  /** Charges `bytes` to the rate and waits until it allows them. */
  private throttle(bytes: number): Promise<void> {
    if (this.closed) return Promise.reject(new Aborted());
    const now = this.options.clock.monotonicMs();
    this.ioFreeAtMs = Math.max(this.ioFreeAtMs, now) + (bytes * 1000) / this.options.ioBytesPerSecond;
    const waitMs = this.ioFreeAtMs - now;
    if (waitMs < MIN_WAIT_MS) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = this.options.scheduler.setTimer(Math.ceil(waitMs), () => {
        this.waiting = undefined;
        resolve();
      });
      this.waiting = { timer, abort: () => reject(new Aborted()) };
    });
  }
}
