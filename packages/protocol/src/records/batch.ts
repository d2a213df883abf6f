// Hand-written: Kafka record batches, magic 2 (the schemas describe `records` only as bytes).
//
// Layout (big-endian), byte offsets from the start of the batch:
//
//   0  baseOffset            int64   \ not covered by the CRC: the broker rewrites these
//   8  batchLength           int32    | (bytes after this field)
//  12  partitionLeaderEpoch  int32   /
//  16  magic                 int8    (= 2)
//  17  crc                   uint32  CRC-32C of bytes 21 .. end (RECORD_BATCH_CRC_START)
//  21  attributes            int16   bits 0-2 compression, 3 timestampType, 4 transactional,
//                                    5 control, 6 hasDeleteHorizon
//  23  lastOffsetDelta       int32
//  27  baseTimestamp         int64
//  35  maxTimestamp          int64
//  43  producerId            int64
//  51  producerEpoch         int16
//  53  baseSequence          int32
//  57  recordCount           int32
//  61  records               (compressed as a whole when compression != 0)
//
// Everything in this file works on the header only: it never reads, copies or decompresses the
// records, so the broker can validate and rewrite a batch and store the producer's bytes as they came.

import { crc32c } from '@node-rs/crc32';
import { RecordsError } from './errors.js';

export const RECORD_BATCH_MAGIC = 2;
/** Bytes before the records of a magic-2 batch. */
export const RECORD_BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD_BYTES = 12;
/** Smallest legal batchLength (a header with no records). */
export const MIN_BATCH_LENGTH = RECORD_BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
/** Smallest encoded record: length, attributes, timestampDelta, offsetDelta, key, value, headers (1 byte each). */
export const MIN_RECORD_BYTES = 7;

/** Byte offsets of the header fields inside a batch. */
export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const;

/** The first byte the CRC-32C covers: the attributes. The 21 bytes before it are not covered. */
export const RECORD_BATCH_CRC_START = BatchField.attributes;

export const CompressionType = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Zstd: 4,
} as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

export const TimestampType = {
  CreateTime: 0,
  LogAppendTime: 1,
} as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

export const BatchAttribute = {
  compressionMask: 0x07,
  timestampType: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40,
} as const;

/** The decoded header of a magic-2 record batch. int64 fields are bigint. */
export interface RecordBatchHeader {
  baseOffset: bigint;
  /** Bytes after the batchLength field; the batch occupies `12 + batchLength` bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** The stored CRC-32C, unsigned. */
  crc: number;
  attributes: number;
  /** Compression codec id from the attributes (0..7; only 0..4 are defined). */
  compression: number;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizon: boolean;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** One batch located in a `records` byte field: its header and a zero-copy view of its bytes. */
export interface RecordBatchSlice {
  header: RecordBatchHeader;
  /** The whole batch (`12 + batchLength` bytes), a subarray of the input: no copy. */
  bytes: Buffer;
  /** Where the batch starts in the input. */
  position: number;
}

function legacyMessage(magic: number): string {
  return (
    `legacy message set (magic ${magic}): only record batches with magic 2 are supported; ` +
    'the producer must use Kafka 0.11+ message format (Produce v3 or later)'
  );
}

/**
 * Decodes the header of the batch starting at `offset`, checking only that the header is there,
 * that the magic is 2, and that the whole batch (per batchLength) fits in `buf`. Does not look at
 * the records and does not check the CRC (see `validateRecordBatch`).
 *
 * Errors: `Truncated` (header or batch extends past the end of `buf`), `UnsupportedMagic` (magic 0
 * and 1 legacy message sets, or any other magic), `CorruptRecord` (batchLength below the header size).
 */
export function readRecordBatchHeader(buf: Buffer, offset = 0): RecordBatchHeader {
  const available = buf.length - offset;
  if (offset < 0 || available < BatchField.magic + 1) {
    throw new RecordsError(
      'Truncated',
      `record batch header at ${offset} needs at least 17 bytes, ${Math.max(available, 0)} left`,
    );
  }
  const magic = buf.readInt8(offset + BatchField.magic);
  if (magic !== RECORD_BATCH_MAGIC) {
    throw new RecordsError(
      'UnsupportedMagic',
      magic === 0 || magic === 1
        ? legacyMessage(magic)
        : `unknown record batch magic ${magic} at offset ${offset}`,
    );
  }
  const batchLength = buf.readInt32BE(offset + BatchField.batchLength);
  if (batchLength < MIN_BATCH_LENGTH) {
    throw new RecordsError(
      'CorruptRecord',
      `record batch at ${offset} has batchLength ${batchLength}, below the ${MIN_BATCH_LENGTH}-byte header`,
    );
  }
  if (available < RECORD_BATCH_HEADER_BYTES || LOG_OVERHEAD_BYTES + batchLength > available) {
    throw new RecordsError(
      'Truncated',
      `record batch at ${offset} declares ${LOG_OVERHEAD_BYTES + batchLength} bytes, ${available} available`,
    );
  }
  const attributes = buf.readInt16BE(offset + BatchField.attributes);
  return {
    baseOffset: buf.readBigInt64BE(offset + BatchField.baseOffset),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(offset + BatchField.partitionLeaderEpoch),
    magic,
    crc: buf.readUInt32BE(offset + BatchField.crc),
    attributes,
    compression: attributes & BatchAttribute.compressionMask,
    timestampType:
      attributes & BatchAttribute.timestampType ? TimestampType.LogAppendTime : TimestampType.CreateTime,
    isTransactional: (attributes & BatchAttribute.transactional) !== 0,
    isControl: (attributes & BatchAttribute.control) !== 0,
    hasDeleteHorizon: (attributes & BatchAttribute.deleteHorizon) !== 0,
    lastOffsetDelta: buf.readInt32BE(offset + BatchField.lastOffsetDelta),
    baseTimestamp: buf.readBigInt64BE(offset + BatchField.baseTimestamp),
    maxTimestamp: buf.readBigInt64BE(offset + BatchField.maxTimestamp),
    producerId: buf.readBigInt64BE(offset + BatchField.producerId),
    producerEpoch: buf.readInt16BE(offset + BatchField.producerEpoch),
    baseSequence: buf.readInt32BE(offset + BatchField.baseSequence),
    recordCount: buf.readInt32BE(offset + BatchField.recordCount),
  };
}

export interface SplitBatchesOptions {
  /**
   * Accept (and drop) an incomplete batch at the end, as Fetch responses may carry one cut by
   * max bytes. Default false: a Produce request's records must be whole.
   */
  allowPartialTail?: boolean;
  /** Upper bound on the number of batches (default 100 000). More is `TooLarge`. */
  maxBatches?: number;
}

export const DEFAULT_MAX_BATCHES = 100_000;

/**
 * Splits a `records` byte field (which may hold several batches) into batches, decoding each header
 * and returning zero-copy views. Nothing is validated beyond `readRecordBatchHeader`.
 */
export function splitRecordBatches(records: Buffer, options: SplitBatchesOptions = {}): RecordBatchSlice[] {
  const maxBatches = options.maxBatches ?? DEFAULT_MAX_BATCHES;
  const out: RecordBatchSlice[] = [];
  let position = 0;
  while (position < records.length) {
    let header: RecordBatchHeader;
    try {
      header = readRecordBatchHeader(records, position);
    } catch (e) {
      if (options.allowPartialTail === true && e instanceof RecordsError && e.code === 'Truncated') break;
      throw e;
    }
    if (out.length >= maxBatches) {
      throw new RecordsError('TooLarge', `records hold more than ${maxBatches} batches`);
    }
    const size = LOG_OVERHEAD_BYTES + header.batchLength;
    out.push({ header, bytes: records.subarray(position, position + size), position });
    position += size;
  }
  return out;
}

/**
 * The number of records in the whole magic-2 batches at the start of `records` (one or several
 * concatenated batches, as a `records` field holds them): the sum of their header's recordCount,
 * reading 61 header bytes per batch and nothing of the records. It stops, without an error, at the
 * first batch that is not whole (a truncated tail, as a Fetch response may end with), at a batch
 * whose magic is not 2 or whose batchLength is below the header size; a negative recordCount counts
 * as 0. Meant for batches already validated (`validateRecordBatch`); on others it never throws and
 * never reads past the end.
 */
export function recordBatchesRecordCount(records: Buffer): number {
  let count = 0;
  let position = 0;
  while (records.length - position >= RECORD_BATCH_HEADER_BYTES) {
    if (records[position + BatchField.magic] !== RECORD_BATCH_MAGIC) break;
    const batchLength = records.readInt32BE(position + BatchField.batchLength);
    if (batchLength < MIN_BATCH_LENGTH || LOG_OVERHEAD_BYTES + batchLength > records.length - position) break;
    count += Math.max(0, records.readInt32BE(position + BatchField.recordCount));
    position += LOG_OVERHEAD_BYTES + batchLength;
  }
  return count;
}

/**
 * The compression codec of the magic-2 batch starting at `offset`, from its attributes (the header
 * only: the records are not looked at). Errors: `Truncated` when the attributes are not there,
 * `UnsupportedMagic` for a magic other than 2 (the attributes sit elsewhere in legacy message sets),
 * `UnsupportedCompression` for the undefined codec ids 5..7.
 */
export function recordBatchCompression(batch: Buffer, offset = 0): CompressionType {
  const end = offset + BatchField.attributes + 2;
  if (!Number.isInteger(offset) || offset < 0 || end > batch.length) {
    throw new RecordsError(
      'Truncated',
      `record batch attributes at ${offset} need ${BatchField.attributes + 2} bytes, ${Math.max(batch.length - offset, 0)} left`,
    );
  }
  const magic = batch.readInt8(offset + BatchField.magic);
  if (magic !== RECORD_BATCH_MAGIC) {
    throw new RecordsError(
      'UnsupportedMagic',
      magic === 0 || magic === 1
        ? legacyMessage(magic)
        : `unknown record batch magic ${magic} at offset ${offset}`,
    );
  }
  const id = batch.readInt16BE(offset + BatchField.attributes) & BatchAttribute.compressionMask;
  if (id > CompressionType.Zstd) {
    throw new RecordsError('UnsupportedCompression', `record batch uses unknown compression codec ${id}`);
  }
  return id as CompressionType;
}

/** Computes the CRC-32C a batch should carry: bytes from attributes to the end of the batch. */
export function computeRecordBatchCrc(batch: Buffer): number {
  return (
    crc32c(
      batch.subarray(RECORD_BATCH_CRC_START, LOG_OVERHEAD_BYTES + batch.readInt32BE(BatchField.batchLength)),
    ) >>> 0
  );
}

/** True when the stored CRC matches the batch bytes. `batch` starts at the batch's first byte. */
export function recordBatchCrcMatches(batch: Buffer): boolean {
  return computeRecordBatchCrc(batch) === batch.readUInt32BE(BatchField.crc);
}

export interface ValidateBatchOptions {
  /** Check the CRC-32C (default true). */
  checkCrc?: boolean;
  /**
   * Require `recordCount === lastOffsetDelta + 1` and `recordCount > 0`, as the broker does for
   * batches from producers (default true). Compacted log batches may legitimately have gaps.
   */
  requireContiguousOffsets?: boolean;
  /** Upper bound on recordCount (default 10 000 000). */
  maxRecordCount?: number;
}

export const DEFAULT_MAX_RECORD_COUNT = 10_000_000;

/**
 * Validates one batch without parsing its records: header consistency, compression id, record
 * count (bounded, and for uncompressed batches not more than the bytes could hold) and the CRC.
 * `batch` must start at the batch's first byte (a `RecordBatchSlice.bytes`). Returns the header.
 */
export function validateRecordBatch(batch: Buffer, options: ValidateBatchOptions = {}): RecordBatchHeader {
  const header = readRecordBatchHeader(batch, 0);
  const size = LOG_OVERHEAD_BYTES + header.batchLength;
  // The CRC first: a damaged batch is reported as such, not as whatever field the damage hit.
  if (options.checkCrc ?? true) {
    const actual = crc32c(batch.subarray(RECORD_BATCH_CRC_START, size)) >>> 0;
    if (actual !== header.crc) {
      throw new RecordsError(
        'CrcMismatch',
        `record batch CRC-32C is ${actual.toString(16)}, header says ${header.crc.toString(16)}`,
      );
    }
  }
  if (header.compression > CompressionType.Zstd) {
    throw new RecordsError(
      'UnsupportedCompression',
      `record batch uses unknown compression codec ${header.compression}`,
    );
  }
  const maxRecordCount = options.maxRecordCount ?? DEFAULT_MAX_RECORD_COUNT;
  if (header.recordCount < 0) {
    throw new RecordsError('CorruptRecord', `record batch has negative record count ${header.recordCount}`);
  }
  if (header.recordCount > maxRecordCount) {
    throw new RecordsError(
      'TooLarge',
      `record batch claims ${header.recordCount} records, limit ${maxRecordCount}`,
    );
  }
  if (header.lastOffsetDelta < 0) {
    throw new RecordsError(
      'CorruptRecord',
      `record batch has negative lastOffsetDelta ${header.lastOffsetDelta}`,
    );
  }
  if (options.requireContiguousOffsets ?? true) {
    if (header.recordCount === 0 || header.recordCount !== header.lastOffsetDelta + 1) {
      throw new RecordsError(
        'RecordCountMismatch',
        `record batch has recordCount ${header.recordCount} but lastOffsetDelta ${header.lastOffsetDelta}`,
      );
    }
  }
  if (header.compression === CompressionType.None) {
    const recordBytes = size - RECORD_BATCH_HEADER_BYTES;
    if (header.recordCount > recordBytes / MIN_RECORD_BYTES) {
      throw new RecordsError(
        'RecordCountMismatch',
        `record batch claims ${header.recordCount} records in ${recordBytes} bytes (each needs at least ${MIN_RECORD_BYTES})`,
      );
    }
  } else if (header.recordCount > 0 && size === RECORD_BATCH_HEADER_BYTES) {
    throw new RecordsError(
      'RecordCountMismatch',
      `compressed record batch claims ${header.recordCount} records but carries no bytes`,
    );
  }
  return header;
}

/** Rewrites baseOffset in place. Not covered by the CRC: no recompute. */
export function setRecordBatchBaseOffset(batch: Buffer, baseOffset: bigint): void {
  batch.writeBigInt64BE(baseOffset, BatchField.baseOffset);
}

/** Rewrites partitionLeaderEpoch in place. Not covered by the CRC: no recompute. */
export function setRecordBatchPartitionLeaderEpoch(batch: Buffer, partitionLeaderEpoch: number): void {
  batch.writeInt32BE(partitionLeaderEpoch, BatchField.partitionLeaderEpoch);
}

/**
 * Sets the timestamp type bit and maxTimestamp in place (as Kafka's `setMaxTimestamp`), then
 * recomputes the CRC, since both lie inside the range it covers.
 */
export function setRecordBatchMaxTimestamp(
  batch: Buffer,
  timestampType: TimestampType,
  maxTimestamp: bigint,
): void {
  const attributes = batch.readInt16BE(BatchField.attributes);
  const updated =
    timestampType === TimestampType.LogAppendTime
      ? attributes | BatchAttribute.timestampType
      : attributes & ~BatchAttribute.timestampType;
  batch.writeInt16BE(updated, BatchField.attributes);
  batch.writeBigInt64BE(maxTimestamp, BatchField.maxTimestamp);
  batch.writeUInt32BE(computeRecordBatchCrc(batch), BatchField.crc);
}

/** The fields the leader sets on a batch before it enters the log. */
export interface BatchAssignment {
  baseOffset: bigint;
  partitionLeaderEpoch: number;
  /** When set, the topic uses LogAppendTime: timestampType bit and maxTimestamp change, CRC recomputed. */
  logAppendTimeMs?: bigint;
}

/**
 * Applies the broker-set fields to `batch`. In place by default; with `copy: true` the input is left
 * untouched and a new Buffer is returned. Returns the buffer that was written.
 */
export function assignRecordBatch(
  batch: Buffer,
  assignment: BatchAssignment,
  options: { copy?: boolean } = {},
): Buffer {
  const size = LOG_OVERHEAD_BYTES + batch.readInt32BE(BatchField.batchLength);
  const target = options.copy === true ? Buffer.from(batch.subarray(0, size)) : batch;
  setRecordBatchBaseOffset(target, assignment.baseOffset);
  setRecordBatchPartitionLeaderEpoch(target, assignment.partitionLeaderEpoch);
  if (assignment.logAppendTimeMs !== undefined) {
    setRecordBatchMaxTimestamp(target, TimestampType.LogAppendTime, assignment.logAppendTimeMs);
  }
  return target;
}

/** Offset of the last record: baseOffset + lastOffsetDelta. */
export function recordBatchLastOffset(header: RecordBatchHeader): bigint {
  return header.baseOffset + BigInt(header.lastOffsetDelta);
}
