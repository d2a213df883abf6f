// Log compaction on both partition strategies (harness.ts; docs/design/compaction.md): a cleaning
// pass keeps the last record of each key at its offset, tombstones until their delete horizon,
// leaves gaps that reads step over, refuses keyless records, removes aborted transactions' records
// while keeping markers, keeps an idempotent producer's last batch (empty), and gives the same
// bytes after a restart (standalone: from the compaction snapshot and the log after it; replicated:
// from a checkpoint and the relocation entries after it).
import { buildRecordBatch, decodeRecordBatch, readRecordBatchHeader } from '@chronik/protocol';
import type { CleanerIo, ManagedPartition, PassResult } from '../../src/partition/types.js';
import type { HarnessKind, PartitionHarness } from './harness.js';
import { committedValues, marker, openPartition, readCommitted, until } from './harness.js';

jest.setTimeout(30_000);

const io: CleanerIo = { throttle: async () => undefined, pause: async () => undefined, mapBytes: 1 << 20 };

/** A compacted topic whose batches are all older than segment.ms: only the newest is "active". */
const COMPACT = {
  compact: true,
  segmentMs: 1,
  deleteRetentionMs: 60_000,
  minCleanableDirtyRatio: 0,
};

type Rec = [key: string | null, value: string | null];

function keyed(
  records: Rec[],
  o: { producerId?: bigint; seq?: number; txn?: boolean; ts?: bigint } = {},
): Buffer {
  return buildRecordBatch({
    records: records.map(([k, v], i) => ({
      key: k === null ? null : Buffer.from(k),
      value: v === null ? null : Buffer.from(v),
      timestampMs: (o.ts ?? 1000n) + BigInt(i),
    })),
    ...(o.producerId !== undefined
      ? {
          producerId: o.producerId,
          producerEpoch: 0,
          baseSequence: o.seq ?? 0,
          isTransactional: o.txn ?? false,
        }
      : {}),
  });
}

interface Seen {
  offset: bigint;
  key: string | null;
  value: string | null;
}

function records(chunks: readonly Buffer[]): Seen[] {
  return chunks.flatMap((c) =>
    decodeRecordBatch(c).records.map((r) => ({
      offset: r.offset,
      key: r.key?.toString() ?? null,
      value: r.value?.toString() ?? null,
    })),
  );
}

async function readAll(p: ManagedPartition, from = 0n): Promise<Buffer[]> {
  return (await p.read(from, 1 << 24, true, 0)).chunks as Buffer[];
}

async function clean(p: ManagedPartition, nowMs: number): Promise<PassResult | undefined> {
  const plan = p.cleanable(nowMs);
  if (plan === undefined) return undefined;
  return p.clean(plan, nowMs, io);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `other: ${String(e)}`;
  }
}

describe.each<HarnessKind>(['local', 'replicated'])('%s partition: compaction', (kind) => {
  let h: PartitionHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const open = async (config = {}): Promise<PartitionHarness> => {
    h = await openPartition(kind, { config: { ...COMPACT, ...config } });
    return h;
  };
  const append = (p: ManagedPartition, b: Buffer) => p.append(b, -1, 5000);

  test('keeps the last record of each key at its offset; tombstones until their horizon; restart gives the same bytes', async () => {
    const hh = await open();
    let p = hh.p;
    await append(
      p,
      keyed([
        ['a', 'a1'],
        ['b', 'b1'],
        ['c', 'c1'],
      ]),
    ); // 0-2
    await append(
      p,
      keyed([
        ['a', 'a2'],
        ['d', 'd1'],
      ]),
    ); // 3-4
    await append(
      p,
      keyed([
        ['b', null],
        ['c', 'c2'],
      ]),
    ); // 5-6
    await append(p, keyed([['e', 'e1']])); // 7: the newest batch, never cleaned
    const before = await readAll(p);
    const r = await clean(p, hh.now);
    expect(r).toMatchObject({ completed: true, endOffset: 7n });
    const after = records(await readAll(p));
    expect(after).toEqual([
      { offset: 3n, key: 'a', value: 'a2' },
      { offset: 4n, key: 'd', value: 'd1' },
      { offset: 5n, key: 'b', value: null },
      { offset: 6n, key: 'c', value: 'c2' },
      { offset: 7n, key: 'e', value: 'e1' },
    ]);
    expect(p.highWatermark).toBe(8n);
    expect(p.logStartOffset).toBe(0n);
    expect(p.sizeBytes()).toBeLessThan(before.reduce((n, c) => n + c.length, 0));
    // A fetch at an offset the cleaner removed answers from the next batch kept.
    expect(records(await readAll(p, 1n))[0]?.offset).toBe(3n);
    // ListOffsets and OffsetForLeaderEpoch answer as before: the log start stays, the end too, a
    // timestamp finds the first record kept at or after it.
    expect((await p.listOffset(-2n, 0)).offset).toBe(0n);
    expect((await p.listOffset(-1n, 0)).offset).toBe(8n);
    expect((await p.listOffset(1001n, 0)).offset).toBe(4n); // a1 (1000) and b1 (1001) are gone: d1 (1001)
    expect(p.offsetForLeaderEpoch(p.leaderEpoch)).toEqual({ leaderEpoch: p.leaderEpoch, endOffset: 8n });
    // The tombstone's batch now carries a delete horizon (KIP-534).
    const tomb = (await readAll(p, 5n))[0] as Buffer;
    const th = readRecordBatchHeader(tomb, 0);
    expect(th.hasDeleteHorizon).toBe(true);
    expect(th.baseTimestamp).toBe(BigInt(hh.now + 60_000));
    expect(decodeRecordBatch(tomb).records.map((x) => x.timestampMs)).toEqual([1000n, 1001n]);

    const bytes = Buffer.concat(await readAll(p));
    p = await hh.restart();
    expect(Buffer.concat(await readAll(p))).toEqual(bytes);

    // Past the horizon, the next pass (with something dirty) removes the tombstone.
    await append(p, keyed([['f', 'f1']])); // 8
    await append(p, keyed([['g', 'g1']])); // 9
    const r2 = await clean(p, hh.now + 60_001);
    expect(r2?.completed).toBe(true);
    expect(records(await readAll(p)).map((x) => x.key)).toEqual(['a', 'd', 'c', 'e', 'f', 'g']);
    const bytes2 = Buffer.concat(await readAll(p));
    p = await hh.restart();
    expect(Buffer.concat(await readAll(p))).toEqual(bytes2);
    expect(p.highWatermark).toBe(10n);
  });

  test('refuses records without a key (INVALID_RECORD)', async () => {
    const { p } = await open();
    expect(await codeOf(append(p, keyed([[null, 'x']])))).toBe('INVALID_RECORD');
    expect(
      await codeOf(
        append(
          p,
          keyed([
            ['k', 'x'],
            [null, 'y'],
          ]),
        ),
      ),
    ).toBe('INVALID_RECORD');
    expect(await codeOf(append(p, keyed([['k', 'x']])))).toBe('ok');
  });

  test('the active segment (segment.ms, segment.bytes), min.compaction.lag.ms and the newest batch are not cleaned', async () => {
    const hh = await open({ segmentMs: 60_000 });
    const ts = BigInt(hh.now);
    await append(hh.p, keyed([['a', '1']], { ts }));
    await append(hh.p, keyed([['a', '2']], { ts: ts + 10n }));
    await append(hh.p, keyed([['a', '3']], { ts: ts + 20n }));
    expect(hh.p.cleanable(hh.now + 100)).toBeUndefined(); // all within segment.ms of now
    const config = (hh.p as unknown as { config: object }).config;
    // A segment.bytes smaller than the newest batches: the active segment ends there.
    hh.p.setConfig({ ...config, segmentBytes: 100 } as never);
    expect(hh.p.cleanable(hh.now + 100)).toMatchObject({ firstDirty: 0n, firstUncleanable: 2n });
    hh.p.setConfig(config as never);
    // Older than segment.ms: cleanable, but never the newest batch.
    expect(hh.p.cleanable(hh.now + 60_015)).toMatchObject({ firstDirty: 0n, firstUncleanable: 2n });
    expect(hh.p.cleanable(hh.now + 999_999)).toMatchObject({ firstUncleanable: 2n });
    // min.compaction.lag.ms holds back what is younger.
    hh.p.setConfig({
      ...(hh.p as unknown as { config: object }).config,
      minCompactionLagMs: 999_990,
    } as never);
    expect(hh.p.cleanable(hh.now + 999_999)).toMatchObject({ firstUncleanable: 1n });
  });

  test('aborted transactions lose their records, markers stay; read_committed reads the same', async () => {
    const hh = await open();
    const p = hh.p;
    await append(p, keyed([['a', 'a1']])); // 0
    await p.append(
      keyed(
        [
          ['a', 'aborted'],
          ['x', 'x-aborted'],
        ],
        { producerId: 7n, txn: true },
      ),
      -1,
      5000,
    ); // 1-2
    await p.writeTxnMarker(marker(7n, false), 5000); // 3
    await p.append(keyed([['b', 'committed']], { producerId: 8n, txn: true }), -1, 5000); // 4
    await p.writeTxnMarker(marker(8n, true), 5000); // 5
    await append(p, keyed([['z', 'z1']])); // 6
    const committedBefore = committedValues(await readCommitted(p, 0n));
    expect(committedBefore).toEqual(['a1', 'committed', 'z1']);
    expect((await clean(p, hh.now))?.completed).toBe(true);
    const all = await readAll(p);
    const kinds = all.map((c) => {
      const hd = readRecordBatchHeader(c, 0);
      return `${hd.baseOffset}:${hd.isControl ? 'marker' : hd.recordCount}`;
    });
    // The aborted batch is kept empty: it is producer 7's last.
    expect(kinds).toEqual(['0:1', '1:0', '3:marker', '4:1', '5:marker', '6:1']);
    expect(committedValues(await readCommitted(p, 0n))).toEqual(committedBefore);
    await until(() => p.highWatermark === 7n);
  });
});

describe.each<HarnessKind>(['local', 'replicated'])('%s partition: compaction of large batches', (kind) => {
  test('batches too large to share a relocation entry go one to an entry', async () => {
    const h = await openPartition(kind, { config: { ...COMPACT } });
    try {
      const big = 'x'.repeat(600 * 1024);
      await h.p.append(keyed([['a', `1${big}`]]), -1, 5000);
      await h.p.append(keyed([['b', `1${big}`]]), -1, 5000);
      await h.p.append(keyed([['a', `2${big}`]]), -1, 5000);
      await h.p.append(keyed([['z', 'end']]), -1, 5000);
      const r = await clean(h.p, h.now);
      expect(r).toMatchObject({ completed: true, batchesRemoved: 1 });
      const got = records((await h.p.read(0n, 1 << 24, true, 0)).chunks as Buffer[]);
      expect(got.map((x) => `${x.offset}:${x.key}`)).toEqual(['1:b', '2:a', '3:z']);
    } finally {
      await h.close();
    }
  });
});
