import { MemFileSystem } from '../src/index.js';
import { seededRng } from './helpers.js';

describe('MemFileSystem (the simulated disk)', () => {
  test('synced data survives every crash; unsynced data is a torn prefix or gone; names need fsyncDir', async () => {
    let sawTorn = false;
    let sawLostName = false;
    for (let seed = 1; seed <= 200; seed++) {
      const fsys = new MemFileSystem();
      await fsys.mkdir('/d');
      const f = await fsys.open('/d/a', 'w');
      await f.write(Buffer.from('synced-'), 0);
      await f.datasync();
      await fsys.fsyncDir('/d');
      await f.write(Buffer.from('unsynced-bytes'), 7);
      const g = await fsys.open('/d/b', 'w');
      await g.write(Buffer.from('b'), 0);
      await g.datasync(); // data synced, but its name is not
      const after = fsys.crash(seededRng(seed));
      const a = Buffer.from(after.readFileNow('/d/a')).toString();
      expect(a.startsWith('synced-')).toBe(true);
      expect('synced-unsynced-bytes'.startsWith(a)).toBe(true);
      if (a.length > 7 && a.length < 21) sawTorn = true;
      if (!(await after.stat('/d/b'))) sawLostName = true;
      // The crashed instance and its files are dead.
      await expect(f.write(Buffer.from('x'), 0)).rejects.toThrow(/crashed/);
      await expect(fsys.readdir('/d')).rejects.toThrow(/crashed/);
    }
    expect(sawTorn).toBe(true);
    expect(sawLostName).toBe(true);
  });

  test('a rename inside a directory is atomic across a crash', async () => {
    for (let seed = 1; seed <= 100; seed++) {
      const fsys = new MemFileSystem();
      await fsys.mkdir('/d');
      const f = await fsys.open('/d/x.tmp', 'w');
      await f.write(Buffer.from('new'), 0);
      await f.datasync();
      await fsys.fsyncDir('/d');
      await fsys.rename('/d/x.tmp', '/d/x');
      const after = fsys.crash(seededRng(seed));
      const names = await after.readdir('/d');
      expect(names.length).toBe(1);
      expect(['x', 'x.tmp']).toContain(names[0]);
    }
  });

  test('injected EIO', async () => {
    const fsys = new MemFileSystem();
    const f = await fsys.open('/a', 'w');
    fsys.failNext('datasync');
    await expect(f.datasync()).rejects.toMatchObject({ code: 'EIO' });
    await expect(f.datasync()).resolves.toBeUndefined();
  });

  test('injected ENOSPC on the second write after the call', async () => {
    const fsys = new MemFileSystem();
    const f = await fsys.open('/a', 'w');
    fsys.failNext('write', 2, 'ENOSPC');
    await f.write(Buffer.from('x'), 0);
    await expect(f.write(Buffer.from('y'), 1)).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(f.write(Buffer.from('z'), 1)).resolves.toBeUndefined();
    fsys.failNext('datasync');
    fsys.clearFaults();
    await expect(f.datasync()).resolves.toBeUndefined();
  });

  test('removeTree removes a directory with everything below it, and a file; a missing path is no error', async () => {
    const fsys = new MemFileSystem();
    await fsys.mkdir('/data/t/0');
    await fsys.mkdir('/data/t/1');
    await fsys.mkdir('/data/u');
    for (const f of ['/data/t/0/a', '/data/t/1/b', '/data/u/c', '/data/keep']) {
      const h = await fsys.open(f, 'w');
      await h.write(Buffer.from('x'), 0);
      await h.close();
    }
    await fsys.removeTree('/data/t');
    await fsys.removeTree('/data/keep');
    await fsys.removeTree('/data/missing');
    expect(await fsys.readdir('/data')).toEqual(['u']);
    await expect(fsys.readdir('/data/t/0')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fsys.stat('/data/u/c')).toEqual({ size: 1 });
    // A directory exists too.
    expect(await fsys.stat('/data/u')).toEqual({ size: 0 });
  });
});
