/**
 * Fault injection on files: each case of the recovery decision table (README "Recovery") is
 * produced on purpose, and the log must end as the table says.
 */
import { MemFileSystem, Wal, WalErrorCode, crc32c, isWalError } from '../src/index.js';
import type { WalError } from '../src/index.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { captureLogger, payloadFor, removeTempDirs, tempDir } from './helpers.js';

const DIR = '/wal';
const SEG_HEADER = 40;
const REC_HEADER = 32;

function flip(b: Buffer, pos: number, mask: number): void {
  b[pos] = b[pos]! ^ mask;
}

function segName(first: number): string {
  return `${DIR}/${String(first).padStart(20, '0')}.log`;
}

/** A log of `n` records with a few segments; returns the fs and the segment names. */
async function build(n: number, maxSegmentBytes = 4096): Promise<{ mem: MemFileSystem; segments: string[] }> {
  const mem = new MemFileSystem();
  const wal = await Wal.open({ dir: DIR, fs: mem, maxSegmentBytes, maxRecordBytes: 1000 });
  for (let i = 1; i <= n; i++) await wal.append([{ payload: payloadFor(i) }]);
  await wal.sync();
  await wal.close();
  const segments = (await mem.readdir(DIR)).filter((f) => f.endsWith('.log')).map((f) => `${DIR}/${f}`);
  return { mem, segments };
}

/** Byte offsets at which each record in a segment file starts. */
function recordOffsets(data: Uint8Array): number[] {
  const b = Buffer.from(data);
  const out: number[] = [];
  for (let pos = SEG_HEADER; pos + REC_HEADER <= b.length; pos += REC_HEADER + b.readUInt32LE(pos))
    out.push(pos);
  return out;
}

function open(mem: MemFileSystem, extra: Partial<Parameters<typeof Wal.open>[0]> = {}): Promise<Wal> {
  return Wal.open({ dir: DIR, fs: mem, maxSegmentBytes: 4096, maxRecordBytes: 1000, ...extra });
}

function checkAll(wal: Wal, upTo: number): void {
  const got = wal.readSync(wal.firstIndex(), upTo + 1, Number.MAX_SAFE_INTEGER);
  expect(got.length).toBe(upTo - wal.firstIndex() + 1);
  for (const r of got) expect(r.payload.equals(payloadFor(r.index))).toBe(true);
}

async function expectCorruption(p: Promise<unknown>, file: string): Promise<WalError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(isWalError(err, WalErrorCode.Corruption)).toBe(true);
  expect((err as WalError).file).toBe(file);
  expect(typeof (err as WalError).position).toBe('number');
  return err as WalError;
}

describe('torn tail of the last segment → cut back to the last good record, keep a .broken copy', () => {
  test('truncated at every byte offset of its last two records', async () => {
    const n = 60;
    const { mem, segments } = await build(n);
    const last = segments[segments.length - 1]!;
    const original = mem.readFileNow(last);
    const offsets = recordOffsets(original);
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    const secondLast = offsets[offsets.length - 2]!;
    const lastStart = offsets[offsets.length - 1]!;
    for (let cut = secondLast; cut < original.length; cut++) {
      const m = new MemFileSystem();
      for (const s of segments) m.writeFileNow(s, mem.readFileNow(s));
      m.writeFileNow(last, original.subarray(0, cut));
      const logger = captureLogger();
      const wal = await open(m, { logger });
      const expectedLast = cut >= lastStart ? n - 1 : n - 2;
      expect(wal.lastIndex()).toBe(expectedLast);
      checkAll(wal, expectedLast);
      const boundary = cut === secondLast || cut === lastStart;
      expect(wal.recovery.bytesCut).toBe(boundary ? 0 : cut - (cut >= lastStart ? lastStart : secondLast));
      expect(wal.recovery.brokenFiles.length).toBe(boundary ? 0 : 1);
      if (!boundary) {
        const broken = m.readFileNow(wal.recovery.brokenFiles[0]!);
        expect(
          Buffer.from(broken).equals(
            Buffer.from(original.subarray(cut >= lastStart ? lastStart : secondLast, cut)),
          ),
        ).toBe(true);
        expect(logger.lines.some((l) => l.level === 'warn' && l.msg === 'wal: cut torn tail')).toBe(true);
      }
      expect(logger.lines.filter((l) => l.msg === 'wal recovered').length).toBe(1);
      // Carry on: append, sync, reopen (for a sample of the offsets, to keep the run short).
      if (!boundary && cut % 7 !== 0) {
        await wal.close();
        continue;
      }
      await wal.append([{ payload: payloadFor(expectedLast + 1) }]);
      await wal.sync();
      await wal.close();
      const again = await open(m);
      expect(again.lastIndex()).toBe(expectedLast + 1);
      checkAll(again, expectedLast + 1);
      expect(again.recovery.bytesCut).toBe(0);
      await again.close();
    }
  });

  test.each([
    ['zero-filled tail (preallocated space)', (len: number) => Buffer.alloc(len)],
    [
      'garbage tail',
      (len: number) => Buffer.from(Array.from({ length: len }, (_, i) => (i * 131 + 7) & 0xff)),
    ],
  ])('%s', async (_name, tail) => {
    const { mem, segments } = await build(40);
    const last = segments[segments.length - 1]!;
    const original = Buffer.from(mem.readFileNow(last));
    mem.writeFileNow(last, Buffer.concat([original, tail(8192)]));
    const wal = await open(mem);
    expect(wal.lastIndex()).toBe(40);
    expect(wal.recovery.bytesCut).toBe(8192);
    expect(mem.readFileNow(last).length).toBe(original.length);
    checkAll(wal, 40);
    await wal.close();
  });

  test('a bad CRC in the very last record is a torn write', async () => {
    const { mem, segments } = await build(40);
    const last = segments[segments.length - 1]!;
    const data = Buffer.from(mem.readFileNow(last));
    flip(data, data.length - 1, 0x01);
    mem.writeFileNow(last, data);
    const wal = await open(mem);
    expect(wal.lastIndex()).toBe(39);
    checkAll(wal, 39);
    await wal.close();
  });
});

describe('last segment empty or shorter than its header → removed', () => {
  test.each([
    ['zero bytes', 0],
    ['half a header', 20],
    ['a header and nothing else', SEG_HEADER],
  ])('%s', async (_name, keep) => {
    const { mem, segments } = await build(40);
    const last = segments[segments.length - 1]!;
    const prevLastIndex = 40 - recordOffsets(mem.readFileNow(last)).length;
    mem.writeFileNow(last, mem.readFileNow(last).subarray(0, keep));
    const wal = await open(mem);
    expect(wal.recovery.segmentsRemoved).toBe(1);
    expect(wal.lastIndex()).toBe(prevLastIndex);
    expect(await mem.stat(last)).toBeUndefined();
    checkAll(wal, prevLastIndex);
    // Appends continue, into a new segment with the same first index.
    await wal.append([{ payload: payloadFor(prevLastIndex + 1) }]);
    await wal.sync();
    await wal.close();
    const again = await open(mem);
    checkAll(again, prevLastIndex + 1);
    await again.close();
  });

  test('a fresh log whose only segment was never written', async () => {
    const mem = new MemFileSystem();
    await mem.mkdir(DIR);
    mem.writeFileNow(segName(1), Buffer.alloc(0));
    const wal = await open(mem);
    expect(wal.lastIndex()).toBe(0);
    expect(wal.recovery.segmentsRemoved).toBe(1);
    await wal.close();
  });
});

describe('a bad record anywhere else → refuse to open (Corruption naming file and position)', () => {
  test('bit flip in a record of a middle segment', async () => {
    const { mem, segments } = await build(80);
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const middle = segments[1]!;
    const data = Buffer.from(mem.readFileNow(middle));
    const offsets = recordOffsets(data);
    const victim = offsets[Math.floor(offsets.length / 2)]!;
    flip(data, victim + REC_HEADER + 3, 0x10); // payload byte
    mem.writeFileNow(middle, data);
    const err = await expectCorruption(open(mem), middle);
    expect(err.position).toBe(victim);
    expect(err.message).toContain(middle);

    // The operator option cuts the log there and keeps going.
    const wal = await open(mem, { onCorruption: 'truncate' });
    expect(wal.recovery.corruptionTruncated).toBe(true);
    const firstOfMiddle = Number(middle.slice(DIR.length + 1, DIR.length + 21));
    expect(wal.lastIndex()).toBe(firstOfMiddle + offsets.indexOf(victim) - 1);
    checkAll(wal, wal.lastIndex());
    expect((await mem.readdir(DIR)).some((f) => f.endsWith('.broken'))).toBe(true);
    await wal.append([{ payload: payloadFor(wal.lastIndex() + 1) }]);
    await wal.sync();
    await wal.close();
    const again = await open(mem);
    checkAll(again, again.lastIndex());
    await again.close();
  });

  test('bit flip in a record header of a middle segment', async () => {
    const { mem, segments } = await build(80);
    const middle = segments[1]!;
    const data = Buffer.from(mem.readFileNow(middle));
    const victim = recordOffsets(data)[2]!;
    flip(data, victim + 1, 0x04); // length field
    mem.writeFileNow(middle, data);
    const err = await expectCorruption(open(mem), middle);
    expect(err.position).toBe(victim);
  });

  test('bit flip in the middle of the last segment, valid records after it', async () => {
    const { mem, segments } = await build(60);
    const last = segments[segments.length - 1]!;
    const data = Buffer.from(mem.readFileNow(last));
    const offsets = recordOffsets(data);
    expect(offsets.length).toBeGreaterThanOrEqual(4);
    const victim = offsets[1]!;
    flip(data, victim + REC_HEADER, 0x80);
    mem.writeFileNow(last, data);
    const err = await expectCorruption(open(mem), last);
    expect(err.position).toBe(victim);
  });

  test('a middle segment cut short', async () => {
    const { mem, segments } = await build(80);
    const middle = segments[1]!;
    const data = mem.readFileNow(middle);
    mem.writeFileNow(middle, data.subarray(0, data.length - 10));
    await expectCorruption(open(mem), middle);
  });

  test('a missing segment in the sequence', async () => {
    const { mem, segments } = await build(80);
    expect(segments.length).toBeGreaterThanOrEqual(3);
    await mem.unlink(segments[1]!);
    const err = await expectCorruption(open(mem), segments[2]!);
    expect(err.message).toContain('missing segment');
    const wal = await open(mem, { onCorruption: 'truncate' });
    const firstOfMissing = Number(segments[1]!.slice(DIR.length + 1, DIR.length + 21));
    expect(wal.lastIndex()).toBe(firstOfMissing - 1);
    checkAll(wal, wal.lastIndex());
    await wal.close();
  });

  test('a damaged segment header', async () => {
    const { mem, segments } = await build(80);
    const data = Buffer.from(mem.readFileNow(segments[0]!));
    flip(data, 20, 0xff);
    mem.writeFileNow(segments[0]!, data);
    await expectCorruption(open(mem), segments[0]!);
  });

  test('the first segment starts after the recorded first index', async () => {
    // wal.meta records the first index from the first segment on: a deleted first segment is found.
    const { mem, segments } = await build(80);
    await mem.unlink(segments[0]!);
    const err = await expectCorruption(open(mem), segments[1]!);
    expect(err.message).toContain('should start at index 1');
    // Also after a prefix truncation moved the first index.
    const m2 = await build(80);
    const wal = await open(m2.mem);
    await wal.truncatePrefix(2);
    await wal.close();
    await m2.mem.unlink(m2.segments[0]!);
    await expectCorruption(open(m2.mem), m2.segments[1]!);
  });

  test('the newest segment recorded in wal.meta is missing', async () => {
    const { mem, segments } = await build(80);
    await mem.unlink(segments[segments.length - 1]!);
    const err = await expectCorruption(open(mem), `${DIR}/wal.meta`);
    expect(err.message).toContain(path.basename(segments[segments.length - 1]!));
    expect(err.message).toContain('lost');
    // The operator option accepts the loss and records what is left.
    const wal = await open(mem, { onCorruption: 'truncate' });
    expect(wal.recovery.corruptionTruncated).toBe(true);
    checkAll(wal, wal.lastIndex());
    await wal.close();
    const again = await open(mem);
    expect(again.recovery.corruptionTruncated).toBe(false);
    await again.close();
  });

  test("the log's only segment is missing", async () => {
    const { mem, segments } = await build(5);
    expect(segments).toHaveLength(1);
    await mem.unlink(segments[0]!);
    const err = await expectCorruption(open(mem), `${DIR}/wal.meta`);
    expect(err.message).toContain('no segment is left');
  });

  test('a log that was never written, or emptied on purpose, opens empty', async () => {
    const mem = new MemFileSystem();
    const fresh = await open(mem);
    await fresh.close();
    expect(await mem.readdir(DIR)).toEqual([]);
    const again = await open(mem);
    expect(again.lastIndex()).toBe(0);
    await again.append([{ payload: payloadFor(1) }, { payload: payloadFor(2) }]);
    await again.truncatePrefix(3); // every record removed on purpose, segments included
    await again.close();
    const emptied = await open(mem);
    expect([emptied.firstIndex(), emptied.lastIndex()]).toEqual([3, 2]);
    await emptied.reset(10);
    await emptied.close();
    const reset = await open(mem);
    expect([reset.firstIndex(), reset.lastIndex()]).toEqual([10, 9]);
    await reset.append([{ payload: payloadFor(10) }]);
    await reset.truncateSuffix(9); // its only segment removed on purpose
    await reset.close();
    const truncated = await open(mem);
    expect([truncated.firstIndex(), truncated.lastIndex()]).toEqual([10, 9]);
    await truncated.close();
  });

  test('a log without wal.meta (an older build) gets one at open, and from then on a lost segment is found', async () => {
    const { mem, segments } = await build(80);
    await mem.unlink(`${DIR}/wal.meta`);
    const wal = await open(mem);
    expect(wal.recovery.actions.join('; ')).toContain('recorded the first index 1');
    await wal.close();
    await mem.unlink(segments[0]!);
    await expectCorruption(open(mem), segments[1]!);
  });

  test('a version-1 wal.meta (first index only) is read and rewritten as version 2', async () => {
    const { mem, segments } = await build(80);
    const wal = await open(mem);
    await wal.truncatePrefix(2);
    await wal.close();
    // The version-1 layout: magic, version 1, reserved, u64 first index, CRC of the 24 bytes before it.
    const v1 = Buffer.alloc(28);
    v1.write('CHRKMET1', 0, 'latin1');
    v1.writeUInt32LE(1, 8);
    v1.writeUInt32LE(2, 16);
    v1.writeUInt32LE(crc32c(v1.subarray(0, 24)) >>> 0, 24);
    mem.writeFileNow(`${DIR}/wal.meta`, v1);
    const reopened = await open(mem);
    expect(reopened.firstIndex()).toBe(2);
    expect(reopened.recovery.actions.join('; ')).toContain('version 1');
    await reopened.close();
    expect(mem.readFileNow(`${DIR}/wal.meta`).length).toBe(36);
    await mem.unlink(segments[segments.length - 1]!);
    await expectCorruption(open(mem), `${DIR}/wal.meta`);
  });
});

describe('housekeeping', () => {
  test('leftover temp files are removed', async () => {
    const { mem } = await build(30);
    mem.writeFileNow(`${DIR}/00000000000000000031.log.tmp`, Buffer.alloc(40));
    mem.writeFileNow(`${DIR}/wal.meta.tmp`, Buffer.alloc(3));
    mem.writeFileNow(`${DIR}/00000000000000000001.index.tmp`, Buffer.alloc(7));
    const wal = await open(mem);
    expect(wal.recovery.tempFilesRemoved).toBe(3);
    expect((await mem.readdir(DIR)).some((f) => f.endsWith('.tmp'))).toBe(false);
    checkAll(wal, 30);
    await wal.close();
  });

  test('missing or stale index files are rebuilt', async () => {
    const { mem, segments } = await build(80);
    const idx0 = segments[0]!.replace(/\.log$/, '.index');
    const idx1 = segments[1]!.replace(/\.log$/, '.index');
    await mem.unlink(idx0);
    const stale = Buffer.from(mem.readFileNow(idx1));
    flip(stale, stale.length - 1, 1);
    mem.writeFileNow(idx1, stale);
    const wal = await open(mem, { verify: 'tail' });
    expect(wal.recovery.indexesRebuilt).toBe(2);
    checkAll(wal, 80);
    await wal.close();
    expect(await mem.stat(idx0)).toBeDefined();
    const again = await open(mem, { verify: 'tail' });
    expect(again.recovery.indexesRebuilt).toBe(0);
    checkAll(again, 80);
    await again.close();
  });

  test('with verify=tail, damage in a sealed segment surfaces as Corruption on read', async () => {
    const { mem, segments } = await build(80);
    const data = Buffer.from(mem.readFileNow(segments[0]!));
    const victim = recordOffsets(data)[3]!;
    flip(data, victim + REC_HEADER, 1);
    mem.writeFileNow(segments[0]!, data);
    const wal = await open(mem, { verify: 'tail' });
    expect(() => wal.readSync(1, 10, 1 << 20)).toThrow(
      expect.objectContaining({ code: WalErrorCode.Corruption, file: segments[0] }),
    );
    await wal.close();
  });

  test('recovery logs one structured summary line', async () => {
    const { mem } = await build(30);
    const logger = captureLogger();
    const wal = await open(mem, { logger });
    const lines = logger.lines.filter((l) => l.msg === 'wal recovered');
    expect(lines.length).toBe(1);
    expect(lines[0]!.fields).toMatchObject({
      dir: DIR,
      records: 30,
      lastIndex: 30,
      firstIndex: 1,
      bytesCut: 0,
    });
    await wal.close();
  });
});

describe('on the real file system', () => {
  afterAll(removeTempDirs);

  async function buildReal(n: number): Promise<{ dir: string; segments: string[] }> {
    const dir = path.join(tempDir(), 'wal');
    const wal = await Wal.open({ dir, maxSegmentBytes: 4096, maxRecordBytes: 1000 });
    for (let i = 1; i <= n; i++) await wal.append([{ payload: payloadFor(i) }]);
    await wal.sync();
    await wal.close();
    const segments = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .sort()
      .map((f) => path.join(dir, f));
    return { dir, segments };
  }

  test('a torn and zero-filled tail is cut and kept in a .broken file', async () => {
    const { dir, segments } = await buildReal(60);
    const last = segments[segments.length - 1]!;
    const data = fs.readFileSync(last);
    const offsets = recordOffsets(data);
    const cut = offsets[offsets.length - 1]! + 10;
    fs.writeFileSync(last, Buffer.concat([data.subarray(0, cut), Buffer.alloc(5000)]));
    const wal = await Wal.open({ dir, maxSegmentBytes: 4096, maxRecordBytes: 1000 });
    expect(wal.lastIndex()).toBe(59);
    expect(wal.recovery.bytesCut).toBe(10 + 5000);
    expect(fs.statSync(last).size).toBe(offsets[offsets.length - 1]);
    expect(fs.readFileSync(wal.recovery.brokenFiles[0]!).length).toBe(5010);
    checkAll(wal, 59);
    await wal.close();
  });

  test('a bit flip in a middle segment refuses to open', async () => {
    const { dir, segments } = await buildReal(80);
    const middle = segments[1]!;
    const data = fs.readFileSync(middle);
    flip(data, recordOffsets(data)[1]! + REC_HEADER, 0x02);
    fs.writeFileSync(middle, data);
    let err: unknown;
    try {
      await Wal.open({ dir, maxSegmentBytes: 4096, maxRecordBytes: 1000 });
    } catch (e) {
      err = e;
    }
    expect(isWalError(err, WalErrorCode.Corruption)).toBe(true);
    expect((err as WalError).file).toBe(middle);
  });
});

describe('prefix index of the active segment (verify: tail)', () => {
  const tail = { verify: 'tail' as const, maxSegmentBytes: 1 << 20, tailIndexIntervalBytes: 4096 };
  const idxName = (first: number): string => `${DIR}/${String(first).padStart(20, '0')}.index`;

  async function written(n: number): Promise<MemFileSystem> {
    const mem = new MemFileSystem();
    const wal = await open(mem, tail);
    for (let i = 1; i <= n; i++) await wal.append([{ payload: payloadFor(i) }]);
    await wal.sync();
    await wal.close();
    return mem;
  }

  test('a clean close indexes the whole active segment: the next open checks none of it', async () => {
    const mem = await written(100);
    const wal = await open(mem, tail);
    const size = mem.readFileNow(segName(1)).length;
    expect(wal.recovery.tailIndexedBytes).toBe(size);
    expect(wal.lastIndex()).toBe(100);
    checkAll(wal, 100);
    // Appends after it, then a crash (no close): checked from the prefix on.
    for (let i = 101; i <= 120; i++) await wal.append([{ payload: payloadFor(i) }]);
    await wal.sync();
    const again = await open(
      mem.crash(() => 0.99),
      tail,
    );
    expect(again.recovery.tailIndexedBytes).toBeGreaterThanOrEqual(size);
    expect(again.lastIndex()).toBe(120);
    checkAll(again, 120);
    await again.close();
  });

  test('a damaged, foreign or oversized prefix index is not used: the segment is scanned whole', async () => {
    const mem = await written(100);
    const good = Buffer.from(mem.readFileNow(idxName(1)));
    const damaged = Buffer.from(good);
    flip(damaged, 60, 0x10);
    const segBytes = mem.readFileNow(segName(1));
    for (const bad of [damaged, Buffer.alloc(0), good.subarray(0, 30)]) {
      mem.writeFileNow(idxName(1), bad);
      const wal = await open(mem, tail);
      expect(wal.recovery.tailIndexedBytes).toBe(0);
      expect(wal.lastIndex()).toBe(100);
      checkAll(wal, 100);
      await wal.close();
    }
    // The segment shorter than the index says (cut by hand): the index is refused, the tail checked.
    mem.writeFileNow(idxName(1), good);
    mem.writeFileNow(segName(1), segBytes.subarray(0, segBytes.length - 10));
    const wal = await open(mem, tail);
    expect(wal.recovery.tailIndexedBytes).toBe(0);
    expect(wal.lastIndex()).toBe(99);
    checkAll(wal, 99);
    await wal.close();
  });

  test('a suffix truncation removes the prefix index durably before cutting', async () => {
    const mem = await written(100);
    const wal = await open(mem, tail);
    await wal.truncateSuffix(50);
    expect((await mem.readdir(DIR)).filter((n) => n.endsWith('.index'))).toEqual([]);
    for (let i = 51; i <= 60; i++) await wal.append([{ payload: payloadFor(i + 1000) }]);
    await wal.sync();
    const after = await open(
      mem.crash(() => 0.99),
      tail,
    );
    expect(after.lastIndex()).toBe(60);
    const recs = after.readSync(51, 61, Number.MAX_SAFE_INTEGER);
    for (const r of recs) expect(r.payload.equals(payloadFor(r.index + 1000))).toBe(true);
    await after.close();
  });
});
