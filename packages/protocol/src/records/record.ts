// Hand-written: the records inside a magic-2 batch. Each record is varint-framed:
//
//   length           varint   (bytes after this field)
//   attributes       int8     (unused, 0)
//   timestampDelta   varlong  (from the batch's baseTimestamp)
//   offsetDelta      varint   (from the batch's baseOffset)
//   keyLength        varint   (-1 = null)
//   key              bytes
//   valueLength      varint   (-1 = null)
//   value            bytes
//   headerCount      varint
//   headers          [keyLength varint, key utf-8, valueLength varint (-1 = null), value]
//
// Decoding returns keys and values as zero-copy subarrays of the (decompressed) batch body.

import { RecordsError } from './errors.js';
import {
  readVarint,
  readVarlongAsNumber,
  sizeOfVarint,
  sizeOfVarlongNumber,
  writeVarint,
  writeVarlongNumber,
} from '../varint.js';
import type { VarintCursor } from '../varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record as stored in a batch: deltas relative to the batch header. */
export interface RecordEntry {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodeRecordsOptions {
  /** Upper bound on headers per record (default 10 000). More is `TooLarge`. */
  maxHeadersPerRecord?: number;
}

export const DEFAULT_MAX_HEADERS_PER_RECORD = 10_000;

function readLength(buf: Buffer, cursor: VarintCursor, end: number, what: string): number {
  const length = readVarint(buf, cursor);
  if (length < -1)
    throw new RecordsError(
      'CorruptRecord',
      `${what} length ${length} at offset ${cursor.offset} is negative`,
    );
  if (length > end - cursor.offset) {
    throw new RecordsError(
      'CorruptRecord',
      `${what} of ${length} bytes at offset ${cursor.offset} runs past the record end`,
    );
  }
  return length;
}

/**
 * Decodes exactly `count` records from `body` (a batch's records section, decompressed). A count
 * that does not match the bytes — fewer records than claimed, or bytes left after the last — is
 * `RecordCountMismatch`; inconsistent lengths are `CorruptRecord`; bad varints `InvalidVarint` or
 * `Truncated`. Allocations are bounded by the input: arrays grow only as records are parsed.
 */
export function decodeRecordEntries(
  body: Buffer,
  count: number,
  options: DecodeRecordsOptions = {},
): RecordEntry[] {
  const maxHeaders = options.maxHeadersPerRecord ?? DEFAULT_MAX_HEADERS_PER_RECORD;
  const records: RecordEntry[] = [];
  const cursor: VarintCursor = { offset: 0 };
  const bodyEnd = body.length;
  while (records.length < count) {
    if (cursor.offset >= bodyEnd) {
      throw new RecordsError(
        'RecordCountMismatch',
        `batch claims ${count} records but its data ends after ${records.length}`,
      );
    }
    const start = cursor.offset;
    const length = readVarint(body, cursor);
    if (length < 6 || length > bodyEnd - cursor.offset) {
      throw new RecordsError(
        'CorruptRecord',
        `record ${records.length} at offset ${start} has length ${length}, ${bodyEnd - cursor.offset} bytes left`,
      );
    }
    const end = cursor.offset + length;
    // Every read below stays within [cursor, end): the varint readers see a view ending at `end`.
    const view = body.subarray(0, end);
    const attributes = view.readInt8(cursor.offset);
    cursor.offset += 1;
    const timestampDelta = readVarlongAsNumber(view, cursor);
    const offsetDelta = readVarint(view, cursor);
    const keyLength = readLength(view, cursor, end, 'key');
    const key = keyLength < 0 ? null : body.subarray(cursor.offset, cursor.offset + keyLength);
    cursor.offset += Math.max(keyLength, 0);
    const valueLength = readLength(view, cursor, end, 'value');
    const value = valueLength < 0 ? null : body.subarray(cursor.offset, cursor.offset + valueLength);
    cursor.offset += Math.max(valueLength, 0);
    const headerCount = readVarint(view, cursor);
    if (headerCount < 0)
      throw new RecordsError('CorruptRecord', `record at offset ${start} has header count ${headerCount}`);
    if (headerCount > maxHeaders)
      throw new RecordsError(
        'TooLarge',
        `record at offset ${start} has ${headerCount} headers, limit ${maxHeaders}`,
      );
    if (headerCount * 2 > end - cursor.offset) {
      throw new RecordsError(
        'CorruptRecord',
        `record at offset ${start} claims ${headerCount} headers in ${end - cursor.offset} bytes`,
      );
    }
    const headers: RecordHeader[] = [];
    for (let i = 0; i < headerCount; i++) {
      const headerKeyLength = readLength(view, cursor, end, 'header key');
      if (headerKeyLength < 0)
        throw new RecordsError('CorruptRecord', `record at offset ${start} has a null header key`);
      const headerKey = body.toString('utf8', cursor.offset, cursor.offset + headerKeyLength);
      cursor.offset += headerKeyLength;
      const headerValueLength = readLength(view, cursor, end, 'header value');
      const headerValue =
        headerValueLength < 0 ? null : body.subarray(cursor.offset, cursor.offset + headerValueLength);
      cursor.offset += Math.max(headerValueLength, 0);
      headers.push({ key: headerKey, value: headerValue });
    }
    if (cursor.offset !== end) {
      throw new RecordsError(
        'CorruptRecord',
        `record at offset ${start} declares ${length} bytes but its fields use only ${length - (end - cursor.offset)}`,
      );
    }
    records.push({ attributes, timestampDelta, offsetDelta, key, value, headers });
  }
  if (cursor.offset !== bodyEnd) {
    throw new RecordsError(
      'RecordCountMismatch',
      `batch claims ${count} records but ${bodyEnd - cursor.offset} bytes follow the last one`,
    );
  }
  return records;
}

/** A record to encode; deltas are relative to the batch. */
export interface RecordEntryInput {
  attributes?: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: ReadonlyArray<{ key: string; value: Buffer | null }>;
}

function recordBodySize(r: RecordEntryInput): number {
  let size = 1 + sizeOfVarlongNumber(r.timestampDelta) + sizeOfVarint(r.offsetDelta);
  size += r.key === null ? 1 : sizeOfVarint(r.key.length) + r.key.length;
  size += r.value === null ? 1 : sizeOfVarint(r.value.length) + r.value.length;
  const headers = r.headers ?? [];
  size += sizeOfVarint(headers.length);
  for (const h of headers) {
    const keyBytes = Buffer.byteLength(h.key, 'utf8');
    size += sizeOfVarint(keyBytes) + keyBytes;
    size += h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length;
  }
  return size;
}

/** Encoded size of a record, including its length prefix. */
export function sizeOfRecordEntry(r: RecordEntryInput): number {
  const body = recordBodySize(r);
  return sizeOfVarint(body) + body;
}

/** Writes one record at `offset`; returns the offset after it. `buf` must have room (see `sizeOfRecordEntry`). */
export function writeRecordEntry(buf: Buffer, offset: number, r: RecordEntryInput): number {
  const body = recordBodySize(r);
  let pos = writeVarint(buf, offset, body);
  pos = buf.writeInt8(r.attributes ?? 0, pos);
  pos = writeVarlongNumber(buf, pos, r.timestampDelta);
  pos = writeVarint(buf, pos, r.offsetDelta);
  if (r.key === null) {
    pos = writeVarint(buf, pos, -1);
  } else {
    pos = writeVarint(buf, pos, r.key.length);
    pos += r.key.copy(buf, pos);
  }
  if (r.value === null) {
    pos = writeVarint(buf, pos, -1);
  } else {
    pos = writeVarint(buf, pos, r.value.length);
    pos += r.value.copy(buf, pos);
  }
  const headers = r.headers ?? [];
  pos = writeVarint(buf, pos, headers.length);
  for (const h of headers) {
    const keyBytes = Buffer.byteLength(h.key, 'utf8');
    pos = writeVarint(buf, pos, keyBytes);
    pos += buf.write(h.key, pos, keyBytes, 'utf8');
    if (h.value === null) {
      pos = writeVarint(buf, pos, -1);
    } else {
      pos = writeVarint(buf, pos, h.value.length);
      pos += h.value.copy(buf, pos);
    }
  }
  return pos;
}
