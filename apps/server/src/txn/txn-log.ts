// The transaction coordinator's only access to storage: append records to a partition of
// `__transaction_state`, read a partition back from its start, and drop a prefix that a newer
// snapshot of the partition's state has made redundant. The server wires one on the partitions'
// append path with acks=all (service.ts); tests use InMemoryTxnLog.
import { KafkaError } from '../errors.js';
import type { EncodedRecord } from './records.js';

export interface TxnLog {
  /**
   * Appends `records` to `partition` as one batch, in order, and resolves with the offset of the
   * first once they are durable (acks=all). The coordinator never has two appends to one partition
   * in flight. Rejects with the partition's failure (a KafkaError: NOT_LEADER_OR_FOLLOWER,
   * REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, …), which the coordinator maps (errors.ts).
   */
  append(partition: number, records: readonly EncodedRecord[]): Promise<bigint>;
  /** Every record of `partition` from its log start up to its high watermark at the time of the call. */
  readAll(partition: number): AsyncIterable<EncodedRecord>;
  /** Moves the partition's log start to `offset` (records before it may be deleted). */
  truncateBefore(partition: number, offset: bigint): Promise<void>;
}

interface StoredRecord extends EncodedRecord {
  offset: bigint;
}

/**
 * A TxnLog in memory, for tests: `failNext` and `hold` inject failed appends and appends that
 * complete later; `records` shows what was written.
 */
export class InMemoryTxnLog implements TxnLog {
  private readonly logs = new Map<number, StoredRecord[]>();
  private readonly nextOffsets = new Map<number, bigint>();
  /** Appends resolved so far. */
  appendCount = 0;
  private failures: Error[] = [];
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

  /** The next append rejects with `error` (default REQUEST_TIMED_OUT). */
  failNext(error?: Error): void {
    this.failures.push(error ?? new KafkaError('REQUEST_TIMED_OUT', 'injected failure'));
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

  /** Appends waiting for `release()`. */
  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  /** The records of the partition (after truncation). */
  records(partition: number): EncodedRecord[] {
    return (this.logs.get(partition) ?? []).map((r) => ({ key: r.key, value: r.value }));
  }
}
