// Hand-written runtime of the generated codec: a growable writer that never copies what it has
// written. Small values go into a scratch buffer; when it fills up, the written part is kept as a
// chunk and a new scratch buffer (twice as large, up to a cap) takes over. Large byte fields (record
// batches) are kept by reference as chunks of their own, so a Produce or Fetch payload is never
// copied on its way to the socket: `chunks()` hands the pieces to `socket.writev`/`cork`.

import { ProtocolError } from '../errors/protocol-error.js';
import type { TaggedField } from './reader.js';

/** Byte fields at least this large are referenced, not copied. */
const ZERO_COPY_MIN_BYTES = 1024;
const MAX_SCRATCH_BYTES = 1 << 20;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function invalid(what: string, value: unknown): ProtocolError {
  const shown =
    typeof value === 'bigint'
      ? `${value}n`
      : typeof value === 'string'
        ? JSON.stringify(value.slice(0, 64))
        : String(value);
  return new ProtocolError('InvalidValue', `cannot encode ${shown} as ${what}`);
}

/** Encoder of one known tagged field, queued by `tag()` and written by `endTags()`. */
type TagWrite = (w: Writer) => void;

export class Writer {
  private buf: Buffer;
  private pos = 0;
  /** Start of the part of `buf` that is not yet in `done`. */
  private mark = 0;
  private readonly done: Buffer[] = [];
  private doneBytes = 0;
  private tagStack: (number | TagWrite)[][] = [];

  constructor(initialBytes = 512) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.doneBytes + this.pos - this.mark;
  }

  private flush(): void {
    if (this.pos > this.mark) {
      this.done.push(this.buf.subarray(this.mark, this.pos));
      this.doneBytes += this.pos - this.mark;
      this.mark = this.pos;
    }
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    const size = Math.max(n, Math.min(this.buf.length * 2, MAX_SCRATCH_BYTES));
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
    this.mark = 0;
  }

  /** The written bytes as a list of buffers (views; nothing is copied). */
  chunks(): Buffer[] {
    this.flush();
    return this.done.slice();
  }

  /** The written bytes as one buffer (copies only when there is more than one chunk). */
  toBuffer(): Buffer {
    this.flush();
    if (this.done.length === 1) return this.done[0]!;
    return Buffer.concat(this.done, this.doneBytes);
  }

  private put16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  private put32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  int8(v: number): void {
    if ((v << 24) >> 24 !== v) throw invalid('int8', v);
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }
  int16(v: number): void {
    if ((v << 16) >> 16 !== v) throw invalid('int16', v);
    this.put16(v);
  }
  uint16(v: number): void {
    if ((v & 0xffff) !== v) throw invalid('uint16', v);
    this.put16(v);
  }
  int32(v: number): void {
    if ((v | 0) !== v) throw invalid('int32', v);
    this.put32(v);
  }
  uint32(v: number): void {
    if (v >>> 0 !== v) throw invalid('uint32', v);
    this.put32(v);
  }
  int64(v: bigint): void {
    if (typeof v !== 'bigint' || BigInt.asIntN(64, v) !== v) throw invalid('int64', v);
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
  }
  float64(v: number): void {
    if (typeof v !== 'number') throw invalid('float64', v);
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }
  bool(v: boolean): void {
    if (v !== true && v !== false) throw invalid('bool', v);
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** An unsigned varint (0 ..= 2^32-1). */
  uvarint(v: number): void {
    if (v >>> 0 !== v) throw invalid('unsigned varint', v);
    this.ensure(5);
    let x = v;
    while (x >= 0x80) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
  }

  uuid(v: string): void {
    if (typeof v !== 'string' || !UUID_RE.test(v)) throw invalid('uuid', v);
    this.ensure(16);
    const h = v.replace(/-/g, '');
    this.pos += this.buf.write(h, this.pos, 16, 'hex');
  }

  private len(n: number, compact: boolean, short: boolean): void {
    if (compact) this.uvarint(n + 1);
    else if (short) this.int16(n);
    else this.int32(n);
  }

  private nullOk(nullable: boolean, what: string): void {
    if (!nullable)
      throw new ProtocolError('InvalidValue', `null ${what} in a version where it is not nullable`);
  }

  string(s: string, compact: boolean): void {
    this.nstring(s, compact, false);
  }

  nstring(s: string | null, compact: boolean, nullable = true): void {
    if (s === null) {
      this.nullOk(nullable, 'string');
      this.len(-1, compact, true);
      return;
    }
    if (typeof s !== 'string') throw invalid('string', s);
    if (s.length < 64 && this.ascii(s, compact)) return;
    const n = Buffer.byteLength(s, 'utf8');
    if (!compact && n > 0x7fff) throw invalid(`string of ${n} bytes (max 32767)`, s);
    this.len(n, compact, true);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  /** Fast path for short ASCII strings: writes length and bytes in one pass; false when not ASCII. */
  private ascii(s: string, compact: boolean): boolean {
    const n = s.length;
    this.ensure(n + 2);
    const b = this.buf;
    let p = this.pos + (compact ? 1 : 2);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      b[p++] = c;
    }
    if (compact) b[this.pos] = n + 1;
    else {
      b[this.pos] = n >>> 8;
      b[this.pos + 1] = n;
    }
    this.pos = p;
    return true;
  }

  bytes(b: Buffer, compact: boolean): void {
    this.nbytes(b, compact, false);
  }

  nbytes(b: Buffer | null, compact: boolean, nullable = true): void {
    if (b === null) {
      this.nullOk(nullable, 'bytes');
      this.len(-1, compact, false);
      return;
    }
    if (!(b instanceof Uint8Array)) throw invalid('bytes', b);
    this.len(b.length, compact, false);
    this.raw(b);
  }

  /** Raw bytes: large ones are referenced (the caller must not modify them until sent). */
  raw(b: Uint8Array): void {
    const n = b.length;
    if (n >= ZERO_COPY_MIN_BYTES) {
      this.flush();
      const chunk = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, n);
      this.done.push(chunk);
      this.doneBytes += n;
      return;
    }
    this.ensure(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  array<T>(a: readonly T[], compact: boolean, write: (w: Writer, x: T) => void): void {
    this.narray(a, compact, write, false);
  }

  narray<T>(
    a: readonly T[] | null,
    compact: boolean,
    write: (w: Writer, x: T) => void,
    nullable = true,
  ): void {
    if (a === null) {
      this.nullOk(nullable, 'array');
      this.len(-1, compact, false);
      return;
    }
    if (!Array.isArray(a)) throw invalid('array', a);
    this.len(a.length, compact, false);
    for (let i = 0; i < a.length; i++) write(this, a[i] as T);
  }

  /** Nullable struct marker: writes -1 (null) or 1 when the version is nullable. True when the struct follows. */
  present(o: object | null, nullable: boolean): boolean {
    if (o === null) {
      this.nullOk(nullable, 'struct');
      this.int8(-1);
      return false;
    }
    if (nullable) this.int8(1);
    return true;
  }

  /** Starts a tagged-field section; queue known fields with `tag()`, then call `endTags()`. */
  beginTags(): void {
    this.tagStack.push([]);
  }

  /** Queues a known tagged field (only non-default values are queued by the generated code). */
  tag(tag: number, write: TagWrite): void {
    this.tagStack[this.tagStack.length - 1]!.push(tag, write);
  }

  /** Writes the queued known tagged fields and the unknown ones, in ascending tag order. */
  endTags(unknown: readonly TaggedField[] | undefined): void {
    const known = this.tagStack.pop() ?? [];
    this.writeTags(known, unknown);
  }

  /** A tagged-field section with no known fields (most structs). */
  noTags(unknown: readonly TaggedField[] | undefined): void {
    if (unknown === undefined || unknown.length === 0) {
      this.ensure(1);
      this.buf[this.pos++] = 0;
      return;
    }
    this.writeTags([], unknown);
  }

  private writeTags(known: (number | TagWrite)[], unknown: readonly TaggedField[] | undefined): void {
    const entries: { tag: number; data: Uint8Array }[] = [];
    for (let i = 0; i < known.length; i += 2) {
      const sub = new Writer(64);
      (known[i + 1] as TagWrite)(sub);
      entries.push({ tag: known[i] as number, data: sub.toBuffer() });
    }
    if (unknown !== undefined) {
      if (!Array.isArray(unknown)) throw invalid('unknown tagged fields', unknown);
      for (const u of unknown) {
        if (u === null || typeof u !== 'object' || !(u.data instanceof Uint8Array))
          throw invalid('unknown tagged field', u);
        entries.push({ tag: u.tag, data: u.data });
      }
    }
    if (entries.length > 1) entries.sort((a, b) => a.tag - b.tag);
    this.uvarint(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (i > 0 && entries[i - 1]!.tag === e.tag) throw invalid(`duplicate tag ${e.tag}`, e.tag);
      this.uvarint(e.tag);
      this.uvarint(e.data.length);
      this.raw(e.data);
    }
  }
}
