// The records of `__transaction_state`, in Apache Kafka's own layout (TransactionLogKey and
// TransactionLogValue, transaction-coordinator/src/main/resources/common/message/), so the topic
// reads the same as a Kafka broker's. Hand-written over the codec's Reader/Writer rather than
// generated: these are storage formats, not request/response messages.
//
//   key   v0: int16 version, string transactional_id
//   value v0: producer_id int64, producer_epoch int16, transaction_timeout_ms int32, status int8,
//             partitions [topic string, partition_ids [int32]] (null when Empty),
//             last_update_timestamp_ms int64, start_timestamp_ms int64
//         v1: the same, flexible (compact lengths, tagged fields): tag 0 previous_producer_id int64,
//             tag 1 next_producer_id, tag 2 client_transaction_version (Kafka's); and ours,
//             tag 10000 last_producer_epoch int16 (KIP-360's retry of an epoch bump across a
//             failover — Kafka keeps it in memory only). Kafka's readers skip a tag they do not know.
// A null value (tombstone) removes the transactional id. We write key v0 / value v1 and read v0–v1.
import { Reader, Writer, isProtocolError } from '@chronik/protocol';
import type { TopicPartition } from '../partition/types.js';
import { TxnError, TxnErrorCode } from './errors.js';
import { TXN_STATES } from './types.js';
import type { TxnState } from './types.js';

/** The tag of our last-producer-epoch field in value v1 (far above Kafka's own tags). */
export const LAST_PRODUCER_EPOCH_TAG = 10_000;

/** One transactional id's state as the log holds it. */
export interface StoredTxn {
  producerId: bigint;
  /** The producer id before the last rotation (epoch exhausted), else -1. */
  lastProducerId: bigint;
  producerEpoch: number;
  /** The epoch before the last InitProducerId bump (KIP-360 retries), else -1. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** The transaction's partitions (none when Empty). */
  partitions: readonly TopicPartition[];
  lastUpdateMs: number;
  /** When the transaction started (its first partition added), -1 when none is open. */
  startMs: number;
}

export interface TxnLogRecord {
  transactionalId: string;
  /** null: a tombstone (the transactional id expired). */
  value: StoredTxn | null;
}

export interface EncodedRecord {
  key: Uint8Array;
  value: Uint8Array | null;
}

/** Partitions grouped by topic, each topic's partitions sorted (a deterministic record). */
function byTopic(partitions: readonly TopicPartition[]): Array<[string, number[]]> {
  const m = new Map<string, number[]>();
  for (const tp of partitions) {
    const list = m.get(tp.topic);
    if (list === undefined) m.set(tp.topic, [tp.partition]);
    else list.push(tp.partition);
  }
  return [...m]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([t, ps]) => [t, ps.sort((a, b) => a - b)]);
}

export function encodeTxnKey(transactionalId: string): Uint8Array {
  const w = new Writer(64);
  w.int16(0);
  w.string(transactionalId, false);
  return w.toBuffer();
}

export function encodeTxnValue(v: StoredTxn): Uint8Array {
  const w = new Writer(128);
  w.int16(1);
  w.int64(v.producerId);
  w.int16(v.producerEpoch);
  w.int32(v.timeoutMs);
  w.int8(TXN_STATES.indexOf(v.state));
  if (v.state === 'Empty') {
    w.uvarint(0); // a null compact array
  } else {
    const topics = byTopic(v.partitions);
    w.uvarint(topics.length + 1);
    for (const [topic, ids] of topics) {
      w.string(topic, true);
      w.uvarint(ids.length + 1);
      for (const p of ids) w.int32(p);
      w.noTags(undefined);
    }
  }
  w.int64(BigInt(v.lastUpdateMs));
  w.int64(BigInt(v.startMs));
  w.beginTags();
  if (v.lastProducerId !== -1n) w.tag(0, (t) => t.int64(v.lastProducerId));
  if (v.lastProducerEpoch !== -1) w.tag(LAST_PRODUCER_EPOCH_TAG, (t) => t.int16(v.lastProducerEpoch));
  w.endTags(undefined);
  return w.toBuffer();
}

export function encodeTxnRecord(r: TxnLogRecord): EncodedRecord {
  return {
    key: encodeTxnKey(r.transactionalId),
    value: r.value === null ? null : encodeTxnValue(r.value),
  };
}

function view(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function decodeTxnValue(data: Uint8Array): StoredTxn {
  const r = new Reader(view(data));
  const version = r.int16();
  if (version !== 0 && version !== 1)
    throw new TxnError(
      TxnErrorCode.CORRUPT_RECORD,
      `transaction log value version ${version} is not supported`,
    );
  const flex = version >= 1;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const timeoutMs = r.int32();
  const status = r.int8();
  const state = TXN_STATES[status];
  if (state === undefined)
    throw new TxnError(TxnErrorCode.CORRUPT_RECORD, `transaction log value: unknown status ${status}`);
  const partitions: TopicPartition[] = [];
  const topics = r.narray(flex, (r) => {
    const topic = r.string(flex);
    const ids = r.array(flex, (r) => r.int32());
    if (flex) r.tags(null);
    return { topic, ids };
  });
  if (state !== 'Empty')
    for (const t of topics ?? [])
      for (const partition of t.ids) partitions.push({ topic: t.topic, partition });
  const lastUpdateMs = Number(r.int64());
  const startMs = Number(r.int64());
  let lastProducerId = -1n;
  let lastProducerEpoch = -1;
  if (flex) {
    r.tags((tag, t) => {
      if (tag === 0) lastProducerId = t.int64();
      else if (tag === LAST_PRODUCER_EPOCH_TAG) lastProducerEpoch = t.int16();
      else return false;
      return true;
    });
  }
  return {
    producerId,
    lastProducerId,
    producerEpoch,
    lastProducerEpoch,
    timeoutMs,
    state,
    partitions,
    lastUpdateMs,
    startMs,
  };
}

/** Decodes one record of `__transaction_state`; throws TxnError CORRUPT_RECORD when it cannot. */
export function decodeTxnRecord(key: Uint8Array, value: Uint8Array | null): TxnLogRecord {
  try {
    const r = new Reader(view(key));
    const version = r.int16();
    if (version !== 0)
      throw new TxnError(
        TxnErrorCode.CORRUPT_RECORD,
        `transaction log key version ${version} is not supported`,
      );
    const transactionalId = r.string(false);
    return { transactionalId, value: value === null ? null : decodeTxnValue(value) };
  } catch (e) {
    if (isProtocolError(e))
      throw new TxnError(TxnErrorCode.CORRUPT_RECORD, `transaction log record: ${e.message}`, { cause: e });
    throw e;
  }
}
