// Big-endian writer and reader of the `__consumer_offsets` record formats (records.ts: Kafka's own
// classic layouts; consumer-records.ts: the consumer group protocol's records). Strings are
// int16-length UTF-8 (-1 for null), bytes int32-length. A read past the end is a GroupError
// CORRUPT_RECORD naming what was being read.
import { GroupError, GroupErrorCode } from './errors.js';

export class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  int64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 32767)
      throw new GroupError(
        GroupErrorCode.CORRUPT_RECORD,
        `string of ${n} bytes does not fit an int16 length`,
      );
    this.int16(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }
  bytes(b: Uint8Array): this {
    this.int32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** A UUID as its 16 bytes (from the 8-4-4-4-12 hex form). */
  uuid(id: string): this {
    const hex = id.replace(/-/g, '');
    if (!/^[0-9a-fA-F]{32}$/.test(hex))
      throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `${JSON.stringify(id)} is not a UUID`);
    this.ensure(16);
    this.pos += this.buf.write(hex, this.pos, 'hex');
    return this;
  }
  done(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.pos));
  }
}

export class Reader {
  private pos = 0;
  private readonly view: Buffer;
  constructor(
    data: Uint8Array,
    private readonly what: string,
  ) {
    this.view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.view.length) {
      throw new GroupError(
        GroupErrorCode.CORRUPT_RECORD,
        `${this.what}: truncated at byte ${this.pos} (needs ${n} more)`,
      );
    }
  }
  int8(): number {
    this.need(1);
    const v = this.view.readInt8(this.pos);
    this.pos += 1;
    return v;
  }
  int16(): number {
    this.need(2);
    const v = this.view.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.view.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.view.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  int64Number(): number {
    return Number(this.int64());
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    this.need(n);
    const s = this.view.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  string(): string {
    const s = this.nullableString();
    if (s === null)
      throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `${this.what}: null where a string is required`);
    return s;
  }
  bytes(): Uint8Array {
    const n = this.int32();
    if (n < 0) return new Uint8Array(0);
    this.need(n);
    const b = new Uint8Array(this.view.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
  /** A UUID written by Writer.uuid, in its lower-case 8-4-4-4-12 form. */
  uuid(): string {
    this.need(16);
    const h = this.view.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
