/** In-memory state of one segment file and reference-counted file handles. */
import type { WalFile } from '@chronik/env';
import type { IndexEntry } from './format.js';

/** A file handle shared by writers and readers; closed once retired and no longer in use. */
export class SharedFile {
  private refs = 0;
  private retired = false;
  constructor(readonly file: WalFile) {}

  acquire(): this {
    this.refs++;
    return this;
  }

  release(): void {
    this.refs--;
    if (this.retired && this.refs === 0) void this.file.close().catch(() => {});
  }

  /** Closes now if unused, otherwise when the last user releases it. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.refs === 0) void this.file.close().catch(() => {});
  }

  get inUse(): boolean {
    return this.refs > 0;
  }
}

export class Segment {
  /** Index of the last record; firstIndex - 1 when the segment holds none. */
  lastIndex: number;
  /** Bytes written (and readable): header plus complete records. */
  size: number;
  /** Sparse index, ascending by index and position; the first record always has an entry. */
  sparse: IndexEntry[] = [];
  /** Position of the last sparse entry (for the spacing rule). */
  lastIndexedPosition = -1;
  /** Largest record timestamp in the segment, -1 if none (an upper bound after truncation). */
  maxTimestampMs = -1;
  /** The write handle while this is the active (last) segment. */
  writer: SharedFile | undefined;

  constructor(
    readonly firstIndex: number,
    readonly createdAtMs: number,
    readonly path: string,
    readonly indexPath: string,
    size: number,
  ) {
    this.lastIndex = firstIndex - 1;
    this.size = size;
  }

  get recordCount(): number {
    return this.lastIndex - this.firstIndex + 1;
  }

  /** Adds a sparse entry for a record at `position` if the spacing rule asks for one. */
  noteRecord(index: number, position: number, timestampMs: number | undefined, intervalBytes: number): void {
    if (this.sparse.length === 0 || position - this.lastIndexedPosition >= intervalBytes) {
      this.sparse.push({ index, position, maxTimestampBeforeMs: this.maxTimestampMs });
      this.lastIndexedPosition = position;
    }
    if (timestampMs !== undefined && timestampMs > this.maxTimestampMs) this.maxTimestampMs = timestampMs;
    this.lastIndex = index;
  }

  /** The sparse entry to start a scan for `index` from. */
  seek(index: number): IndexEntry {
    const s = this.sparse;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]!.index <= index) lo = mid;
      else hi = mid - 1;
    }
    return s[lo]!;
  }

  /** Drops sparse entries past `lastIndex` after a suffix truncation. */
  dropAfter(lastIndex: number, size: number): void {
    this.sparse = this.sparse.filter((e) => e.index <= lastIndex);
    this.lastIndexedPosition = this.sparse.length > 0 ? this.sparse[this.sparse.length - 1]!.position : -1;
    this.lastIndex = lastIndex;
    this.size = size;
  }
}
