// The storage seam under a standalone partition (partition/local-partition.ts): an append-only log
// of entries (one Kafka record batch each) addressed by a dense index. The production
// implementation sits on @chronik/wal (wal-entry-log.ts); MemoryEntryLog is the reference used by
// tests.
//
// Contract:
// - `append` assigns indexes nextIndex(), nextIndex()+1, … synchronously at call time, in call order,
//   and resolves once the bytes are written (not necessarily durable).
// - `sync` resolves when everything appended before the call is durable (group commit: concurrent
//   callers share one fsync).
// - `read(from, to, maxBytes)` returns entries [from, to) in order, stopping before maxBytes would be
//   exceeded but always returning at least one entry when from < to.
// - `truncatePrefix(i)` drops entries below i; implementations may keep some (whole segments), so
//   `firstIndex()` may stay below i.
// - Small files kept beside the log (a partition's log-start checkpoint, its index snapshot) are read
//   whole and replaced atomically and durably: after `writeFile` resolves, a crash leaves the new
//   content.
import { crc32cOf } from './crc32c.js';

/**
 * One entry to append. `data` is referenced, not copied, until append() settles. `crc`, when
 * given, is the CRC-32C of `data` (the caller derived it from a checksum it verified), so the log
 * need not read the bytes again; implementations may ignore it.
 */
export interface EntryInput {
  data: Buffer;
  timestampMs: number;
  crc?: number;
}

export interface EntryLog {
  firstIndex(): number;
  nextIndex(): number;
  append(entries: readonly EntryInput[]): Promise<void>;
  sync(): Promise<void>;
  read(fromIndex: number, toIndex: number, maxBytes: number): Promise<Buffer[]>;
  truncatePrefix(firstKept: number): Promise<void>;
  close(): Promise<void>;
  /** A small file kept beside the log, or undefined when there is none. */
  readFile(name: string): Promise<Buffer | undefined>;
  /** Replaces a small file beside the log, atomically and durably. */
  writeFile(name: string, data: Uint8Array): Promise<void>;
  removeFile(name: string): Promise<void>;
}

export interface EntryLogFactory {
  /**
   * Creates the directories of new, empty logs, durably (their parents synced): a log whose
   * directory was prepared and is later missing was lost, not never written.
   */
  prepare(dirs: readonly string[]): Promise<void>;
  /** Whether `dir` (a log's directory) exists. */
  exists(dir: string): Promise<boolean>;
  /** Opens (or creates) the log in `dir`. */
  open(dir: string): Promise<EntryLog>;
  /** Removes the log in `dir` and everything in it. */
  remove(dir: string): Promise<void>;
}

export class MemoryEntryLog implements EntryLog {
  private entries: Buffer[] = [];
  /** The files beside the log. */
  readonly files = new Map<string, Buffer>();
  private first = 0;
  syncs = 0;
  closed = false;
  appendHook: (() => Promise<void>) | undefined;

  firstIndex(): number {
    return this.first;
  }
  nextIndex(): number {
    return this.first + this.entries.length;
  }
  async append(entries: readonly EntryInput[]): Promise<void> {
    // The reference checks what a real log would trust.
    for (const e of entries) {
      if (e.crc !== undefined && e.crc !== crc32cOf(e.data))
        throw new Error(`MemoryEntryLog: entry crc ${e.crc} does not match its data`);
    }
    for (const e of entries) this.entries.push(Buffer.from(e.data));
    if (this.appendHook) await this.appendHook();
  }
  async sync(): Promise<void> {
    this.syncs++;
    await Promise.resolve();
  }
  async read(fromIndex: number, toIndex: number, maxBytes: number): Promise<Buffer[]> {
    await Promise.resolve();
    const out: Buffer[] = [];
    let bytes = 0;
    for (let i = Math.max(fromIndex, this.first); i < Math.min(toIndex, this.nextIndex()); i++) {
      const e = this.entries[i - this.first] as Buffer;
      if (out.length > 0 && bytes + e.length > maxBytes) break;
      out.push(e);
      bytes += e.length;
    }
    return out;
  }
  async truncatePrefix(firstKept: number): Promise<void> {
    await Promise.resolve();
    const n = Math.min(Math.max(0, firstKept - this.first), this.entries.length);
    this.entries = this.entries.slice(n);
    this.first += n;
  }
  async close(): Promise<void> {
    this.closed = true;
    await Promise.resolve();
  }
  async readFile(name: string): Promise<Buffer | undefined> {
    await Promise.resolve();
    return this.files.get(name);
  }
  async writeFile(name: string, data: Uint8Array): Promise<void> {
    await Promise.resolve();
    this.files.set(name, Buffer.from(data));
  }
  async removeFile(name: string): Promise<void> {
    await Promise.resolve();
    this.files.delete(name);
  }
}
