// The coordinator's only access to storage: append records to a partition of
// `__consumer_offsets`, and read a partition back from its start. The server wires one that goes
// through the partition append path with acks=all; tests use InMemoryOffsetLog.
import type { EncodedRecord } from './records.js';
import { GroupError, GroupErrorCode } from './errors.js';

export interface OffsetLog {
  /**
   * Appends `records` to `partition` as one batch, in order. Resolves once they are durable
   * (acks=all: fsync'd on one node, committed by a majority in a cluster). Appends to the same
   * partition land in the log in the order they were called. Rejects with a GroupError whose code
   * is OFFSET_LOG_NOT_LEADER, OFFSET_LOG_UNAVAILABLE, OFFSET_LOG_TOO_LARGE or OFFSET_LOG_FAILED.
   */
  append(partition: number, records: readonly EncodedRecord[]): Promise<void>;
  /**
   * Every record of `partition` from its log start up to its high watermark at the time of the
   * call, in offset order. Control records and aborted transactional data are left out.
   */
  readAll(partition: number): AsyncIterable<EncodedRecord>;
}

/**
 * An OffsetLog in memory, for tests and for embedding without durability. `failNext` and `hold`
 * let tests inject failed appends and appends that complete later.
 */
export class InMemoryOffsetLog implements OffsetLog {
  readonly partitions = new Map<number, EncodedRecord[]>();
  /** Appends resolved so far. */
  appendCount = 0;
  private failures: GroupError[] = [];
  private held: Array<() => void> | undefined;

  append(partition: number, records: readonly EncodedRecord[]): Promise<void> {
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const write = (): void => {
      let log = this.partitions.get(partition);
      if (log === undefined) {
        log = [];
        this.partitions.set(partition, log);
      }
      for (const r of records) log.push({ key: r.key, value: r.value });
      this.appendCount++;
    };
    if (this.held !== undefined) {
      const held = this.held;
      return new Promise((resolve) => held.push(() => {
        write();
        resolve();
      }));
    }
    write();
    return Promise.resolve();
  }

  async *readAll(partition: number): AsyncIterable<EncodedRecord> {
    const log = [...(this.partitions.get(partition) ?? [])];
    for (const r of log) yield r;
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

  recordCount(partition: number): number {
    return this.partitions.get(partition)?.length ?? 0;
  }
}
