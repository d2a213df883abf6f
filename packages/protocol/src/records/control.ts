// Hand-written: control batches, the commit/abort markers a transaction coordinator writes into each
// partition (isControl + isTransactional, one record). The record key is (version int16, type int16);
// for commit and abort the value is an EndTxnMarker (version int16, coordinatorEpoch int32).

import { buildRecordBatch } from './builder.js';
import { RecordsError } from './errors.js';

export const ControlRecordType = {
  Abort: 0,
  Commit: 1,
} as const;
export type ControlRecordType = (typeof ControlRecordType)[keyof typeof ControlRecordType];

export interface ControlRecordKey {
  version: number;
  /** 0 abort, 1 commit; other values are other control records (e.g. KRaft's), left to the caller. */
  type: number;
}

export interface EndTxnMarker {
  version: number;
  coordinatorEpoch: number;
}

export function encodeControlRecordKey(type: number, version = 0): Buffer {
  const key = Buffer.allocUnsafe(4);
  key.writeInt16BE(version, 0);
  key.writeInt16BE(type, 2);
  return key;
}

/** Decodes a control record key; fewer than 4 bytes (or a null key) is `CorruptRecord`. */
export function decodeControlRecordKey(key: Buffer | null): ControlRecordKey {
  if (key === null || key.length < 4) {
    throw new RecordsError(
      'CorruptRecord',
      `control record key has ${key === null ? 'no' : key.length} bytes, needs 4`,
    );
  }
  return { version: key.readInt16BE(0), type: key.readInt16BE(2) };
}

export function encodeEndTxnMarker(coordinatorEpoch: number, version = 0): Buffer {
  const value = Buffer.allocUnsafe(6);
  value.writeInt16BE(version, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return value;
}

/** Decodes a commit/abort marker value; fewer than 6 bytes (or null) is `CorruptRecord`. Later versions may append fields, which are ignored. */
export function decodeEndTxnMarker(value: Buffer | null): EndTxnMarker {
  if (value === null || value.length < 6) {
    throw new RecordsError(
      'CorruptRecord',
      `end transaction marker has ${value === null ? 'no' : value.length} bytes, needs 6`,
    );
  }
  const version = value.readInt16BE(0);
  if (version < 0) throw new RecordsError('CorruptRecord', `end transaction marker has version ${version}`);
  return { version, coordinatorEpoch: value.readInt32BE(2) };
}

export interface BuildControlBatchOptions {
  type: ControlRecordType;
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  timestampMs: bigint;
  /** Default 0n. */
  baseOffset?: bigint;
  /** Default -1. */
  partitionLeaderEpoch?: number;
}

/** Builds a transaction marker batch: transactional, control, one record, no sequence. */
export function buildControlBatch(options: BuildControlBatchOptions): Buffer {
  return buildRecordBatch({
    records: [
      { key: encodeControlRecordKey(options.type), value: encodeEndTxnMarker(options.coordinatorEpoch) },
    ],
    baseOffset: options.baseOffset ?? 0n,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
    isTransactional: true,
    isControl: true,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: -1,
    timestampMs: options.timestampMs,
  });
}
