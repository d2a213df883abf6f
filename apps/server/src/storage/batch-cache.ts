// Recent record batches kept in memory, shared by every partition under one byte budget, so that
// tailing consumers are served without reading the disk while memory stays bounded however many
// partitions there are. Oldest-inserted entries are evicted first.
export class BatchCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;
  private nextOwner = 1;

  constructor(readonly maxBytes: number) {}

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

  set(owner: number, index: number, data: Buffer): void {
    if (data.length > this.maxBytes) return;
    const key = `${owner}:${index}`;
    const old = this.entries.get(key);
    if (old) this.bytes -= old.length;
    this.entries.set(key, data);
    this.bytes += data.length;
    while (this.bytes > this.maxBytes) {
      const first = this.entries.entries().next().value as [string, Buffer] | undefined;
      if (first === undefined) break;
      this.entries.delete(first[0]);
      this.bytes -= first[1].length;
    }
  }

  delete(owner: number, index: number): void {
    const key = `${owner}:${index}`;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.length;
    }
  }
}
