// Hand-written runtime of the generated codec: a bounds-checked reader over one Buffer. Every length
// read from the wire is checked against the bytes that remain before anything is allocated, so
// hostile input can only produce a ProtocolError (Truncated, InvalidVarint, InvalidValue).

import { ProtocolError } from '../errors/protocol-error.js';
import { RecordsError } from '../records/errors.js';
import { readUnsignedVarint } from '../varint.js';

/** A tagged field the codec does not know for this version: kept so that re-encoding reproduces it. */
export interface TaggedField {
  tag: number;
  data: Buffer;
}

/** Decoder of one known tagged field: returns false when the tag is unknown for this version. */
export type TagReader = (tag: number, r: Reader) => boolean;

const EMPTY = Buffer.alloc(0);

function truncated(what: string, offset: number, need: number, have: number): ProtocolError {
  return new ProtocolError('Truncated', `${what} at offset ${offset} needs ${need} bytes, ${have} remain`);
}

export class Reader {
  /** The bytes being read; `buf.length` is the end of the readable region. */
  readonly buf: Buffer;
  offset: number;

  constructor(buf: Buffer, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }

  /** Bytes left to read. */
  remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number, what: string): number {
    const o = this.offset;
    if (o + n > this.buf.length) throw truncated(what, o, n, this.buf.length - o);
    this.offset = o + n;
    return o;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1, 'int8'));
  }
  int16(): number {
    const o = this.need(2, 'int16');
    const b = this.buf;
    return ((b[o]! << 24) | (b[o + 1]! << 16)) >> 16;
  }
  uint16(): number {
    const o = this.need(2, 'uint16');
    const b = this.buf;
    return (b[o]! << 8) | b[o + 1]!;
  }
  int32(): number {
    const o = this.need(4, 'int32');
    const b = this.buf;
    return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4, 'uint32'));
  }
  int64(): bigint {
    return this.buf.readBigInt64BE(this.need(8, 'int64'));
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8, 'float64'));
  }
  bool(): boolean {
    return this.buf[this.need(1, 'bool')] !== 0;
  }

  /** An unsigned varint (uint32). */
  uvarint(): number {
    try {
      return readUnsignedVarint(this.buf, this);
    } catch (e) {
      if (e instanceof RecordsError) {
        throw new ProtocolError(e.code === 'InvalidVarint' ? 'InvalidVarint' : 'Truncated', e.message, {
          cause: e,
        });
      }
      throw e;
    }
  }

  /** A UUID as its canonical lower-case text form (8-4-4-4-12 hex digits). */
  uuid(): string {
    const o = this.need(16, 'uuid');
    const h = this.buf.toString('hex', o, o + 16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /**
   * The length of a string, bytes or array: -1 means null. Compact forms store length + 1 as an
   * unsigned varint; classic forms an int16 (strings) or int32 (bytes, arrays).
   */
  private len(compact: boolean, short: boolean): number {
    if (compact) return this.uvarint() - 1;
    return short ? this.int16() : this.int32();
  }

  private nullCheck(nullable: boolean, what: string, at: number): null {
    if (!nullable)
      throw new ProtocolError(
        'InvalidValue',
        `null ${what} at offset ${at} in a version where it is not nullable`,
      );
    return null;
  }

  string(compact: boolean): string {
    const s = this.nstring(compact, false);
    return s as string;
  }

  /** A string that may be null (when `nullable` is false a null is an InvalidValue error). */
  nstring(compact: boolean, nullable = true): string | null {
    const at = this.offset;
    const n = this.len(compact, true);
    if (n < 0) {
      if (n < -1) throw new ProtocolError('InvalidValue', `negative string length ${n} at offset ${at}`);
      return this.nullCheck(nullable, 'string', at);
    }
    const o = this.need(n, 'string');
    return this.buf.toString('utf8', o, o + n);
  }

  bytes(compact: boolean): Buffer {
    return this.nbytes(compact, false) as Buffer;
  }

  /** Bytes (a view into the input, not a copy) that may be null. */
  nbytes(compact: boolean, nullable = true): Buffer | null {
    const at = this.offset;
    const n = this.len(compact, false);
    if (n < 0) {
      if (n < -1) throw new ProtocolError('InvalidValue', `negative bytes length ${n} at offset ${at}`);
      return this.nullCheck(nullable, 'bytes', at);
    }
    if (n === 0) return EMPTY;
    const o = this.need(n, 'bytes');
    return this.buf.subarray(o, o + n);
  }

  array<T>(compact: boolean, read: (r: Reader) => T): T[] {
    return this.narray(compact, read, false) as T[];
  }

  /**
   * An array whose elements `read` decodes. Every element takes at least one byte on the wire for
   * every element type that the schemas define in a version where the array exists, so a count
   * above the remaining bytes is Truncated before anything is allocated.
   */
  narray<T>(compact: boolean, read: (r: Reader) => T, nullable = true): T[] | null {
    const at = this.offset;
    const n = this.len(compact, false);
    if (n < 0) {
      if (n < -1) throw new ProtocolError('InvalidValue', `negative array length ${n} at offset ${at}`);
      return this.nullCheck(nullable, 'array', at);
    }
    if (n > this.buf.length - this.offset)
      throw truncated(`array of ${n} elements`, at, n, this.buf.length - this.offset);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = read(this);
    return out;
  }

  /** A nullable struct marker (int8: -1 null, otherwise present). True when the struct follows. */
  present(nullable: boolean): boolean {
    if (!nullable) return true;
    return this.int8() >= 0;
  }

  /**
   * The tagged-field section of a flexible struct. `known` decodes the tags this version defines
   * (each from a reader bounded to the field's bytes); the others are returned raw, in order.
   */
  tags(known: TagReader | null): TaggedField[] | undefined {
    const at = this.offset;
    const count = this.uvarint();
    if (count === 0) return undefined;
    // Each tagged field takes at least two bytes (tag and size).
    if (count * 2 > this.buf.length - this.offset)
      throw truncated(`${count} tagged fields`, at, count * 2, this.buf.length - this.offset);
    let unknown: TaggedField[] | undefined;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      const o = this.need(size, 'tagged field');
      const data = this.buf.subarray(o, o + size);
      if (known !== null && known(tag, new Reader(data))) continue;
      (unknown ??= []).push({ tag, data });
    }
    return unknown;
  }
}
