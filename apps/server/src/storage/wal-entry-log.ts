// EntryLog on @chronik/wal: one Wal per partition directory, all sharing one GroupCommitter so that
// acks=all appends of every partition share fsyncs (group commit). Every byte goes through the
// injected FileSystem.
import path from 'node:path';
import type { Clock, FileSystem, Scheduler } from '@chronik/env';
import { GroupCommitter, Wal } from '@chronik/wal';
import type { WalObserver, WalRecordInput } from '@chronik/wal';
import type { Logger } from '../logger.js';
import { libraryLogger } from '../logger.js';
import type { EntryInput, EntryLog, EntryLogFactory } from './entry-log.js';
import { readWholeFile, writeFileAtomic } from './files.js';

export interface WalEntryLogOptions {
  maxSegmentBytes: number;
  maxRecordBytes: number;
  /**
   * Bytes a log accepts before they are written. Set above the network's global in-flight budget,
   * so back-pressure comes from the network layer (paused sockets), not from append errors.
   */
  maxPendingBytes: number;
  logger: Logger;
  fs: FileSystem;
  /** The logs' wall clock (segment stamps). */
  clock: Clock;
  /** Where the shared group commit starts its cycles (its `defer`). */
  scheduler: Scheduler;
  /** Told how long each shared flush took (timed on `clock.monotonicMs`). */
  observer?: WalObserver;
}

/** Directory levels above a prepared log synced (its topic's, `partitions`, the data directory). */
const PREPARE_SYNC_LEVELS = 3;

class WalEntryLog implements EntryLog {
  constructor(
    private readonly wal: Wal,
    private readonly fs: FileSystem,
    private readonly dir: string,
  ) {}
  firstIndex(): number {
    return this.wal.firstIndex();
  }
  nextIndex(): number {
    return this.wal.lastIndex() + 1;
  }
  async append(entries: readonly EntryInput[]): Promise<void> {
    const records: WalRecordInput[] = new Array<WalRecordInput>(entries.length);
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k] as EntryInput;
      const r: { payload: Buffer; timestampMs?: number; payloadCrc?: number } = { payload: e.data };
      if (e.timestampMs >= 0) r.timestampMs = e.timestampMs;
      if (e.crc !== undefined) r.payloadCrc = e.crc;
      records[k] = r;
    }
    await this.wal.append(records);
  }
  sync(): Promise<void> {
    return this.wal.sync();
  }
  async read(fromIndex: number, toIndex: number, maxBytes: number): Promise<Buffer[]> {
    const from = Math.max(fromIndex, this.wal.firstIndex());
    if (from >= toIndex) return [];
    return (await this.wal.read(from, toIndex, maxBytes)).map((r) => r.payload);
  }
  truncatePrefix(firstKept: number): Promise<void> {
    const next = this.nextIndex();
    return firstKept >= next ? this.wal.reset(next) : this.wal.truncatePrefix(firstKept);
  }
  close(): Promise<void> {
    return this.wal.close();
  }
  readFile(name: string): Promise<Buffer | undefined> {
    return readWholeFile(this.fs, path.join(this.dir, name));
  }
  writeFile(name: string, data: Uint8Array): Promise<void> {
    return writeFileAtomic(this.fs, path.join(this.dir, name), data);
  }
  async removeFile(name: string): Promise<void> {
    if ((await this.fs.stat(path.join(this.dir, name))) !== undefined)
      await this.fs.unlink(path.join(this.dir, name));
  }
}

export class WalEntryLogFactory implements EntryLogFactory {
  readonly committer: GroupCommitter;
  constructor(private readonly options: WalEntryLogOptions) {
    this.committer = new GroupCommitter({
      policy: { kind: 'batch' },
      scheduler: options.scheduler,
      ...(options.observer !== undefined ? { observer: options.observer, clock: options.clock } : {}),
    });
  }
  async prepare(dirs: readonly string[]): Promise<void> {
    const fsys = this.options.fs;
    for (const dir of dirs) await fsys.mkdir(dir);
    // A new directory entry is durable once its parent is synced: `partitions/<topic id>/<n>` may
    // have created the topic's directory and `partitions` itself, so three levels are synced.
    let level = new Set(dirs);
    for (let up = 0; up < PREPARE_SYNC_LEVELS; up++) {
      level = new Set([...level].map((d) => path.dirname(d)));
      for (const d of level) await fsys.fsyncDir(d);
    }
  }

  async exists(dir: string): Promise<boolean> {
    try {
      await this.options.fs.readdir(dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async open(dir: string): Promise<EntryLog> {
    const logger = this.options.logger;
    const wal = await Wal.open({
      dir,
      fs: this.options.fs,
      committer: this.committer,
      maxSegmentBytes: Math.max(this.options.maxSegmentBytes, this.options.maxRecordBytes + 4096),
      maxRecordBytes: this.options.maxRecordBytes,
      maxPendingBytes: this.options.maxPendingBytes,
      verify: 'tail',
      // A produce waits for its write: a synchronous write(2) into the page cache is cheaper than
      // two thread-pool hand-offs, which dominated the latency tail on a busy machine.
      inlineWrites: true,
      clock: this.options.clock,
      logger: libraryLogger(logger, { dir }),
    });
    return new WalEntryLog(wal, this.options.fs, dir);
  }
  remove(dir: string): Promise<void> {
    return this.options.fs.removeTree(dir);
  }
  close(): void {
    this.committer.close();
  }
}
