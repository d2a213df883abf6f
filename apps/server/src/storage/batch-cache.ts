// Recent record batches kept in memory, shared by every partition under one byte budget, so that
// tailing consumers are served without reading the disk while memory stays bounded however many
// partitions there are.
//
// The batches are copied into a ring of fixed slabs that are allocated once and then reused:
// caching views of the request frames instead (no copy) kept every frame alive for as long as it
// was cached, long enough for V8 to promote it to the old generation, and at hundreds of MB/s
// those frames forced a full mark-compact every ~100 ms (about 18 % of the broker's CPU at 600
// MB/s of produce). Copying a batch that was just read and checked is cheaper than that.
//
// Eviction is by slab, oldest first: when the ring comes back to a slab, every batch in it goes.
// A batch larger than one slab is not cached (its readers go to the log).
export const DEFAULT_SLAB_BYTES = 4 * 1024 * 1024;

interface Slab {
  /** Allocated when the ring first reaches the slab. */
  buf: Buffer | undefined;
  /** Bumped each time the slab is reused, so stale keys of an earlier round are told apart. */
  round: number;
  keys: string[];
}

interface Entry {
  slab: number;
  round: number;
  start: number;
  length: number;
}

export class BatchCache {
  private readonly entries = new Map<string, Entry>();
  private readonly slabs: Slab[];
  readonly slabBytes: number;
  /** Slab being filled and the next free byte in it. */
  private current = 0;
  private position = 0;
  private bytes = 0;
  private nextOwner = 1;

  /**
   * `maxBytes` is the budget: memory held, in slabs of `slabBytes` (at most the budget), allocated
   * as the ring first reaches them.
   */
  constructor(
    readonly maxBytes: number,
    slabBytes = DEFAULT_SLAB_BYTES,
  ) {
    this.slabBytes = Math.max(1, Math.min(slabBytes, maxBytes));
    const count = Math.max(1, Math.floor(maxBytes / this.slabBytes));
    this.slabs = Array.from({ length: count }, () => ({ buf: undefined, round: 0, keys: [] }));
  }

  /** Bytes of the batches cached now. */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** Bytes of slab memory allocated so far (at most maxBytes). */
  get allocatedBytes(): number {
    let n = 0;
    for (const s of this.slabs) n += s.buf?.length ?? 0;
    return n;
  }

  /** A fresh owner id for a partition (keys are owner:entryIndex). */
  owner(): number {
    return this.nextOwner++;
  }

  /** A copy of the cached batch (the slab it lives in is reused later), or undefined. */
  get(owner: number, index: number): Buffer | undefined {
    const e = this.entries.get(`${owner}:${index}`);
    if (e === undefined) return undefined;
    const src = (this.slabs[e.slab] as Slab).buf as Buffer;
    const out = Buffer.allocUnsafe(e.length);
    src.copy(out, 0, e.start, e.start + e.length);
    return out;
  }

  has(owner: number, index: number): boolean {
    return this.entries.has(`${owner}:${index}`);
  }

  /** Caches a copy of `data` (the caller may reuse `data` afterwards). */
  set(owner: number, index: number, data: Uint8Array): void {
    const key = `${owner}:${index}`;
    this.remove(key);
    if (data.length === 0 || data.length > this.slabBytes) return;
    if (this.position + data.length > this.slabBytes) {
      this.current = (this.current + 1) % this.slabs.length;
      this.position = 0;
      this.evict(this.current);
    }
    const slab = this.slabs[this.current] as Slab;
    slab.buf ??= Buffer.allocUnsafe(this.slabBytes);
    slab.buf.set(data, this.position);
    this.entries.set(key, {
      slab: this.current,
      round: slab.round,
      start: this.position,
      length: data.length,
    });
    slab.keys.push(key);
    this.position += data.length;
    this.bytes += data.length;
  }

  delete(owner: number, index: number): void {
    this.remove(`${owner}:${index}`);
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.bytes -= e.length;
  }

  /** Drops every batch still cached in slab `i`, which is about to be overwritten. */
  private evict(i: number): void {
    const slab = this.slabs[i] as Slab;
    for (const key of slab.keys) {
      const e = this.entries.get(key);
      if (e !== undefined && e.slab === i && e.round === slab.round) this.remove(key);
    }
    slab.keys = [];
    slab.round++;
  }
}
