// The coordinator's only access to storage: append records to a partition of
// `__consumer_offsets`, read a partition back from its start, and drop a prefix that a newer
// snapshot of the partition's state has made redundant. The server wires one that goes through the
// partition append path with acks=all (service.ts); tests use InMemoryOffsetLog.
import type { EncodedRecord } from './records.js';
import { GroupError, GroupErrorCode } from './errors.js';

export interface OffsetLog {
  /**
   * Appends `records` to `partition` as one batch, in order, and resolves with the offset of the
   * first once they are durable (acks=all: fsync'd on one node, committed by a majority in a
   * cluster). The coordinator never has two appends to one partition in flight. Rejects with a
   * GroupError whose code is OFFSET_LOG_NOT_LEADER, OFFSET_LOG_UNAVAILABLE, OFFSET_LOG_TOO_LARGE
   * or OFFSET_LOG_FAILED.
   */
  append(partition: number, records: readonly EncodedRecord[]): Promise<bigint>;
  /**
   * Every record of `partition` from its log start up to its high watermark at the time of the
   * call, in offset order. Control records and aborted transactional data are left out.
   */
  readAll(partition: number): AsyncIterable<EncodedRecord>;
  /** Moves the partition's log start to `offset` (records before it may be deleted). */
  truncateBefore(partition: number, offset: bigint): Promise<void>;
}

interface StoredRecord extends EncodedRecord {
  offset: bigint;
}

/**
 * An OffsetLog in memory, for tests and for embedding without durability. `failNext` and `hold`
 * let tests inject failed appends and appends that complete later.
 */
export class InMemoryOffsetLog implements OffsetLog {
  private readonly logs = new Map<number, StoredRecord[]>();
  private readonly nextOffsets = new Map<number, bigint>();
  /** Appends resolved so far. */
  appendCount = 0;
  private failures: GroupError[] = [];
  private held: Array<() => void> | undefined;

  append(partition: number, records: readonly EncodedRecord[]): Promise<bigint> {
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const write = (): bigint => {
      let log = this.logs.get(partition);
      if (log === undefined) {
        log = [];
        this.logs.set(partition, log);
      }
      const base = this.nextOffsets.get(partition) ?? 0n;
      let offset = base;
      for (const r of records) log.push({ key: r.key, value: r.value, offset: offset++ });
      this.nextOffsets.set(partition, offset);
      this.appendCount++;
      return base;
    };
    if (this.held !== undefined) {
      const held = this.held;
      return new Promise((resolve) => held.push(() => resolve(write())));
    }
    return Promise.resolve(write());
  }

  async *readAll(partition: number): AsyncIterable<EncodedRecord> {
    const log = [...(this.logs.get(partition) ?? [])];
    for (const r of log) yield { key: r.key, value: r.value };
  }

  truncateBefore(partition: number, offset: bigint): Promise<void> {
    const log = this.logs.get(partition);
    if (log !== undefined)
      this.logs.set(
        partition,
        log.filter((r) => r.offset >= offset),
      );
    return Promise.resolve();
  }

  /** Appends a record without going through the coordinator (tests: corruption). */
  inject(partition: number, record: EncodedRecord): void {
    const base = this.nextOffsets.get(partition) ?? 0n;
    const log = this.logs.get(partition) ?? [];
    log.push({ ...record, offset: base });
    this.logs.set(partition, log);
    this.nextOffsets.set(partition, base + 1n);
  }

  /** The next append rejects with `error` (default OFFSET_LOG_UNAVAILABLE). */
  failNext(error?: GroupError): void {
    this.failures.push(error ?? new GroupError(GroupErrorCode.OFFSET_LOG_UNAVAILABLE, 'injected failure'));
  }

  /** From now on appends wait until `release()`. */
  hold(): void {
    this.held ??= [];
  }

  /** Completes every held append, in order, and stops holding. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const w of held) w();
  }

  /** Records currently in the partition (after truncation). */
  recordCount(partition: number): number {
    return this.logs.get(partition)?.length ?? 0;
  }
}
