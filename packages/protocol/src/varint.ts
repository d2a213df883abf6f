// Hand-written: Kafka's variable-length integers (protobuf-style base-128, little-endian groups of 7
// bits, high bit = "more bytes follow"), used by compact lengths, tagged fields and records. The
// schemas stop at the field type, so this is the one place these encodings live.
//
// - unsigned varint: a uint32, at most 5 bytes.
// - varint: an int32, zigzag-encoded ((n << 1) ^ (n >> 31)) then written as an unsigned varint.
// - unsigned varlong: a uint64 as bigint, at most 10 bytes.
// - varlong: an int64 as bigint, zigzag-encoded, at most 10 bytes.
//
// Reads are bounded: an encoding longer than its type allows, or one whose last byte carries bits
// beyond the type's width, is `InvalidVarint`; input that ends mid-varint is `Truncated`. Reads take
// a cursor (any object with a numeric `offset`) that they advance, so the hot path allocates nothing.
// Writes check the room they need and return the offset after the written bytes.

import { RecordsError } from './records/errors.js';

/** A read position that the read functions advance past the bytes they consume. */
export interface VarintCursor {
  offset: number;
}

/** Largest encodings: 5 bytes for 32-bit values, 10 bytes for 64-bit values. */
export const MAX_VARINT_BYTES = 5;
export const MAX_VARLONG_BYTES = 10;

const TWO_POW_28 = 0x10000000;
const UINT64_MASK = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function truncated(what: string, offset: number): RecordsError {
  return new RecordsError('Truncated', `input ends inside a ${what} at offset ${offset}`);
}

/** Reads an unsigned varint (0 ..= 2^32-1). */
export function readUnsignedVarint(buf: Uint8Array, cursor: VarintCursor): number {
  const start = cursor.offset;
  const end = buf.length;
  let pos = start;
  if (pos < 0 || pos >= end) throw truncated('varint', start);
  let b = buf[pos++]!;
  if (b < 0x80) {
    cursor.offset = pos;
    return b;
  }
  let value = b & 0x7f;
  for (let shift = 7; shift < 28; shift += 7) {
    if (pos >= end) throw truncated('varint', start);
    b = buf[pos++]!;
    value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cursor.offset = pos;
      return value;
    }
  }
  // Fifth byte: only 4 bits (28..31) remain, and no continuation.
  if (pos >= end) throw truncated('varint', start);
  b = buf[pos++]!;
  if (b > 0x0f) {
    throw new RecordsError(
      'InvalidVarint',
      `varint at offset ${start} is longer than 5 bytes or exceeds 32 bits`,
    );
  }
  cursor.offset = pos;
  return value + b * TWO_POW_28;
}

/** Reads a zigzag-encoded signed varint (-2^31 ..= 2^31-1). */
export function readVarint(buf: Uint8Array, cursor: VarintCursor): number {
  const u = readUnsignedVarint(buf, cursor);
  return (u >>> 1) ^ -(u & 1);
}

/** Reads an unsigned varlong (0 ..= 2^64-1) as a bigint. */
export function readUnsignedVarlong(buf: Uint8Array, cursor: VarintCursor): bigint {
  const start = cursor.offset;
  const end = buf.length;
  let pos = start;
  if (pos < 0 || pos >= end) throw truncated('varlong', start);
  // Up to 7 bytes (49 bits) are accumulated exactly in a double; only longer encodings use bigint.
  let low = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= end) throw truncated('varlong', start);
    const b = buf[pos++]!;
    low += (b & 0x7f) * scale;
    if (b < 0x80) {
      cursor.offset = pos;
      return BigInt(low);
    }
    scale *= 128;
  }
  let value = BigInt(low);
  for (let shift = 49n; shift < 70n; shift += 7n) {
    if (pos >= end) throw truncated('varlong', start);
    const b = buf[pos++]!;
    if (shift === 63n && b > 0x01) {
      throw new RecordsError(
        'InvalidVarint',
        `varlong at offset ${start} is longer than 10 bytes or exceeds 64 bits`,
      );
    }
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) {
      cursor.offset = pos;
      return value;
    }
  }
  /* c8 ignore next */
  throw new RecordsError('InvalidVarint', `varlong at offset ${start} is longer than 10 bytes`);
}

/** Reads a zigzag-encoded signed varlong (-2^63 ..= 2^63-1) as a bigint. */
export function readVarlong(buf: Uint8Array, cursor: VarintCursor): bigint {
  const u = readUnsignedVarlong(buf, cursor);
  return (u >> 1n) ^ -(u & 1n);
}

/** Largest magnitude the `...Number` varlong variants accept: its zigzag form stays a safe integer. */
export const MAX_VARLONG_NUMBER = 2 ** 52 - 1;

/**
 * Reads a zigzag varlong that must fit a JavaScript number exactly (|n| <= 2^52-1): record
 * timestamp deltas in practice. Larger values are `InvalidVarint`.
 */
export function readVarlongAsNumber(buf: Uint8Array, cursor: VarintCursor): number {
  const start = cursor.offset;
  const end = buf.length;
  let pos = start;
  if (pos < 0) throw truncated('varlong', start);
  let u = 0;
  let scale = 1;
  // 8 bytes carry 56 bits; a zigzag value within ±(2^52-1) needs at most 53 bits.
  for (let i = 0; i < 8; i++) {
    if (pos >= end) throw truncated('varlong', start);
    const b = buf[pos++]!;
    u += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (u > 2 * MAX_VARLONG_NUMBER) break;
      cursor.offset = pos;
      // zigzag decode without 32-bit operators
      return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    scale *= 128;
  }
  // Either longer than 8 bytes (a non-canonical encoding) or beyond the safe range: fall back to an
  // exact bigint read, which reports truncation / overlong encodings precisely.
  const probe = { offset: start };
  const v = readVarlong(buf, probe);
  if (v >= -BigInt(MAX_VARLONG_NUMBER) && v <= BigInt(MAX_VARLONG_NUMBER)) {
    cursor.offset = probe.offset;
    return Number(v);
  }
  throw new RecordsError('InvalidVarint', `varlong ${v} at offset ${start} does not fit a safe integer`);
}

/** Bytes needed for an unsigned varint (value in 0 ..= 2^32-1). */
export function sizeOfUnsignedVarint(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Bytes needed for a zigzag varint (value in -2^31 ..= 2^31-1). */
export function sizeOfVarint(value: number): number {
  return sizeOfUnsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
}

/** Bytes needed for an unsigned varlong (value in 0 ..= 2^64-1). */
export function sizeOfUnsignedVarlong(value: bigint): number {
  if (value <= 0xffffffffn) return sizeOfUnsignedVarint(Number(value));
  let size = 1;
  let v = value >> 7n;
  while (v !== 0n) {
    size++;
    v >>= 7n;
  }
  return size;
}

/** Bytes needed for a zigzag varlong (value in -2^63 ..= 2^63-1). */
export function sizeOfVarlong(value: bigint): number {
  return sizeOfUnsignedVarlong(zigzag64(value));
}

/** Bytes needed for a zigzag varlong given as a safe integer number. */
export function sizeOfVarlongNumber(value: number): number {
  const u = value >= 0 ? value * 2 : -value * 2 - 1;
  if (u <= 0xffffffff) return sizeOfUnsignedVarint(u);
  let size = 5;
  let v = Math.floor(u / 2 ** 35);
  while (v > 0) {
    size++;
    v = Math.floor(v / 128);
  }
  return size;
}

function zigzag64(value: bigint): bigint {
  if (value < INT64_MIN || value > INT64_MAX) {
    throw new RecordsError('InvalidVarint', `varlong value ${value} is outside int64`);
  }
  return ((value << 1n) ^ (value >> 63n)) & UINT64_MASK;
}

function checkRoom(buf: Uint8Array, offset: number, size: number, what: string): void {
  if (offset < 0 || offset + size > buf.length) {
    throw new RecordsError(
      'Truncated',
      `no room to write a ${size}-byte ${what} at offset ${offset} (buffer ${buf.length})`,
    );
  }
}

/** Writes an unsigned varint (0 ..= 2^32-1) at `offset`; returns the offset after it. */
export function writeUnsignedVarint(buf: Uint8Array, offset: number, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RecordsError('InvalidVarint', `unsigned varint value ${value} is outside uint32`);
  }
  checkRoom(buf, offset, sizeOfUnsignedVarint(value), 'varint');
  let v = value >>> 0;
  let pos = offset;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes a zigzag varint (-2^31 ..= 2^31-1) at `offset`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RecordsError('InvalidVarint', `varint value ${value} is outside int32`);
  }
  return writeUnsignedVarint(buf, offset, ((value << 1) ^ (value >> 31)) >>> 0);
}

/** Writes an unsigned varlong (0 ..= 2^64-1) at `offset`; returns the offset after it. */
export function writeUnsignedVarlong(buf: Uint8Array, offset: number, value: bigint): number {
  if (value < 0n || value > UINT64_MASK) {
    throw new RecordsError('InvalidVarint', `unsigned varlong value ${value} is outside uint64`);
  }
  if (value <= 0xffffffffn) return writeUnsignedVarint(buf, offset, Number(value));
  checkRoom(buf, offset, sizeOfUnsignedVarlong(value), 'varlong');
  let v = value;
  let pos = offset;
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

/** Writes a zigzag varlong (-2^63 ..= 2^63-1) at `offset`; returns the offset after it. */
export function writeVarlong(buf: Uint8Array, offset: number, value: bigint): number {
  return writeUnsignedVarlong(buf, offset, zigzag64(value));
}

/** Writes a zigzag varlong given as a safe integer number; returns the offset after it. */
export function writeVarlongNumber(buf: Uint8Array, offset: number, value: number): number {
  if (!Number.isInteger(value) || Math.abs(value) > MAX_VARLONG_NUMBER) {
    throw new RecordsError('InvalidVarint', `varlong value ${value} is outside ±(2^52-1)`);
  }
  const u = value >= 0 ? value * 2 : -value * 2 - 1;
  if (u <= 0xffffffff) return writeUnsignedVarint(buf, offset, u);
  checkRoom(buf, offset, sizeOfVarlongNumber(value), 'varlong');
  let v = u;
  let pos = offset;
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}
