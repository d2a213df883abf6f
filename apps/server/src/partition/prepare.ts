// The one preparation step of a Produce partition's records, and of a transaction marker, before
// either strategy stores them: split into batches, check sizes and each batch's CRC-32C and header,
// decide idempotence and the producer's transaction against the producer state (and the batches
// still on their way into the log), and assign offsets.
import type { RecordBatchHeader } from '@chronik/protocol';
import {
  ControlRecordType,
  assignRecordBatch,
  buildControlBatch,
  splitRecordBatches,
  TimestampType,
  validateRecordBatch,
} from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import { allRecordsKeyed } from './compaction.js';
import type { ProducerStateTable, SequenceCheck } from './producer-state.js';
import { nextSeq } from './producer-state.js';
import type { TxnState } from './txn-state.js';
import type { TxnMarker } from './types.js';

export interface IncomingBatch {
  /** The batch as the producer sent it (a view into the request), or a marker as built here. */
  bytes: Buffer;
  header: RecordBatchHeader;
  /** Set for a transaction marker (markerBatch). */
  marker?: TxnMarker;
}

/** What a decision reads of the indexed log: the producer state and the transactions (kafka-log.ts). */
export interface ProducerView {
  readonly producers: ProducerStateTable;
  readonly txns: TxnState;
}

/**
 * Splits `records` into batches and validates each (CRC-32C, header): CORRUPT_MESSAGE when there
 * is none, MESSAGE_TOO_LARGE beyond max.message.bytes or the log's largest entry, INVALID_RECORD for
 * a control batch (only the transaction coordinator writes markers, as in Kafka). `requireKeys` (a
 * compacted topic): a record without a key is INVALID_RECORD, as Kafka's LogValidator answers —
 * which means reading every record (decompressing the batch).
 */
export function splitAndValidate(
  records: Buffer,
  limits: { maxMessageBytes: number; maxEntryBytes: number; requireKeys?: boolean; name?: string },
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
    const header = validateRecordBatch(s.bytes);
    if (header.isControl)
      throw new KafkaError('INVALID_RECORD', 'a produce request may not carry control batches');
    if (limits.requireKeys === true) checkKeyed(s.bytes, header, limits.name ?? 'the partition');
    out.push({ bytes: s.bytes, header });
  }
  return out;
}

/** INVALID_RECORD unless every record of the batch has a key; CORRUPT_MESSAGE when they cannot be read. */
function checkKeyed(bytes: Buffer, header: RecordBatchHeader, name: string): void {
  let keyed: boolean;
  try {
    keyed = allRecordsKeyed(bytes, header);
  } catch (e) {
    throw new KafkaError(
      'CORRUPT_MESSAGE',
      `record batch at ${name}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!keyed)
    throw new KafkaError(
      'INVALID_RECORD',
      `Compacted topic cannot accept message without key in topic partition ${name}.`,
    );
}

/**
 * A transaction marker as a batch to append: transactional and control, the producer's id and
 * epoch, one record (key: version 0, type 0 abort / 1 commit; value: version 0, coordinator epoch),
 * stamped `nowMs`. Its offsets are assigned like any batch's.
 */
export function markerBatch(m: TxnMarker, nowMs: number): IncomingBatch {
  const bytes = buildControlBatch({
    type: m.commit ? ControlRecordType.Commit : ControlRecordType.Abort,
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    coordinatorEpoch: m.coordinatorEpoch,
    timestampMs: BigInt(nowMs),
  });
  return { bytes, header: validateRecordBatch(bytes), marker: m };
}

/** Records in the batches (as their headers count them). */
export function recordCountOf(batches: readonly IncomingBatch[]): number {
  let n = 0;
  for (const b of batches) n += b.header.recordCount;
  return n;
}

/** An idempotent batch or a transaction marker on its way into the log (proposed, not yet applied). */
export interface InflightBatch {
  producerId: bigint;
  producerEpoch: number;
  /** -1 for a marker. */
  firstSeq: number;
  lastSeq: number;
  /** A transactional batch (opens or continues the producer's transaction). */
  transactional: boolean;
  /** A marker (closes the producer's transaction): its coordinator epoch; undefined for a batch. */
  markerCoordinatorEpoch?: number;
}

/**
 * The in-flight record of a batch: an idempotent (or transactional) one, or a marker (`marker`
 * says what it carries); undefined for any other batch.
 */
export function inflightOf(
  h: RecordBatchHeader,
  marker?: { coordinatorEpoch: number },
): InflightBatch | undefined {
  if (h.producerId < 0n) return undefined;
  if (h.isControl)
    return marker === undefined
      ? undefined
      : {
          producerId: h.producerId,
          producerEpoch: h.producerEpoch,
          firstSeq: -1,
          lastSeq: -1,
          transactional: true,
          markerCoordinatorEpoch: marker.coordinatorEpoch,
        };
  if (h.baseSequence < 0) return undefined;
  return {
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    firstSeq: h.baseSequence,
    lastSeq: nextSeq(h.baseSequence, h.lastOffsetDelta),
    transactional: h.isTransactional,
  };
}

/**
 * The producer's transaction and epoch as the leader sees them: the indexed state, then its batches
 * and markers in flight, oldest first.
 */
export function txnOf(
  producerId: bigint,
  log: ProducerView,
  inflight: readonly InflightBatch[],
): { open: boolean; epoch: number; coordinatorEpoch: number } {
  let open = log.txns.isOpen(producerId);
  let epoch = log.producers.epochOf(producerId) ?? -1;
  let coordinatorEpoch = log.producers.coordinatorEpochOf(producerId);
  for (const f of inflight) {
    if (f.producerId !== producerId) continue;
    if (f.producerEpoch > epoch) epoch = f.producerEpoch;
    if (f.markerCoordinatorEpoch !== undefined) {
      open = false;
      coordinatorEpoch = f.markerCoordinatorEpoch;
    } else if (f.transactional) open = true;
  }
  return { open, epoch, coordinatorEpoch };
}

/**
 * A marker against the producer as the leader sees it: a producer epoch below the producer's is
 * INVALID_PRODUCER_EPOCH (a marker may raise it), a coordinator epoch below that of its last marker
 * TRANSACTION_COORDINATOR_FENCED (a deposed coordinator), as Kafka's ProducerAppendInfo answers.
 */
export function checkMarker(m: TxnMarker, log: ProducerView, inflight: readonly InflightBatch[]): void {
  const t = txnOf(m.producerId, log, inflight);
  if (m.coordinatorEpoch < t.coordinatorEpoch)
    throw new KafkaError(
      'TRANSACTION_COORDINATOR_FENCED',
      `marker of producer ${m.producerId}: coordinator epoch ${m.coordinatorEpoch} < ${t.coordinatorEpoch}`,
    );
  if (m.producerEpoch < t.epoch)
    throw new KafkaError(
      'INVALID_PRODUCER_EPOCH',
      `marker of producer ${m.producerId}: epoch ${m.producerEpoch} is older than ${t.epoch}`,
    );
}

/** A non-transactional batch of a producer whose transaction is open: INVALID_TXN_STATE, as Kafka answers. */
function checkTxnState(h: RecordBatchHeader, log: ProducerView, inflight: readonly InflightBatch[]): void {
  if (h.isTransactional || h.producerId < 0n) return;
  if (txnOf(h.producerId, log, inflight).open)
    throw new KafkaError(
      'INVALID_TXN_STATE',
      `producer ${h.producerId} sent a non-transactional batch while its transaction is open`,
    );
}

/** A batch's decision (see decideBatches). */
export interface BatchDecision {
  check: SequenceCheck;
  /** The batch's in-flight record when it is appended and is idempotent or a marker. */
  inflight: InflightBatch | undefined;
}

/**
 * Decides every batch of one append, in order, before anything changes: a marker against its
 * producer (checkMarker), a data batch's idempotence (checkSequence) and then its transaction
 * (INVALID_TXN_STATE). The request's earlier batches count as in flight for its later ones. Throws
 * the first batch's error.
 */
export function decideBatches(
  batches: readonly IncomingBatch[],
  log: ProducerView,
  inflight: readonly InflightBatch[],
): BatchDecision[] {
  const pending: InflightBatch[] = [];
  return batches.map((b) => {
    const seen = pending.length > 0 ? [...inflight, ...pending] : inflight;
    let check: SequenceCheck = { kind: 'append' };
    if (b.marker !== undefined) checkMarker(b.marker, log, seen);
    else {
      check = checkSequence(b.header, log.producers, seen);
      if (check.kind === 'append') checkTxnState(b.header, log, seen);
    }
    const f = check.kind === 'append' ? inflightOf(b.header, b.marker) : undefined;
    if (f !== undefined) pending.push(f);
    return { check, inflight: f };
  });
}

/**
 * Decides an idempotent batch against the producer state of the indexed log and the batches still
 * in flight (oldest first): append, duplicate of an indexed batch (with its offset), or the Kafka
 * error. A retry of an in-flight batch is NOT_ENOUGH_REPLICAS (retriable: the retry after it meets
 * the indexed duplicate). A marker in flight fences the epochs below its own.
 */
export function checkSequence(
  h: RecordBatchHeader,
  producers: ProducerStateTable,
  inflight: readonly InflightBatch[],
): SequenceCheck {
  if (h.producerId < 0n || h.isControl) return { kind: 'append' };
  let last: InflightBatch | undefined;
  let fence = -1;
  const lastSeq = nextSeq(h.baseSequence, h.lastOffsetDelta);
  for (const f of inflight) {
    if (f.producerId !== h.producerId) continue;
    if (f.markerCoordinatorEpoch !== undefined) {
      if (f.producerEpoch > fence) fence = f.producerEpoch;
      continue;
    }
    if (f.producerEpoch === h.producerEpoch && f.firstSeq === h.baseSequence && f.lastSeq === lastSeq)
      throw new KafkaError(
        'NOT_ENOUGH_REPLICAS',
        `producer ${h.producerId}: batch ${h.baseSequence} is still being written`,
      );
    last = f;
  }
  if (h.producerEpoch < fence)
    throw new KafkaError(
      'INVALID_PRODUCER_EPOCH',
      `producer ${h.producerId} epoch ${h.producerEpoch} is older than ${fence}`,
    );
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
