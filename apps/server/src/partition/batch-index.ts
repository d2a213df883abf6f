// The in-memory index of a partition: one row per stored record batch (base and last offset, entry
// index in the log, the batch's byte offset inside that entry, max timestamp, leader epoch, size),
// in columns of typed arrays — about 48 bytes per batch instead of a JS object — with O(log n)
// lookup by offset and O(1) amortized removal from the front (retention, DeleteRecords).
// Offsets and timestamps are held as doubles: exact below 2^53.
//
// Log compaction (docs/design/compaction.md) changes rows in place: a row may be replaced (its
// batch, rewritten by the cleaner, now lives inside a relocation entry: `inner` > 0) or removed
// (the cleaner dropped the whole batch). Removed rows stay as dead rows (size 0) until they are
// more than the live ones, then the columns are compacted in one sweep; readers skip them
// (`isLive`). A row upserted below the last one (replaying relocations after a restart, when the
// rows they replace were not rebuilt) waits in a side table and is merged in offset order before
// the next lookup. Invariants: rows are in offset order, offsets never overlap, and every live row
// has a size > 0 (a batch is at least 61 bytes).

export interface BatchMeta {
  entryIndex: number;
  /** The batch's byte offset inside its entry: 0 when the entry is the batch itself. */
  inner: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  epoch: number;
  bytes: number;
}

const INITIAL_CAPACITY = 64;
/** Bytes per row in toBuffer's layout (v2, with the inner column). */
const ROW_BYTES = 48;
/** toBuffer's v1 layout (no inner column), still read. */
const ROW_BYTES_V1 = 44;
/** Dead rows are swept out once there are more of them than this and than live rows. */
const MIN_DEAD_TO_SWEEP = 64;

export class BatchIndex {
  private base: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private last: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private entry: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private ts: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private epochs: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private sizes: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private inners: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private start = 0;
  private end = 0;
  private total = 0;
  private dead = 0;
  /** Rows in relocation entries (inner > 0), live ones only. */
  private relocatedRows = 0;
  /** Upserted rows that belong before the last row, by base offset, merged before the next lookup. */
  private readonly pending = new Map<number, BatchMeta>();

  /** Rows, dead ones included (0 = the oldest batch kept). */
  get length(): number {
    this.settle();
    return this.end - this.start;
  }

  /** Live rows. */
  get liveCount(): number {
    this.settle();
    return this.end - this.start - this.dead;
  }

  /** Sum of the live batches' sizes. */
  get totalBytes(): number {
    this.settle();
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
    this.inners = move(this.inners, (n) => new Int32Array(n));
    this.start = 0;
    this.end = live;
  }

  /** Appends a row after the last one (its offsets follow every row's, pending ones included). */
  push(m: BatchMeta): void {
    if (this.end === this.base.length) this.grow();
    const i = this.end++;
    this.write(i, m);
  }

  private write(i: number, m: BatchMeta): void {
    this.base[i] = Number(m.baseOffset);
    this.last[i] = Number(m.lastOffset);
    this.entry[i] = m.entryIndex;
    this.ts[i] = Number(m.maxTimestamp);
    this.epochs[i] = m.epoch;
    this.sizes[i] = m.bytes;
    this.inners[i] = m.inner;
    this.total += m.bytes;
    if (m.inner > 0) this.relocatedRows++;
  }

  /** Row i (0 = the oldest batch kept). */
  at(i: number): BatchMeta {
    this.settle();
    const k = this.start + i;
    if (i < 0 || k >= this.end) throw new RangeError(`batch ${i} outside 0..${this.length - 1}`);
    return {
      entryIndex: this.entry[k] as number,
      inner: this.inners[k] as number,
      baseOffset: BigInt(this.base[k] as number),
      lastOffset: BigInt(this.last[k] as number),
      maxTimestamp: BigInt(this.ts[k] as number),
      epoch: this.epochs[k] as number,
      bytes: this.sizes[k] as number,
    };
  }

  // The column readers below index settled rows: callers got `i` from length, findByOffset or at.
  isLive(i: number): boolean {
    return (this.sizes[this.start + i] as number) > 0;
  }
  entryIndexAt(i: number): number {
    return this.entry[this.start + i] as number;
  }
  innerAt(i: number): number {
    return this.inners[this.start + i] as number;
  }
  bytesAt(i: number): number {
    return this.sizes[this.start + i] as number;
  }
  baseOffsetAt(i: number): number {
    return this.base[this.start + i] as number;
  }
  lastOffsetAt(i: number): number {
    return this.last[this.start + i] as number;
  }
  maxTimestampAt(i: number): number {
    return this.ts[this.start + i] as number;
  }
  epochAt(i: number): number {
    return this.epochs[this.start + i] as number;
  }

  /** The first row whose last offset is >= offset (length when none); it may be dead. */
  findByOffset(offset: bigint): number {
    this.settle();
    const target = Number(offset);
    let lo = 0;
    let hi = this.end - this.start;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.last[this.start + mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first live row at or after row i (length when none). */
  nextLive(i: number): number {
    const n = this.end - this.start;
    let k = i;
    while (k < n && (this.sizes[this.start + k] as number) === 0) k++;
    return k;
  }

  /** The row whose base offset is exactly `baseOffset` and that is live, or -1. */
  private findExact(baseOffset: number): number {
    const n = this.end - this.start;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.last[this.start + mid] as number) < baseOffset) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && this.base[this.start + lo] === baseOffset && (this.sizes[this.start + lo] as number) > 0)
      return lo;
    return -1;
  }

  /**
   * Puts the row for `m.baseOffset` in place: replaces the live row with that base offset, or adds
   * it in offset order (after the last row at once; before it once merged, see `pending`).
   */
  upsert(m: BatchMeta): void {
    const b = Number(m.baseOffset);
    const pend = this.pending.get(b);
    if (pend !== undefined) {
      this.pending.set(b, m);
      return;
    }
    const i = this.findExact(b);
    if (i >= 0) {
      const k = this.start + i;
      this.total -= this.sizes[k] as number;
      if ((this.inners[k] as number) > 0) this.relocatedRows--;
      this.write(k, m);
      return;
    }
    const n = this.end - this.start;
    if (this.pending.size === 0 && (n === 0 || (this.last[this.end - 1] as number) < b)) this.push(m);
    else this.pending.set(b, m);
  }

  /** Removes the live row with base offset `baseOffset` (nothing when there is none). */
  remove(baseOffset: bigint): void {
    const b = Number(baseOffset);
    if (this.pending.delete(b)) return;
    const i = this.findExact(b);
    if (i < 0) return;
    const k = this.start + i;
    this.total -= this.sizes[k] as number;
    if ((this.inners[k] as number) > 0) this.relocatedRows--;
    this.sizes[k] = 0;
    this.dead++;
    if (this.dead > MIN_DEAD_TO_SWEEP && this.dead * 2 > this.end - this.start) this.sweep();
  }

  /** Removes the n oldest rows (dead ones included); returns the entry indexes of the live ones. */
  dropFront(n: number): number[] {
    this.settle();
    const k = Math.min(n, this.end - this.start);
    const dropped: number[] = [];
    for (let i = 0; i < k; i++) {
      const at = this.start + i;
      const size = this.sizes[at] as number;
      if (size === 0) {
        this.dead--;
        continue;
      }
      dropped.push(this.entry[at] as number);
      this.total -= size;
      if ((this.inners[at] as number) > 0) this.relocatedRows--;
    }
    this.start += k;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return dropped;
  }

  /** The smallest entry index of a live row, or undefined when there is none. */
  minEntryIndex(): number | undefined {
    this.settle();
    let min = Number.POSITIVE_INFINITY;
    if (this.relocatedRows === 0) {
      // Original batches only: positions rise with offsets, the first live row has the smallest.
      const i = this.nextLive(0);
      return i < this.end - this.start ? this.entryIndexAt(i) : undefined;
    }
    for (let k = this.start; k < this.end; k++)
      if ((this.sizes[k] as number) > 0 && (this.entry[k] as number) < min) min = this.entry[k] as number;
    return min === Number.POSITIVE_INFINITY ? undefined : min;
  }

  /** Removes the live rows whose entry index is below `entryIndex` (their entries are gone). */
  removeEntriesBelow(entryIndex: number): void {
    this.settle();
    for (let k = this.start; k < this.end; k++) {
      const size = this.sizes[k] as number;
      if (size > 0 && (this.entry[k] as number) < entryIndex) {
        this.total -= size;
        if ((this.inners[k] as number) > 0) this.relocatedRows--;
        this.sizes[k] = 0;
        this.dead++;
      }
    }
    this.sweep();
  }

  /** Merges the pending rows in offset order. */
  private settle(): void {
    if (this.pending.size === 0) return;
    const rows = [...this.pending.values()].sort((a, b) =>
      a.baseOffset < b.baseOffset ? -1 : a.baseOffset > b.baseOffset ? 1 : 0,
    );
    this.pending.clear();
    const old = {
      base: this.base,
      last: this.last,
      entry: this.entry,
      ts: this.ts,
      epochs: this.epochs,
      sizes: this.sizes,
      inners: this.inners,
    };
    const from = this.start;
    const to = this.end;
    const capacity = Math.max(INITIAL_CAPACITY, (to - from - this.dead + rows.length) * 2);
    this.base = new Float64Array(capacity);
    this.last = new Float64Array(capacity);
    this.entry = new Float64Array(capacity);
    this.ts = new Float64Array(capacity);
    this.epochs = new Int32Array(capacity);
    this.sizes = new Int32Array(capacity);
    this.inners = new Int32Array(capacity);
    this.start = 0;
    this.end = 0;
    this.total = 0;
    this.dead = 0;
    this.relocatedRows = 0;
    let r = 0;
    for (let k = from; k < to; k++) {
      if ((old.sizes[k] as number) === 0) continue;
      const b = old.base[k] as number;
      while (r < rows.length && Number((rows[r] as BatchMeta).baseOffset) < b)
        this.push(rows[r++] as BatchMeta);
      const i = this.end++;
      this.base[i] = b;
      this.last[i] = old.last[k] as number;
      this.entry[i] = old.entry[k] as number;
      this.ts[i] = old.ts[k] as number;
      this.epochs[i] = old.epochs[k] as number;
      this.sizes[i] = old.sizes[k] as number;
      this.inners[i] = old.inners[k] as number;
      this.total += old.sizes[k] as number;
      if ((old.inners[k] as number) > 0) this.relocatedRows++;
    }
    while (r < rows.length) this.push(rows[r++] as BatchMeta);
  }

  /** Moves the live rows together (dead ones go). */
  private sweep(): void {
    let w = this.start;
    for (let k = this.start; k < this.end; k++) {
      if ((this.sizes[k] as number) === 0) continue;
      if (w !== k) {
        this.base[w] = this.base[k] as number;
        this.last[w] = this.last[k] as number;
        this.entry[w] = this.entry[k] as number;
        this.ts[w] = this.ts[k] as number;
        this.epochs[w] = this.epochs[k] as number;
        this.sizes[w] = this.sizes[k] as number;
        this.inners[w] = this.inners[k] as number;
      }
      w++;
    }
    this.end = w;
    this.dead = 0;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
  }

  /** The live rows as bytes (for the partition snapshots): count, then each column. */
  toBuffer(): Buffer {
    this.settle();
    if (this.dead > 0) this.sweep();
    const n = this.end - this.start;
    const out = Buffer.alloc(4 + n * ROW_BYTES);
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
    put(this.inners);
    return out;
  }

  /** Reads toBuffer's bytes (`v1`: the layout before compaction, without the inner column). */
  static fromBuffer(b: Buffer, v1 = false): BatchIndex {
    const n = b.readUInt32BE(0);
    const rowBytes = v1 ? ROW_BYTES_V1 : ROW_BYTES;
    if (b.length !== 4 + n * rowBytes)
      throw new Error(`batch index of ${n} rows needs ${4 + n * rowBytes} bytes, got ${b.length}`);
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
    idx.inners = v1 ? new Int32Array(Math.max(n, INITIAL_CAPACITY)) : i32();
    idx.end = n;
    for (let i = 0; i < n; i++) {
      const size = idx.sizes[i] as number;
      if (size <= 0) throw new Error(`batch index row ${i} has size ${size}`);
      idx.total += size;
      if ((idx.inners[i] as number) > 0) idx.relocatedRows++;
    }
    return idx;
  }
}
