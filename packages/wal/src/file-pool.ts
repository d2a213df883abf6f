/**
 * FilePool: a FileSystem that keeps at most `maxOpenFiles` real descriptors open, however many
 * files its callers hold open (docs/design/file-handles.md). A node with thousands of Raft groups
 * holds two files per group (the log's active segment, the state file) but touches only the active
 * groups' ones; the others' descriptors are closed and reopened when next used.
 *
 * The contract, for every file opened through the pool:
 * - A caller sees a WalFile that behaves as the inner file system's: the pool opens the real file
 *   at `open`/`openSync` and reopens it on demand (synchronously, so `readSync`/`writeSync` keep
 *   working) after it was closed to make room.
 * - Only an **idle, clean** descriptor is closed to make room: no operation in flight, and every
 *   write and truncation through it followed by a successful `datasync`/`sync` that started after
 *   they completed. A dirty descriptor stays open (pinned) until such a sync succeeds, so its data
 *   is never left to writeback without a descriptor that will report a writeback error to the
 *   caller's next fsync (Linux reports it on descriptors open at the time; a failed fsync leaves
 *   the file dirty, so it stays pinned until its caller closes it).
 * - A file is reopened read only if it was opened `r`, otherwise `r+`: a file created with `w` or
 *   `wx` is never truncated or refused on reopen.
 * - Paths follow renames made through the pool (a file, or a directory above it). A file whose
 *   path is unlinked, removed (`removeTree`) or replaced by a rename while it is open keeps its
 *   descriptor for good (it is reopened first if it had none): its path names another file, or
 *   none, from then on. Renames and removals made past the pool are not seen: everything goes
 *   through it.
 * - The limit is soft: when every descriptor is pinned, a file is opened anyway (counted in
 *   `overLimitOpens`) rather than failing or waiting (a synchronous read cannot wait). Pinned
 *   descriptors are the files with writes not yet synced: about the groups written in one
 *   group-commit cycle.
 *
 * Directory syncs are shared: an `fsyncDir` asked while one of the same directory runs waits for
 * the next one, which starts when the running one ends and serves every caller that asked
 * meanwhile (a sync that starts after a caller's change covers it; one already running may not).
 * Thousands of Raft groups created at once each sync their common parent directory: a few syncs
 * instead of one per group.
 *
 * Deterministic: no timers, no randomness; eviction is least recently used among idle, clean
 * descriptors, in call order. Over the simulated disk (MemFileSystem) every operation completes as
 * synchronously as the disk's own.
 */
import * as path from 'node:path';
import type { FileSystem, OpenFlags, WalFile } from '@chronik/env';
import { WalError, WalErrorCode } from './errors.js';

export interface FilePoolOptions {
  /** Real descriptors kept open (more only when every one is pinned). Default 1024, at least 1. */
  readonly maxOpenFiles?: number;
}

/** Counters of a pool (plain numbers; a server reports them as metrics). */
export interface FilePoolStats {
  /** The limit on open descriptors. */
  readonly maxOpenFiles: number;
  /** Files open through the pool (the callers' view). */
  readonly files: number;
  /** Real descriptors open now. */
  readonly open: number;
  /** Of those, descriptors that may not be closed now: in use, dirty, or renamed/unlinked while open. */
  readonly pinned: number;
  /** The most real descriptors open at once so far. */
  readonly peakOpen: number;
  /** Real opens so far (first opens and reopens). */
  readonly opens: number;
  /** Of those, reopens of a file whose descriptor had been closed to make room. */
  readonly reopens: number;
  /** Descriptors closed to make room. */
  readonly evictions: number;
  /** Opens that went past the limit because every open descriptor was pinned. */
  readonly overLimitOpens: number;
  /** Directory syncs run, and `fsyncDir` calls served by one another caller started. */
  readonly dirSyncs: number;
  readonly dirSyncsShared: number;
}

/** The directory sync running for a directory, and the one that follows it, if asked for. */
interface DirSync {
  running: Promise<void>;
  next: Promise<void> | undefined;
}

const DEFAULT_MAX_OPEN_FILES = 1024;

function key(p: string): string {
  return path.resolve(p);
}

function isUnder(p: string, dir: string): boolean {
  return p.length > dir.length && p.startsWith(dir) && p[dir.length] === path.sep;
}

/** One file as its caller holds it; `real` is its descriptor while it has one. */
class PooledFile implements WalFile {
  real: WalFile | undefined;
  /** Operations in flight (asynchronous ones; a synchronous one completes before anyone can look). */
  busy = 0;
  /** Writes and truncations started, and how many of them the last successful sync covered. */
  writesStarted = 0;
  writesInFlight = 0;
  syncedUpTo = 0;
  /** Its path was unlinked or replaced while it was open: it keeps its descriptor until closed. */
  orphaned = false;
  closed = false;

  constructor(
    private readonly pool: FilePool,
    public path: string,
    readonly readOnly: boolean,
    real: WalFile,
  ) {
    this.real = real;
  }

  get dirty(): boolean {
    return this.writesStarted > this.syncedUpTo;
  }

  /** May its descriptor be closed to make room? */
  get evictable(): boolean {
    return this.real !== undefined && this.busy === 0 && !this.dirty && !this.orphaned && !this.closed;
  }

  private checkOpen(): void {
    if (this.closed) {
      const e = new Error(`EBADF: ${this.path} is closed`) as Error & { code: string };
      e.code = 'EBADF';
      throw e;
    }
  }

  /** The descriptor for one operation, reopened if it was closed; marked in use until `done`. */
  private begin(): WalFile {
    this.checkOpen();
    const f = this.real ?? this.pool.reopen(this);
    this.busy++;
    this.pool.refresh(this);
    return f;
  }

  private done(): void {
    this.busy--;
    this.pool.refresh(this);
  }

  /** The descriptor for a synchronous operation (no in-use mark needed: nothing runs meanwhile). */
  private now(): WalFile {
    this.checkOpen();
    const f = this.real ?? this.pool.reopen(this);
    this.pool.refresh(this);
    return f;
  }

  private async writing(run: (f: WalFile) => Promise<void>): Promise<void> {
    const f = this.begin();
    this.writesStarted++;
    this.writesInFlight++;
    try {
      await run(f);
    } finally {
      this.writesInFlight--;
      this.done();
    }
  }

  private writingSync(run: (f: WalFile) => void): void {
    const f = this.now();
    this.writesStarted++;
    this.pool.refresh(this);
    run(f);
  }

  private async using<T>(run: (f: WalFile) => Promise<T>): Promise<T> {
    const f = this.begin();
    try {
      return await run(f);
    } finally {
      this.done();
    }
  }

  write(data: Uint8Array, position: number): Promise<void> {
    try {
      return this.writing((f) => f.write(data, position));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  writeSync(data: Uint8Array, position: number): void {
    this.writingSync((f) => {
      if (f.writeSync) f.writeSync(data, position);
      else throw new WalError(WalErrorCode.InvalidArgument, 'the inner file system has no writeSync');
    });
  }

  writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
    try {
      return this.writing((f) =>
        f.writev ? f.writev(chunks, position) : f.write(Buffer.concat(chunks), position),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  writevSync(chunks: readonly Uint8Array[], position: number): void {
    this.writingSync((f) => {
      if (f.writevSync) f.writevSync(chunks, position);
      else if (f.writeSync) f.writeSync(Buffer.concat(chunks), position);
      else throw new WalError(WalErrorCode.InvalidArgument, 'the inner file system has no writeSync');
    });
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    try {
      return this.using((f) => f.read(buffer, offset, length, position));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number {
    return this.now().readSync(buffer, offset, length, position);
  }

  truncate(size: number): Promise<void> {
    try {
      return this.writing((f) => f.truncate(size));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  datasync(): Promise<void> {
    return this.syncing((f) => f.datasync());
  }

  sync(): Promise<void> {
    return this.syncing((f) => f.sync());
  }

  /** A sync covers the writes completed when it starts; with none in flight, the file is clean after it. */
  private syncing(run: (f: WalFile) => Promise<void>): Promise<void> {
    try {
      const upTo = this.writesStarted;
      const covers = this.writesInFlight === 0;
      return this.using(async (f) => {
        await run(f);
        if (covers && upTo > this.syncedUpTo) this.syncedUpTo = upTo;
      }).then(() => this.pool.trim());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  size(): Promise<number> {
    try {
      return this.using((f) => f.size());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  close(): Promise<void> {
    const real = this.release();
    return real === undefined ? Promise.resolve() : real.close();
  }

  closeSync(): void {
    this.release()?.closeSync();
  }

  /** Forgets the file in the pool; returns the descriptor to close, if it has one. */
  private release(): WalFile | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    const real = this.real;
    this.real = undefined;
    this.pool.forget(this, real !== undefined);
    return real;
  }
}

export class FilePool implements FileSystem {
  private readonly inner: FileSystem;
  private maxOpen: number;
  /** Idle, clean descriptors, least recently used first: what may be closed to make room. */
  private readonly idle = new Map<PooledFile, true>();
  /** Files open through the pool by path (several callers may open one path). */
  private readonly byPath = new Map<string, Set<PooledFile>>();
  /** Open files below each directory (counts), so a directory rename or removal finds them. */
  private readonly dirs = new Map<string, number>();
  private files = 0;
  private openNow = 0;
  private peakOpen = 0;
  private opens = 0;
  private reopens = 0;
  private evictions = 0;
  private overLimitOpens = 0;
  private readonly dirSyncing = new Map<string, DirSync>();
  private dirSyncs = 0;
  private dirSyncsShared = 0;

  constructor(inner: FileSystem, options: FilePoolOptions = {}) {
    this.inner = inner;
    this.maxOpen = FilePool.checkLimit(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);
  }

  private static checkLimit(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new WalError(WalErrorCode.InvalidArgument, `maxOpenFiles must be a positive integer, got ${n}`);
    return n;
  }

  /** The limit on open descriptors. */
  get maxOpenFiles(): number {
    return this.maxOpen;
  }

  /** Changes the limit; descriptors over it are closed as they become idle and clean. */
  setMaxOpenFiles(n: number): void {
    this.maxOpen = FilePool.checkLimit(n);
    this.trim();
  }

  stats(): FilePoolStats {
    return {
      maxOpenFiles: this.maxOpen,
      files: this.files,
      open: this.openNow,
      pinned: this.openNow - this.idle.size,
      peakOpen: this.peakOpen,
      opens: this.opens,
      reopens: this.reopens,
      evictions: this.evictions,
      overLimitOpens: this.overLimitOpens,
      dirSyncs: this.dirSyncs,
      dirSyncsShared: this.dirSyncsShared,
    };
  }

  async open(p: string, flags: OpenFlags): Promise<WalFile> {
    this.makeRoom();
    const real = await this.inner.open(p, flags);
    return this.adopt(p, flags === 'r', real);
  }

  openSync(p: string, flags: 'r' | 'r+'): WalFile {
    this.makeRoom();
    return this.adopt(p, flags === 'r', this.inner.openSync(p, flags));
  }

  readdir(dir: string): Promise<string[]> {
    return this.inner.readdir(dir);
  }

  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    const src = key(from);
    const dst = key(to);
    // Whatever is open at the target loses its path: it keeps its descriptor.
    for (const f of this.filesAt(dst)) this.orphan(f);
    // The files being moved keep a descriptor while the rename runs, so none is reopened by a path
    // that is about to change (or has, before the promise settles).
    const moving = this.filesAt(src);
    for (const f of moving) this.pin(f);
    try {
      await this.inner.rename(from, to);
      for (const f of moving) {
        if (f.closed) continue;
        this.unindex(f);
        f.path = f.path === src ? dst : dst + f.path.slice(src.length);
        this.index(f);
      }
    } finally {
      for (const f of moving) this.unpin(f);
    }
  }

  async unlink(p: string): Promise<void> {
    for (const f of this.filesAt(key(p))) this.orphan(f);
    await this.inner.unlink(p);
  }

  stat(p: string): Promise<{ size: number } | undefined> {
    return this.inner.stat(p);
  }

  fsyncDir(dir: string): Promise<void> {
    const k = key(dir);
    const cur = this.dirSyncing.get(k);
    if (cur === undefined) return this.startDirSync(k, dir);
    // The running sync may have started before the caller's change: it shares the next one.
    this.dirSyncsShared++;
    cur.next ??= cur.running.then(
      () => this.startDirSync(k, dir),
      () => this.startDirSync(k, dir),
    );
    return cur.next;
  }

  private startDirSync(k: string, dir: string): Promise<void> {
    const state: DirSync = { running: Promise.resolve(), next: undefined };
    this.dirSyncs++;
    state.running = this.inner.fsyncDir(dir).finally(() => {
      if (this.dirSyncing.get(k) === state) this.dirSyncing.delete(k);
    });
    this.dirSyncing.set(k, state);
    return state.running;
  }

  async removeTree(p: string): Promise<void> {
    for (const f of this.filesAt(key(p))) this.orphan(f);
    await this.inner.removeTree(p);
  }

  // ---- for PooledFile ----------------------------------------------------------------------

  /** @internal Reopens `f`'s descriptor (synchronously), closing an idle one first if at the limit. */
  reopen(f: PooledFile): WalFile {
    this.makeRoom();
    const real = this.inner.openSync(f.path, f.readOnly ? 'r' : 'r+');
    f.real = real;
    this.counted();
    this.reopens++;
    return real;
  }

  /** @internal Puts `f` where its state says: in the idle list (as most recently used) or out of it. */
  refresh(f: PooledFile): void {
    this.idle.delete(f);
    if (f.evictable) this.idle.set(f, true);
  }

  /** @internal Closes idle descriptors while more than the limit are open. */
  trim(): void {
    while (this.openNow > this.maxOpen && this.evictOne());
  }

  /** @internal A file was closed by its caller. */
  forget(f: PooledFile, hadDescriptor: boolean): void {
    this.idle.delete(f);
    this.unindex(f);
    this.files--;
    if (hadDescriptor) this.openNow--;
  }

  // ---- internals -----------------------------------------------------------------------------

  private adopt(p: string, readOnly: boolean, real: WalFile): WalFile {
    const f = new PooledFile(this, key(p), readOnly, real);
    this.files++;
    this.counted();
    this.index(f);
    this.refresh(f);
    return f;
  }

  private counted(): void {
    this.openNow++;
    if (this.openNow > this.peakOpen) this.peakOpen = this.openNow;
    this.opens++;
    if (this.openNow > this.maxOpen) this.overLimitOpens++;
  }

  /** Closes idle descriptors until one more fits under the limit (or none is idle). */
  private makeRoom(): void {
    while (this.openNow >= this.maxOpen && this.evictOne());
  }

  private evictOne(): boolean {
    const first = this.idle.keys().next();
    if (first.done === true) return false;
    const f = first.value;
    this.idle.delete(f);
    const real = f.real!;
    f.real = undefined;
    this.openNow--;
    this.evictions++;
    // Clean and idle: nothing is lost by closing it, and no caller waits on it.
    void real.close().catch(() => {});
    return true;
  }

  /** Keeps `f`'s descriptor for the length of a rename (reopening it if needed). */
  private pin(f: PooledFile): void {
    if (f.real === undefined) this.reopen(f);
    f.busy++;
    this.refresh(f);
  }

  private unpin(f: PooledFile): void {
    f.busy--;
    this.refresh(f);
    this.trim();
  }

  /** `f`'s path is going away: it keeps (or first gets back) its descriptor until its caller closes it. */
  private orphan(f: PooledFile): void {
    if (f.orphaned || f.closed) return;
    if (f.real === undefined) this.reopen(f);
    f.orphaned = true;
    this.unindex(f);
    this.refresh(f);
  }

  /** The open files at `p` or below it. */
  private filesAt(p: string): PooledFile[] {
    const out = [...(this.byPath.get(p) ?? [])];
    if (this.dirs.has(p)) for (const [at, set] of this.byPath) if (isUnder(at, p)) out.push(...set);
    return out;
  }

  private index(f: PooledFile): void {
    let set = this.byPath.get(f.path);
    if (set === undefined) {
      set = new Set();
      this.byPath.set(f.path, set);
    }
    set.add(f);
    for (let d = path.dirname(f.path); ; d = path.dirname(d)) {
      this.dirs.set(d, (this.dirs.get(d) ?? 0) + 1);
      if (path.dirname(d) === d) break;
    }
  }

  private unindex(f: PooledFile): void {
    const set = this.byPath.get(f.path);
    if (set === undefined || !set.delete(f)) return;
    if (set.size === 0) this.byPath.delete(f.path);
    for (let d = path.dirname(f.path); ; d = path.dirname(d)) {
      const n = (this.dirs.get(d) ?? 1) - 1;
      if (n === 0) this.dirs.delete(d);
      else this.dirs.set(d, n);
      if (path.dirname(d) === d) break;
    }
  }
}
