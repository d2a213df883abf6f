// The coordinator's only access to storage: append records to a partition of
// `__consumer_offsets` (plain, or as a transaction's batch for TxnOffsetCommit), read a partition
// back from its start (records and transaction markers), and drop a prefix that a newer snapshot of
// the partition's state has made redundant. The server wires one that goes through the partition
// append path with acks=all (service.ts); tests use InMemoryOffsetLog.
import type { InternalLogEntry, TransactionalAppend } from '../services/internal-log.js';
import type { EncodedRecord } from './records.js';
import { GroupError, GroupErrorCode } from './errors.js';
import { InMemoryInternalLog } from '../services/in-memory-internal-log.js';

export type { TransactionalAppend };
/** A record (with its batch's producer id when transactional) or a transaction marker, as read back. */
export type OffsetLogEntry = InternalLogEntry;

export interface OffsetLog {
  /**
   * Appends `records` to `partition` as one batch, in order, and resolves with the offset of the
   * first once they are durable (acks=all: fsync'd on one node, committed by a majority in a
   * cluster). The coordinator never has two appends to one partition in flight. Rejects with a
   * GroupError whose code is OFFSET_LOG_NOT_LEADER, OFFSET_LOG_UNAVAILABLE, OFFSET_LOG_TOO_LARGE,
   * OFFSET_LOG_REFUSED (with the Kafka error to answer) or OFFSET_LOG_FAILED.
   */
  append(partition: number, records: readonly EncodedRecord[]): Promise<bigint>;
  /**
   * The same as one transactional batch of `txn`'s producer (TxnOffsetCommit): its records count
   * only once the transaction's commit marker follows them in the partition.
   */
  appendTransactional(
    partition: number,
    records: readonly EncodedRecord[],
    txn: TransactionalAppend,
  ): Promise<bigint>;
  /**
   * Every entry of `partition` from its log start up to its high watermark at the time of the
   * call, in offset order: records (aborted transactional ones too) and transaction markers.
   */
  readAll(partition: number): AsyncIterable<OffsetLogEntry>;
  /** Moves the partition's log start to `offset` (records before it may be deleted). */
  truncateBefore(partition: number, offset: bigint): Promise<void>;
}

/**
 * An OffsetLog in memory, for tests and for embedding without durability. `failNext` and `hold`
 * let tests inject failed appends and appends that complete later.
 */
export class InMemoryOffsetLog extends InMemoryInternalLog<OffsetLogEntry, GroupError> implements OffsetLog {
  protected defaultFailure(): GroupError {
    return new GroupError(GroupErrorCode.OFFSET_LOG_UNAVAILABLE, 'injected failure');
  }

  append(partition: number, records: readonly EncodedRecord[]): Promise<bigint> {
    return this.write(partition, records, null);
  }

  appendTransactional(
    partition: number,
    records: readonly EncodedRecord[],
    txn: TransactionalAppend,
  ): Promise<bigint> {
    return this.write(partition, records, txn.producerId);
  }

  private write(
    partition: number,
    records: readonly EncodedRecord[],
    producerId: bigint | null,
  ): Promise<bigint> {
    return this.appendEntries(partition, (base) =>
      records.map((r, i) => ({
        kind: 'record' as const,
        key: r.key,
        value: r.value,
        offset: base + BigInt(i),
        producerId,
      })),
    );
  }

  /**
   * Writes a transaction marker into the partition, as the partition layer does for the
   * transaction coordinator (tests); returns its offset. Not held, never failed.
   */
  writeMarker(partition: number, producerId: bigint, commit: boolean): bigint {
    const offset = this.nextOffset(partition);
    this.push(partition, { kind: 'marker', offset, producerId, commit });
    return offset;
  }

  async *readAll(partition: number): AsyncIterable<OffsetLogEntry> {
    for (const e of this.entries(partition)) yield e;
  }

  /** Appends a record without going through the coordinator (tests: corruption). */
  inject(partition: number, record: EncodedRecord): void {
    const offset = this.nextOffset(partition);
    this.push(partition, { kind: 'record', key: record.key, value: record.value, offset, producerId: null });
  }
}
