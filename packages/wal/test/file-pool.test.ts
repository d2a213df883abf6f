import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilePool, GroupCommitter, MemFileSystem, Wal, WalErrorCode, nodeFileSystem } from '../src/index.js';
import type { FileSystem, OpenFlags, WalFile } from '../src/index.js';
import { seededRng } from './helpers.js';

/** Counts the descriptors a file system really has open (opens minus closes). */
class CountingFileSystem implements FileSystem {
  openNow = 0;
  maxOpen = 0;
  constructor(private readonly inner: FileSystem) {}
  private track(f: WalFile): WalFile {
    this.openNow++;
    this.maxOpen = Math.max(this.maxOpen, this.openNow);
    let closed = false;
    const done = (): void => {
      if (!closed) this.openNow--;
      closed = true;
    };
    return Object.assign(Object.create(f) as WalFile, {
      close: () => {
        done();
        return f.close();
      },
      closeSync: () => {
        done();
        f.closeSync();
      },
    });
  }
  async open(p: string, flags: OpenFlags): Promise<WalFile> {
    return this.track(await this.inner.open(p, flags));
  }
  openSync(p: string, flags: 'r' | 'r+'): WalFile {
    return this.track(this.inner.openSync(p, flags));
  }
  readdir(d: string): Promise<string[]> {
    return this.inner.readdir(d);
  }
  mkdir(d: string): Promise<void> {
    return this.inner.mkdir(d);
  }
  rename(a: string, b: string): Promise<void> {
    return this.inner.rename(a, b);
  }
  unlink(p: string): Promise<void> {
    return this.inner.unlink(p);
  }
  stat(p: string): Promise<{ size: number } | undefined> {
    return this.inner.stat(p);
  }
  fsyncDir(d: string): Promise<void> {
    return this.inner.fsyncDir(d);
  }
  removeTree(p: string): Promise<void> {
    return this.inner.removeTree(p);
  }
}

interface Disk {
  name: string;
  make(): { inner: FileSystem; dir: string; cleanup(): void };
}

const disks: Disk[] = [
  {
    name: 'simulated disk',
    make: () => ({ inner: new MemFileSystem(), dir: '/data', cleanup: () => {} }),
  },
  {
    name: 'real disk',
    make: () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-pool-'));
      return { inner: nodeFileSystem, dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
];

function text(b: Uint8Array): string {
  return Buffer.from(b).toString();
}

function readAll(f: WalFile, n: number): string {
  const b = Buffer.alloc(n);
  return text(b.subarray(0, f.readSync(b, 0, n, 0)));
}

describe.each(disks)('FilePool on the $name', (disk) => {
  let inner: CountingFileSystem;
  let dir: string;
  let cleanup: () => void;
  beforeEach(async () => {
    const d = disk.make();
    inner = new CountingFileSystem(d.inner);
    dir = d.dir;
    cleanup = d.cleanup;
    await inner.mkdir(dir);
  });
  afterEach(() => cleanup());

  test('keeps at most maxOpenFiles descriptors: the least recently used idle ones close and reopen on use', async () => {
    const pool = new FilePool(inner, { maxOpenFiles: 3 });
    const files: WalFile[] = [];
    for (let i = 0; i < 10; i++) {
      const f = await pool.open(path.join(dir, `f${i}`), 'w');
      await f.write(Buffer.from(`file ${i}`), 0);
      await f.datasync();
      files.push(f);
    }
    expect(inner.openNow).toBeLessThanOrEqual(3);
    expect(pool.stats()).toMatchObject({ files: 10, open: 3, pinned: 0, opens: 10, evictions: 7 });
    // Every file still reads and writes as if it had never been closed, synchronously or not.
    for (let i = 0; i < 10; i++) {
      expect(readAll(files[i]!, 100)).toBe(`file ${i}`);
      await files[i]!.write(Buffer.from('F'), 0);
      await files[i]!.datasync();
      const b = Buffer.alloc(6);
      await files[i]!.read(b, 0, 6, 0);
      expect(text(b)).toBe(`File ${i}`);
      expect(await files[i]!.size()).toBe(`file ${i}`.length);
    }
    expect(inner.openNow).toBeLessThanOrEqual(3);
    expect(inner.maxOpen).toBeLessThanOrEqual(3);
    expect(pool.stats().reopens).toBeGreaterThanOrEqual(10);
    for (const f of files) await f.close();
    expect(inner.openNow).toBe(0);
    expect(pool.stats()).toMatchObject({ files: 0, open: 0, pinned: 0 });
  });

  test('a file with writes not yet synced keeps its descriptor until a sync succeeds', async () => {
    const pool = new FilePool(inner, { maxOpenFiles: 2 });
    const a = await pool.open(path.join(dir, 'a'), 'w');
    await a.write(Buffer.from('dirty'), 0);
    a.writeSync?.(Buffer.from('D'), 0);
    const others: WalFile[] = [];
    for (let i = 0; i < 4; i++) {
      const f = await pool.open(path.join(dir, `o${i}`), 'w');
      await f.datasync();
      others.push(f);
    }
    // `a` was never closed: its data would otherwise go to writeback with no descriptor to report an error.
    expect(pool.stats()).toMatchObject({ open: 2, pinned: 1 });
    const reopensBefore = pool.stats().reopens;
    expect(readAll(a, 10)).toBe('Dirty');
    expect(pool.stats().reopens).toBe(reopensBefore);
    await a.datasync();
    expect(pool.stats().pinned).toBe(0);
    await pool.open(path.join(dir, 'b'), 'w');
    await pool.open(path.join(dir, 'c'), 'w');
    // Clean now: closed to make room for the new (dirty-free but in-use-free) files.
    expect(pool.stats().evictions).toBeGreaterThanOrEqual(4);
    expect(readAll(a, 10)).toBe('Dirty');
  });

  test('when every descriptor is pinned the pool opens past its limit rather than fail', async () => {
    const pool = new FilePool(inner, { maxOpenFiles: 2 });
    const files: WalFile[] = [];
    for (let i = 0; i < 4; i++) {
      const f = await pool.open(path.join(dir, `p${i}`), 'w');
      await f.write(Buffer.from('x'), 0);
      files.push(f);
    }
    expect(pool.stats()).toMatchObject({ open: 4, pinned: 4, overLimitOpens: 2 });
    for (const f of files) await f.datasync();
    // Synced: back under the limit.
    expect(pool.stats()).toMatchObject({ open: 2, pinned: 0 });
    expect(inner.openNow).toBe(2);
  });

  test('reopens with the mode it was opened in: a file created with w or wx is neither truncated nor refused', async () => {
    const pool = new FilePool(inner, { maxOpenFiles: 1 });
    const w = await pool.open(path.join(dir, 'w'), 'w');
    await w.write(Buffer.from('keep me'), 0);
    await w.datasync();
    const wx = await pool.open(path.join(dir, 'wx'), 'wx');
    await wx.write(Buffer.from('and me'), 0);
    await wx.datasync();
    await (await pool.open(path.join(dir, 'wx'), 'r')).close();
    const r = pool.openSync(path.join(dir, 'w'), 'r');
    // Each of these reopens the file (one descriptor for all three).
    expect(readAll(w, 20)).toBe('keep me');
    await w.write(Buffer.from('!'), 7);
    await w.datasync();
    expect(readAll(wx, 20)).toBe('and me');
    expect(readAll(r, 20)).toBe('keep me!');
    // A read-only file stays read only.
    await expect(r.write(Buffer.from('x'), 0)).rejects.toThrow();
    expect(pool.stats().reopens).toBeGreaterThanOrEqual(3);
    expect(inner.maxOpen).toBeLessThanOrEqual(1);
  });

  test('follows renames of the file and of a directory above it', async () => {
    const pool = new FilePool(inner, { maxOpenFiles: 1 });
    await pool.mkdir(path.join(dir, 'sub'));
    const f = await pool.open(path.join(dir, 'sub', 'state.tmp'), 'w');
    await f.write(Buffer.from('state'), 0);
    await f.datasync();
    await pool.rename(path.join(dir, 'sub', 'state.tmp'), path.join(dir, 'sub', 'state'));
    const other = await pool.open(path.join(dir, 'other'), 'w'); // closes f's descriptor
    await other.datasync();
    expect(readAll(f, 10)).toBe('state'); // reopened at its new name
    await f.write(Buffer.from('S'), 0); // not truncated: 'w' is reopened as r+
    await f.datasync();
    expect(await pool.readdir(path.join(dir, 'sub'))).toEqual(['state']);
    if (disk.name === 'real disk') {
      // A directory rename (the simulated disk renames files only).
      await pool.rename(path.join(dir, 'sub'), path.join(dir, 'moved'));
      await other.write(Buffer.from('o'), 0);
      await other.datasync();
      expect(readAll(f, 10)).toBe('State');
      expect(fs.readFileSync(path.join(dir, 'moved', 'state'), 'utf8')).toBe('State');
    } else {
      expect(readAll(f, 10)).toBe('State');
    }
  });

  test('a file whose path is unlinked, replaced or removed keeps its descriptor until closed', async () => {
    const pool = new FilePool(inner, { maxOpenFiles: 1 });
    const gone = await pool.open(path.join(dir, 'gone'), 'w');
    await gone.write(Buffer.from('old gone'), 0);
    await gone.datasync();
    const replaced = await pool.open(path.join(dir, 'seg'), 'w');
    await replaced.write(Buffer.from('old seg'), 0);
    await replaced.datasync();
    // Both clean, at most one open: one of them has no descriptor now.
    expect(pool.stats().open).toBe(1);
    await pool.unlink(path.join(dir, 'gone'));
    const tmp = await pool.open(path.join(dir, 'seg.tmp'), 'w');
    await tmp.write(Buffer.from('new seg'), 0);
    await tmp.datasync();
    await pool.rename(path.join(dir, 'seg.tmp'), path.join(dir, 'seg'));
    // The unlinked and the replaced file were reopened before their paths went, and stay open.
    expect(pool.stats().pinned).toBe(2);
    const filler = await pool.open(path.join(dir, 'filler'), 'w');
    await filler.datasync();
    expect(readAll(gone, 20)).toBe('old gone');
    expect(readAll(replaced, 20)).toBe('old seg');
    expect(readAll(tmp, 20)).toBe('new seg');
    await pool.mkdir(path.join(dir, 'tree'));
    const inTree = await pool.open(path.join(dir, 'tree', 'x'), 'w');
    await inTree.write(Buffer.from('in tree'), 0);
    await inTree.datasync();
    await pool.removeTree(path.join(dir, 'tree'));
    expect(readAll(inTree, 20)).toBe('in tree');
    await gone.close();
    await replaced.close();
    await inTree.close();
    expect(pool.stats().pinned).toBe(0);
  });

  test('a failed sync leaves the file pinned: the error is not lost by closing its descriptor', async () => {
    if (!(disk.name === 'simulated disk')) return;
    const mem = new MemFileSystem();
    await mem.mkdir('/d');
    const pool = new FilePool(mem, { maxOpenFiles: 1 });
    const f = await pool.open('/d/a', 'w');
    await f.write(Buffer.from('data'), 0);
    mem.failNext('datasync');
    await expect(f.datasync()).rejects.toMatchObject({ code: 'EIO' });
    const g = await pool.open('/d/b', 'w');
    await g.datasync();
    // `g` went past the limit while `a` was pinned, and was closed again once clean.
    expect(pool.stats()).toMatchObject({ open: 1, pinned: 1, overLimitOpens: 1 });
    await f.datasync();
    expect(pool.stats()).toMatchObject({ open: 1, pinned: 0 });
  });

  test('limits: maxOpenFiles must be a positive integer; lowering it closes idle descriptors', async () => {
    expect(() => new FilePool(inner, { maxOpenFiles: 0 })).toThrow(
      expect.objectContaining({ code: WalErrorCode.InvalidArgument }),
    );
    expect(() => new FilePool(inner, { maxOpenFiles: 1.5 })).toThrow(/positive integer/);
    const pool = new FilePool(inner);
    expect(pool.maxOpenFiles).toBe(1024);
    for (let i = 0; i < 5; i++) await (await pool.open(path.join(dir, `l${i}`), 'w')).datasync();
    expect(pool.stats().open).toBe(5);
    pool.setMaxOpenFiles(2);
    expect(pool.stats()).toMatchObject({ open: 2, evictions: 3, maxOpenFiles: 2 });
    expect(inner.openNow).toBe(2);
  });

  test('many logs on a few descriptors: appends, syncs, reads and reopening agree', async () => {
    const pool = new FilePool(inner, { maxOpenFiles: 4 });
    const committer = new GroupCommitter();
    const logs: Wal[] = [];
    for (let i = 0; i < 12; i++)
      logs.push(
        await Wal.open({ dir: path.join(dir, `log${i}`), fs: pool, committer, maxSegmentBytes: 4096 }),
      );
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < logs.length; i++) {
        const log = logs[(i * 5 + round) % logs.length]!;
        await log.append([{ payload: Buffer.alloc(1000, round + i) }, { payload: Buffer.from(`r${round}`) }]);
        await log.sync();
      }
    }
    expect(inner.maxOpen).toBeLessThanOrEqual(4 + 1);
    for (const log of logs) {
      expect(log.readSync(1, 13, 1 << 20).length).toBe(12);
      expect(log.segmentCount()).toBeGreaterThan(1);
    }
    for (const log of logs) await log.close();
    committer.close();
    expect(inner.openNow).toBe(0);
    const again = await Wal.open({ dir: path.join(dir, 'log3'), fs: pool, maxSegmentBytes: 4096 });
    expect((await again.read(12, 13, 100))[0]!.payload.toString()).toBe('r5');
    await again.close();
  });
});

describe('FilePool: directory syncs', () => {
  /** A file system whose directory syncs settle when the test says. */
  function slowDirSyncs(): { fs: FileSystem; pending: Array<() => void>; runs: string[] } {
    const mem = new MemFileSystem();
    const pending: Array<() => void> = [];
    const runs: string[] = [];
    const fs = Object.assign(Object.create(mem) as FileSystem, {
      fsyncDir: (dir: string) => {
        runs.push(dir);
        return new Promise<void>((resolve) => pending.push(resolve));
      },
    });
    return { fs, pending, runs };
  }

  test('calls while one runs share the next one, which starts after it', async () => {
    const { fs: inner, pending, runs } = slowDirSyncs();
    const pool = new FilePool(inner);
    const settled: string[] = [];
    const first = pool.fsyncDir('/d').then(() => settled.push('first'));
    const later = [1, 2, 3].map((k) => pool.fsyncDir('/d').then(() => settled.push(`later${k}`)));
    const other = pool.fsyncDir('/e').then(() => settled.push('other'));
    expect(runs).toEqual(['/d', '/e']);
    pending.shift()!();
    await first;
    // The later callers' changes may postdate the first sync: they wait for a second one.
    expect(settled).toEqual(['first']);
    await Promise.resolve();
    expect(runs).toEqual(['/d', '/e', '/d']);
    pending.shift()!(); // /e
    pending.shift()!(); // the second /d
    await Promise.all([...later, other]);
    expect(settled.sort()).toEqual(['first', 'later1', 'later2', 'later3', 'other']);
    expect(pool.stats()).toMatchObject({ dirSyncs: 3, dirSyncsShared: 3 });
    // Idle again: the next call runs a sync of its own.
    const again = pool.fsyncDir('/d');
    expect(runs.length).toBe(4);
    pending.shift()!();
    await again;
  });

  test('a failed shared sync fails every caller that shared it', async () => {
    const mem = new MemFileSystem();
    let fail = false;
    const inner = Object.assign(Object.create(mem) as FileSystem, {
      fsyncDir: (dir: string) => (fail ? Promise.reject(new Error('EIO: dir')) : mem.fsyncDir(dir)),
    });
    await mem.mkdir('/d');
    const pool = new FilePool(inner);
    fail = true;
    const a = pool.fsyncDir('/d');
    const b = pool.fsyncDir('/d');
    await expect(a).rejects.toThrow(/EIO/);
    await expect(b).rejects.toThrow(/EIO/);
    fail = false;
    await expect(pool.fsyncDir('/d')).resolves.toBeUndefined();
  });
});

describe('FilePool over the simulated disk: crashes', () => {
  test('what a log synced through a pool of two descriptors survives every crash', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = seededRng(seed);
      const mem = new MemFileSystem();
      const pool = new FilePool(mem, { maxOpenFiles: 2 });
      const committer = new GroupCommitter();
      const logs: Wal[] = [];
      for (let i = 0; i < 5; i++)
        logs.push(await Wal.open({ dir: `/d/log${i}`, fs: pool, committer, maxSegmentBytes: 2048 }));
      const synced = logs.map(() => 0);
      for (let k = 0; k < 60; k++) {
        const i = Math.floor(rng() * logs.length);
        const log = logs[i]!;
        await log.append([{ payload: Buffer.alloc(1 + Math.floor(rng() * 400), k) }]);
        if (rng() < 0.5) {
          await log.sync();
          synced[i] = log.lastIndex();
        }
      }
      const after = mem.crash(seededRng(seed * 31));
      for (let i = 0; i < logs.length; i++) {
        const log = await Wal.open({ dir: `/d/log${i}`, fs: new FilePool(after, { maxOpenFiles: 1 }) });
        expect(log.lastIndex()).toBeGreaterThanOrEqual(synced[i]!);
        await log.close();
      }
    }
  });
});
