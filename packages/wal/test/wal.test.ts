import * as path from 'node:path';
import * as fs from 'node:fs';
import { crc32c } from '@node-rs/crc32';
import { ManualScheduler } from '@chronik/env';
import {
  GroupCommitter,
  MemFileSystem,
  Wal,
  WalErrorCode,
  isWalError,
  nodeFileSystem,
} from '../src/index.js';
import type { FileSystem } from '../src/index.js';
import { payloadFor, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

async function appendRange(wal: Wal, from: number, to: number, maxLen = 300): Promise<void> {
  const recs = [];
  for (let i = from; i <= to; i++) recs.push({ payload: payloadFor(i, maxLen), timestampMs: 1000 + i * 10 });
  await wal.append(recs);
}

function expectRange(wal: Wal, from: number, to: number, maxLen = 300): void {
  const got = wal.readSync(from, to + 1, Number.MAX_SAFE_INTEGER);
  expect(got.map((r) => r.index)).toEqual(Array.from({ length: to - from + 1 }, (_, k) => from + k));
  for (const r of got) expect(r.payload.equals(payloadFor(r.index, maxLen))).toBe(true);
}

const backends: [string, () => { fs: FileSystem; dir: string }][] = [
  ['memfs', () => ({ fs: new MemFileSystem(), dir: '/data/wal' })],
  ['node fs', () => ({ fs: nodeFileSystem, dir: path.join(tempDir(), 'wal') })],
];

describe.each(backends)('Wal on %s', (_name, mk) => {
  test('append, read, sync, reopen', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({ dir, fs: fsys });
    expect(wal.firstIndex()).toBe(1);
    expect(wal.lastIndex()).toBe(0);
    const p = appendRange(wal, 1, 100);
    expect(wal.lastIndex()).toBe(100);
    await p;
    expect(wal.writtenIndex()).toBe(100);
    await wal.sync();
    expect(wal.durableIndex()).toBe(100);
    expectRange(wal, 1, 100);
    expect((await wal.read(10, 20, 1 << 20)).map((r) => r.index)).toEqual([
      10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ]);
    await wal.close();
    const again = await Wal.open({ dir, fs: fsys });
    expect(again.recovery.records).toBe(100);
    expect(again.lastIndex()).toBe(100);
    expectRange(again, 1, 100);
    await again.close();
  });

  test('rotates by size, reads across segments, keeps index files of sealed segments', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({
      dir,
      fs: fsys,
      maxSegmentBytes: 8192,
      maxRecordBytes: 1000,
      indexIntervalBytes: 512,
    });
    for (let i = 1; i <= 400; i += 10) await appendRange(wal, i, i + 9);
    await wal.sync();
    expect(wal.segmentCount()).toBeGreaterThan(5);
    expectRange(wal, 1, 400);
    expectRange(wal, 137, 299);
    const names = await fsys.readdir(dir);
    expect(names.filter((n) => n.endsWith('.index')).length).toBe(wal.segmentCount() - 1);
    expect(names).toContain('00000000000000000001.log');
    await wal.close();
    const again = await Wal.open({
      dir,
      fs: fsys,
      maxSegmentBytes: 8192,
      maxRecordBytes: 1000,
      verify: 'tail',
    });
    expectRange(again, 1, 400);
    expect(again.recovery.indexesRebuilt).toBe(0);
    await again.close();
  });

  test('rotates by age using the injected clock', async () => {
    const { fs: fsys, dir } = mk();
    let now = 1_000_000;
    const wal = await Wal.open({ dir, fs: fsys, clock: { nowMs: () => now }, maxSegmentAgeMs: 60_000 });
    await appendRange(wal, 1, 5);
    now += 30_000;
    await appendRange(wal, 6, 10);
    expect(wal.segmentCount()).toBe(1);
    now += 31_000;
    await appendRange(wal, 11, 12);
    expect(wal.segmentCount()).toBe(2);
    expect((await fsys.readdir(dir)).filter((n) => n.endsWith('.log'))).toEqual([
      '00000000000000000001.log',
      '00000000000000000011.log',
    ]);
    expectRange(wal, 1, 12);
    await wal.close();
  });

  test('byte budget: at least one record, then stops before exceeding maxBytes', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({ dir, fs: fsys });
    await wal.append([
      { payload: Buffer.alloc(100) },
      { payload: Buffer.alloc(100) },
      { payload: Buffer.alloc(100) },
    ]);
    expect(wal.readSync(1, 4, 10).length).toBe(1);
    expect(wal.readSync(1, 4, 200).length).toBe(2);
    expect(wal.readSync(1, 4, 299).length).toBe(2);
    expect(wal.readSync(1, 4, 300).length).toBe(3);
    expect(wal.readSync(3, 100, 1000).map((r) => r.index)).toEqual([3]);
    expect(wal.readSync(4, 100, 1000)).toEqual([]);
    await wal.close();
  });

  test('truncateSuffix removes records durably, across segments, and appends continue', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({ dir, fs: fsys, maxSegmentBytes: 4096, maxRecordBytes: 1000 });
    await appendRange(wal, 1, 200);
    const segs = wal.segmentCount();
    expect(segs).toBeGreaterThan(3);
    await wal.truncateSuffix(37);
    expect(wal.lastIndex()).toBe(37);
    expect(wal.segmentCount()).toBeLessThan(segs);
    expectRange(wal, 1, 37);
    await wal.append([{ payload: Buffer.from('new-38') }]);
    await wal.sync();
    expect(wal.readSync(38, 39, 100)[0]!.payload.toString()).toBe('new-38');
    await wal.close();
    const again = await Wal.open({ dir, fs: fsys, maxSegmentBytes: 4096, maxRecordBytes: 1000 });
    expect(again.lastIndex()).toBe(38);
    expectRange(again, 1, 37);
    await again.truncateSuffix(0);
    expect(again.lastIndex()).toBe(0);
    await again.close();
    const empty = await Wal.open({ dir, fs: fsys });
    expect(empty.lastIndex()).toBe(0);
    expect((await fsys.readdir(dir)).filter((n) => n.endsWith('.log'))).toEqual([]);
    await empty.close();
  });

  test('truncatePrefix deletes whole segments and records the first index durably', async () => {
    const { fs: fsys, dir } = mk();
    const opts = { dir, fs: fsys, maxSegmentBytes: 4096, maxRecordBytes: 1000 };
    const wal = await Wal.open(opts);
    await appendRange(wal, 1, 200);
    const segs = wal.segmentCount();
    await wal.truncatePrefix(120);
    expect(wal.firstIndex()).toBe(120);
    expect(wal.segmentCount()).toBeLessThan(segs);
    expect(() => wal.readSync(119, 121, 1000)).toThrow(
      expect.objectContaining({ code: WalErrorCode.Compacted }),
    );
    expectRange(wal, 120, 200);
    await wal.truncatePrefix(201);
    expect(wal.segmentCount()).toBe(0);
    expect(wal.firstIndex()).toBe(201);
    await wal.close();
    const again = await Wal.open(opts);
    expect(again.firstIndex()).toBe(201);
    expect(again.lastIndex()).toBe(200);
    await appendRange(again, 201, 210);
    await again.sync();
    await again.close();
    const third = await Wal.open(opts);
    expectRange(third, 201, 210);
    await third.close();
  });

  test('reset starts over at a given index', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({ dir, fs: fsys });
    await appendRange(wal, 1, 20);
    await wal.reset(1000);
    expect(wal.firstIndex()).toBe(1000);
    expect(wal.lastIndex()).toBe(999);
    await appendRange(wal, 1000, 1005);
    await wal.sync();
    await wal.close();
    const again = await Wal.open({ dir, fs: fsys });
    expect(again.firstIndex()).toBe(1000);
    expectRange(again, 1000, 1005);
    await again.close();
  });

  test('findIndexByTimestamp uses the time index', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({
      dir,
      fs: fsys,
      maxSegmentBytes: 4096,
      maxRecordBytes: 1000,
      indexIntervalBytes: 256,
    });
    await appendRange(wal, 1, 300); // timestamps 1000 + 10 i
    expect(await wal.findIndexByTimestamp(0)).toBe(1);
    expect(await wal.findIndexByTimestamp(1010)).toBe(1);
    expect(await wal.findIndexByTimestamp(1011)).toBe(2);
    expect(await wal.findIndexByTimestamp(2500)).toBe(150);
    expect(await wal.findIndexByTimestamp(4000)).toBe(300);
    expect(await wal.findIndexByTimestamp(4001)).toBeUndefined();
    await wal.close();
  });

  test('reads from any segment while appends, rotations and truncations go on', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({
      dir,
      fs: fsys,
      maxSegmentBytes: 4096,
      maxRecordBytes: 1000,
      indexIntervalBytes: 300,
    });
    const pending: Promise<unknown>[] = [];
    let checked = 0;
    for (let round = 0; round < 40; round++) {
      const from = wal.lastIndex() + 1;
      pending.push(appendRange(wal, from, from + 4));
      if (round % 3 === 0) await pending[pending.length - 1]; // let some writes land, leave others in flight
      // Whatever is written so far reads back intact, from any segment, sync or async.
      const w = wal.writtenIndex();
      if (w >= 1) {
        const lo = 1 + ((round * 7) % w);
        const got = await wal.read(lo, w + 1, 1 << 20);
        for (const r of got) expect(r.payload.equals(payloadFor(r.index))).toBe(true);
        expect(got[0]!.index).toBe(lo);
        checked += got.length;
        expect(wal.readSync(lo, lo + 1, 0)[0]!.payload.equals(payloadFor(lo))).toBe(true);
      }
    }
    // A truncation queued behind in-flight appends removes them too; later appends follow it.
    const t = wal.truncateSuffix(100);
    pending.push(wal.append([{ payload: payloadFor(101) }]));
    await t;
    await Promise.all(pending);
    expect(wal.lastIndex()).toBe(101);
    expectRange(wal, 1, 101);
    expect(checked).toBeGreaterThan(100);
    await wal.close();
  });

  test('limits: record size, pending bytes', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({
      dir,
      fs: fsys,
      maxRecordBytes: 100,
      maxSegmentBytes: 4096,
      maxPendingBytes: 1000,
    });
    await expect(wal.append([{ payload: Buffer.alloc(101) }])).rejects.toMatchObject({
      code: WalErrorCode.RecordTooLarge,
    });
    const first = wal.append([{ payload: Buffer.alloc(100) }]);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => wal.append([{ payload: Buffer.alloc(100) }])),
    );
    await first;
    expect(
      results.some((r) => r.status === 'rejected' && isWalError(r.reason, WalErrorCode.Overloaded)),
    ).toBe(true);
    await wal.close();
    await expect(wal.append([{ payload: Buffer.alloc(1) }])).rejects.toMatchObject({
      code: WalErrorCode.Closed,
    });
  });
});

test('a second Wal on the same directory in one process is refused until the first is closed', async () => {
  const mem = new MemFileSystem();
  const a = await Wal.open({ dir: '/x', fs: mem });
  await expect(Wal.open({ dir: '/x/', fs: mem })).rejects.toMatchObject({
    code: WalErrorCode.InvalidArgument,
  });
  await a.close();
  const b = await Wal.open({ dir: '/x', fs: mem });
  await b.close();
});

describe('group commit', () => {
  test('one flush cycle syncs many logs, one fdatasync each', async () => {
    const mem = new MemFileSystem();
    const committer = new GroupCommitter();
    const logs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => Wal.open({ dir: `/d/${i}`, fs: mem, committer })),
    );
    for (const [i, w] of logs.entries()) await appendRange(w, 1, 3 + i);
    const before = mem.syncCount;
    const cyclesBefore = committer.cycles;
    await Promise.all(logs.map((w) => w.sync()));
    expect(mem.syncCount - before).toBe(10);
    expect(committer.cycles - cyclesBefore).toBe(1);
    for (const w of logs) expect(w.durableIndex()).toBe(w.lastIndex());
    // Nothing dirty: no more fsyncs.
    await Promise.all(logs.map((w) => w.sync()));
    expect(mem.syncCount - before).toBe(10);
    for (const w of logs) await w.close();
  });

  test('interval policy waits for the timer; unsafe-none never syncs', async () => {
    const mem = new MemFileSystem();
    const timers: (() => void)[] = [];
    const committer = new GroupCommitter({
      policy: { kind: 'interval', intervalMs: 5 },
      timers: { setTimeout: (fn) => timers.push(fn), clearTimeout: () => {} },
    });
    const w = await Wal.open({ dir: '/a', fs: mem, committer });
    await appendRange(w, 1, 5);
    let done = false;
    const s = w.sync().then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    expect(timers.length).toBe(1);
    timers.shift()!();
    await s;
    expect(w.durableIndex()).toBe(5);

    const none = await Wal.open({ dir: '/b', fs: mem, syncPolicy: { kind: 'unsafe-none' } });
    await appendRange(none, 1, 5);
    const before = mem.syncCount;
    await none.sync();
    expect(mem.syncCount).toBe(before);
    expect(none.durableIndex()).toBe(0);
  });

  test("the committer's cycles start on the injected scheduler: batch on its defer, interval on its timer", async () => {
    const mem = new MemFileSystem();
    const clock = new ManualScheduler(0);
    const deferred: (() => void)[] = [];
    const scheduler = { setTimer: clock.setTimer.bind(clock), defer: (fn: () => void) => deferred.push(fn) };
    const batch = new GroupCommitter({ scheduler });
    const a = await Wal.open({ dir: '/a', fs: mem, committer: batch });
    await appendRange(a, 1, 3);
    let synced = false;
    const sa = a.sync().then(() => (synced = true));
    await new Promise((r) => setImmediate(r));
    expect(synced).toBe(false);
    expect(deferred).toHaveLength(1);
    deferred.shift()!();
    await sa;
    expect(a.durableIndex()).toBe(3);

    const interval = new GroupCommitter({ policy: { kind: 'interval', intervalMs: 50 }, scheduler });
    const b = await Wal.open({ dir: '/b', fs: mem, committer: interval });
    await appendRange(b, 1, 2);
    const sb = b.sync();
    await new Promise((r) => setImmediate(r));
    expect(clock.pendingTimers).toBe(1);
    clock.advance(49);
    await new Promise((r) => setImmediate(r));
    expect(b.durableIndex()).toBe(0);
    clock.advance(1);
    await sb;
    expect(b.durableIndex()).toBe(2);
    expect(deferred).toHaveLength(0);
  });

  test('an fdatasync failure stops that log only (fail-stop), with a typed Io error', async () => {
    const mem = new MemFileSystem();
    const committer = new GroupCommitter();
    const a = await Wal.open({ dir: '/a', fs: mem, committer });
    const b = await Wal.open({ dir: '/b', fs: mem, committer });
    await appendRange(a, 1, 3);
    await appendRange(b, 1, 3);
    mem.failNext('datasync');
    const results = await Promise.allSettled([a.sync(), b.sync()]);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBe(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: WalErrorCode.Io });
    const failed = results[0]!.status === 'rejected' ? a : b;
    await expect(failed.append([{ payload: Buffer.alloc(1) }])).rejects.toMatchObject({
      code: WalErrorCode.Io,
    });
  });
});

test('real directory layout: zero-padded names, meta, no temp files left', async () => {
  const dir = path.join(tempDir(), 'wal');
  const wal = await Wal.open({ dir, maxSegmentBytes: 4096, maxRecordBytes: 1000 });
  await appendRange(wal, 1, 100);
  await wal.truncatePrefix(50);
  await wal.sync();
  await wal.close();
  const names = fs.readdirSync(dir).sort();
  expect(names.every((n) => /^\d{20}\.(log|index)$/.test(n) || n === 'wal.meta')).toBe(true);
  expect(names).toContain('wal.meta');
});

describe.each(backends)('Wal with inlineWrites on %s', (_name, mk) => {
  test('appends are written synchronously, rotate, survive a reopen', async () => {
    const { fs: fsys, dir } = mk();
    const wal = await Wal.open({
      dir,
      fs: fsys,
      inlineWrites: true,
      maxSegmentBytes: 8192,
      maxRecordBytes: 1000,
    });
    await appendRange(wal, 1, 1); // creates the first segment (asynchronously)
    const p = appendRange(wal, 2, 5);
    // The write happened inside append() itself: no thread-pool round trip.
    expect(wal.writtenIndex()).toBe(5);
    await p;
    for (let i = 6; i <= 300; i += 10) await appendRange(wal, i, i + 9);
    expect(wal.segmentCount()).toBeGreaterThan(3);
    await wal.sync();
    expect(wal.durableIndex()).toBe(305);
    expectRange(wal, 1, 305);
    await wal.close();
    const again = await Wal.open({ dir, fs: fsys, inlineWrites: true });
    expect(again.lastIndex()).toBe(305);
    expectRange(again, 1, 305);
    await again.close();
  });
});

test('an inline write that fails rejects the append with Io and stops the log', async () => {
  const mem = new MemFileSystem();
  const wal = await Wal.open({ dir: '/data/wal', fs: mem, inlineWrites: true });
  await appendRange(wal, 1, 3);
  mem.failNext('write');
  const err = await appendRange(wal, 4, 4).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isWalError(err) && err.code === WalErrorCode.Io).toBe(true);
  await expect(appendRange(wal, 5, 5)).rejects.toMatchObject({ code: WalErrorCode.Io });
  await wal.close();
});

test('a caller-supplied payloadCrc is stored as given: right, the record reads back; wrong, the read reports Corruption', async () => {
  const mem = new MemFileSystem();
  const wal = await Wal.open({ dir: '/data/wal', fs: mem });
  const good = payloadFor(1);
  const goodCrc = crc32c(good) >>> 0;
  await wal.append([{ payload: good, payloadCrc: goodCrc }]);
  expect(wal.readSync(1, 2, 1 << 20)[0]!.payload.equals(good)).toBe(true);
  await wal.append([{ payload: payloadFor(2), payloadCrc: (goodCrc ^ 1) >>> 0 }]);
  expect(() => wal.readSync(2, 3, 1 << 20)).toThrow(
    expect.objectContaining({ code: WalErrorCode.Corruption }),
  );
  await expect(wal.append([{ payload: good, payloadCrc: -1 }])).rejects.toMatchObject({
    code: WalErrorCode.InvalidArgument,
  });
  await wal.close();
});

describe('stats and observer (what a server reports as metrics)', () => {
  test('bytes written, fsyncs, flush cycles and their durations are counted on the shared committer', async () => {
    const mem = new MemFileSystem();
    let nowMs = 1000;
    const cycles: Array<{ durationMs: number; logs: number }> = [];
    const committer = new GroupCommitter({
      clock: { monotonicMs: () => (nowMs += 5) },
      observer: { onFlushCycle: (durationMs, logs) => cycles.push({ durationMs, logs }) },
    });
    const a = await Wal.open({ dir: '/a', fs: mem, committer });
    const b = await Wal.open({ dir: '/b', fs: mem, committer });
    expect(committer.stats.recovery.logsOpened).toBe(2);
    await a.append([{ payload: Buffer.alloc(100) }, { payload: Buffer.alloc(50) }]);
    await b.append([{ payload: Buffer.alloc(10) }]);
    // Each record is its 32-byte header and its payload.
    expect(committer.stats.bytesWritten).toBe(3 * 32 + 160);
    await Promise.all([a.sync(), b.sync()]);
    expect(committer.stats.fsyncs).toBe(2);
    expect(committer.stats.flushCycles).toBe(1);
    expect(cycles).toEqual([{ durationMs: 5, logs: 2 }]);
    // Nothing new written: a cycle runs, no fdatasync.
    await a.sync();
    expect(committer.stats.fsyncs).toBe(2);
    expect(committer.stats.flushCycles).toBe(2);
    await a.close();
    await b.close();
  });

  test('recovery actions are counted: a torn tail cut and its .broken copy', async () => {
    const mem = new MemFileSystem();
    const w = await Wal.open({ dir: '/t', fs: mem });
    await appendRange(w, 1, 5);
    await w.sync();
    await w.close();
    const seg = (await mem.readdir('/t')).find((n) => n.endsWith('.log'))!;
    const data = mem.readFileNow(`/t/${seg}`);
    mem.writeFileNow(`/t/${seg}`, data.subarray(0, data.length - 7));
    const committer = new GroupCommitter();
    const r = await Wal.open({ dir: '/t', fs: mem, committer });
    expect(r.lastIndex()).toBe(4);
    expect(committer.stats.recovery).toMatchObject({ logsOpened: 1, tailsTruncated: 1, brokenCopies: 1 });
    await r.close();
  });
});
