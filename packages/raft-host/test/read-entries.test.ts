// RaftLogStorage.readEntries: the asynchronous read of a group's log (Kafka fetches of a cluster
// partition). It answers what `entries` answers, by data bytes, never reads the disk synchronously,
// and a read that a compaction, a truncation or a snapshot install overtakes while it waits for the
// disk answers the log as it is when it settles: Compacted, or entries still in the log, never an
// entry that was cut. Damaged storage is the storage's error.
import { EntryType, RaftError } from '@chronik/raft';
import type { ConfState, Entry } from '@chronik/raft';
import * as path from 'node:path';
import { MemFileSystem, WalError, nodeFileSystem } from '@chronik/wal';
import type { FileSystem, WalFile } from '@chronik/wal';
import { RaftLogStorage } from '../src/index.js';
import { removeTempDirs, tempDir } from './temp-dir.js';

afterAll(removeTempDirs);

const conf: ConfState = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

function ent(index: number, term: number, bytes = 100): Entry {
  const data = Buffer.alloc(bytes, 0x61 + ((index + term) % 26));
  data.writeUInt32BE(index, 0);
  data.writeUInt32BE(term, 4);
  return { index, term, type: EntryType.Normal, data };
}

const key = (e: Entry): string => `${e.index}/${e.term}/${Buffer.from(e.data).toString('hex')}`;

/**
 * A file system (by default a MemFileSystem) whose files' asynchronous reads wait at a gate while
 * it is closed (they then read the file as it is when the gate opens, as a thread-pool read that ran
 * late would), and that counts the synchronous reads.
 */
class GatedFs {
  readonly mem = new MemFileSystem();
  /** Where the storage lives: a MemFileSystem path, or a temporary directory for the real one. */
  readonly dir: string;
  closed = false;
  syncReads = 0;
  private readonly waiting: Array<() => void> = [];
  readonly fs: FileSystem;

  constructor(real = false) {
    const under: FileSystem = real ? nodeFileSystem : this.mem;
    this.dir = real ? path.join(tempDir(), 'g') : '/g';
    const wrap = (f: WalFile): WalFile =>
      new Proxy(f, {
        get: (t, k) => {
          if (k === 'read')
            return async (b: Uint8Array, o: number, l: number, p: number): Promise<number> => {
              if (this.closed) await new Promise<void>((r) => this.waiting.push(r));
              return t.read(b, o, l, p);
            };
          if (k === 'readSync')
            return (b: Uint8Array, o: number, l: number, p: number): number => {
              this.syncReads++;
              return t.readSync(b, o, l, p);
            };
          const v = Reflect.get(t, k) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
    this.fs = new Proxy(under, {
      get: (t, k) => {
        if (k === 'open') return async (p: string, flags: 'r') => wrap(await t.open(p, flags));
        if (k === 'openSync') return (p: string, flags: 'r') => wrap(t.openSync(p, flags));
        const v = Reflect.get(t, k) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    }) as unknown as FileSystem;
  }

  /** Resolves once a read waits at the (closed) gate. */
  async readWaiting(): Promise<void> {
    for (let k = 0; k < 1000 && this.waiting.length === 0; k++) await new Promise((r) => setImmediate(r));
    if (this.waiting.length === 0) throw new Error('no read reached the gate');
  }

  open(): void {
    this.closed = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

/** A storage holding entries 1..n of `term` (100 B each), all on disk (nothing cached). */
async function storageOnDisk(
  g: GatedFs,
  n: number,
  term = 1,
  opts: { maxSegmentBytes?: number } = {},
): Promise<RaftLogStorage> {
  const s = await RaftLogStorage.open({ dir: g.dir, fs: g.fs, maxCacheBytes: 0, ...opts });
  const ents: Entry[] = [];
  for (let i = 1; i <= n; i++) ents.push(ent(i, term));
  s.append(ents);
  await s.sync();
  expect(s.cachedBytes()).toBe(0);
  return s;
}

describe('RaftLogStorage.readEntries', () => {
  test('answers what entries() answers, from disk, memory or both, with a budget of data bytes', async () => {
    const g = new GatedFs();
    const s = await RaftLogStorage.open({ dir: '/g', fs: g.fs, maxCacheBytes: 3000, maxSegmentBytes: 4096 });
    for (let i = 1; i <= 200; i++) s.append([ent(i, 1 + Math.floor(i / 40), 50 + (i % 7) * 20)]);
    await s.sync();
    expect(s.cachedBytes()).toBeGreaterThan(0); // the newest in memory, the rest on disk
    for (const [lo, hi] of [
      [1, 201],
      [7, 8],
      [150, 201],
      [199, 201],
      [30, 190],
    ] as const) {
      for (const maxBytes of [0, 1, 100, 1000, 10_000, Number.MAX_SAFE_INTEGER]) {
        const got = await s.readEntries(lo, hi, maxBytes);
        // The longest prefix whose data fits, at least one entry.
        const all = s.entries(lo, hi, Number.MAX_SAFE_INTEGER);
        let n = 1;
        let bytes = all[0]!.data.length;
        while (n < all.length && bytes + all[n]!.data.length <= maxBytes) bytes += all[n++]!.data.length;
        expect(got.map(key)).toEqual(all.slice(0, n).map(key));
      }
    }
    expect(await s.readEntries(201, 201, 10)).toEqual([]);
    await s.close();
  });

  test('never reads the disk on the calling thread', async () => {
    const g = new GatedFs();
    const s = await storageOnDisk(g, 300, 1, { maxSegmentBytes: 8192 });
    g.syncReads = 0;
    const got = await s.readEntries(1, 301, Number.MAX_SAFE_INTEGER);
    expect(got.map((e) => e.index)).toEqual(Array.from({ length: 300 }, (_, k) => k + 1));
    expect(g.syncReads).toBe(0);
    s.entries(1, 301, Number.MAX_SAFE_INTEGER); // (the synchronous read does)
    expect(g.syncReads).toBeGreaterThan(0);
    await s.close();
  });

  test('range errors reject with the RaftError entries() throws', async () => {
    const g = new GatedFs();
    const s = await storageOnDisk(g, 10);
    s.compact(3);
    await expect(s.readEntries(3, 5, 10)).rejects.toMatchObject({ code: 'Compacted' });
    await expect(s.readEntries(4, 12, 10)).rejects.toMatchObject({ code: 'Unavailable' });
    await expect(s.readEntries(6, 5, 10)).rejects.toMatchObject({ code: 'InvariantViolated' });
    expect((await s.readEntries(4, 5, 10)).map((e) => e.index)).toEqual([4]);
    await s.close();
  });

  test('a compaction that overtakes the read makes it Compacted', async () => {
    const g = new GatedFs();
    const s = await storageOnDisk(g, 100, 1, { maxSegmentBytes: 2048 });
    g.closed = true;
    const read = s.readEntries(10, 60, Number.MAX_SAFE_INTEGER).catch((e: unknown) => e);
    await g.readWaiting();
    s.compact(40); // the Wal drops whole segments below 41 once the state says so
    await s.sync(); // (on disk before the read goes on)
    g.open();
    const failed = await read;
    expect(failed).toBeInstanceOf(RaftError);
    expect(failed).toMatchObject({ code: 'Compacted' });
    // A compaction below the range leaves the answer whole.
    g.closed = true;
    const later = s.readEntries(70, 90, Number.MAX_SAFE_INTEGER);
    await g.readWaiting();
    s.compact(60);
    await s.sync();
    g.open();
    expect((await later).map(key)).toEqual(s.entries(70, 90, Number.MAX_SAFE_INTEGER).map(key));
    await s.close();
  });

  // The new leader's entries reach memory at once; the read goes on before they reach the disk
  // (it reads the cut entries: they must not be answered) or after (it reads the new ones, or fails
  // where the file got shorter and reads again).
  test.each([
    ['reads before the disk has them', 100, 45, false, true],
    ['same sizes', 100, 45, false, false],
    ['other sizes', 37, 45, false, false],
    ['fewer than it cut', 37, 22, false, false],
    ['same sizes, real file system', 100, 45, true, false],
    ['fewer than it cut, real file system', 37, 22, true, false],
  ])(
    'a truncation that overtakes the read never yields a cut entry (new entries: %s)',
    async (_name, bytes, last, real, readFirst) => {
      const g = new GatedFs(real);
      const s = await storageOnDisk(g, 40);
      g.closed = true;
      const read = s.readEntries(10, 41, Number.MAX_SAFE_INTEGER);
      await g.readWaiting();
      // A new leader's entries replace 21..40 (term 2).
      const replacing: Entry[] = [];
      for (let i = 21; i <= last; i++) replacing.push(ent(i, 2, bytes));
      s.append(replacing);
      let got: Entry[];
      if (readFirst) {
        g.open();
        got = await read;
        await s.sync();
      } else {
        await s.sync();
        g.open();
        got = await read;
      }
      expect(got[0]!.index).toBe(10);
      // Every entry answered is the log's entry at its index now (none of the cut term-1 ones).
      expect(got.map(key)).toEqual(s.entries(10, 10 + got.length, Number.MAX_SAFE_INTEGER).map(key));
      expect(got.length).toBeGreaterThanOrEqual(11); // 10..20 were never cut
      await s.close();
    },
  );

  test('a snapshot installed while the read waits makes it Compacted', async () => {
    const g = new GatedFs();
    const s = await storageOnDisk(g, 50);
    g.closed = true;
    const read = s.readEntries(5, 20, Number.MAX_SAFE_INTEGER).catch((e: unknown) => e);
    await g.readWaiting();
    s.applySnapshot({ metadata: { index: 80, term: 3, confState: conf }, data: Buffer.from('state') });
    await s.sync(); // (on disk before the read goes on)
    g.open();
    expect(await read).toMatchObject({ code: 'Compacted' });
    await s.close();
  });

  test('damaged storage is the storage error, entries before the damage still read', async () => {
    const g = new GatedFs();
    const s = await storageOnDisk(g, 30);
    const [file] = (await g.mem.readdir('/g/log')).filter((n) => n.endsWith('.log'));
    const p = `/g/log/${file}`;
    const bytes = Buffer.from(g.mem.readFileNow(p));
    // Flip a byte inside entry 20's data (its index is written at the start of its data).
    const at = bytes.indexOf(Buffer.from(ent(20, 1).data.subarray(0, 8)));
    expect(at).toBeGreaterThan(0);
    bytes[at + 50] = (bytes[at + 50] ?? 0) ^ 0xff;
    g.mem.writeFileNow(p, bytes);
    await expect(s.readEntries(10, 31, Number.MAX_SAFE_INTEGER)).rejects.toThrow(WalError);
    await expect(s.readEntries(10, 31, Number.MAX_SAFE_INTEGER)).rejects.toMatchObject({
      code: 'Corruption',
    });
    expect((await s.readEntries(10, 20, Number.MAX_SAFE_INTEGER)).map((e) => e.index)).toEqual([
      10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ]);
    await s.close();
  });
});
