// Hand-written: building whole magic-2 batches (used by tests, the server's internal topics and the
// benchmark) and decoding a batch's records. The broker's produce path does not come here: it only
// needs batch.ts (header, CRC, rewrite).

import { crc32c } from '@node-rs/crc32';
import {
  BatchAttribute,
  BatchField,
  CompressionType,
  LOG_OVERHEAD_BYTES,
  RECORD_BATCH_HEADER_BYTES,
  RECORD_BATCH_MAGIC,
  TimestampType,
  validateRecordBatch,
} from './batch.js';
import type { RecordBatchHeader } from './batch.js';
import { compressRecords, decompressRecords } from './compression.js';
import type { CompressOptions } from './compression.js';
import { RecordsError } from './errors.js';
import { decodeRecordEntries, sizeOfRecordEntry, writeRecordEntry } from './record.js';
import type { RecordEntryInput, RecordHeader } from './record.js';

/** A record to put in a batch. */
export interface RecordInput {
  /** Default null. */
  key?: Buffer | null;
  value: Buffer | null;
  headers?: ReadonlyArray<RecordHeader>;
  /** Create time in ms; default the batch's `timestampMs`, else the injected clock. */
  timestampMs?: bigint;
  /** Default: the record's index in the batch. Must not decrease. */
  offsetDelta?: number;
}

export interface BuildRecordBatchOptions {
  records: ReadonlyArray<RecordInput>;
  /** Default 0n (the leader assigns the real one). */
  baseOffset?: bigint;
  /** Default -1 (the leader sets it). */
  partitionLeaderEpoch?: number;
  /** Default none. */
  compression?: CompressionType;
  compressOptions?: CompressOptions;
  /** Default CreateTime. With LogAppendTime, maxTimestamp is `logAppendTimeMs`. */
  timestampType?: TimestampType;
  logAppendTimeMs?: bigint;
  isTransactional?: boolean;
  isControl?: boolean;
  /** Sets hasDeleteHorizon; the baseTimestamp becomes the delete horizon (as Kafka's compaction does). */
  deleteHorizonMs?: bigint;
  /** Default -1n (no idempotence). */
  producerId?: bigint;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  /** Timestamp for records that carry none. */
  timestampMs?: bigint;
  /** Clock used only when neither a record nor the batch gives a timestamp. Default Date.now. */
  now?: () => number;
}

/** Upper bound of a batch's size: batchLength is an int32. */
const MAX_BATCH_BYTES = 0x7fffffff;

/** Builds one magic-2 record batch, CRC included. */
export function buildRecordBatch(options: BuildRecordBatchOptions): Buffer {
  const inputs = options.records;
  if (inputs.length === 0)
    throw new RecordsError('CorruptRecord', 'a record batch needs at least one record');
  let fallbackTimestamp = options.timestampMs;
  const timestampOf = (r: RecordInput): bigint => {
    if (r.timestampMs !== undefined) return r.timestampMs;
    if (fallbackTimestamp === undefined) fallbackTimestamp = BigInt((options.now ?? Date.now)());
    return fallbackTimestamp;
  };
  const firstTimestamp = timestampOf(inputs[0]!);
  const baseTimestamp = options.deleteHorizonMs ?? firstTimestamp;
  let maxTimestamp = -1n;
  let lastOffsetDelta = -1;
  const entries: RecordEntryInput[] = new Array<RecordEntryInput>(inputs.length);
  let bodySize = 0;
  for (let i = 0; i < inputs.length; i++) {
    const r = inputs[i]!;
    const timestamp = timestampOf(r);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = r.offsetDelta ?? i;
    if (offsetDelta <= lastOffsetDelta) {
      throw new RecordsError(
        'CorruptRecord',
        `record ${i} has offsetDelta ${offsetDelta}, not after ${lastOffsetDelta}`,
      );
    }
    lastOffsetDelta = offsetDelta;
    const entry: RecordEntryInput = {
      timestampDelta: Number(timestamp - baseTimestamp),
      offsetDelta,
      key: r.key ?? null,
      value: r.value,
    };
    if (r.headers !== undefined) entry.headers = r.headers;
    entries[i] = entry;
    bodySize += sizeOfRecordEntry(entry);
  }
  const compression = options.compression ?? CompressionType.None;
  let batch: Buffer;
  if (compression === CompressionType.None) {
    if (RECORD_BATCH_HEADER_BYTES + bodySize > MAX_BATCH_BYTES)
      throw new RecordsError('TooLarge', `batch of ${bodySize} bytes exceeds int32`);
    batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_BYTES + bodySize);
    let pos = RECORD_BATCH_HEADER_BYTES;
    for (const e of entries) pos = writeRecordEntry(batch, pos, e);
  } else {
    const raw = Buffer.allocUnsafe(bodySize);
    let pos = 0;
    for (const e of entries) pos = writeRecordEntry(raw, pos, e);
    const body = compressRecords(compression, raw, options.compressOptions);
    if (RECORD_BATCH_HEADER_BYTES + body.length > MAX_BATCH_BYTES)
      throw new RecordsError('TooLarge', `batch of ${body.length} bytes exceeds int32`);
    batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_BYTES + body.length);
    body.copy(batch, RECORD_BATCH_HEADER_BYTES);
  }
  const timestampType = options.timestampType ?? TimestampType.CreateTime;
  let attributes = compression & BatchAttribute.compressionMask;
  if (timestampType === TimestampType.LogAppendTime) attributes |= BatchAttribute.timestampType;
  if (options.isTransactional === true) attributes |= BatchAttribute.transactional;
  if (options.isControl === true) attributes |= BatchAttribute.control;
  if (options.deleteHorizonMs !== undefined) attributes |= BatchAttribute.deleteHorizon;
  if (timestampType === TimestampType.LogAppendTime && options.logAppendTimeMs !== undefined) {
    maxTimestamp = options.logAppendTimeMs;
  }
  batch.writeBigInt64BE(options.baseOffset ?? 0n, BatchField.baseOffset);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD_BYTES, BatchField.batchLength);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(RECORD_BATCH_MAGIC, BatchField.magic);
  batch.writeInt16BE(attributes, BatchField.attributes);
  batch.writeInt32BE(lastOffsetDelta, BatchField.lastOffsetDelta);
  batch.writeBigInt64BE(baseTimestamp, BatchField.baseTimestamp);
  batch.writeBigInt64BE(maxTimestamp, BatchField.maxTimestamp);
  batch.writeBigInt64BE(options.producerId ?? -1n, BatchField.producerId);
  batch.writeInt16BE(options.producerEpoch ?? -1, BatchField.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? -1, BatchField.baseSequence);
  batch.writeInt32BE(inputs.length, BatchField.recordCount);
  batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)) >>> 0, BatchField.crc);
  return batch;
}

/** A decoded record with its absolute offset and timestamp. Keys and values are zero-copy views. */
export interface DecodedRecord {
  offset: bigint;
  /** The record's timestamp: baseTimestamp + delta, or the batch's maxTimestamp under LogAppendTime. */
  timestampMs: bigint;
  offsetDelta: number;
  timestampDelta: number;
  attributes: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedRecordBatch {
  header: RecordBatchHeader;
  records: DecodedRecord[];
}

export interface DecodeRecordBatchOptions {
  /** Check the CRC before decoding (default true). */
  checkCrc?: boolean;
  /** Bound on the decompressed records section (default 64 MiB). */
  maxDecompressedBytes?: number;
  /** Bound on headers per record (default 10 000). */
  maxHeadersPerRecord?: number;
  /** Bound on the record count (default 10 000 000). */
  maxRecordCount?: number;
}

/**
 * Decodes a whole batch (header and records), decompressing as needed. `batch` starts at the
 * batch's first byte. Errors are `RecordsError`s: CRC mismatch, a record count that lies, lengths past
 * the end, bad varints, decompressed size over the bound.
 */
export function decodeRecordBatch(batch: Buffer, options: DecodeRecordBatchOptions = {}): DecodedRecordBatch {
  const header = validateRecordBatch(batch, {
    checkCrc: options.checkCrc ?? true,
    requireContiguousOffsets: false,
    ...(options.maxRecordCount !== undefined ? { maxRecordCount: options.maxRecordCount } : {}),
  });
  const stored = batch.subarray(RECORD_BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES + header.batchLength);
  const body =
    header.compression === CompressionType.None
      ? stored
      : decompressRecords(
          header.compression,
          stored,
          options.maxDecompressedBytes !== undefined ? { maxBytes: options.maxDecompressedBytes } : {},
        );
  const entries = decodeRecordEntries(
    body,
    header.recordCount,
    options.maxHeadersPerRecord !== undefined ? { maxHeadersPerRecord: options.maxHeadersPerRecord } : {},
  );
  const logAppend = header.timestampType === TimestampType.LogAppendTime;
  const records: DecodedRecord[] = new Array<DecodedRecord>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    records[i] = {
      offset: header.baseOffset + BigInt(e.offsetDelta),
      timestampMs: logAppend ? header.maxTimestamp : header.baseTimestamp + BigInt(e.timestampDelta),
      offsetDelta: e.offsetDelta,
      timestampDelta: e.timestampDelta,
      attributes: e.attributes,
      key: e.key,
      value: e.value,
      headers: e.headers,
    };
  }
  return { header, records };
}
