// Back-pressure for a replicated partition's leader. What it has proposed and not yet applied is
// bounded — in bytes, below the Raft core's own uncommitted limit, and in entries — and a Produce
// that finds no room waits, in arrival order, until applied entries free some, its timeout passes
// or the leadership ends. Offsets are assigned only when a Produce is admitted, and advance only past
// entries that were appended to the log, so back-pressure never leaves a hole in the offsets and
// never reorders a producer's batches; a Produce that waited too long is refused before anything of
// it was written (REQUEST_TIMED_OUT: retrying it is safe).
//
// The connection layer bounds how many requests wait here (in-flight requests per connection and
// the broker's in-flight bytes); `maxWaiting` is the partition's own bound on top.
import { KafkaError } from '../errors.js';
import { InvariantError } from './kafka-log.js';

export interface AdmissionLimits {
  /** Bytes proposed and not applied before a Produce waits (one Produce is admitted when none are). */
  readonly maxUncommittedBytes: number;
  /** Entries proposed and not applied before a Produce waits. */
  readonly maxUncommittedEntries: number;
  /** Produce requests waiting for room; more are refused at once with REQUEST_TIMED_OUT. */
  readonly maxWaiting: number;
}

/** A Produce waiting for room. */
export interface Waiter {
  readonly bytes: number;
  readonly entries: number;
  /** When the Produce gives up waiting (the partition's clock, ms). */
  readonly deadlineMs: number;
  /** Proposes the Produce's batches, synchronously (the room is there now). */
  run(): void;
  /** The Produce is answered with `e` without having been proposed. */
  fail(e: KafkaError): void;
}

export class AppendAdmission {
  /** Raft indexes and sizes of the entries proposed and not yet applied, in index order. */
  private indexes: number[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  private waiting: Waiter[] = [];

  constructor(private readonly limits: AdmissionLimits) {}

  get uncommittedBytes(): number {
    return this.bytes;
  }
  get uncommittedEntries(): number {
    return this.indexes.length - this.head;
  }
  get waitingCount(): number {
    return this.waiting.length;
  }

  private hasRoom(w: Waiter): boolean {
    if (this.uncommittedEntries === 0) return true;
    return (
      this.bytes + w.bytes <= this.limits.maxUncommittedBytes &&
      this.uncommittedEntries + w.entries <= this.limits.maxUncommittedEntries
    );
  }

  /**
   * Runs the Produce now when nothing waits before it and there is room; queues it otherwise.
   * Throws REQUEST_TIMED_OUT when the queue is full.
   */
  admit(w: Waiter): void {
    if (this.waiting.length === 0 && this.hasRoom(w)) {
      w.run();
      return;
    }
    if (this.waiting.length >= this.limits.maxWaiting)
      throw new KafkaError(
        'REQUEST_TIMED_OUT',
        `${this.waiting.length} produce requests are waiting for the partition's replication to catch up`,
      );
    this.waiting.push(w);
  }

  /** An entry of `bytes` was appended at `index` (indexes rise). */
  appended(index: number, bytes: number): void {
    const last = this.indexes[this.indexes.length - 1];
    if (last !== undefined && index <= last)
      throw new InvariantError(`admission: entry ${index} appended after entry ${last}`);
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Entries up to `index` applied. Returns true when Produce requests wait and room was freed. */
  applied(index: number): boolean {
    const before = this.head;
    while (this.head < this.indexes.length && (this.indexes[this.head] as number) <= index) {
      this.bytes -= this.sizes[this.head] as number;
      this.head++;
    }
    const freed = this.head !== before;
    if (this.head === this.indexes.length) {
      this.indexes = [];
      this.sizes = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.indexes.length) {
      this.indexes = this.indexes.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return freed && this.waiting.length > 0;
  }

  /** Runs the waiting Produce requests, oldest first, while there is room. */
  drain(): void {
    while (this.waiting.length > 0 && this.hasRoom(this.waiting[0] as Waiter)) {
      (this.waiting.shift() as Waiter).run();
    }
  }

  /** Answers the waiting Produce requests whose deadline passed with REQUEST_TIMED_OUT. */
  expire(nowMs: number): void {
    if (this.waiting.length === 0) return;
    const late = this.waiting.filter((w) => w.deadlineMs <= nowMs);
    if (late.length === 0) return;
    this.waiting = this.waiting.filter((w) => w.deadlineMs > nowMs);
    for (const w of late)
      w.fail(
        new KafkaError(
          'REQUEST_TIMED_OUT',
          'the partition did not replicate fast enough to take the batch within the request timeout; nothing of it was written',
        ),
      );
    this.drain();
  }

  /** Leadership ended: forgets the uncommitted entries and answers every waiting Produce with `e`. */
  clear(e: KafkaError): void {
    this.indexes = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.fail(e);
  }
}
