// One suite, both partition strategies (harness.ts): the same cases must give the same answers on
// the standalone partition (WAL) and the replicated one (Raft group) — offsets, reads, idempotent
// producers, ListOffsets (latest, earliest, by timestamp, max timestamp), OffsetForLeaderEpoch
// across leader epochs, DeleteRecords, retention, LogAppendTime, limits, and recovery after a
// restart; and transactions (docs/design/transactions.md §1): the last stable offset,
// read_committed reads, the aborted-transaction index, markers, epochs and fencing, and their state
// across a restart, DeleteRecords and retention.
import {
  ControlRecordType,
  buildControlBatch,
  buildRecordBatch,
  decodeControlRecordKey,
  decodeEndTxnMarker,
  decodeRecordBatch,
  readRecordBatchHeader,
} from '@chronik/protocol';
import type { ManagedPartition, ProducerStateView } from '../../src/partition/types.js';
import type { HarnessKind, HarnessOptions, PartitionHarness } from './harness.js';
import {
  LOG_CONFIG,
  abortedIndexOf,
  committedValues,
  marker,
  openPartition,
  readCommitted,
  txnBatch,
  until,
} from './harness.js';

jest.setTimeout(30_000);

interface BatchOptions {
  ts?: bigint;
  producerId?: bigint;
  epoch?: number;
  seq?: number;
  prefix?: string;
}

/** n records v0..v(n-1), timestamps ts, ts+1, ... */
function batch(n: number, o: BatchOptions = {}): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({
      value: Buffer.from(`${o.prefix ?? 'v'}${i}`),
      timestampMs: (o.ts ?? 1000n) + BigInt(i),
    })),
    ...(o.producerId !== undefined
      ? { producerId: o.producerId, producerEpoch: o.epoch ?? 0, baseSequence: o.seq ?? 0 }
      : {}),
  });
}

function values(chunks: readonly Buffer[]): string[] {
  return chunks.flatMap((c) => decodeRecordBatch(c).records.map((r) => r.value?.toString() ?? ''));
}

function baseOffsets(chunks: readonly Buffer[]): bigint[] {
  return chunks.map((c) => readRecordBatchHeader(c, 0).baseOffset);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `other: ${String(e)}`;
  }
}

const append = (p: ManagedPartition, b: Buffer, acks: -1 | 1 = -1) => p.append(b, acks, 5000);
const commit = (p: ManagedPartition, id: bigint, o: { epoch?: number; coordinatorEpoch?: number } = {}) =>
  p.writeTxnMarker(marker(id, true, o), 5000);
const abort = (p: ManagedPartition, id: bigint, o: { epoch?: number; coordinatorEpoch?: number } = {}) =>
  p.writeTxnMarker(marker(id, false, o), 5000);
const byProducer = (v: readonly ProducerStateView[]) =>
  [...v].sort((a, b) => (a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0));

describe.each<HarnessKind>(['local', 'replicated'])('%s partition', (kind) => {
  let h: PartitionHarness | undefined;
  const open = async (o: HarnessOptions = {}): Promise<PartitionHarness> => {
    h = await openPartition(kind, o);
    return h;
  };
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  test('dense offsets per batch; reads from the middle of a batch, the first batch whole, empty at the high watermark', async () => {
    const { p } = await open();
    expect((await append(p, batch(3))).baseOffset).toBe(0n);
    expect((await append(p, batch(2, { prefix: 'w' }))).baseOffset).toBe(3n);
    expect((await append(p, batch(1, { prefix: 'x' }), 1)).baseOffset).toBe(5n);
    await until(() => p.highWatermark === 6n);
    expect(p.logEndOffset).toBe(6n);
    const all = await p.read(0n, 1 << 20, true, 0);
    expect(values(all.chunks)).toEqual(['v0', 'v1', 'v2', 'w0', 'w1', 'x0']);
    expect(all).toMatchObject({
      highWatermark: 6n,
      lastStableOffset: 6n,
      logStartOffset: 0n,
      leaderEpoch: p.leaderEpoch,
    });
    expect(all.bytes).toBe(all.chunks.reduce((n, c) => n + c.length, 0));
    expect(all.chunks.every((c) => readRecordBatchHeader(c, 0).partitionLeaderEpoch === p.leaderEpoch)).toBe(
      true,
    );
    expect(baseOffsets((await p.read(4n, 1 << 20, true, 0)).chunks)).toEqual([3n, 5n]); // the batch holding 4
    expect(baseOffsets((await p.read(0n, 1, true, 0)).chunks)).toEqual([0n]); // first batch whole over maxBytes
    const firstTwo = all.chunks[0]!.length + all.chunks[1]!.length;
    expect(baseOffsets((await p.read(0n, firstTwo, true, 0)).chunks)).toEqual([0n, 3n]);
    expect(baseOffsets((await p.read(0n, firstTwo - 1, true, 0)).chunks)).toEqual([0n]);
    expect(await p.read(6n, 100, true, 0)).toMatchObject({ bytes: 0, chunks: [] });
    expect(await codeOf(p.read(7n, 100, true, 0))).toBe('OFFSET_OUT_OF_RANGE');
    expect(await codeOf(p.read(0n, -1, true, 0))).toBe('INVALID_REQUEST');
    expect(p.sizeBytes()).toBe(all.bytes);
  });

  test('without minOneBatch a read never exceeds maxBytes: a first batch larger than it gives nothing', async () => {
    const { p } = await open();
    await append(p, batch(3));
    await append(p, batch(2, { prefix: 'w' }));
    await until(() => p.highWatermark === 5n);
    const [first, second] = (await p.read(0n, 1 << 20, true, 0)).chunks.map((c) => c.length);
    expect(await p.read(0n, first! - 1, false, 0)).toMatchObject({ bytes: 0, chunks: [], highWatermark: 5n });
    expect(await p.read(0n, 0, false, 0)).toMatchObject({ bytes: 0, chunks: [] });
    expect((await p.read(0n, first!, false, 0)).bytes).toBe(first);
    expect((await p.read(0n, first! + second! - 1, false, 0)).bytes).toBe(first);
    expect((await p.read(0n, first! + second!, false, 0)).bytes).toBe(first! + second!);
    expect(baseOffsets((await p.read(3n, second!, false, 0)).chunks)).toEqual([3n]);
    expect(await p.read(3n, second! - 1, false, 0)).toMatchObject({ bytes: 0, chunks: [] });
  });

  test('a restart rebuilds offsets, the index and the producer state from storage', async () => {
    const hh = await open();
    await append(hh.p, batch(3, { producerId: 9n, seq: 0 }));
    await append(hh.p, batch(4));
    const p = await hh.restart();
    expect([p.logStartOffset, p.highWatermark, p.logEndOffset]).toEqual([0n, 7n, 7n]);
    expect(values((await p.read(0n, 1 << 20, true, 0)).chunks)).toEqual([
      'v0',
      'v1',
      'v2',
      'v0',
      'v1',
      'v2',
      'v3',
    ]);
    expect((await append(p, batch(3, { producerId: 9n, seq: 0 }))).baseOffset).toBe(0n); // still a duplicate
    expect((await append(p, batch(1))).baseOffset).toBe(7n);
  });

  test('idempotent producers: duplicates get the original offset, gaps and old epochs are refused', async () => {
    const { p } = await open();
    const id = 7n;
    expect((await append(p, batch(2, { producerId: id, seq: 0 }))).baseOffset).toBe(0n);
    expect((await append(p, batch(2, { producerId: id, seq: 2 }))).baseOffset).toBe(2n);
    expect((await append(p, batch(2, { producerId: id, seq: 0 }))).baseOffset).toBe(0n); // duplicate
    expect((await append(p, batch(2, { producerId: id, seq: 2 }), 1)).baseOffset).toBe(2n); // duplicate, acks=1
    expect(p.logEndOffset).toBe(4n);
    expect(await codeOf(append(p, batch(1, { producerId: id, seq: 9 })))).toBe(
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
    );
    // Pipelined batches of one producer: the second is checked before the first is stored.
    const [a, b] = await Promise.all([
      append(p, batch(1, { producerId: id, seq: 4 })),
      append(p, batch(1, { producerId: id, seq: 5 })),
    ]);
    expect([a.baseOffset, b.baseOffset]).toEqual([4n, 5n]);
    expect(await codeOf(append(p, batch(1, { producerId: id, epoch: 1, seq: 0 })))).toBe('ok'); // new epoch
    expect(await codeOf(append(p, batch(1, { producerId: id, epoch: 0, seq: 6 })))).toBe(
      'INVALID_PRODUCER_EPOCH',
    );
    expect(await codeOf(append(p, batch(1, { producerId: id, epoch: 2, seq: 5 })))).toBe(
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
    ); // a new epoch starts at 0
    expect(p.describeProducers()).toEqual([
      {
        producerId: id,
        producerEpoch: 1,
        lastSequence: 0,
        lastTimestamp: 1000n,
        coordinatorEpoch: -1,
        currentTxnStartOffset: -1n,
      },
    ]);
  });

  test('ListOffsets: latest, earliest, by timestamp, max timestamp', async () => {
    const { p } = await open();
    await append(p, batch(3, { ts: 100n })); // offsets 0..2, ts 100..102
    await append(p, batch(3, { ts: 500n })); // offsets 3..5, ts 500..502
    await append(p, batch(2, { ts: 200n })); // offsets 6..7, ts 200..201
    const e = p.leaderEpoch;
    expect(await p.listOffset(-1n, 0)).toEqual({ offset: 8n, timestamp: -1n, leaderEpoch: e });
    expect(await p.listOffset(-2n, 0)).toEqual({ offset: 0n, timestamp: -1n, leaderEpoch: e });
    expect(await p.listOffset(-4n, 0)).toEqual({ offset: 0n, timestamp: -1n, leaderEpoch: e });
    expect(await p.listOffset(101n, 0)).toEqual({ offset: 1n, timestamp: 101n, leaderEpoch: e });
    expect(await p.listOffset(300n, 0)).toEqual({ offset: 3n, timestamp: 500n, leaderEpoch: e });
    expect(await p.listOffset(-3n, 0)).toEqual({ offset: 5n, timestamp: 502n, leaderEpoch: e });
    expect(await p.listOffset(9999n, 0)).toEqual({ offset: -1n, timestamp: -1n, leaderEpoch: -1 });
    expect(await codeOf(p.listOffset(-7n, 0))).toBe('INVALID_REQUEST');
  });

  test('ListOffsets max timestamp when DeleteRecords moved the log start inside its batch (KIP-734)', async () => {
    const { p } = await open();
    await append(p, batch(6, { ts: 100n })); // offsets 0..5, ts 100..105: the max is offset 5
    await append(p, batch(2, { ts: 50n })); // offsets 6..7
    expect(await p.deleteRecords(2n, 5000)).toBe(2n);
    expect(await p.listOffset(-3n, 0)).toMatchObject({ offset: 5n, timestamp: 105n });
    // Past the record itself: no max-timestamp record is left in the log.
    expect(await p.deleteRecords(6n, 5000)).toBe(6n);
    expect(await p.listOffset(-3n, 0)).toEqual({ offset: -1n, timestamp: -1n, leaderEpoch: -1 });
  });

  test('OffsetForLeaderEpoch across leader epochs (Kafka: the start of the next epoch, the log end for the current one)', async () => {
    const hh = await open();
    const e1 = hh.p.leaderEpoch;
    await append(hh.p, batch(3));
    expect(hh.p.offsetForLeaderEpoch(e1)).toEqual({ leaderEpoch: e1, endOffset: 3n });
    let p = await hh.restart();
    const e2 = p.leaderEpoch;
    expect(e2).toBeGreaterThan(e1);
    // Nothing written in e2 yet: e1 ends at the log end.
    expect(p.offsetForLeaderEpoch(e1)).toEqual({ leaderEpoch: e1, endOffset: 3n });
    await append(p, batch(2));
    p = await hh.restart();
    const e3 = p.leaderEpoch;
    await append(p, batch(4));
    expect(p.offsetForLeaderEpoch(e1)).toEqual({ leaderEpoch: e1, endOffset: 3n });
    expect(p.offsetForLeaderEpoch(e2)).toEqual({ leaderEpoch: e2, endOffset: 5n });
    expect(p.offsetForLeaderEpoch(e3)).toEqual({ leaderEpoch: e3, endOffset: 9n });
    if (e2 > e1 + 1) expect(p.offsetForLeaderEpoch(e1 + 1)).toEqual({ leaderEpoch: e1, endOffset: 3n });
    expect(p.offsetForLeaderEpoch(e3 + 1)).toEqual({ leaderEpoch: -1, endOffset: -1n });
    expect(p.offsetForLeaderEpoch(-1)).toEqual({ leaderEpoch: -1, endOffset: -1n });
    if (e1 > 0) expect(p.offsetForLeaderEpoch(e1 - 1)).toEqual({ leaderEpoch: e1 - 1, endOffset: 0n });
  });

  test('DeleteRecords moves the log start offset durably; reads below it are out of range', async () => {
    const hh = await open();
    for (let i = 0; i < 5; i++) await append(hh.p, batch(2));
    expect(await hh.p.deleteRecords(3n, 5000)).toBe(3n);
    expect(hh.p.logStartOffset).toBe(3n);
    expect(await codeOf(hh.p.read(2n, 100, true, 0))).toBe('OFFSET_OUT_OF_RANGE');
    expect(baseOffsets((await hh.p.read(3n, 1 << 20, true, 0)).chunks)).toEqual([2n, 4n, 6n, 8n]); // [2,3] holds 3
    expect(await hh.p.deleteRecords(1n, 5000)).toBe(3n); // never backwards
    expect(await codeOf(hh.p.deleteRecords(11n, 5000))).toBe('OFFSET_OUT_OF_RANGE');
    const p = await hh.restart();
    expect(p.logStartOffset).toBe(3n);
    expect((await p.listOffset(-2n, 0)).offset).toBe(3n);
    expect(await p.deleteRecords(-1n, 5000)).toBe(10n); // -1: the high watermark
    expect(await p.read(10n, 100, true, 0)).toMatchObject({ chunks: [], logStartOffset: 10n });
    expect((await append(p, batch(1))).baseOffset).toBe(10n);
  });

  test('retention by size and by time moves the log start by whole batches', async () => {
    const hh = await open({ config: { retentionBytes: 400 } });
    const p = hh.p;
    for (let i = 0; i < 10; i++) await append(p, batch(3, { ts: BigInt(hh.now - 10_000 + i) }));
    const before = p.sizeBytes();
    p.maintain(hh.now);
    await until(() => p.logStartOffset > 0n);
    expect(p.logStartOffset % 3n).toBe(0n);
    expect(p.sizeBytes()).toBeLessThanOrEqual(400);
    expect(p.sizeBytes()).toBeLessThan(before);
    p.setConfig({ ...LOG_CONFIG, retentionMs: 5000 });
    hh.now += 60_000;
    p.maintain(hh.now);
    await until(() => p.logStartOffset === 30n);
    expect(p.logEndOffset).toBe(30n);
    expect(p.sizeBytes()).toBe(0);
    expect(await p.read(30n, 100, true, 0)).toMatchObject({ chunks: [] });
  });

  test('limits: max.message.bytes, no batches', async () => {
    const { p } = await open({ config: { maxMessageBytes: 100 } });
    expect(await codeOf(append(p, batch(20)))).toBe('MESSAGE_TOO_LARGE');
    expect(await codeOf(append(p, Buffer.alloc(0)))).toBe('CORRUPT_MESSAGE');
    expect(p.logEndOffset).toBe(0n);
  });

  test('LogAppendTime topics stamp the broker time', async () => {
    const hh = await open({ config: { logAppendTime: true } });
    const r = await append(hh.p, batch(2, { ts: 5n }));
    expect(r.logAppendTimeMs).toBe(BigInt(hh.now));
    expect(await hh.p.listOffset(-3n, 0)).toMatchObject({ timestamp: BigInt(hh.now) });
    const [stored] = (await hh.p.read(0n, 1 << 20, true, 0)).chunks;
    expect(readRecordBatchHeader(stored!, 0).maxTimestamp).toBe(BigInt(hh.now));
  });

  test('watch wakes once when the high watermark moves', async () => {
    const { p } = await open();
    let woken = 0;
    const woke = new Promise<void>((resolve) =>
      p.watch(() => {
        woken++;
        resolve();
      }),
    );
    await append(p, batch(1));
    await woke;
    await append(p, batch(1));
    expect(woken).toBe(1);
    const cancel = p.watch(() => woken++);
    cancel();
    await append(p, batch(1));
    expect(woken).toBe(1);
  });

  test('after close: NOT_LEADER_OR_FOLLOWER', async () => {
    const hh = await open();
    await hh.p.close();
    expect(hh.p.isLeader()).toBe(false);
    expect(await codeOf(append(hh.p, batch(1)))).toBe('NOT_LEADER_OR_FOLLOWER');
  });

  describe('transactions', () => {
    test('a transaction is read_committed only once committed: the LSO stops at its first batch, ListOffsets and hasOngoingTxn follow it', async () => {
      const { p } = await open();
      await append(p, batch(2)); // 0-1
      expect((await append(p, txnBatch(3, { producerId: 10n, seq: 0 }))).baseOffset).toBe(2n); // 2-4
      await append(p, batch(1, { prefix: 'x', ts: 5000n })); // 5
      const before = await readCommitted(p, 0n);
      expect(baseOffsets(before.chunks)).toEqual([0n]);
      expect(before).toMatchObject({ highWatermark: 6n, lastStableOffset: 2n, abortedTransactions: [] });
      const uncommitted = await p.read(0n, 1 << 20, true, 0);
      expect(uncommitted.lastStableOffset).toBe(2n); // answered at both isolation levels
      expect(uncommitted.abortedTransactions).toBeUndefined();
      expect(baseOffsets(uncommitted.chunks)).toEqual([0n, 2n, 5n]);
      expect(await readCommitted(p, 2n)).toMatchObject({ chunks: [], lastStableOffset: 2n });
      expect(await readCommitted(p, 5n)).toMatchObject({ chunks: [], highWatermark: 6n }); // in range, empty
      expect((await p.listOffset(-1n, 1)).offset).toBe(2n);
      expect((await p.listOffset(-1n, 0)).offset).toBe(6n);
      expect((await p.listOffset(5000n, 1)).offset).toBe(-1n); // found past the LSO: not answered
      expect((await p.listOffset(5000n, 0)).offset).toBe(5n);
      expect(p.hasOngoingTxn(10n, 0)).toBe(true);
      expect(p.hasOngoingTxn(10n, 1)).toBe(false);
      expect(p.hasOngoingTxn(11n, 0)).toBe(false);
      expect(p.describeProducers()).toEqual([
        expect.objectContaining({
          producerId: 10n,
          producerEpoch: 0,
          lastSequence: 2,
          coordinatorEpoch: -1,
          currentTxnStartOffset: 2n,
        }),
      ]);

      expect(await commit(p, 10n, { coordinatorEpoch: 3 })).toBe(6n);
      const after = await readCommitted(p, 0n);
      expect(after).toMatchObject({ highWatermark: 7n, lastStableOffset: 7n, abortedTransactions: [] });
      expect(baseOffsets(after.chunks)).toEqual([0n, 2n, 5n, 6n]);
      expect(committedValues(after)).toEqual(['v0', 'v1', 't0', 't1', 't2', 'x0']);
      // The marker as Kafka's clients read it: a transactional control batch of the producer, one
      // record (key: version 0, type 1 commit; value: version 0, coordinator epoch).
      const m = decodeRecordBatch(after.chunks[3]!);
      expect(m.header).toMatchObject({
        isControl: true,
        isTransactional: true,
        producerId: 10n,
        producerEpoch: 0,
        baseSequence: -1,
        recordCount: 1,
        partitionLeaderEpoch: p.leaderEpoch,
      });
      expect(decodeControlRecordKey(m.records[0]!.key)).toEqual({
        version: 0,
        type: ControlRecordType.Commit,
      });
      expect(decodeEndTxnMarker(m.records[0]!.value)).toEqual({ version: 0, coordinatorEpoch: 3 });
      expect((await p.listOffset(-1n, 1)).offset).toBe(7n);
      expect(p.hasOngoingTxn(10n, 0)).toBe(false);
      expect(p.describeProducers()).toEqual([
        expect.objectContaining({ producerId: 10n, coordinatorEpoch: 3, currentTxnStartOffset: -1n }),
      ]);
      // The producer's next transaction continues its sequence.
      expect((await append(p, txnBatch(1, { producerId: 10n, seq: 3 }))).baseOffset).toBe(7n);
      expect((await readCommitted(p, 0n)).lastStableOffset).toBe(7n);
    });

    test('an aborted transaction is answered with every read that overlaps it; a read_committed consumer drops its records', async () => {
      const { p } = await open();
      await append(p, txnBatch(2, { producerId: 20n, seq: 0 })); // 0-1
      await append(p, batch(1, { prefix: 'a' })); // 2
      await append(p, txnBatch(2, { producerId: 20n, seq: 2, prefix: 'u' })); // 3-4
      expect((await readCommitted(p, 0n)).lastStableOffset).toBe(0n);
      expect(await abort(p, 20n)).toBe(5n);
      await append(p, batch(1, { prefix: 'b' })); // 6
      const all = await readCommitted(p, 0n);
      expect(all).toMatchObject({
        lastStableOffset: 7n,
        highWatermark: 7n,
        abortedTransactions: [{ producerId: 20n, firstOffset: 0n }],
      });
      expect(committedValues(all)).toEqual(['a0', 'b0']);
      expect(committedValues(await p.read(0n, 1 << 20, true, 0))).toEqual([
        't0',
        't1',
        'a0',
        'u0',
        'u1',
        'b0',
      ]);
      expect((await readCommitted(p, 5n)).abortedTransactions).toEqual([
        { producerId: 20n, firstOffset: 0n },
      ]);
      expect((await readCommitted(p, 6n)).abortedTransactions).toEqual([]);
      const first = await readCommitted(p, 0n, 1); // the first batch only: the transaction overlaps it
      expect(baseOffsets(first.chunks)).toEqual([0n]);
      expect(first.abortedTransactions).toEqual([{ producerId: 20n, firstOffset: 0n }]);
      expect(committedValues(first)).toEqual([]);
      expect(await readCommitted(p, 7n)).toMatchObject({ chunks: [], abortedTransactions: [] });
      expect(abortedIndexOf(p)).toEqual([{ producerId: 20n, firstOffset: 0n, lastOffset: 5n }]);
      // The producer's next transaction begins after the marker.
      await append(p, txnBatch(1, { producerId: 20n, seq: 4, prefix: 'w' })); // 7
      expect((await readCommitted(p, 0n)).lastStableOffset).toBe(7n);
    });

    test('two producers interleaved: the LSO is the first offset of the oldest open transaction; each outcome applies to its own records', async () => {
      const { p } = await open();
      await append(p, txnBatch(1, { producerId: 1n, seq: 0, prefix: 'a' })); // 0
      await append(p, txnBatch(1, { producerId: 2n, seq: 0, prefix: 'b' })); // 1
      await append(p, txnBatch(1, { producerId: 1n, seq: 1, prefix: 'c' })); // 2
      await append(p, txnBatch(1, { producerId: 2n, seq: 1, prefix: 'd' })); // 3
      expect(await readCommitted(p, 0n)).toMatchObject({ lastStableOffset: 0n, chunks: [] });
      expect(byProducer(p.describeProducers()).map((x) => x.currentTxnStartOffset)).toEqual([0n, 1n]);
      expect(await commit(p, 1n)).toBe(4n);
      const one = await readCommitted(p, 0n);
      expect(one.lastStableOffset).toBe(1n); // producer 2's transaction is still open
      expect(committedValues(one)).toEqual(['a0']);
      expect(await abort(p, 2n)).toBe(5n);
      const both = await readCommitted(p, 0n);
      expect(both).toMatchObject({
        lastStableOffset: 6n,
        abortedTransactions: [{ producerId: 2n, firstOffset: 1n }],
      });
      expect(committedValues(both)).toEqual(['a0', 'c0']);
      expect(committedValues(await readCommitted(p, 2n))).toEqual(['c0']); // from the middle
      expect(byProducer(p.describeProducers()).map((x) => x.currentTxnStartOffset)).toEqual([-1n, -1n]);
    });

    test('transactions aborted in the other order than they began are answered by first offset (kafkajs needs it)', async () => {
      const { p } = await open();
      await append(p, txnBatch(1, { producerId: 1n, seq: 0, prefix: 'a' })); // 0
      await append(p, txnBatch(1, { producerId: 2n, seq: 0, prefix: 'b' })); // 1
      expect(await abort(p, 2n)).toBe(2n);
      expect(await abort(p, 1n)).toBe(3n);
      await append(p, batch(1, { prefix: 'c' })); // 4
      const r = await readCommitted(p, 0n);
      expect(r.abortedTransactions).toEqual([
        { producerId: 1n, firstOffset: 0n },
        { producerId: 2n, firstOffset: 1n },
      ]);
      expect(committedValues(r)).toEqual(['c0']);
      expect(abortedIndexOf(p).map((a) => a.producerId)).toEqual([2n, 1n]); // the index: marker order
    });

    test('markers are idempotent: a retry is written again and changes nothing; a marker for an unknown producer only records it', async () => {
      const { p } = await open();
      await append(p, txnBatch(2, { producerId: 5n, seq: 0 })); // 0-1
      expect(await abort(p, 5n, { coordinatorEpoch: 2 })).toBe(2n);
      expect(await abort(p, 5n, { coordinatorEpoch: 2 })).toBe(3n); // the coordinator's retry
      expect(abortedIndexOf(p)).toEqual([{ producerId: 5n, firstOffset: 0n, lastOffset: 2n }]);
      const r = await readCommitted(p, 0n);
      expect(r).toMatchObject({
        lastStableOffset: 4n,
        highWatermark: 4n,
        abortedTransactions: [{ producerId: 5n, firstOffset: 0n }],
      });
      expect(committedValues(r)).toEqual([]);
      expect(await commit(p, 99n, { epoch: 4, coordinatorEpoch: 7 })).toBe(4n);
      expect((await readCommitted(p, 0n)).lastStableOffset).toBe(5n);
      expect(p.describeProducers().find((x) => x.producerId === 99n)).toMatchObject({
        producerEpoch: 4,
        coordinatorEpoch: 7,
        currentTxnStartOffset: -1n,
        lastSequence: -1,
      });
    });

    test('epochs: an older one is fenced; an abort one epoch up fences the producer; a deposed coordinator is fenced; no control batches from clients', async () => {
      const { p } = await open();
      await append(p, txnBatch(1, { producerId: 7n, seq: 0 })); // 0
      expect(await abort(p, 7n, { epoch: 1, coordinatorEpoch: 1 })).toBe(1n); // an abort after fencing
      expect(p.describeProducers()).toEqual([
        expect.objectContaining({
          producerId: 7n,
          producerEpoch: 1,
          coordinatorEpoch: 1,
          currentTxnStartOffset: -1n,
        }),
      ]);
      expect(await codeOf(append(p, txnBatch(1, { producerId: 7n, seq: 1 })))).toBe('INVALID_PRODUCER_EPOCH'); // the zombie
      expect(await codeOf(commit(p, 7n, { epoch: 0, coordinatorEpoch: 1 }))).toBe('INVALID_PRODUCER_EPOCH');
      expect(await codeOf(abort(p, 7n, { epoch: 1, coordinatorEpoch: 0 }))).toBe(
        'TRANSACTION_COORDINATOR_FENCED',
      );
      expect(p.logEndOffset).toBe(2n);
      expect(await readCommitted(p, 0n)).toMatchObject({
        lastStableOffset: 2n,
        abortedTransactions: [{ producerId: 7n, firstOffset: 0n }],
      });
      // At its new epoch the producer opens a new transaction from sequence 0.
      expect(await codeOf(append(p, txnBatch(1, { producerId: 7n, epoch: 2, seq: 0 })))).toBe('ok'); // 2
      expect(p.hasOngoingTxn(7n, 2)).toBe(true);
      expect(p.hasOngoingTxn(7n, 1)).toBe(false);
      // A non-transactional batch while its transaction is open; a marker sent by a client.
      expect(await codeOf(append(p, batch(1, { producerId: 7n, epoch: 2, seq: 1 })))).toBe(
        'INVALID_TXN_STATE',
      );
      const forged = buildControlBatch({
        type: ControlRecordType.Commit,
        producerId: 7n,
        producerEpoch: 2,
        coordinatorEpoch: 1,
        timestampMs: 1n,
      });
      expect(await codeOf(append(p, forged))).toBe('INVALID_RECORD');
      expect(p.logEndOffset).toBe(3n);
      expect(await commit(p, 7n, { epoch: 2, coordinatorEpoch: 1 })).toBe(3n);
      expect((await readCommitted(p, 0n)).lastStableOffset).toBe(4n);
    });

    test('the transactions survive a restart: open ones, the aborted index, coordinator epochs', async () => {
      const hh = await open();
      await append(hh.p, txnBatch(2, { producerId: 1n, seq: 0 })); // 0-1, aborted
      await append(hh.p, txnBatch(1, { producerId: 2n, seq: 0, prefix: 'k' })); // 2, committed
      await abort(hh.p, 1n, { coordinatorEpoch: 4 }); // 3
      await commit(hh.p, 2n, { coordinatorEpoch: 4 }); // 4
      await append(hh.p, txnBatch(1, { producerId: 3n, seq: 0, prefix: 'o' })); // 5, open
      await append(hh.p, batch(1, { prefix: 'x' })); // 6
      const before = await readCommitted(hh.p, 0n);
      const producers = byProducer(hh.p.describeProducers());
      const p = await hh.restart();
      const after = await readCommitted(p, 0n);
      expect(after).toMatchObject({
        lastStableOffset: 5n,
        highWatermark: 7n,
        abortedTransactions: [{ producerId: 1n, firstOffset: 0n }],
      });
      expect(committedValues(after)).toEqual(committedValues(before));
      expect(committedValues(after)).toEqual(['k0']);
      expect(byProducer(p.describeProducers())).toEqual(producers);
      expect(p.hasOngoingTxn(3n, 0)).toBe(true);
      expect(await codeOf(abort(p, 1n, { coordinatorEpoch: 3 }))).toBe('TRANSACTION_COORDINATOR_FENCED');
      expect(await commit(p, 3n, { coordinatorEpoch: 4 })).toBe(7n);
      expect(committedValues(await readCommitted(p, 0n))).toEqual(['k0', 'o0', 'x0']);
    });

    test('DeleteRecords drops the aborted transactions whose marker is below the new log start; an open transaction begun below it holds the LSO at the log start', async () => {
      const { p } = await open();
      await append(p, txnBatch(1, { producerId: 1n, seq: 0 })); // 0
      await abort(p, 1n); // 1
      await append(p, txnBatch(1, { producerId: 2n, seq: 0 })); // 2
      await append(p, batch(1)); // 3
      await abort(p, 2n); // 4
      await append(p, txnBatch(1, { producerId: 3n, seq: 0 })); // 5, open
      await append(p, batch(1)); // 6
      expect(abortedIndexOf(p).map((a) => a.producerId)).toEqual([1n, 2n]);
      expect(await p.deleteRecords(3n, 5000)).toBe(3n);
      expect(abortedIndexOf(p)).toEqual([{ producerId: 2n, firstOffset: 2n, lastOffset: 4n }]); // its marker is kept
      expect((await readCommitted(p, 3n)).abortedTransactions).toEqual([{ producerId: 2n, firstOffset: 2n }]);
      expect(await p.deleteRecords(6n, 5000)).toBe(6n);
      expect(abortedIndexOf(p)).toEqual([]);
      expect(await readCommitted(p, 6n)).toMatchObject({
        logStartOffset: 6n,
        lastStableOffset: 6n,
        chunks: [],
      });
      expect((await p.listOffset(-1n, 1)).offset).toBe(6n);
      expect(p.describeProducers().find((x) => x.producerId === 3n)?.currentTxnStartOffset).toBe(5n);
      expect(await commit(p, 3n)).toBe(7n);
      expect(committedValues(await readCommitted(p, 6n))).toEqual(['v0']);
    });

    test('retention drops the aborted transactions with their batches', async () => {
      const hh = await open();
      const p = hh.p;
      for (let i = 1; i <= 3; i++) {
        await append(p, txnBatch(2, { producerId: BigInt(i), seq: 0, ts: BigInt(hh.now - 10_000) }));
        await abort(p, BigInt(i));
      }
      expect(abortedIndexOf(p)).toHaveLength(3);
      p.setConfig({ ...LOG_CONFIG, retentionMs: 5000 });
      hh.now += 60_000; // the markers, stamped by the partition's clock, expire too
      p.maintain(hh.now);
      await until(() => p.logStartOffset === 9n);
      expect(abortedIndexOf(p)).toEqual([]);
      expect(await readCommitted(p, 9n)).toMatchObject({
        chunks: [],
        lastStableOffset: 9n,
        abortedTransactions: [],
      });
    });
  });
});
