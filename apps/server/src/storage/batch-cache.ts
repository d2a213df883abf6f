// Recent record batches kept in memory, shared by every partition under one byte budget, so that
// tailing consumers are served without reading the disk while memory stays bounded however many
// partitions there are. Oldest-inserted entries are evicted first.
//
// A cached batch is usually a view into the request frame it arrived in (no copy). What counts
// against the budget is the memory kept alive: each underlying buffer once, whole, for as long as
// any cached view of it remains — so several partitions' batches from one request share one frame,
// and a view never holds more memory than the budget says.
export class BatchCache {
  private readonly entries = new Map<string, Buffer>();
  /** Cached views per underlying buffer. */
  private readonly views = new Map<ArrayBufferLike, number>();
  private bytes = 0;
  private nextOwner = 1;

  constructor(readonly maxBytes: number) {}

  /** Memory the cached batches keep alive (their underlying buffers, each counted once). */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** A fresh owner id for a partition (keys are owner:entryIndex). */
  owner(): number {
    return this.nextOwner++;
  }

  get(owner: number, index: number): Buffer | undefined {
    return this.entries.get(`${owner}:${index}`);
  }

  has(owner: number, index: number): boolean {
    return this.entries.has(`${owner}:${index}`);
  }

  /** Caches `data` (kept as given: pass a copy if its buffer is much larger than it). */
  set(owner: number, index: number, data: Buffer): void {
    if (data.buffer.byteLength > this.maxBytes) return;
    const key = `${owner}:${index}`;
    const old = this.entries.get(key);
    if (old) this.unpin(old);
    this.entries.set(key, data);
    this.pin(data);
    while (this.bytes > this.maxBytes) {
      const first = this.entries.entries().next().value as [string, Buffer] | undefined;
      if (first === undefined) break;
      this.entries.delete(first[0]);
      this.unpin(first[1]);
    }
  }

  delete(owner: number, index: number): void {
    const key = `${owner}:${index}`;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.unpin(old);
    }
  }

  private pin(data: Buffer): void {
    const n = this.views.get(data.buffer) ?? 0;
    if (n === 0) this.bytes += data.buffer.byteLength;
    this.views.set(data.buffer, n + 1);
  }

  private unpin(data: Buffer): void {
    const n = this.views.get(data.buffer) ?? 0;
    if (n <= 1) {
      this.views.delete(data.buffer);
      this.bytes -= data.buffer.byteLength;
    } else {
      this.views.set(data.buffer, n - 1);
    }
  }
}
