// The one preparation step of a Produce partition's records, before either strategy stores them:
// split into batches, check sizes and each batch's CRC-32C and header, decide idempotence against
// the producer state (and the batches still on their way into the log), and assign offsets.
import type { RecordBatchHeader } from '@chronik/protocol';
import { assignRecordBatch, splitRecordBatches, TimestampType, validateRecordBatch } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import type { ProducerStateTable, SequenceCheck } from './producer-state.js';
import { nextSeq } from './producer-state.js';

export interface IncomingBatch {
  /** The batch as the producer sent it (a view into the request). */
  bytes: Buffer;
  header: RecordBatchHeader;
}

/**
 * Splits `records` into batches and validates each (CRC-32C, header): CORRUPT_MESSAGE when there
 * is none, MESSAGE_TOO_LARGE beyond max.message.bytes or the log's largest entry.
 */
export function splitAndValidate(
  records: Buffer,
  limits: { maxMessageBytes: number; maxEntryBytes: number },
): IncomingBatch[] {
  const slices = splitRecordBatches(records);
  if (slices.length === 0) throw new KafkaError('CORRUPT_MESSAGE', 'produce request without record batches');
  const out: IncomingBatch[] = [];
  for (const s of slices) {
    const n = s.bytes.length;
    if (n > limits.maxMessageBytes)
      throw new KafkaError(
        'MESSAGE_TOO_LARGE',
        `record batch of ${n} bytes exceeds max.message.bytes ${limits.maxMessageBytes}`,
      );
    if (n > limits.maxEntryBytes)
      throw new KafkaError(
        'MESSAGE_TOO_LARGE',
        `record batch of ${n} bytes exceeds this partition log's entry limit ${limits.maxEntryBytes}`,
      );
    out.push({ bytes: s.bytes, header: validateRecordBatch(s.bytes) });
  }
  return out;
}

/** Records in the batches (as their headers count them). */
export function recordCountOf(batches: readonly IncomingBatch[]): number {
  let n = 0;
  for (const b of batches) n += b.header.recordCount;
  return n;
}

/** An idempotent batch on its way into the log (proposed, not yet applied). */
export interface InflightBatch {
  producerId: bigint;
  producerEpoch: number;
  firstSeq: number;
  lastSeq: number;
}

export function inflightOf(h: RecordBatchHeader): InflightBatch | undefined {
  if (h.producerId < 0n || h.isControl || h.baseSequence < 0) return undefined;
  return {
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    firstSeq: h.baseSequence,
    lastSeq: nextSeq(h.baseSequence, h.lastOffsetDelta),
  };
}

/**
 * Decides an idempotent batch against the producer state of the indexed log and the batches still
 * in flight (oldest first): append, duplicate of an indexed batch (with its offset), or the Kafka
 * error. A retry of an in-flight batch is NOT_ENOUGH_REPLICAS (retriable: the retry after it meets
 * the indexed duplicate).
 */
export function checkSequence(
  h: RecordBatchHeader,
  producers: ProducerStateTable,
  inflight: readonly InflightBatch[],
): SequenceCheck {
  if (h.producerId < 0n || h.isControl) return { kind: 'append' };
  let last: InflightBatch | undefined;
  const lastSeq = nextSeq(h.baseSequence, h.lastOffsetDelta);
  for (const f of inflight) {
    if (f.producerId !== h.producerId) continue;
    if (f.producerEpoch === h.producerEpoch && f.firstSeq === h.baseSequence && f.lastSeq === lastSeq)
      throw new KafkaError(
        'NOT_ENOUGH_REPLICAS',
        `producer ${h.producerId}: batch ${h.baseSequence} is still being written`,
      );
    last = f;
  }
  if (last === undefined) return producers.check(h);
  if (h.producerEpoch < last.producerEpoch)
    throw new KafkaError(
      'INVALID_PRODUCER_EPOCH',
      `producer ${h.producerId} epoch ${h.producerEpoch} is older than ${last.producerEpoch}`,
    );
  if (h.producerEpoch > last.producerEpoch) {
    if (h.baseSequence !== 0)
      throw new KafkaError(
        'OUT_OF_ORDER_SEQUENCE_NUMBER',
        `producer ${h.producerId} started epoch ${h.producerEpoch} at sequence ${h.baseSequence}, not 0`,
      );
    return { kind: 'append' };
  }
  if (h.baseSequence === nextSeq(last.lastSeq, 1)) return { kind: 'append' };
  const indexed = producers.check(h);
  if (indexed.kind === 'duplicate') return indexed;
  throw new KafkaError(
    'OUT_OF_ORDER_SEQUENCE_NUMBER',
    `producer ${h.producerId}: expected sequence ${nextSeq(last.lastSeq, 1)}, got ${h.baseSequence}`,
  );
}

/** A batch with its offsets assigned, ready to be stored. */
export interface AssignedBatch {
  data: Buffer;
  header: RecordBatchHeader;
}

/**
 * Sets a batch's base offset and partition leader epoch (and, for LogAppendTime topics, its
 * timestamp) in place, and returns it with the header as stored.
 */
export function assignOffsets(
  b: IncomingBatch,
  baseOffset: bigint,
  leaderEpoch: number,
  logAppendTimeMs: bigint | undefined,
): AssignedBatch {
  const data = assignRecordBatch(b.bytes, {
    baseOffset,
    partitionLeaderEpoch: leaderEpoch,
    ...(logAppendTimeMs !== undefined ? { logAppendTimeMs } : {}),
  });
  const header: RecordBatchHeader = {
    ...b.header,
    baseOffset,
    partitionLeaderEpoch: leaderEpoch,
    ...(logAppendTimeMs !== undefined
      ? { maxTimestamp: logAppendTimeMs, timestampType: TimestampType.LogAppendTime }
      : {}),
  };
  return { data, header };
}
