// A partition of one of the broker's internal topics (`__consumer_offsets`, `__transaction_state`)
// as a coordinator's log, on the partitions' own data path: each append is one record batch written
// with acks=all (answered once fsync'd on one node, committed by a majority in a cluster); a
// partition is read back from its log start to its high watermark, transaction markers included;
// a prefix the coordinator has re-stated is dropped (DeleteRecords). The group coordinator
// (`groups/service.ts`) and the transaction coordinator (`txn/service.ts`) each wrap one, mapping
// its failures (the partitions' own errors, passed through as they are) to their own.
import {
  ControlRecordType,
  buildRecordBatch,
  decodeControlRecordKey,
  decodeRecordBatch,
  splitRecordBatches,
} from '@chronik/protocol';
import { KafkaError, isKafkaError } from '../errors.js';
import { nextSeq } from '../partition/producer-state.js';
import type {
  Acks,
  AppendResult,
  IsolationLevel,
  ListOffsetResult,
  ProducerStateView,
  ReadResult,
  TopicPartition,
} from '../partition/types.js';
import { ListOffsetsTimestamp } from '../partition/types.js';
import type { ReadRequest } from './partition-manager.js';

/** What an internal-topic log needs of the partitions (the partition manager). */
export interface InternalLogPartitions {
  /** `transactionalId`: the batch is a transaction's (the partition layer may verify it, KIP-890). */
  append(
    tp: TopicPartition,
    records: Buffer,
    acks: Acks,
    timeoutMs: number,
    transactionalId?: string,
  ): Promise<AppendResult>;
  read(req: ReadRequest): Promise<ReadResult>;
  listOffset(
    tp: TopicPartition,
    timestamp: bigint,
    isolationLevel: IsolationLevel,
    currentLeaderEpoch: number,
  ): Promise<ListOffsetResult>;
  deleteRecords(tp: TopicPartition, offset: bigint, timeoutMs: number): Promise<bigint>;
  /** Needed only for transactional appends (the batch continues the producer's sequence). */
  describeProducers?(tp: TopicPartition): ProducerStateView[];
}

/** A record to append: a key, and a value or null (a tombstone). */
export interface LogRecord {
  key: Uint8Array;
  value: Uint8Array | null;
}

/** The transaction an append belongs to (TxnOffsetCommit): the batch carries its producer. */
export interface TransactionalAppend {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
}

/**
 * One entry of a partition read back, in offset order: a record (with the producer id of its batch
 * when that batch is transactional, else null), or a transaction marker (a control batch's commit
 * or abort record).
 */
export type InternalLogEntry =
  | { kind: 'record'; offset: bigint; key: Uint8Array; value: Uint8Array | null; producerId: bigint | null }
  | { kind: 'marker'; offset: bigint; producerId: bigint; commit: boolean };

export interface InternalTopicLogOptions {
  topic: string;
  nowMs: () => number;
  /** Creates the topic when it does not exist yet (called before every append). */
  ensureTopic(): Promise<void>;
  /** How long an append may wait for acks=all. Default 30 s. */
  appendTimeoutMs?: number;
  /** Bytes per read while loading a partition. Default 1 MiB. */
  readChunkBytes?: number;
}

export class InternalTopicLog {
  private readonly appendTimeoutMs: number;
  private readonly readChunkBytes: number;

  constructor(
    private readonly partitions: InternalLogPartitions,
    private readonly options: InternalTopicLogOptions,
  ) {
    this.appendTimeoutMs = options.appendTimeoutMs ?? 30_000;
    this.readChunkBytes = options.readChunkBytes ?? 1024 * 1024;
  }

  private tp(partition: number): TopicPartition {
    return { topic: this.options.topic, partition };
  }

  /**
   * Appends `records` as one batch (transactional, with the producer's id and epoch, when `txn` is
   * given) and resolves with the offset of the first once durable. Rejects with the partitions'
   * error as it is (a KafkaError naming NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, …).
   */
  async append(partition: number, records: readonly LogRecord[], txn?: TransactionalAppend): Promise<bigint> {
    if (records.length === 0) throw new KafkaError('INVALID_REQUEST', 'an append needs at least one record');
    await this.options.ensureTopic();
    const tp = this.tp(partition);
    const batch = buildRecordBatch({
      records: records.map((r) => ({
        key: asBuffer(r.key),
        value: r.value === null ? null : asBuffer(r.value),
      })),
      now: this.options.nowMs,
      ...(txn === undefined
        ? {}
        : {
            isTransactional: true,
            producerId: txn.producerId,
            producerEpoch: txn.producerEpoch,
            baseSequence: this.nextSequence(tp, txn),
          }),
    });
    const r = await this.partitions.append(tp, batch, -1, this.appendTimeoutMs, txn?.transactionalId);
    return r.baseOffset;
  }

  /**
   * The sequence a transactional batch of this producer takes in the partition: the next after its
   * last batch at this epoch, 0 at a new epoch — so the partition's idempotence checks accept it as
   * they would a client's batch (a coordinator has one append per partition in flight).
   */
  private nextSequence(tp: TopicPartition, txn: TransactionalAppend): number {
    const p = this.partitions.describeProducers?.(tp).find((x) => x.producerId === txn.producerId);
    return p !== undefined && p.producerEpoch === txn.producerEpoch && p.lastSequence >= 0
      ? nextSeq(p.lastSequence, 1)
      : 0;
  }

  /** Moves the partition's log start to `offset`. */
  async truncateBefore(partition: number, offset: bigint): Promise<void> {
    await this.partitions.deleteRecords(this.tp(partition), offset, this.appendTimeoutMs);
  }

  /** Every entry of the partition from its log start to its high watermark at the time of the call. */
  async *readAll(partition: number): AsyncIterable<InternalLogEntry> {
    const tp = this.tp(partition);
    let offset: bigint;
    let end: bigint;
    try {
      offset = (await this.partitions.listOffset(tp, ListOffsetsTimestamp.EARLIEST, 0, -1)).offset;
      end = (await this.partitions.listOffset(tp, ListOffsetsTimestamp.LATEST, 0, -1)).offset;
    } catch (e) {
      if (isKafkaError(e) && e.code === 'UNKNOWN_TOPIC_OR_PARTITION') return; // nothing written yet
      throw e;
    }
    while (offset < end) {
      const r = await this.partitions.read({
        ...tp,
        fetchOffset: offset,
        maxBytes: this.readChunkBytes,
        minOneBatch: true,
        isolationLevel: 0,
        currentLeaderEpoch: -1,
      });
      const before = offset;
      for (const chunk of r.chunks) {
        for (const slice of splitRecordBatches(chunk, { allowPartialTail: true })) {
          const h = slice.header;
          const next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
          if (next <= offset) continue;
          for (const rec of decodeRecordBatch(slice.bytes).records) {
            if (rec.offset < offset || rec.offset >= end) continue;
            if (h.isControl) {
              const type = decodeControlRecordKey(rec.key).type;
              if (type === ControlRecordType.Commit || type === ControlRecordType.Abort)
                yield {
                  kind: 'marker',
                  offset: rec.offset,
                  producerId: h.producerId,
                  commit: type === ControlRecordType.Commit,
                };
            } else if (rec.key !== null) {
              yield {
                kind: 'record',
                offset: rec.offset,
                key: rec.key,
                value: rec.value,
                producerId: h.isTransactional ? h.producerId : null,
              };
            }
          }
          offset = next;
        }
      }
      if (offset === before) {
        throw new KafkaError(
          'UNKNOWN_SERVER_ERROR',
          `reading ${tp.topic}-${partition} made no progress at offset ${offset} (high watermark ${end})`,
        );
      }
    }
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
