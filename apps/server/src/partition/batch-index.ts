// The in-memory index of a partition: one row per stored record batch (base and last offset, entry
// index in the log, max timestamp, leader epoch, size), in columns of typed arrays — about 44 bytes
// per batch instead of a JS object — with O(log n) lookup by offset and O(1) amortized removal from
// the front (retention, DeleteRecords). Offsets and timestamps are held as doubles: exact below 2^53.

export interface BatchMeta {
  entryIndex: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  epoch: number;
  bytes: number;
}

const INITIAL_CAPACITY = 64;

export class BatchIndex {
  private base: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private last: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private entry: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private ts: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private epochs: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private sizes: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private start = 0;
  private end = 0;
  private total = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** Sum of the batches' sizes. */
  get totalBytes(): number {
    return this.total;
  }

  private grow(): void {
    const live = this.end - this.start;
    const capacity = this.base.length;
    const next = live * 2 < capacity ? capacity : capacity * 2;
    const move = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(next);
      b.set(a.subarray(this.start, this.end));
      return b;
    };
    this.base = move(this.base, (n) => new Float64Array(n));
    this.last = move(this.last, (n) => new Float64Array(n));
    this.entry = move(this.entry, (n) => new Float64Array(n));
    this.ts = move(this.ts, (n) => new Float64Array(n));
    this.epochs = move(this.epochs, (n) => new Int32Array(n));
    this.sizes = move(this.sizes, (n) => new Int32Array(n));
    this.start = 0;
    this.end = live;
  }

  push(m: BatchMeta): void {
    if (this.end === this.base.length) this.grow();
    const i = this.end++;
    this.base[i] = Number(m.baseOffset);
    this.last[i] = Number(m.lastOffset);
    this.entry[i] = m.entryIndex;
    this.ts[i] = Number(m.maxTimestamp);
    this.epochs[i] = m.epoch;
    this.sizes[i] = m.bytes;
    this.total += m.bytes;
  }

  /** Row i (0 = the oldest batch kept). */
  at(i: number): BatchMeta {
    const k = this.start + i;
    if (i < 0 || k >= this.end) throw new RangeError(`batch ${i} outside 0..${this.length - 1}`);
    return {
      entryIndex: this.entry[k] as number,
      baseOffset: BigInt(this.base[k] as number),
      lastOffset: BigInt(this.last[k] as number),
      maxTimestamp: BigInt(this.ts[k] as number),
      epoch: this.epochs[k] as number,
      bytes: this.sizes[k] as number,
    };
  }

  entryIndexAt(i: number): number {
    return this.entry[this.start + i] as number;
  }
  bytesAt(i: number): number {
    return this.sizes[this.start + i] as number;
  }
  lastOffsetAt(i: number): number {
    return this.last[this.start + i] as number;
  }
  maxTimestampAt(i: number): number {
    return this.ts[this.start + i] as number;
  }

  /** The first row whose last offset is >= offset (length when none). */
  findByOffset(offset: bigint): number {
    const target = Number(offset);
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.last[this.start + mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Removes the n oldest rows; returns their entry indexes. */
  dropFront(n: number): number[] {
    const k = Math.min(n, this.length);
    const dropped: number[] = [];
    for (let i = 0; i < k; i++) {
      dropped.push(this.entry[this.start + i] as number);
      this.total -= this.sizes[this.start + i] as number;
    }
    this.start += k;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return dropped;
  }

  /** The rows as bytes (for the clean-shutdown snapshot): count, then each column. */
  toBuffer(): Buffer {
    const n = this.length;
    const out = Buffer.alloc(4 + n * 44);
    out.writeUInt32BE(n, 0);
    let off = 4;
    const put = (a: Float64Array | Int32Array): void => {
      const view = a.subarray(this.start, this.end);
      const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
      bytes.copy(out, off);
      off += bytes.length;
    };
    put(this.base);
    put(this.last);
    put(this.entry);
    put(this.ts);
    put(this.epochs);
    put(this.sizes);
    return out;
  }

  static fromBuffer(b: Buffer): BatchIndex {
    const n = b.readUInt32BE(0);
    if (b.length !== 4 + n * 44)
      throw new Error(`batch index of ${n} rows needs ${4 + n * 44} bytes, got ${b.length}`);
    const idx = new BatchIndex();
    let off = 4;
    const f64 = (): Float64Array => {
      const a = new Float64Array(Math.max(n, INITIAL_CAPACITY));
      a.set(new Float64Array(b.buffer.slice(b.byteOffset + off, b.byteOffset + off + n * 8)));
      off += n * 8;
      return a;
    };
    const i32 = (): Int32Array => {
      const a = new Int32Array(Math.max(n, INITIAL_CAPACITY));
      a.set(new Int32Array(b.buffer.slice(b.byteOffset + off, b.byteOffset + off + n * 4)));
      off += n * 4;
      return a;
    };
    idx.base = f64();
    idx.last = f64();
    idx.entry = f64();
    idx.ts = f64();
    idx.epochs = i32();
    idx.sizes = i32();
    idx.end = n;
    for (let i = 0; i < n; i++) idx.total += idx.sizes[i] as number;
    return idx;
  }
}
