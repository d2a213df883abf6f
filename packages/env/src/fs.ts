/**
 * The file system seam. Every byte a Chronik package reads or writes (WAL segments, Raft state and
 * snapshots, the metadata snapshot, a partition's checkpoint files) goes through a FileSystem, so
 * tests and the simulator can run on a simulated disk that loses or tears unsynced writes on a crash
 * (`@chronik/wal`'s `MemFileSystem`). `nodeFileSystem` is the real one, on `node:fs`.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';

/**
 * How to open a file: `r` read only, `r+` read/write an existing file, `w` create or truncate
 * (read/write), `wx` create (read/write), failing if it exists.
 */
export type OpenFlags = 'r' | 'r+' | 'w' | 'wx';

export interface WalFile {
  /** Writes all of `data` at `position` (positional, never appends implicitly). */
  write(data: Uint8Array, position: number): Promise<void>;
  /**
   * The same write, synchronously on the calling thread (no thread-pool hand-off). Optional: a
   * file without it is always written with `write`.
   */
  writeSync?(data: Uint8Array, position: number): void;
  /**
   * Writes `chunks` back to back starting at `position`, without joining them first (a vectored
   * write). Optional: a file without it gets the chunks joined into one buffer and `write`.
   */
  writev?(chunks: readonly Uint8Array[], position: number): Promise<void>;
  /** The vectored write, synchronously on the calling thread. Optional, like `writeSync`. */
  writevSync?(chunks: readonly Uint8Array[], position: number): void;
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; returns the count read (0 at end of file). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Synchronous read, for callers with a synchronous contract (Raft storage). */
  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number;
  truncate(size: number): Promise<void>;
  /** fdatasync: the data (and the size) are durable when it resolves. */
  datasync(): Promise<void>;
  /** fsync: data and all metadata. */
  sync(): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
  closeSync(): void;
}

export interface FileSystem {
  open(path: string, flags: OpenFlags): Promise<WalFile>;
  /**
   * Synchronous open of an existing file: read only (`r`), or read/write (`r+`, what a pool of
   * descriptors reopens a writable file with, from a synchronous read or write).
   */
  openSync(path: string, flags: 'r' | 'r+'): WalFile;
  /** File names (not paths) in `dir`. */
  readdir(dir: string): Promise<string[]>;
  /** Creates `dir` and its parents if missing. */
  mkdir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Size of a file, or undefined if it does not exist (a directory exists too; its size means nothing). */
  stat(path: string): Promise<{ size: number } | undefined>;
  /** Makes the directory's entries (creations, renames, removals) durable. */
  fsyncDir(dir: string): Promise<void>;
  /**
   * Removes `path` (a file, or a directory and everything below it); nothing happens when it does
   * not exist. Not made durable: a crash may leave some of it behind.
   */
  removeTree(path: string): Promise<void>;
}

/** Buffers per writev(2) call (Linux IOV_MAX). */
const MAX_IOVECS = 1024;

/** The chunks left after the first `n` bytes of `chunks` were written. */
function skipBytes(chunks: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = n;
  for (const c of chunks) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    out.push(left > 0 ? c.subarray(left) : c);
    left = 0;
  }
  return out;
}

function totalBytes(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** Writes every byte of `chunks` at `position` with writev, resuming after short writes. */
function writevAllSync(fd: number, chunks: readonly Uint8Array[], position: number): void {
  let rest: readonly Uint8Array[] = chunks.filter((c) => c.length > 0);
  let pos = position;
  while (rest.length > 0) {
    const part = rest.length > MAX_IOVECS ? rest.slice(0, MAX_IOVECS) : rest;
    const n = fs.writevSync(fd, part, pos);
    if (n <= 0) throw new Error(`short write at ${pos}`);
    pos += n;
    rest = n === totalBytes(part) ? rest.slice(part.length) : skipBytes(rest, n);
  }
}

/** Reads up to `length` bytes at `position`, resuming after short reads; stops at the end of the file. */
function readAllSync(
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

class NodeFile implements WalFile {
  constructor(private readonly handle: fsp.FileHandle) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`short write at ${position + done}`);
      done += bytesWritten;
    }
  }

  writeSync(data: Uint8Array, position: number): void {
    let done = 0;
    while (done < data.length) {
      const n = fs.writeSync(this.handle.fd, data, done, data.length - done, position + done);
      if (n <= 0) throw new Error(`short write at ${position + done}`);
      done += n;
    }
  }

  async writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
    let rest: readonly Uint8Array[] = chunks.filter((c) => c.length > 0);
    let pos = position;
    while (rest.length > 0) {
      const part = rest.length > MAX_IOVECS ? rest.slice(0, MAX_IOVECS) : rest;
      const { bytesWritten } = await this.handle.writev(part, pos);
      if (bytesWritten <= 0) throw new Error(`short write at ${pos}`);
      pos += bytesWritten;
      rest = bytesWritten === totalBytes(part) ? rest.slice(part.length) : skipBytes(rest, bytesWritten);
    }
  }

  writevSync(chunks: readonly Uint8Array[], position: number): void {
    writevAllSync(this.handle.fd, chunks, position);
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, offset + done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number {
    return readAllSync(this.handle.fd, buffer, offset, length, position);
  }

  truncate(size: number): Promise<void> {
    return this.handle.truncate(size);
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  closeSync(): void {
    // FileHandle has no synchronous close; closing the descriptor directly is safe once no
    // operation is in flight, which the callers guarantee.
    fs.closeSync(this.handle.fd);
  }
}

function callback<T>(run: (done: (e: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((e, v) => (e ? reject(e) : resolve(v)));
  });
}

/**
 * A file on a plain descriptor, opened synchronously (`openSync`): the synchronous operations run
 * on the calling thread, the asynchronous ones in the thread pool (fs callbacks). Not a
 * `FileHandle`, so `closeSync` closes it for good (a FileHandle closed behind its back would close
 * its number again when collected, maybe someone else's descriptor by then).
 */
class FdFile implements WalFile {
  private closed = false;
  constructor(
    private readonly fd: number,
    private readonly writable: boolean,
  ) {}

  private readOnly(): Error {
    const e = new Error('EBADF: file opened read only') as NodeJS.ErrnoException;
    e.code = 'EBADF';
    return e;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    if (!this.writable) throw this.readOnly();
    let done = 0;
    while (done < data.length) {
      const n = await callback<number>((cb) =>
        fs.write(this.fd, data, done, data.length - done, position + done, cb),
      );
      if (n <= 0) throw new Error(`short write at ${position + done}`);
      done += n;
    }
  }

  writeSync(data: Uint8Array, position: number): void {
    if (!this.writable) throw this.readOnly();
    let done = 0;
    while (done < data.length) {
      const n = fs.writeSync(this.fd, data, done, data.length - done, position + done);
      if (n <= 0) throw new Error(`short write at ${position + done}`);
      done += n;
    }
  }

  async writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
    if (!this.writable) throw this.readOnly();
    let rest: readonly Uint8Array[] = chunks.filter((c) => c.length > 0);
    let pos = position;
    while (rest.length > 0) {
      const part = rest.length > MAX_IOVECS ? rest.slice(0, MAX_IOVECS) : rest;
      const n = await callback<number>((cb) => fs.writev(this.fd, part, pos, cb));
      if (n <= 0) throw new Error(`short write at ${pos}`);
      pos += n;
      rest = n === totalBytes(part) ? rest.slice(part.length) : skipBytes(rest, n);
    }
  }

  writevSync(chunks: readonly Uint8Array[], position: number): void {
    if (!this.writable) throw this.readOnly();
    writevAllSync(this.fd, chunks, position);
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const n = await callback<number>((cb) =>
        fs.read(this.fd, buffer, offset + done, length - done, position + done, cb),
      );
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number {
    return readAllSync(this.fd, buffer, offset, length, position);
  }

  async truncate(size: number): Promise<void> {
    if (!this.writable) throw this.readOnly();
    await callback<void>((cb) => fs.ftruncate(this.fd, size, (e) => cb(e, undefined)));
  }

  datasync(): Promise<void> {
    return callback<void>((cb) => fs.fdatasync(this.fd, (e) => cb(e, undefined)));
  }

  sync(): Promise<void> {
    return callback<void>((cb) => fs.fsync(this.fd, (e) => cb(e, undefined)));
  }

  async size(): Promise<number> {
    return (await callback<fs.Stats>((cb) => fs.fstat(this.fd, cb))).size;
  }

  close(): Promise<void> {
    try {
      this.closeSync();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/** The real file system. */
export const nodeFileSystem: FileSystem = {
  async open(path, flags) {
    // Writers also read (the active segment serves reads), so 'w'/'wx' open read/write.
    return new NodeFile(await fsp.open(path, flags === 'w' ? 'w+' : flags === 'wx' ? 'wx+' : flags));
  },
  openSync(path, flags) {
    return new FdFile(fs.openSync(path, flags), flags === 'r+');
  },
  readdir(dir) {
    return fsp.readdir(dir);
  },
  async mkdir(dir) {
    await fsp.mkdir(dir, { recursive: true });
  },
  rename(from, to) {
    return fsp.rename(from, to);
  },
  unlink(path) {
    return fsp.unlink(path);
  },
  async stat(path) {
    try {
      const s = await fsp.stat(path);
      return { size: s.size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  },
  async fsyncDir(dir) {
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
  removeTree(path) {
    return fsp.rm(path, { recursive: true, force: true });
  },
};
