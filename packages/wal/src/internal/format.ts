/**
 * On-disk formats. All integers little-endian; 64-bit values are written as two 32-bit halves
 * and must be safe integers. CRCs are CRC-32C (Castagnoli).
 *
 * Segment file `<20-digit first index>.log`:
 *   segment header (40 bytes):
 *     0  magic "CHRKWAL1" (8)
 *     8  u32 format version (1)
 *     12 u32 flags (0)
 *     16 u64 first index
 *     24 u64 created at (ms since epoch, from the injected clock)
 *     32 u32 reserved (0)
 *     36 u32 CRC-32C of bytes 0..36
 *   then records, each a 32-byte header followed by the payload:
 *     0  u32 payload length
 *     4  u8  record type (caller-defined)
 *     5  u8  flags (bit 0: has timestamp)
 *     6  u16 reserved (0)
 *     8  u64 index
 *     16 u64 timestamp ms (0 when absent)
 *     24 u32 CRC-32C of the payload
 *     28 u32 CRC-32C of header bytes 0..28
 * The header CRC means a length is never trusted from a torn or zeroed header; the length is
 * then checked against maxRecordBytes and the file size before any buffer is allocated.
 */
import { crc32c } from '@node-rs/crc32';

export const SEGMENT_MAGIC = Buffer.from('CHRKWAL1', 'latin1');
export const INDEX_MAGIC = Buffer.from('CHRKIDX1', 'latin1');
export const META_MAGIC = Buffer.from('CHRKMET1', 'latin1');
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 40;
export const RECORD_HEADER_BYTES = 32;
export const FLAG_HAS_TIMESTAMP = 1;

const TWO_32 = 2 ** 32;

/** Writes `value` (a non-negative safe integer) as a little-endian u64 at `offset`. */
export function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/** Reads a little-endian u64 at `offset`; returns -1 when it is above Number.MAX_SAFE_INTEGER. */
export function readU64(buf: Buffer, offset: number): number {
  const lo = buf.readUInt32LE(offset);
  const hi = buf.readUInt32LE(offset + 4);
  if (hi > 0x1fffff) return -1;
  return hi * TWO_32 + lo;
}

/** CRC-32C (Castagnoli) of `data`, as an unsigned 32-bit number. */
export function crc(data: Uint8Array): number {
  return crc32c(data) >>> 0;
}

export function segmentFileName(firstIndex: number): string {
  return `${String(firstIndex).padStart(20, '0')}.log`;
}

export function indexFileName(firstIndex: number): string {
  return `${String(firstIndex).padStart(20, '0')}.index`;
}

const SEGMENT_NAME = /^(\d{20})\.log$/;
const INDEX_NAME = /^(\d{20})\.index$/;

export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function parseIndexName(name: string): number | undefined {
  const m = INDEX_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface SegmentHeader {
  readonly version: number;
  readonly firstIndex: number;
  readonly createdAtMs: number;
}

export function encodeSegmentHeader(firstIndex: number, createdAtMs: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  b.writeUInt32LE(0, 12);
  writeU64(b, firstIndex, 16);
  writeU64(b, Math.max(0, Math.floor(createdAtMs)), 24);
  b.writeUInt32LE(crc(b.subarray(0, 36)), 36);
  return b;
}

export type SegmentHeaderResult =
  | { ok: true; header: SegmentHeader }
  | { ok: false; reason: 'short' | 'zero' | 'bad-magic' | 'bad-crc' | 'bad-version' };

export function decodeSegmentHeader(b: Buffer): SegmentHeaderResult {
  if (b.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'short' };
  if (isZero(b.subarray(0, SEGMENT_HEADER_BYTES))) return { ok: false, reason: 'zero' };
  if (!b.subarray(0, 8).equals(SEGMENT_MAGIC)) return { ok: false, reason: 'bad-magic' };
  if (b.readUInt32LE(36) !== crc(b.subarray(0, 36))) return { ok: false, reason: 'bad-crc' };
  const version = b.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return { ok: false, reason: 'bad-version' };
  return { ok: true, header: { version, firstIndex: readU64(b, 16), createdAtMs: readU64(b, 24) } };
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export interface RecordHeader {
  readonly payloadBytes: number;
  readonly type: number;
  readonly index: number;
  /** undefined when the record carries no timestamp. */
  readonly timestampMs: number | undefined;
  readonly payloadCrc: number;
}

/**
 * Writes the 32-byte header of a record whose payload has `payloadBytes` bytes and CRC-32C
 * `payloadCrc` into `out` at `offset` (the payload itself follows it on disk).
 */
export function encodeRecordHeader(
  out: Buffer,
  offset: number,
  index: number,
  type: number,
  timestampMs: number | undefined,
  payloadBytes: number,
  payloadCrc: number,
): void {
  out.writeUInt32LE(payloadBytes, offset);
  out.writeUInt8(type, offset + 4);
  out.writeUInt8(timestampMs === undefined ? 0 : FLAG_HAS_TIMESTAMP, offset + 5);
  out.writeUInt16LE(0, offset + 6);
  writeU64(out, index, offset + 8);
  writeU64(out, timestampMs ?? 0, offset + 16);
  out.writeUInt32LE(payloadCrc, offset + 24);
  out.writeUInt32LE(crc(out.subarray(offset, offset + 28)), offset + 28);
}

export type RecordHeaderResult =
  | { ok: true; header: RecordHeader }
  | { ok: false; reason: 'short-header' | 'zero' | 'bad-header-crc' | 'bad-length' };

/**
 * Decodes and validates a record header. `remaining` is the number of file bytes from the
 * header's start to the end of the file; the payload length is checked against it and against
 * maxRecordBytes before anything is allocated.
 */
export function decodeRecordHeader(
  b: Buffer,
  offset: number,
  remaining: number,
  maxRecordBytes: number,
): RecordHeaderResult {
  if (remaining < RECORD_HEADER_BYTES || b.length - offset < RECORD_HEADER_BYTES)
    return { ok: false, reason: 'short-header' };
  const h = b.subarray(offset, offset + RECORD_HEADER_BYTES);
  if (isZero(h)) return { ok: false, reason: 'zero' };
  if (h.readUInt32LE(28) !== crc(h.subarray(0, 28))) return { ok: false, reason: 'bad-header-crc' };
  const payloadBytes = h.readUInt32LE(0);
  const index = readU64(h, 8);
  const ts = readU64(h, 16);
  if (payloadBytes > maxRecordBytes || index < 0 || ts < 0) return { ok: false, reason: 'bad-length' };
  return {
    ok: true,
    header: {
      payloadBytes,
      type: h.readUInt8(4),
      index,
      timestampMs: (h.readUInt8(5) & FLAG_HAS_TIMESTAMP) !== 0 ? ts : undefined,
      payloadCrc: h.readUInt32LE(24),
    },
  };
}

/** One sparse index entry: the record `index` starts at byte `position`; `maxTimestampBeforeMs` is the largest timestamp of the records before it in the segment (-1 if none). */
export interface IndexEntry {
  readonly index: number;
  readonly position: number;
  readonly maxTimestampBeforeMs: number;
}

/**
 * Index file `<20-digit first index>.index`, written when a segment is sealed:
 *   0 magic "CHRKIDX1", 8 u32 version, 12 u32 entry count, 16 u64 segment size, 24 u64 last index,
 *   32 i64-as-u64 max timestamp + 1 (0 = none), 40 u32 record count, 44 u32 reserved,
 *   48 entries of 24 bytes (u64 index, u64 position, u64 maxTimestampBefore + 1),
 *   then u32 CRC-32C of everything before it.
 */
export interface IndexFile {
  readonly segmentBytes: number;
  readonly lastIndex: number;
  readonly maxTimestampMs: number;
  readonly recordCount: number;
  readonly entries: IndexEntry[];
}

export function encodeIndexFile(f: IndexFile): Buffer {
  const b = Buffer.alloc(48 + f.entries.length * 24 + 4);
  INDEX_MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  b.writeUInt32LE(f.entries.length, 12);
  writeU64(b, f.segmentBytes, 16);
  writeU64(b, f.lastIndex, 24);
  writeU64(b, f.maxTimestampMs + 1, 32);
  b.writeUInt32LE(f.recordCount, 40);
  let o = 48;
  for (const e of f.entries) {
    writeU64(b, e.index, o);
    writeU64(b, e.position, o + 8);
    writeU64(b, e.maxTimestampBeforeMs + 1, o + 16);
    o += 24;
  }
  b.writeUInt32LE(crc(b.subarray(0, o)), o);
  return b;
}

export function decodeIndexFile(b: Buffer): IndexFile | undefined {
  if (b.length < 52 || !b.subarray(0, 8).equals(INDEX_MAGIC)) return undefined;
  if (b.readUInt32LE(8) !== FORMAT_VERSION) return undefined;
  const count = b.readUInt32LE(12);
  if (b.length !== 48 + count * 24 + 4) return undefined;
  const end = 48 + count * 24;
  if (b.readUInt32LE(end) !== crc(b.subarray(0, end))) return undefined;
  const entries: IndexEntry[] = [];
  for (let o = 48; o < end; o += 24) {
    entries.push({
      index: readU64(b, o),
      position: readU64(b, o + 8),
      maxTimestampBeforeMs: readU64(b, o + 16) - 1,
    });
  }
  return {
    segmentBytes: readU64(b, 16),
    lastIndex: readU64(b, 24),
    maxTimestampMs: readU64(b, 32) - 1,
    recordCount: b.readUInt32LE(40),
    entries,
  };
}

/**
 * The log's meta file `wal.meta`, version 2 (36 bytes):
 *   0  magic "CHRKMET1" (8)
 *   8  u32 version (2)
 *   12 u32 reserved (0)
 *   16 u64 first index: the log starts here (records below it were removed on purpose)
 *   24 u64 first index of the newest segment created and not removed on purpose (0: none)
 *   32 u32 CRC-32C of bytes 0..32
 * Version 1 (28 bytes, written before the newest segment was recorded) ends after the first index
 * with its CRC at 24; it is still read, the newest segment then unknown.
 */
export const META_VERSION = 2;
export const META_BYTES = 36;
const META_V1_BYTES = 28;

export interface Meta {
  readonly firstIndex: number;
  /** The newest segment's first index; 0 when the log has no segment; undefined when unknown (v1). */
  readonly newestSegment: number | undefined;
}

export function encodeMeta(firstIndex: number, newestSegment: number): Buffer {
  const b = Buffer.alloc(META_BYTES);
  META_MAGIC.copy(b, 0);
  b.writeUInt32LE(META_VERSION, 8);
  writeU64(b, firstIndex, 16);
  writeU64(b, newestSegment, 24);
  b.writeUInt32LE(crc(b.subarray(0, 32)), 32);
  return b;
}

export function decodeMeta(b: Buffer): Meta | undefined {
  if (b.length < 12 || !b.subarray(0, 8).equals(META_MAGIC)) return undefined;
  const version = b.readUInt32LE(8);
  if (version === 1) {
    if (b.length !== META_V1_BYTES || b.readUInt32LE(24) !== crc(b.subarray(0, 24))) return undefined;
    const firstIndex = readU64(b, 16);
    return firstIndex < 1 ? undefined : { firstIndex, newestSegment: undefined };
  }
  if (version !== META_VERSION || b.length !== META_BYTES) return undefined;
  if (b.readUInt32LE(32) !== crc(b.subarray(0, 32))) return undefined;
  const firstIndex = readU64(b, 16);
  const newestSegment = readU64(b, 24);
  if (firstIndex < 1 || newestSegment < 0) return undefined;
  return { firstIndex, newestSegment };
}
