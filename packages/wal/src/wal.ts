/**
 * Wal: one segmented, checksummed write-ahead log in one directory.
 *
 * Indexes are assigned densely in append order (the caller decides where a new log starts with
 * `initialIndex`, `reset` and `truncatePrefix`). Every change to the files runs through one
 * serial queue per log, so appends, truncations and rotations hit the disk in call order, while
 * consecutive appends are coalesced into one positional write.
 */
import * as path from 'node:path';
import {
  type Clock,
  type FileSystem,
  type Logger,
  nodeFileSystem,
  silentLogger,
  systemClock,
} from '@chronik/env';
import { GroupCommitter, type Flushable, type SyncPolicy, type WalStats } from './committer.js';
import { WalError, WalErrorCode } from './errors.js';
import {
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  crc,
  decodeRecordHeader,
  encodeRecordHeader,
  encodeSegmentHeader,
  indexFileName,
  segmentFileName,
} from './internal/format.js';
import {
  type RecoverySummary,
  type TailView,
  recover,
  tailView,
  unlinkIfExists,
  writeIndexFile,
  writeMetaFile,
} from './internal/recovery.js';
import { Segment, SharedFile } from './internal/segment.js';

export type { RecoverySummary } from './internal/recovery.js';

export interface WalOptions {
  /** The log's directory (created if missing). One log per directory. */
  readonly dir: string;
  /** Every byte goes through it. Default `nodeFileSystem`. */
  readonly fs?: FileSystem;
  /** The wall clock of segment stamps and segment age (only `nowMs` is read). Default `Date.now`. */
  readonly clock?: Pick<Clock, 'nowMs'>;
  readonly logger?: Logger;
  /** A committer shared with other logs (group commit). Without one the log gets its own, with `syncPolicy`. */
  readonly committer?: GroupCommitter;
  /** Used only when no committer is given. Default `{ kind: 'batch' }`. */
  readonly syncPolicy?: SyncPolicy;
  /** Roll to a new segment before one would grow past this. Default 64 MiB. */
  readonly maxSegmentBytes?: number;
  /** Roll to a new segment when the active one is older than this (checked on append). Default: never. */
  readonly maxSegmentAgeMs?: number;
  /** Largest payload accepted (and trusted when read back). Default 16 MiB, or less if a segment cannot hold that. */
  readonly maxRecordBytes?: number;
  /** Bytes accepted by append() but not yet written; more is rejected with Overloaded. Default 64 MiB. */
  readonly maxPendingBytes?: number;
  /** append() calls queued but not yet written; more are rejected with Overloaded. Default 100 000. */
  readonly maxPendingAppends?: number;
  /**
   * Spacing of the sparse index (bytes between entries). Default 32 KiB: the index of every segment
   * stays in memory, about 40 bytes per interval (~0.12% of the log), and a lookup scans at most one
   * interval.
   */
  readonly indexIntervalBytes?: number;
  /** Read handles kept open for sealed segments (LRU). Default 16. */
  readonly maxOpenReadFiles?: number;
  /**
   * On open, CRC-check every record of every segment (`all`, default), or only the last
   * segment, trusting valid index files of sealed segments (`tail`; damage in sealed segments
   * then surfaces as a Corruption error when read).
   */
  readonly verify?: 'all' | 'tail';
  /**
   * With `verify: 'tail'`: once this many bytes of the active segment are durable beyond the last
   * time, its index up to the durable end is written to its index file (a prefix index, also
   * written by close() when everything written is durable), so that the next open checks only
   * the records after it instead of the whole segment. 0 disables. Default 8 MiB.
   */
  readonly tailIndexIntervalBytes?: number;
  /** Operator option: `truncate` cuts the log at a corruption instead of refusing to open. Default `fail`. */
  readonly onCorruption?: 'fail' | 'truncate';
  /** Index of the first record of a brand-new, empty log. Default 1. */
  readonly initialIndex?: number;
  /** Upper bound on the bytes copied into a `.broken` file. Default 16 MiB. */
  readonly maxBrokenCopyBytes?: number;
  /**
   * Write appended records with a synchronous write on the calling thread (when the file system
   * offers `writeSync`) instead of handing each write to libuv's thread pool. Cuts two thread
   * hand-offs per append, which is most of an append's latency on a busy machine; the price is
   * that the event loop is blocked while the OS copies the bytes into its page cache (at most
   * 8 MiB per write). Durability is unchanged: `sync()` still fdatasyncs. Default false.
   */
  readonly inlineWrites?: boolean;
}

export interface WalRecordInput {
  /**
   * The record's bytes. They are written from this memory, not copied: do not modify them until
   * the append() promise settles.
   */
  readonly payload: Uint8Array;
  /** Caller-defined record type, 0..255. Default 0. */
  readonly type?: number;
  /** Optional timestamp (ms, non-negative integer) indexed for findIndexByTimestamp. */
  readonly timestampMs?: number;
  /**
   * The payload's CRC-32C, when the caller already has it (e.g. derived from a checksum it just
   * verified), so the bytes are not read once more. Trusted as given: a wrong value makes the
   * record fail its check when read (Corruption). Default: computed here.
   */
  readonly payloadCrc?: number;
}

export interface WalRecord {
  readonly index: number;
  readonly type: number;
  readonly timestampMs: number | undefined;
  readonly payload: Buffer;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface AppendOp {
  readonly kind: 'append';
  /** The records' headers, RECORD_HEADER_BYTES each. */
  readonly headers: Buffer;
  /** The callers' payloads, written from their memory (not copied). */
  readonly payloads: Uint8Array[];
  /** Headers and payloads together: what this op adds to the file. */
  readonly bytes: number;
  readonly timestamps: (number | undefined)[];
  readonly firstIndex: number;
  readonly d: Deferred<number>;
}

interface TaskOp {
  readonly kind: 'task';
  readonly run: () => Promise<void>;
  readonly d: Deferred<void>;
}

type Op = AppendOp | TaskOp;

interface ReadRequest {
  readonly file: SharedFile;
  readonly position: number;
  readonly length: number;
}

type ReadPlan<T> = Generator<ReadRequest, T, Buffer>;

const MAX_WRITE_BYTES = 8 << 20;

/** Directories with an open Wal, per file system: a second open in the same process is refused. */
const openDirs = new WeakMap<FileSystem, Set<string>>();

/** The default `maxRecordBytes` for a segment size: 16 MiB, or the most one segment can hold. */
export function defaultMaxRecordBytes(maxSegmentBytes: number): number {
  return Math.max(0, Math.min(16 << 20, maxSegmentBytes - SEGMENT_HEADER_BYTES - RECORD_HEADER_BYTES));
}
const MIN_READ_CHUNK = 16 << 10;
const MAX_READ_CHUNK = 1 << 20;

/** Adds what one log's recovery did to the counters of its committer. */
function countRecovery(stats: WalStats, r: RecoverySummary): void {
  const c = stats.recovery;
  c.logsOpened++;
  if (r.bytesCut > 0 && !r.corruptionTruncated) c.tailsTruncated++;
  c.brokenCopies += r.brokenFiles.length;
  c.segmentsRemoved += r.segmentsRemoved;
  c.tempFilesRemoved += r.tempFilesRemoved;
  c.indexesRebuilt += r.indexesRebuilt;
  if (r.corruptionTruncated) c.corruptionsTruncated++;
}

export class Wal implements Flushable {
  readonly dir: string;
  /** What recovery found when this log was opened. */
  readonly recovery: RecoverySummary;
  private readonly fs: FileSystem;
  private readonly clock: Pick<Clock, 'nowMs'>;
  private readonly logger: Logger;
  private readonly committer: GroupCommitter;
  private readonly ownCommitter: boolean;
  private readonly maxSegmentBytes: number;
  private readonly maxSegmentAgeMs: number;
  private readonly maxRecordBytes: number;
  private readonly maxPendingBytes: number;
  private readonly maxPendingAppends: number;
  private readonly indexIntervalBytes: number;
  private readonly maxOpenReadFiles: number;
  private readonly inlineWrites: boolean;
  private readonly verify: 'all' | 'tail';
  private readonly tailIndexIntervalBytes: number;
  /** The active segment's bytes its (prefix) index file on disk covers, 0 when none. */
  private tailIndexedBytes = 0;
  private tailIndexWriting = false;

  private readonly segments: Segment[];
  private readonly readers = new Map<Segment, SharedFile>();
  private readonly queue: Op[] = [];
  private draining = false;
  private lastOp: Promise<unknown> = Promise.resolve();
  private pendingBytes = 0;
  private failure: WalError | undefined;
  private closed = false;
  /** Bumped by every suffix truncation/reset, so a flush that raced one does not overstate durability. */
  private truncations = 0;

  // Invariants: first - 1 <= durable <= written <= next - 1.
  private first: number;
  private next: number;
  private written: number;
  private durable: number;

  private constructor(
    options: WalOptions,
    segments: Segment[],
    startIndex: number,
    recovery: RecoverySummary,
  ) {
    this.dir = options.dir;
    this.fs = options.fs ?? nodeFileSystem;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.ownCommitter = options.committer === undefined;
    this.committer =
      options.committer ??
      new GroupCommitter({ policy: options.syncPolicy ?? { kind: 'batch' }, logger: this.logger });
    this.maxSegmentBytes = options.maxSegmentBytes ?? 64 << 20;
    this.maxSegmentAgeMs = options.maxSegmentAgeMs ?? Number.POSITIVE_INFINITY;
    this.maxRecordBytes = options.maxRecordBytes ?? defaultMaxRecordBytes(this.maxSegmentBytes);
    this.maxPendingBytes = options.maxPendingBytes ?? 64 << 20;
    this.maxPendingAppends = options.maxPendingAppends ?? 100_000;
    this.indexIntervalBytes = options.indexIntervalBytes ?? 32 * 1024;
    this.maxOpenReadFiles = options.maxOpenReadFiles ?? 16;
    this.inlineWrites = options.inlineWrites ?? false;
    this.verify = options.verify ?? 'all';
    this.tailIndexIntervalBytes = options.tailIndexIntervalBytes ?? 8 << 20;
    this.tailIndexedBytes = recovery.tailIndexedBytes;
    this.segments = segments;
    this.recovery = recovery;
    countRecovery(this.committer.stats, recovery);
    this.first = startIndex;
    const last = segments[segments.length - 1];
    this.next = last ? last.lastIndex + 1 : startIndex;
    this.written = this.next - 1;
    this.durable = this.next - 1;
  }

  /** Opens (creating if needed) the log in `options.dir`, running recovery. */
  static async open(options: WalOptions): Promise<Wal> {
    const fsys = options.fs ?? nodeFileSystem;
    const maxSegmentBytes = options.maxSegmentBytes ?? 64 << 20;
    const maxRecordBytes = options.maxRecordBytes ?? defaultMaxRecordBytes(maxSegmentBytes);
    const initialIndex = options.initialIndex ?? 1;
    if (!Number.isSafeInteger(initialIndex) || initialIndex < 1) {
      throw new WalError(
        WalErrorCode.InvalidArgument,
        `initialIndex must be a positive integer, got ${initialIndex}`,
      );
    }
    if (maxSegmentBytes < SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + maxRecordBytes) {
      throw new WalError(
        WalErrorCode.InvalidArgument,
        'maxSegmentBytes must hold at least one record of maxRecordBytes',
      );
    }
    if (maxRecordBytes > 0x7fffffff)
      throw new WalError(WalErrorCode.InvalidArgument, 'maxRecordBytes must be < 2 GiB');
    const key = path.resolve(options.dir);
    let dirs = openDirs.get(fsys);
    if (!dirs) {
      dirs = new Set();
      openDirs.set(fsys, dirs);
    }
    if (dirs.has(key))
      throw new WalError(
        WalErrorCode.InvalidArgument,
        `a Wal is already open on ${options.dir} in this process`,
      );
    dirs.add(key);
    try {
      return await Wal.openUnlocked(options, fsys, maxRecordBytes, initialIndex);
    } catch (e) {
      dirs.delete(key);
      throw e;
    }
  }

  private static async openUnlocked(
    options: WalOptions,
    fsys: FileSystem,
    maxRecordBytes: number,
    initialIndex: number,
  ): Promise<Wal> {
    const rec = await recover({
      fs: fsys,
      dir: options.dir,
      logger: options.logger ?? silentLogger,
      maxRecordBytes,
      indexIntervalBytes: options.indexIntervalBytes ?? 32 * 1024,
      verify: options.verify ?? 'all',
      onCorruption: options.onCorruption ?? 'fail',
      initialIndex,
      maxBrokenCopyBytes: options.maxBrokenCopyBytes ?? 16 << 20,
    });
    // What recovery found may still sit only in the page cache (after kill -9): make it durable
    // before anyone builds on it.
    const active = rec.segments[rec.segments.length - 1]?.writer;
    if (active) await active.file.datasync();
    return new Wal(options, rec.segments, rec.startIndex, rec.summary);
  }

  /** The first readable index (lastIndex() + 1 when the log is empty). */
  firstIndex(): number {
    return this.first;
  }

  /** The last index assigned by append(), written or not. */
  lastIndex(): number {
    return this.next - 1;
  }

  /** The last index written to the OS (readable). */
  writtenIndex(): number {
    return this.written;
  }

  /** The last index known durable (fdatasync'd). */
  durableIndex(): number {
    return this.durable;
  }

  /** Number of segment files. */
  segmentCount(): number {
    return this.segments.length;
  }

  /**
   * Appends records, assigning them the next indexes at once (lastIndex() reflects them on
   * return). Resolves with the last index once the bytes are written to the OS — not yet durable:
   * call sync(). Rejects with RecordTooLarge, InvalidArgument, Overloaded (back off and retry),
   * Closed, or the Io error that stopped the log. The payloads are referenced, not copied, until
   * the promise settles (only the 32-byte record headers are encoded here).
   */
  append(records: readonly WalRecordInput[]): Promise<number> {
    try {
      this.checkWritable();
      if (records.length === 0) return Promise.resolve(this.next - 1);
      if (this.queue.length >= this.maxPendingAppends) {
        throw new WalError(WalErrorCode.Overloaded, `more than ${this.maxPendingAppends} appends pending`);
      }
      let total = 0;
      for (const r of records) {
        if (r.payload.length > this.maxRecordBytes) {
          throw new WalError(
            WalErrorCode.RecordTooLarge,
            `record of ${r.payload.length} bytes exceeds maxRecordBytes ${this.maxRecordBytes}`,
          );
        }
        const type = r.type ?? 0;
        if (!Number.isInteger(type) || type < 0 || type > 255)
          throw new WalError(WalErrorCode.InvalidArgument, `record type ${type} not in 0..255`);
        if (
          r.payloadCrc !== undefined &&
          (!Number.isInteger(r.payloadCrc) || r.payloadCrc < 0 || r.payloadCrc > 0xffffffff)
        )
          throw new WalError(WalErrorCode.InvalidArgument, `payloadCrc ${r.payloadCrc} is not a uint32`);
        if (r.timestampMs !== undefined && (!Number.isSafeInteger(r.timestampMs) || r.timestampMs < 0)) {
          throw new WalError(
            WalErrorCode.InvalidArgument,
            `timestampMs ${r.timestampMs} is not a non-negative integer`,
          );
        }
        total += RECORD_HEADER_BYTES + r.payload.length;
      }
      if (this.pendingBytes > 0 && this.pendingBytes + total > this.maxPendingBytes) {
        throw new WalError(WalErrorCode.Overloaded, `more than ${this.maxPendingBytes} bytes pending`);
      }
      // Only the headers are encoded here; the payloads are written from the caller's memory.
      const headers = Buffer.allocUnsafe(records.length * RECORD_HEADER_BYTES);
      const payloads: Uint8Array[] = new Array<Uint8Array>(records.length);
      const timestamps: (number | undefined)[] = new Array<number | undefined>(records.length);
      const firstIndex = this.next;
      for (let k = 0; k < records.length; k++) {
        const r = records[k]!;
        const p = r.payload;
        encodeRecordHeader(
          headers,
          k * RECORD_HEADER_BYTES,
          firstIndex + k,
          r.type ?? 0,
          r.timestampMs,
          p.length,
          r.payloadCrc ?? crc(p),
        );
        payloads[k] = p;
        timestamps[k] = r.timestampMs;
      }
      this.next += records.length;
      this.pendingBytes += total;
      const d = deferred<number>();
      this.enqueue({ kind: 'append', headers, payloads, bytes: total, timestamps, firstIndex, d });
      return d.promise;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Makes everything appended before this call durable (fdatasync through the committer, shared
   * with other logs). Resolves when it is; durableIndex() is then at least the lastIndex() seen at the call.
   */
  async sync(): Promise<void> {
    this.checkOpen();
    await this.lastOp.catch(() => {});
    if (this.failure) throw this.failure;
    await this.committer.requestSync(this);
    if (this.failure) throw this.failure;
  }

  /** Bytes accepted by append() and not yet written; append() rejects with Overloaded past maxPendingBytes. */
  pendingWriteBytes(): number {
    return this.pendingBytes;
  }

  /** The pending-bytes limit (maxPendingBytes). */
  pendingWriteLimit(): number {
    return this.maxPendingBytes;
  }

  /** Resolves when everything appended so far is written to the OS (not necessarily durable). */
  whenWritten(): Promise<void> {
    return this.barrier();
  }

  /** @internal Called by the committer: fdatasync the active segment. */
  async flushDurable(): Promise<void> {
    if (this.failure) throw this.failure;
    const seg = this.segments[this.segments.length - 1];
    const target = this.written;
    const epoch = this.truncations;
    const view = seg ? tailView(seg) : undefined;
    if (seg?.writer && target > this.durable) {
      const w = seg.writer.acquire();
      try {
        this.committer.stats.fsyncs++;
        await w.file.datasync();
      } catch (e) {
        throw this.fail(e, 'fdatasync');
      } finally {
        w.release();
      }
    }
    if (epoch === this.truncations && target > this.durable) this.durable = target;
    if (
      seg !== undefined &&
      view !== undefined &&
      epoch === this.truncations &&
      this.verify === 'tail' &&
      this.tailIndexIntervalBytes > 0 &&
      !this.tailIndexWriting &&
      view.size - this.tailIndexedBytes >= this.tailIndexIntervalBytes
    ) {
      this.tailIndexWriting = true;
      this.task(() => this.writeTailIndex(seg, view, epoch))
        .catch(() => undefined)
        .finally(() => {
          this.tailIndexWriting = false;
        });
    }
  }

  /**
   * Writes the active segment's index as of `view` (durable bytes only) to its index file: a prefix
   * index, so the next open checks only the records after it. Skipped when the segment is no longer
   * the active one or was truncated since (the view may describe records that are gone). A cache:
   * a failure is logged, never fatal.
   */
  private async writeTailIndex(seg: Segment, view: TailView, epoch: number, closing = false): Promise<void> {
    if (
      (this.closed && !closing) ||
      this.failure ||
      epoch !== this.truncations ||
      this.segments[this.segments.length - 1] !== seg ||
      seg.writer === undefined ||
      view.size <= this.tailIndexedBytes
    )
      return;
    try {
      await writeIndexFile(this.fs, seg, view);
      this.tailIndexedBytes = view.size;
    } catch (e) {
      this.logger.warn('wal: could not write the active segment index (the segment is scanned on open)', {
        file: seg.indexPath,
        error: String(e),
      });
    }
  }

  /**
   * Removes every record after `afterIndex`, durably, before anything appended later is written
   * (Raft log conflicts). afterIndex >= firstIndex() - 1.
   */
  truncateSuffix(afterIndex: number): Promise<void> {
    try {
      this.checkWritable();
      if (!Number.isSafeInteger(afterIndex) || afterIndex < this.first - 1) {
        throw new WalError(
          WalErrorCode.InvalidArgument,
          `truncateSuffix(${afterIndex}) below the first index ${this.first}`,
        );
      }
      if (afterIndex >= this.next - 1) return this.barrier();
      this.next = afterIndex + 1;
      return this.task(() => this.doTruncateSuffix(afterIndex));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Drops records before `beforeIndex` (retention, compaction after a snapshot): the new first
   * index is recorded durably, then whole segments below it are deleted. beforeIndex <= lastIndex() + 1.
   */
  truncatePrefix(beforeIndex: number): Promise<void> {
    try {
      this.checkWritable();
      if (!Number.isSafeInteger(beforeIndex) || beforeIndex > this.next) {
        throw new WalError(
          WalErrorCode.InvalidArgument,
          `truncatePrefix(${beforeIndex}) past lastIndex + 1 = ${this.next}; use reset()`,
        );
      }
      if (beforeIndex <= this.first) return this.barrier();
      this.first = beforeIndex;
      return this.task(() => this.doTruncatePrefix(beforeIndex));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Drops every record; the next append gets `nextIndex`. Durable on return. */
  reset(nextIndex: number): Promise<void> {
    try {
      this.checkWritable();
      if (!Number.isSafeInteger(nextIndex) || nextIndex < 1)
        throw new WalError(WalErrorCode.InvalidArgument, `reset(${nextIndex})`);
      this.first = nextIndex;
      this.next = nextIndex;
      return this.task(() => this.doReset(nextIndex));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Records in [from, to), to clamped to writtenIndex() + 1: at least one record when any is in
   * range, then stops before the payload total would exceed maxBytes. Throws Compacted when
   * from < firstIndex(), Corruption when a record fails its checks.
   */
  readSync(from: number, to: number, maxBytes: number): WalRecord[] {
    return this.runSync(this.readPlan(from, to, maxBytes));
  }

  /**
   * The asynchronous form of readSync (file reads do not block the event loop). With `views`, each
   * payload is a view of the buffer the records were read into rather than a copy of its own: no
   * copy, but a payload kept keeps that whole buffer (up to 1 MiB, or one record) alive — for
   * readers that pass the payloads on and drop them (a Kafka fetch answered from them).
   */
  read(from: number, to: number, maxBytes: number, options?: { views?: boolean }): Promise<WalRecord[]> {
    try {
      return this.runAsync(this.readPlan(from, to, maxBytes, options?.views === true));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The first index whose record timestamp is >= timestampMs (records without one are skipped), or undefined. */
  findIndexByTimestamp(timestampMs: number): Promise<number | undefined> {
    try {
      return this.runAsync(this.timestampPlan(timestampMs));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Waits for queued work, then closes every file. Does not sync: call sync() first if needed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lastOp.catch(() => {});
    // Everything written is durable (the caller synced): the next open need not check any of it.
    const active = this.segments[this.segments.length - 1];
    if (active?.writer && this.durable === this.written && this.verify === 'tail')
      await this.writeTailIndex(active, tailView(active), this.truncations, true);
    for (const s of this.segments) {
      s.writer?.retire();
      s.writer = undefined;
    }
    for (const r of this.readers.values()) r.retire();
    this.readers.clear();
    if (this.ownCommitter) this.committer.close();
    openDirs.get(this.fs)?.delete(path.resolve(this.dir));
  }

  // ---- internals -------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new WalError(WalErrorCode.Closed, `wal ${this.dir} is closed`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.failure) throw this.failure;
  }

  private fail(e: unknown, what: string): WalError {
    if (!this.failure) {
      this.failure =
        e instanceof WalError && e.code !== WalErrorCode.Io
          ? e
          : new WalError(
              WalErrorCode.Io,
              `wal ${this.dir}: ${what} failed (${e instanceof Error ? e.message : String(e)}); the log accepts no more writes`,
              { cause: e },
            );
      this.logger.error('wal failed', { dir: this.dir, op: what, error: String(e) });
    }
    return this.failure;
  }

  private barrier(): Promise<void> {
    return this.lastOp.then(
      () => undefined,
      () => {
        if (this.failure) throw this.failure;
      },
    );
  }

  private task(run: () => Promise<void>): Promise<void> {
    const d = deferred<void>();
    this.enqueue({ kind: 'task', run, d });
    return d.promise;
  }

  private enqueue(op: Op): void {
    this.queue.push(op);
    this.lastOp = op.d.promise;
    if (!this.draining) {
      this.draining = true;
      void this.drain();
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (this.failure) {
          this.queue.shift();
          if (head.kind === 'append') this.pendingBytes -= head.bytes;
          head.d.reject(this.failure);
          continue;
        }
        if (head.kind === 'task') {
          this.queue.shift();
          try {
            await head.run();
            head.d.resolve();
          } catch (e) {
            head.d.reject(
              e instanceof WalError && e.code !== WalErrorCode.Io ? e : this.fail(e, 'truncation'),
            );
          }
          continue;
        }
        const batch: AppendOp[] = [];
        let bytes = 0;
        for (let op = this.queue[0]; op?.kind === 'append'; op = this.queue[0]) {
          if (batch.length > 0 && bytes + op.bytes > MAX_WRITE_BYTES) break;
          batch.push(op);
          bytes += op.bytes;
          this.queue.shift();
        }
        try {
          await this.writeAppends(batch);
          this.pendingBytes -= bytes;
          for (const op of batch) op.d.resolve(op.firstIndex + op.payloads.length - 1);
        } catch (e) {
          this.pendingBytes -= bytes;
          const err = this.fail(e, 'write');
          for (const op of batch) op.d.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async writeAppends(batch: readonly AppendOp[]): Promise<void> {
    const now = this.clock.nowMs();
    let chunks: Uint8Array[] = [];
    let chunkBytes = 0;
    let notes: { index: number; position: number; ts: number | undefined }[] = [];
    const flush = async (): Promise<void> => {
      if (chunkBytes === 0) return;
      const seg = this.segments[this.segments.length - 1]!;
      const file = seg.writer!.file;
      // One vectored write of headers and payloads where the file system offers it; otherwise
      // the chunks are joined into one buffer first.
      if (this.inlineWrites && file.writevSync) file.writevSync(chunks, seg.size);
      else if (!this.inlineWrites && file.writev) await file.writev(chunks, seg.size);
      else {
        const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, chunkBytes);
        if (this.inlineWrites && file.writeSync) file.writeSync(data, seg.size);
        else await file.write(data, seg.size);
      }
      for (const n of notes) seg.noteRecord(n.index, n.position, n.ts, this.indexIntervalBytes);
      seg.size += chunkBytes;
      this.committer.stats.bytesWritten += chunkBytes;
      this.written = seg.lastIndex;
      chunks = [];
      chunkBytes = 0;
      notes = [];
    };
    for (const op of batch) {
      for (let k = 0; k < op.payloads.length; k++) {
        const payload = op.payloads[k]!;
        const frame = RECORD_HEADER_BYTES + payload.length;
        const index = op.firstIndex + k;
        let seg = this.segments[this.segments.length - 1];
        const hasRecords = seg !== undefined && (seg.recordCount > 0 || notes.length > 0);
        if (
          !seg?.writer ||
          (hasRecords &&
            (seg.size + chunkBytes + frame > this.maxSegmentBytes ||
              now - seg.createdAtMs >= this.maxSegmentAgeMs))
        ) {
          await flush();
          await this.roll(index, now);
          seg = this.segments[this.segments.length - 1]!;
        }
        notes.push({ index, position: seg.size + chunkBytes, ts: op.timestamps[k] });
        chunks.push(op.headers.subarray(k * RECORD_HEADER_BYTES, (k + 1) * RECORD_HEADER_BYTES));
        if (payload.length > 0) chunks.push(payload);
        chunkBytes += frame;
      }
    }
    await flush();
  }

  /** Seals the active segment (fdatasync, index file) and starts a new one at `firstIndex`. */
  private async roll(firstIndex: number, nowMs: number): Promise<void> {
    const old = this.segments[this.segments.length - 1];
    if (old?.writer) {
      // Sealed segments are always fully durable: only the last segment can hold a torn tail.
      await old.writer.file.datasync();
      if (old.lastIndex > this.durable) this.durable = old.lastIndex;
      old.writer.retire();
      old.writer = undefined;
      try {
        await writeIndexFile(this.fs, old);
      } catch (e) {
        this.logger.warn('wal: could not write index file (it is rebuilt on open)', {
          file: old.indexPath,
          error: String(e),
        });
      }
    }
    const seg = new Segment(
      firstIndex,
      nowMs,
      path.join(this.dir, segmentFileName(firstIndex)),
      path.join(this.dir, indexFileName(firstIndex)),
      SEGMENT_HEADER_BYTES,
    );
    // Create under a temp name and rename, so a segment file always has a complete header.
    const tmp = `${seg.path}.tmp`;
    const f = await this.fs.open(tmp, 'w');
    try {
      await f.write(encodeSegmentHeader(firstIndex, nowMs), 0);
      await f.datasync();
      await this.fs.rename(tmp, seg.path);
      await this.fs.fsyncDir(this.dir);
    } catch (e) {
      await f.close().catch(() => {});
      throw e;
    }
    seg.writer = new SharedFile(f);
    this.segments.push(seg);
    this.tailIndexedBytes = 0;
    this.logger.debug('wal: new segment', { dir: this.dir, file: seg.path });
    // Record the new segment as the newest, so that recovery tells a lost segment (deleted, or the
    // log's only one) from one never written. The segment is durable already; the meta's rename
    // need not be: a crash that loses it leaves the previous meta, naming an older segment that is
    // still there, which recovery accepts and brings up to date.
    await writeMetaFile(this.fs, this.dir, { firstIndex: this.first, newestSegment: firstIndex }, false);
  }

  /** Writes wal.meta durably: the log starts at `firstIndex`, its newest segment starts at `newestSegment` (0: none). */
  private writeMeta(firstIndex: number, newestSegment: number): Promise<void> {
    return writeMetaFile(this.fs, this.dir, { firstIndex, newestSegment }, true);
  }

  private async removeSegment(seg: Segment, syncDir: boolean): Promise<void> {
    seg.writer?.retire();
    seg.writer = undefined;
    this.readers.get(seg)?.retire();
    this.readers.delete(seg);
    await this.fs.unlink(seg.path);
    try {
      await this.fs.unlink(seg.indexPath);
    } catch {
      // no index file (active segment, or never written)
    }
    if (syncDir) await this.fs.fsyncDir(this.dir);
  }

  private async makeActive(seg: Segment): Promise<void> {
    if (seg.writer) return;
    this.readers.get(seg)?.retire();
    this.readers.delete(seg);
    seg.writer = new SharedFile(await this.fs.open(seg.path, 'r+'));
    try {
      await this.fs.unlink(seg.indexPath);
    } catch {
      // none
    }
  }

  private async doTruncateSuffix(afterIndex: number): Promise<void> {
    this.truncations++;
    // The meta names the newest segment that stays before any is removed: a crash part way leaves
    // segments newer than it, never fewer.
    const staying = this.segments.filter((s) => s.firstIndex <= afterIndex);
    if (staying.length < this.segments.length)
      await this.writeMeta(this.first, staying[staying.length - 1]?.firstIndex ?? 0);
    // Remove whole segments from the end, one durable step at a time, so a crash leaves a prefix.
    for (
      let s = this.segments[this.segments.length - 1];
      s && s.firstIndex > afterIndex;
      s = this.segments[this.segments.length - 1]
    ) {
      this.segments.pop();
      await this.removeSegment(s, true);
    }
    const seg = this.segments[this.segments.length - 1];
    if (seg) {
      await this.makeActive(seg);
      if (seg.lastIndex > afterIndex) {
        // Its index file (a sealed segment's, or a prefix index of the active one) would describe
        // records that are about to go: gone durably before the cut, so no crash finds it beside
        // the records appended after the cut under the same indexes.
        await unlinkIfExists(this.fs, seg.indexPath);
        await this.fs.fsyncDir(this.dir);
        this.tailIndexedBytes = 0;
        const position = this.runSync(this.positionPlan(seg, afterIndex + 1));
        await seg.writer!.file.truncate(position);
        await seg.writer!.file.datasync();
        seg.dropAfter(afterIndex, position);
      }
    }
    this.written = Math.min(this.written, afterIndex);
    this.durable = Math.min(this.durable, afterIndex);
    this.logger.info('wal: truncated suffix', { dir: this.dir, afterIndex });
  }

  private async doTruncatePrefix(beforeIndex: number): Promise<void> {
    const newest = this.segments[this.segments.length - 1];
    await this.writeMeta(
      beforeIndex,
      newest !== undefined && newest.lastIndex >= beforeIndex ? newest.firstIndex : 0,
    );
    let removed = 0;
    while (this.segments.length > 0 && this.segments[0]!.lastIndex < beforeIndex) {
      const s = this.segments.shift()!;
      await this.removeSegment(s, false);
      removed++;
    }
    if (removed > 0) await this.fs.fsyncDir(this.dir);
    this.logger.info('wal: truncated prefix', { dir: this.dir, beforeIndex, segmentsRemoved: removed });
  }

  private async doReset(nextIndex: number): Promise<void> {
    this.truncations++;
    this.tailIndexedBytes = 0;
    // As in doTruncateSuffix: the meta says "no segment" before any is removed, and the new first
    // index only once they are all gone (a crash part way leaves a prefix of the old log).
    if (this.segments.length > 0) await this.writeMeta(this.first, 0);
    while (this.segments.length > 0) {
      const s = this.segments.pop()!;
      await this.removeSegment(s, true);
    }
    await this.writeMeta(nextIndex, 0);
    this.written = nextIndex - 1;
    this.durable = nextIndex - 1;
    this.logger.info('wal: reset', { dir: this.dir, nextIndex });
  }

  // ---- reads -----------------------------------------------------------------------------

  private segmentFor(index: number): Segment | undefined {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    if (hi < 0 || index < segs[0]!.firstIndex) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.firstIndex <= index) lo = mid;
      else hi = mid - 1;
    }
    const s = segs[lo]!;
    return index <= s.lastIndex ? s : undefined;
  }

  private fileFor(seg: Segment): SharedFile {
    if (seg.writer) return seg.writer.acquire();
    let r = this.readers.get(seg);
    if (r) {
      this.readers.delete(seg);
      this.readers.set(seg, r);
      return r.acquire();
    }
    r = new SharedFile(this.fs.openSync(seg.path, 'r'));
    this.readers.set(seg, r);
    for (const [s, f] of this.readers) {
      if (this.readers.size <= this.maxOpenReadFiles) break;
      if (!f.inUse && s !== seg) {
        f.retire();
        this.readers.delete(s);
      }
    }
    return r.acquire();
  }

  private corrupt(seg: Segment, position: number, what: string): WalError {
    return new WalError(WalErrorCode.Corruption, `${what} in ${seg.path} at byte ${position}`, {
      file: seg.path,
      position,
    });
  }

  private *readPlan(from: number, to: number, maxBytes: number, views = false): ReadPlan<WalRecord[]> {
    this.checkOpen();
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to))
      throw new WalError(WalErrorCode.InvalidArgument, 'read range must be integers');
    if (from < this.first)
      throw new WalError(WalErrorCode.Compacted, `index ${from} is below the first index ${this.first}`);
    const end = Math.min(to, this.written + 1);
    const out: WalRecord[] = [];
    let bytes = 0;
    let index = from;
    const chunk = Math.min(MAX_READ_CHUNK, Math.max(MIN_READ_CHUNK, maxBytes + RECORD_HEADER_BYTES));
    while (index < end) {
      // A prefix truncation may have run while an asynchronous read was in progress.
      if (index < this.first)
        throw new WalError(WalErrorCode.Compacted, `index ${index} is below the first index ${this.first}`);
      const seg = this.segmentFor(index);
      if (!seg) throw new WalError(WalErrorCode.Unavailable, `index ${index} is in no segment`);
      const file = this.fileFor(seg);
      try {
        const segEnd = seg.size;
        const segLast = seg.lastIndex;
        const entry = seg.seek(index);
        let pos = entry.position;
        let expect = entry.index;
        let buf: Buffer = Buffer.alloc(0);
        let bufPos = 0;
        while (expect <= segLast && index < end) {
          if (pos < bufPos || pos + RECORD_HEADER_BYTES > bufPos + buf.length) {
            buf = yield { file, position: pos, length: Math.min(segEnd - pos, chunk) };
            bufPos = pos;
          }
          const dec = decodeRecordHeader(buf, pos - bufPos, segEnd - pos, this.maxRecordBytes);
          if (!dec.ok)
            throw this.corrupt(
              seg,
              pos,
              `bad record header (${dec.reason}) where index ${expect} was expected`,
            );
          const h = dec.header;
          const total = RECORD_HEADER_BYTES + h.payloadBytes;
          if (h.index !== expect || pos + total > segEnd)
            throw this.corrupt(seg, pos, `record ${h.index} where index ${expect} was expected`);
          if (expect >= index) {
            if (out.length > 0 && bytes + h.payloadBytes > maxBytes) return out;
            if (pos + total > bufPos + buf.length) {
              buf = yield { file, position: pos, length: Math.min(segEnd - pos, Math.max(total, chunk)) };
              bufPos = pos;
            }
            const view = buf.subarray(pos - bufPos + RECORD_HEADER_BYTES, pos - bufPos + total);
            const payload = views ? view : Buffer.from(view);
            if (crc(payload) !== h.payloadCrc)
              throw this.corrupt(seg, pos, `payload CRC mismatch at index ${expect}`);
            out.push({ index: expect, type: h.type, timestampMs: h.timestampMs, payload });
            bytes += h.payloadBytes;
            index++;
          }
          pos += total;
          expect++;
        }
      } finally {
        file.release();
      }
    }
    return out;
  }

  /** The byte position of record `index` in `seg` (seg.firstIndex <= index <= seg.lastIndex). */
  private *positionPlan(seg: Segment, index: number): ReadPlan<number> {
    const file = this.fileFor(seg);
    try {
      const entry = seg.seek(index);
      let pos = entry.position;
      for (let expect = entry.index; expect < index; expect++) {
        const buf = yield { file, position: pos, length: RECORD_HEADER_BYTES };
        const dec = decodeRecordHeader(buf, 0, seg.size - pos, this.maxRecordBytes);
        if (!dec.ok || dec.header.index !== expect)
          throw this.corrupt(seg, pos, `bad record header where index ${expect} was expected`);
        pos += RECORD_HEADER_BYTES + dec.header.payloadBytes;
      }
      return pos;
    } finally {
      file.release();
    }
  }

  private *timestampPlan(ts: number): ReadPlan<number | undefined> {
    this.checkOpen();
    for (const seg of [...this.segments]) {
      if (seg.maxTimestampMs < ts || seg.lastIndex < this.first) continue;
      // The last sparse entry before which no record reached ts (maxTimestampBefore is monotone).
      let lo = 0;
      let hi = seg.sparse.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (seg.sparse[mid]!.maxTimestampBeforeMs < ts) lo = mid;
        else hi = mid - 1;
      }
      const start = seg.sparse[lo]!;
      const file = this.fileFor(seg);
      try {
        let pos = start.position;
        const segEnd = seg.size;
        for (let expect = start.index; expect <= seg.lastIndex; expect++) {
          const buf = yield { file, position: pos, length: RECORD_HEADER_BYTES };
          const dec = decodeRecordHeader(buf, 0, segEnd - pos, this.maxRecordBytes);
          if (!dec.ok || dec.header.index !== expect)
            throw this.corrupt(seg, pos, `bad record header where index ${expect} was expected`);
          if (expect >= this.first && dec.header.timestampMs !== undefined && dec.header.timestampMs >= ts)
            return expect;
          pos += RECORD_HEADER_BYTES + dec.header.payloadBytes;
        }
      } finally {
        file.release();
      }
    }
    return undefined;
  }

  private runSync<T>(plan: ReadPlan<T>): T {
    let r = plan.next();
    while (!r.done) {
      const { file, position, length } = r.value;
      const b = Buffer.allocUnsafe(length);
      let n: number;
      try {
        n = file.file.readSync(b, 0, length, position);
      } catch (e) {
        plan.return(undefined as T);
        throw new WalError(WalErrorCode.Io, `read failed in ${this.dir}`, { cause: e });
      }
      r = plan.next(b.subarray(0, n));
    }
    return r.value;
  }

  private async runAsync<T>(plan: ReadPlan<T>): Promise<T> {
    let r = plan.next();
    while (!r.done) {
      const { file, position, length } = r.value;
      const b = Buffer.allocUnsafe(length);
      let n: number;
      try {
        n = await file.file.read(b, 0, length, position);
      } catch (e) {
        plan.return(undefined as T);
        throw new WalError(WalErrorCode.Io, `read failed in ${this.dir}`, { cause: e });
      }
      r = plan.next(b.subarray(0, n));
    }
    return r.value;
  }
}
