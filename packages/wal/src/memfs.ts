/**
 * A simulated disk for tests and deterministic simulation. It keeps, for every file, the bytes
 * that were made durable (fdatasync/fsync) and the writes and truncations since; for every
 * directory, the entries made durable by fsyncDir and the creations/renames/removals since.
 * `crash(rng)` replaces the state with what a disk could hold after a power loss: durable data
 * plus a random prefix of the unsynced operations, the last one possibly torn at a random byte.
 * Synced data is never lost or changed. The crashed MemFileSystem is dead (every operation on it
 * or its open files fails, as if its process had died); `crash` returns a new one on the same disk
 * for the "restarted" process. Every operation completes synchronously (the returned
 * promises are already settled), so a simulation driven by a seed replays exactly.
 */
import * as path from 'node:path';
import type { FileSystem, OpenFlags, Rng, WalFile } from '@chronik/env';

type FileOp = { kind: 'write'; position: number; data: Uint8Array } | { kind: 'truncate'; size: number };
type DirOp =
  | { kind: 'link'; name: string; inode: Inode }
  | { kind: 'unlink'; name: string }
  /** A rename inside one directory is atomic: after a crash either name holds the file, never neither. */
  | { kind: 'rename'; from: string; to: string; inode: Inode };

class Inode {
  data = new Uint8Array(0);
  length = 0;
  durable = new Uint8Array(0);
  unsynced: FileOp[] = [];

  bytes(): Uint8Array {
    return this.data.subarray(0, this.length);
  }

  ensure(size: number): void {
    if (size <= this.data.length) return;
    const next = new Uint8Array(Math.max(size, this.data.length * 2, 4096));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }

  write(src: Uint8Array, position: number): void {
    const end = position + src.length;
    this.ensure(end);
    if (position > this.length) this.data.fill(0, this.length, position);
    this.data.set(src, position);
    this.length = Math.max(this.length, end);
  }

  truncate(size: number): void {
    if (size > this.length) {
      this.ensure(size);
      this.data.fill(0, this.length, size);
    }
    this.length = size;
  }

  sync(): void {
    this.durable = this.bytes().slice();
    this.unsynced = [];
  }
}

class Dir {
  entries = new Map<string, Inode>();
  durable = new Map<string, Inode>();
  unsynced: DirOp[] = [];
}

function errnoError(code: string, message: string): Error {
  const e = new Error(`${code}: ${message}`) as Error & { code: string };
  e.code = code;
  return e;
}

class MemFile implements WalFile {
  closed = false;
  constructor(
    private readonly fsys: MemFileSystem,
    private readonly inode: Inode,
    private readonly writable: boolean,
  ) {}

  private check(write = false): void {
    if (this.fsys.isDead) throw errnoError('EIO', 'the simulated machine crashed');
    if (this.closed) throw errnoError('EBADF', 'file is closed');
    if (write && !this.writable) throw errnoError('EBADF', 'file opened read only');
  }

  write(data: Uint8Array, position: number): Promise<void> {
    try {
      this.writeSync(data, position);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  writeSync(data: Uint8Array, position: number): void {
    this.check(true);
    this.fsys.maybeFail('write');
    const copy = data.slice();
    this.inode.write(copy, position);
    this.inode.unsynced.push({ kind: 'write', position, data: copy });
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    try {
      return Promise.resolve(this.readSync(buffer, offset, length, position));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.check();
    const n = Math.max(0, Math.min(length, this.inode.length - position));
    buffer.set(this.inode.data.subarray(position, position + n), offset);
    return n;
  }

  truncate(size: number): Promise<void> {
    try {
      this.check(true);
      this.inode.truncate(size);
      this.inode.unsynced.push({ kind: 'truncate', size });
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  datasync(): Promise<void> {
    try {
      this.check();
      this.fsys.maybeFail('datasync');
      this.fsys.syncCount++;
      this.inode.sync();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  sync(): Promise<void> {
    return this.datasync();
  }

  size(): Promise<number> {
    try {
      this.check();
      return Promise.resolve(this.inode.length);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  closeSync(): void {
    this.closed = true;
  }
}

/** Operations that `failNext` can make fail once. */
export type MemFsFaultOp = 'write' | 'datasync';
/** The errors `failNext` injects: an I/O error, or a full disk. */
export type MemFsFaultCode = 'EIO' | 'ENOSPC';

/** The simulated disk's contents, shared by the MemFileSystem of each "boot". */
class MemDisk {
  readonly dirs = new Map<string, Dir>([['/', new Dir()]]);
}

export class MemFileSystem implements FileSystem {
  private readonly disk: MemDisk;
  private dead = false;
  /** How many file syncs ran (for tests of group commit). */
  syncCount = 0;
  private readonly faults = new Map<MemFsFaultOp, { count: number; code: MemFsFaultCode }>();

  /** A new, empty disk. */
  constructor();
  /** @internal */
  constructor(disk: MemDisk);
  constructor(disk?: MemDisk) {
    this.disk = disk ?? new MemDisk();
  }

  private get dirs(): Map<string, Dir> {
    if (this.dead) throw errnoError('EIO', 'the simulated machine crashed');
    return this.disk.dirs;
  }

  /** True once crash() was called on this instance. */
  get isDead(): boolean {
    return this.dead;
  }

  /** Makes the `count`-th next operation of this kind fail with `code` (1 = the next one). */
  failNext(op: MemFsFaultOp, count = 1, code: MemFsFaultCode = 'EIO'): void {
    this.faults.set(op, { count, code });
  }

  /** Cancels every fault `failNext` armed and that has not fired yet. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** @internal */
  maybeFail(op: MemFsFaultOp): void {
    const f = this.faults.get(op);
    if (f === undefined) return;
    if (f.count <= 1) {
      this.faults.delete(op);
      throw errnoError(f.code, `injected ${op} failure`);
    }
    this.faults.set(op, { count: f.count - 1, code: f.code });
  }

  private split(p: string): { dir: Dir; name: string; dirPath: string } {
    const norm = path.posix.resolve('/', p);
    const dirPath = path.posix.dirname(norm);
    const dir = this.dirs.get(dirPath);
    if (!dir) throw errnoError('ENOENT', `no such directory ${dirPath}`);
    return { dir, name: path.posix.basename(norm), dirPath };
  }

  open(p: string, flags: OpenFlags): Promise<WalFile> {
    try {
      return Promise.resolve(this.openNow(p, flags));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  openSync(p: string, flags: 'r' | 'r+'): WalFile {
    return this.openNow(p, flags);
  }

  private openNow(p: string, flags: OpenFlags): WalFile {
    const { dir, name } = this.split(p);
    let inode = dir.entries.get(name);
    if (flags === 'wx' && inode) throw errnoError('EEXIST', p);
    if (!inode) {
      if (flags === 'r' || flags === 'r+') throw errnoError('ENOENT', p);
      inode = new Inode();
      dir.entries.set(name, inode);
      dir.unsynced.push({ kind: 'link', name, inode });
    } else if (flags === 'w') {
      inode.truncate(0);
      inode.unsynced.push({ kind: 'truncate', size: 0 });
    }
    return new MemFile(this, inode, flags !== 'r');
  }

  readdir(dir: string): Promise<string[]> {
    if (this.dead) return Promise.reject(errnoError('EIO', 'the simulated machine crashed'));
    const d = this.dirs.get(path.posix.resolve('/', dir));
    if (!d) return Promise.reject(errnoError('ENOENT', dir));
    const names = [...d.entries.keys()];
    for (const sub of this.dirs.keys()) {
      if (sub !== '/' && path.posix.dirname(sub) === path.posix.resolve('/', dir))
        names.push(path.posix.basename(sub));
    }
    return Promise.resolve(names.sort());
  }

  /** Directories are durable as soon as they are created (a simplification). */
  mkdir(dir: string): Promise<void> {
    if (this.dead) return Promise.reject(errnoError('EIO', 'the simulated machine crashed'));
    let cur = path.posix.resolve('/', dir);
    const chain: string[] = [];
    while (cur !== '/' && !this.dirs.has(cur)) {
      chain.push(cur);
      cur = path.posix.dirname(cur);
    }
    for (const d of chain.reverse()) this.dirs.set(d, new Dir());
    return Promise.resolve();
  }

  rename(from: string, to: string): Promise<void> {
    try {
      const a = this.split(from);
      const b = this.split(to);
      const inode = a.dir.entries.get(a.name);
      if (!inode) throw errnoError('ENOENT', from);
      a.dir.entries.delete(a.name);
      b.dir.entries.set(b.name, inode);
      if (a.dir === b.dir) {
        a.dir.unsynced.push({ kind: 'rename', from: a.name, to: b.name, inode });
      } else {
        a.dir.unsynced.push({ kind: 'unlink', name: a.name });
        b.dir.unsynced.push({ kind: 'link', name: b.name, inode });
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  unlink(p: string): Promise<void> {
    try {
      const { dir, name } = this.split(p);
      if (!dir.entries.delete(name)) throw errnoError('ENOENT', p);
      dir.unsynced.push({ kind: 'unlink', name });
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  stat(p: string): Promise<{ size: number } | undefined> {
    if (this.dead) return Promise.reject(errnoError('EIO', 'the simulated machine crashed'));
    try {
      // A directory exists too (its size means nothing: 0 here).
      if (this.dirs.has(path.posix.resolve('/', p))) return Promise.resolve({ size: 0 });
      const { dir, name } = this.split(p);
      const inode = dir.entries.get(name);
      return Promise.resolve(inode ? { size: inode.length } : undefined);
    } catch {
      return Promise.resolve(undefined);
    }
  }

  fsyncDir(dir: string): Promise<void> {
    if (this.dead) return Promise.reject(errnoError('EIO', 'the simulated machine crashed'));
    const d = this.dirs.get(path.posix.resolve('/', dir));
    if (!d) return Promise.reject(errnoError('ENOENT', dir));
    d.durable = new Map(d.entries);
    d.unsynced = [];
    return Promise.resolve();
  }

  removeTree(p: string): Promise<void> {
    if (this.dead) return Promise.reject(errnoError('EIO', 'the simulated machine crashed'));
    const target = path.posix.resolve('/', p);
    for (const d of [...this.dirs.keys()]) {
      if (d === target || d.startsWith(`${target}/`)) this.dirs.delete(d);
    }
    const parent = this.dirs.get(path.posix.dirname(target));
    const name = path.posix.basename(target);
    if (parent?.entries.delete(name) === true) parent.unsynced.push({ kind: 'unlink', name });
    return Promise.resolve();
  }

  /** The current content of a file (test helper). */
  readFileNow(p: string): Uint8Array {
    const { dir, name } = this.split(p);
    const inode = dir.entries.get(name);
    if (!inode) throw errnoError('ENOENT', p);
    return inode.bytes().slice();
  }

  /** Replaces a file's content and makes it durable (test helper for fault injection). */
  writeFileNow(p: string, data: Uint8Array): void {
    void this.mkdir(path.posix.dirname(path.posix.resolve('/', p)));
    const { dir, name } = this.split(p);
    let inode = dir.entries.get(name);
    if (!inode) {
      inode = new Inode();
      dir.entries.set(name, inode);
    }
    inode.truncate(0);
    inode.write(data, 0);
    inode.sync();
    dir.durable = new Map(dir.entries);
  }

  /**
   * Simulates a power loss: every open handle dies; each file keeps its durable bytes plus a
   * random prefix of its unsynced writes/truncations, the last of which may be torn at a random
   * byte; each directory keeps its durable entries plus a random prefix of its unsynced changes.
   * `rng` decides everything, so a seed replays exactly. `keepAllProbability` (default 0.25) is
   * the chance that a file or directory keeps all of its unsynced operations (the OS had flushed them).
   * Returns the file system of the restarted machine; this one is dead from now on.
   */
  crash(rng: Rng, keepAllProbability = 0.25): MemFileSystem {
    const inodes = new Set<Inode>();
    for (const d of this.dirs.values()) {
      for (const i of d.entries.values()) inodes.add(i);
      for (const i of d.durable.values()) inodes.add(i);
    }
    for (const inode of inodes) {
      const ops = inode.unsynced;
      const keepAll = rng() < keepAllProbability;
      const keep = keepAll ? ops.length : Math.floor(rng() * (ops.length + 1));
      const after = new Inode();
      after.write(inode.durable, 0);
      for (let k = 0; k < keep; k++) {
        const op = ops[k]!;
        if (op.kind === 'write') {
          // The last kept write may be torn: only a prefix of it reached the disk.
          const torn = !keepAll && k === keep - 1 && rng() < 0.5;
          after.write(torn ? op.data.subarray(0, Math.floor(rng() * op.data.length)) : op.data, op.position);
        } else {
          after.truncate(op.size);
        }
      }
      inode.data = after.data;
      inode.length = after.length;
      inode.sync();
    }
    for (const d of this.dirs.values()) {
      const keepAll = rng() < keepAllProbability;
      const keep = keepAll ? d.unsynced.length : Math.floor(rng() * (d.unsynced.length + 1));
      const entries = new Map(d.durable);
      for (let k = 0; k < keep; k++) {
        const op = d.unsynced[k]!;
        if (op.kind === 'link') {
          entries.set(op.name, op.inode);
        } else if (op.kind === 'unlink') {
          entries.delete(op.name);
        } else {
          entries.delete(op.from);
          entries.set(op.to, op.inode);
        }
      }
      d.entries = entries;
      d.durable = new Map(entries);
      d.unsynced = [];
    }
    this.dead = true;
    return new MemFileSystem(this.disk);
  }
}
