// The transaction coordinator's only access to storage: append records to a partition of
// `__transaction_state`, read a partition back from its start, and drop a prefix that a newer
// snapshot of the partition's state has made redundant. The server wires one on the partitions'
// append path with acks=all (service.ts); tests use InMemoryTxnLog.
import { KafkaError } from '../errors.js';
import { InMemoryInternalLog } from '../services/in-memory-internal-log.js';
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
export class InMemoryTxnLog extends InMemoryInternalLog<StoredRecord, Error> implements TxnLog {
  protected defaultFailure(): Error {
    return new KafkaError('REQUEST_TIMED_OUT', 'injected failure');
  }

  append(partition: number, records: readonly EncodedRecord[]): Promise<bigint> {
    return this.appendEntries(partition, (base) =>
      records.map((r, i) => ({ key: r.key, value: r.value, offset: base + BigInt(i) })),
    );
  }

  async *readAll(partition: number): AsyncIterable<EncodedRecord> {
    for (const r of this.entries(partition)) yield { key: r.key, value: r.value };
  }

  /** Appends a record without going through the coordinator (tests: corruption). */
  inject(partition: number, record: EncodedRecord): void {
    this.push(partition, { ...record, offset: this.nextOffset(partition) });
  }

  /** The records of the partition (after truncation). */
  records(partition: number): EncodedRecord[] {
    return this.entries(partition).map((r) => ({ key: r.key, value: r.value }));
  }
}
