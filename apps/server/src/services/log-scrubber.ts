// The log scrubber: reads every replica's stored batches back from disk at a bounded rate, so that
// damage in a sealed segment (a bit flip, a bad sector) is found and reported — in the log,
// `/health` and `/v1/partitions` — before a consumer meets it, not only when one does. Standalone
// logs open trusting their sealed segments' index files (a fast start); the scrubber is what checks
// their records' CRCs afterwards.
//
// - One read at a time, at most `bytesPerSecond` on average: every `stepMs` it reads up to a step's
//   share (at least one batch) from the replica it is on, then goes to the next replica once it
//   reached the high watermark that replica had when the scrubber came to it.
// - A pass covers every replica open when it started; the next pass starts `passIntervalMs` after
//   the start of the previous one (at once if the pass took longer).
// - Damage found is reported by the partition as a reader's would be (PartitionEvents.damaged; a
//   replicated replica stops, so that an intact replica leads) and counted.
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import type { Logger } from '../logger.js';
import type { ManagedPartition } from '../partition/types.js';

export interface LogScrubberOptions {
  /** The replicas to check (read at the start of each pass). */
  replicas(): Iterable<ManagedPartition>;
  /** Pass durations. */
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /** Average read rate; 0 turns the scrubber off. */
  bytesPerSecond: number;
  /** From the start of one pass to the start of the next. Default 1 h. */
  passIntervalMs?: number;
  /** Between reads. Default 100 ms. */
  stepMs?: number;
  /** Bytes checked and damage found (metrics). */
  onChecked?(bytes: number): void;
  onDamage?(p: ManagedPartition, error: Error): void;
}

const DEFAULT_PASS_INTERVAL_MS = 3_600_000;
const DEFAULT_STEP_MS = 100;
/** One read never asks for more (a replicated replica's reads run on the event loop). */
const MAX_STEP_BYTES = 1 << 20;

interface Cursor {
  p: ManagedPartition;
  next: bigint;
  /** The high watermark when the scrubber came to this replica: the pass checks up to it. */
  until: bigint;
}

export class LogScrubber {
  private queue: ManagedPartition[] = [];
  private current: Cursor | undefined;
  private passStartMs = 0;
  private timer: TimerHandle | undefined;
  private closed = false;
  /** Completed passes (logged). */
  private passes = 0;

  constructor(private readonly options: LogScrubberOptions) {}

  start(): void {
    if (this.options.bytesPerSecond <= 0) return;
    this.startPass();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private get stepMs(): number {
    return this.options.stepMs ?? DEFAULT_STEP_MS;
  }

  private startPass(): void {
    this.passStartMs = this.options.clock.nowMs();
    this.queue = [...this.options.replicas()];
    this.current = undefined;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = this.options.scheduler.setTimer(delayMs, () => {
      this.timer = undefined;
      this.step().then(
        (bytes) => this.afterStep(bytes),
        (e: unknown) => {
          // Not damage (that is reported by the partition): a replica closed or deleted under the
          // read. Go on with the next replica.
          this.options.logger.debug(
            { err: e instanceof Error ? e.message : String(e) },
            'log scrubber: read failed, next replica',
          );
          this.current = undefined;
          this.afterStep(0);
        },
      );
    });
  }

  /** Waits long enough that the average rate stays at bytesPerSecond. */
  private afterStep(bytes: number): void {
    if (this.closed) return;
    if (this.current === undefined && this.queue.length === 0) {
      this.passes++;
      this.options.logger.info(
        { pass: this.passes, tookMs: this.options.clock.nowMs() - this.passStartMs },
        'log scrubber: pass complete',
      );
      const interval = this.options.passIntervalMs ?? DEFAULT_PASS_INTERVAL_MS;
      const wait = Math.max(0, this.passStartMs + interval - this.options.clock.nowMs());
      this.timer = this.options.scheduler.setTimer(wait, () => this.startPass());
      return;
    }
    const delay = Math.max(this.stepMs, Math.ceil((bytes * 1000) / this.options.bytesPerSecond));
    this.schedule(bytes === 0 ? 0 : delay);
  }

  /** Checks one read's worth of the current replica; the bytes read. */
  private async step(): Promise<number> {
    if (this.current === undefined) {
      const p = this.queue.shift();
      if (p === undefined) return 0;
      this.current = { p, next: p.logStartOffset, until: p.highWatermark };
    }
    const c = this.current;
    if (c.next >= c.until) {
      this.current = undefined;
      return 0;
    }
    const maxBytes = Math.max(
      1,
      Math.min(MAX_STEP_BYTES, Math.floor((this.options.bytesPerSecond * this.stepMs) / 1000)),
    );
    const { next, bytes, damage } = await c.p.verify(c.next, maxBytes);
    if (damage !== undefined) {
      this.options.onDamage?.(c.p, damage);
      this.current = undefined;
      return 0;
    }
    if (next <= c.next) {
      // Nothing more below the high watermark (or the replica stopped): the next replica.
      this.current = undefined;
      return 0;
    }
    c.next = next;
    this.options.onChecked?.(bytes);
    return bytes;
  }
}
