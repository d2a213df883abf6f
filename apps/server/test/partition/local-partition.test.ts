// What only the standalone partition does (the shared cases are in partition-suite.test.ts): the
// flush policy (acks, flush.messages, background flush), the shared batch cache, the index snapshot
// of a clean close, the WAL entry checksum derived from the batch's own CRC, stopping for good
// when the log fails, and reads around a damaged entry; for transactions, crash recovery (the log
// re-read) and the last stable offset held below a marker that is still being written.
import { systemClock, systemScheduler } from '@chronik/env';
import { buildRecordBatch, decodeRecordBatch, readRecordBatchHeader } from '@chronik/protocol';
import { MemFileSystem, WalError } from '@chronik/wal';
import { silentLogger } from '../../src/logger.js';
import { LocalPartition } from '../../src/partition/local-partition.js';
import { ProducerStateTable } from '../../src/partition/producer-state.js';
import type { LogConfig, ManagedPartition, PartitionEvents } from '../../src/partition/types.js';
import { BatchCache } from '../../src/storage/batch-cache.js';
import type { EntryLog } from '../../src/storage/entry-log.js';
import { MemoryEntryLog } from '../../src/storage/entry-log.js';
import { WalEntryLogFactory } from '../../src/storage/wal-entry-log.js';
import { LOG_CONFIG, TOPIC_ID, committedValues, marker, readCommitted, txnBatch } from './harness.js';

let now = 1_700_000_000_000;
beforeEach(() => {
  now = 1_700_000_000_000;
});

const events = (): PartitionEvents & { failures: Error[] } => {
  const failures: Error[] = [];
  return {
    failures,
    leaderReady: () => undefined,
    leaderLost: () => undefined,
    damaged: () => undefined,
    failed: (_p, e) => failures.push(e),
  };
};

async function open(
  log: EntryLog,
  config: Partial<LogConfig> = {},
  o: { cache?: BatchCache; epoch?: number; events?: PartitionEvents } = {},
): Promise<LocalPartition> {
  const p = new LocalPartition({
    topic: 't',
    topicId: TOPIC_ID,
    partition: 0,
    nodeId: 1,
    leaderEpoch: o.epoch ?? 0,
    openLog: () => Promise.resolve(log),
    cache: o.cache ?? new BatchCache(8 * 1024 * 1024),
    config: { ...LOG_CONFIG, ...config },
    maxEntryBytes: 1 << 20,
    retentionCheckIntervalMs: 60_000,
    logger: silentLogger,
    nowMs: () => now,
    events: o.events ?? events(),
  });
  await p.open();
  return p;
}

function batch(
  n: number,
  opts: { ts?: bigint; producerId?: bigint; seq?: number; prefix?: string } = {},
): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({
      value: Buffer.from(`${opts.prefix ?? 'v'}${i}`),
      timestampMs: (opts.ts ?? 1000n) + BigInt(i),
    })),
    ...(opts.producerId !== undefined
      ? { producerId: opts.producerId, producerEpoch: 0, baseSequence: opts.seq ?? 0 }
      : {}),
  });
}

const offsets = (chunks: readonly Buffer[]) => chunks.map((c) => c.readBigInt64BE(0));

test('reads from the log when the shared cache holds nothing, honouring maxBytes', async () => {
  const cache = new BatchCache(1);
  const p = await open(new MemoryEntryLog(), {}, { cache });
  const sizes: number[] = [];
  for (let i = 0; i < 6; i++) {
    const b = batch(3, { prefix: `b${i}-` });
    sizes.push(b.length);
    await p.append(b, 1, 0);
  }
  expect(cache.sizeBytes).toBe(0);
  expect(offsets((await p.read(0n, 1 << 20, true, 0)).chunks)).toEqual([0n, 3n, 6n, 9n, 12n, 15n]);
  expect(offsets((await p.read(4n, sizes[1]! + sizes[2]!, true, 0)).chunks)).toEqual([3n, 6n]);
  expect(offsets((await p.read(7n, 1, true, 0)).chunks)).toEqual([6n]);
});

test('the shared cache stays within its budget; reads mix cached and uncached batches', async () => {
  const cache = new BatchCache(1000, 500);
  const p = await open(new MemoryEntryLog(), {}, { cache });
  for (let i = 0; i < 50; i++) await p.append(batch(5), 1, 0);
  expect(cache.sizeBytes).toBeLessThanOrEqual(1000);
  expect(cache.sizeBytes).toBeGreaterThan(0);
  expect(offsets((await p.read(0n, 1 << 20, true, 0)).chunks)).toEqual(
    Array.from({ length: 50 }, (_, i) => BigInt(i * 5)),
  );
});

test('acks=all syncs; acks=1 does not until flush.messages; flush.ms syncs in maintain()', async () => {
  const log = new MemoryEntryLog();
  const p = await open(log, { flushMessages: 5, flushMs: 1000 });
  await p.append(batch(2), 1, 0);
  expect(log.syncs).toBe(0);
  await p.append(batch(1), -1, 0);
  expect(log.syncs).toBe(1);
  await p.append(batch(5), 1, 0); // reaches flush.messages
  expect(log.syncs).toBe(2);
  await p.append(batch(1), 1, 0);
  p.maintain(now + 500);
  await new Promise((r) => setImmediate(r));
  expect(log.syncs).toBe(2);
  p.maintain(now + 1000);
  await new Promise((r) => setImmediate(r));
  expect(log.syncs).toBe(3);
});

test('acks=1 past flushBackgroundBytes starts one background sync that the produce does not wait for', async () => {
  class HeldSyncLog extends MemoryEntryLog {
    release: (() => void) | null = null;
    override async sync(): Promise<void> {
      await new Promise<void>((r) => (this.release = r));
      await super.sync();
    }
  }
  const log = new HeldSyncLog();
  const p = await open(log, { flushBackgroundBytes: 200 });
  await p.append(batch(1), 1, 0); // below the threshold
  expect(log.release).toBeNull();
  await p.append(batch(10), 1, 0); // past it: a sync starts; the produce is answered anyway
  expect(log.release).not.toBeNull();
  expect(log.syncs).toBe(0);
  const first = log.release;
  await p.append(batch(10), 1, 0); // a sync is in progress: no second one
  expect(log.release).toBe(first);
  first?.();
  await new Promise((r) => setImmediate(r));
  expect(log.syncs).toBe(1);
  log.release = null;
  await p.append(batch(1), 1, 0); // what the first sync did not cover is still over the threshold
  const second = log.release as (() => void) | null;
  expect(second).not.toBeNull();
  second?.();
  await new Promise((r) => setImmediate(r));
  expect(log.syncs).toBe(2);
  log.release = null;
  await p.append(batch(1), 1, 0); // everything synced: below the threshold again
  expect(log.release).toBeNull();
});

test('an idempotent retry of a batch not yet synced is answered (acks=all) only once the original is durable', async () => {
  class HeldSyncLog extends MemoryEntryLog {
    held: Array<() => void> = [];
    override async sync(): Promise<void> {
      await new Promise<void>((r) => this.held.push(r));
      await super.sync();
    }
  }
  const log = new HeldSyncLog();
  const p = await open(log);
  const original = p.append(batch(2, { producerId: 3n, seq: 0 }), -1, 0);
  await new Promise((r) => setImmediate(r));
  let retried = false;
  const retry = p.append(batch(2, { producerId: 3n, seq: 0 }), -1, 0).then((r) => {
    retried = true;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  expect(retried).toBe(false); // the original is not durable yet
  for (const r of log.held.splice(0)) r();
  await new Promise((r) => setImmediate(r));
  for (const r of log.held.splice(0)) r();
  expect((await original).baseOffset).toBe(0n);
  expect((await retry).baseOffset).toBe(0n);
  expect(p.logEndOffset).toBe(2n);
});

test('a clean close leaves an index snapshot that the next open uses once; a stale one is ignored', async () => {
  const log = new MemoryEntryLog();
  const p = await open(log);
  await p.append(batch(3, { producerId: 4n, seq: 0, ts: 50n }), 1, 0);
  await p.append(batch(2, { ts: 70n }), 1, 0);
  await p.deleteRecords(3n, 0);
  const size = p.sizeBytes();
  await p.close();
  expect(log.files.has('index.snapshot')).toBe(true);
  const q = await open(log);
  expect(log.files.has('index.snapshot')).toBe(false); // used once
  expect([q.logStartOffset, q.logEndOffset, q.sizeBytes()]).toEqual([3n, 5n, size]);
  expect((await q.append(batch(3, { producerId: 4n, seq: 0 }), 1, 0)).baseOffset).toBe(0n); // duplicate still known
  expect(await q.listOffset(-3n, 0)).toMatchObject({ offset: 4n, timestamp: 71n });
  expect((await q.read(3n, 1 << 20, true, 0)).chunks).toHaveLength(1);
  await q.close();
  // The log moved on after the snapshot (a crash after more appends): the snapshot is ignored.
  const saved = log.files.get('index.snapshot') as Buffer;
  const r = await open(log);
  await r.append(batch(1), 1, 0); // no close: as if killed
  log.files.set('index.snapshot', saved); // a snapshot older than the log
  const fresh = await open(log);
  expect(fresh.logEndOffset).toBe(6n);
  expect((await fresh.read(5n, 100, true, 0)).chunks).toHaveLength(1);
  expect(log.files.has('index.snapshot')).toBe(false);
});

test('DeleteRecords checkpoints the log start before dropping the prefix (whole entries only)', async () => {
  const log = new MemoryEntryLog();
  const p = await open(log);
  for (let i = 0; i < 5; i++) await p.append(batch(2), 1, 0);
  await p.deleteRecords(3n, 0);
  expect(log.files.get('log-start-offset')?.toString()).toBe('3\n');
  expect(log.firstIndex()).toBe(1); // the batch [0,1] is gone, [2,3] stays (it holds offset 3)
});

test.each([false, true])(
  'on the WAL (logAppendTime %s): batches are stored under their derived checksums and read back after a reopen',
  async (logAppendTime) => {
    const fs = new MemFileSystem();
    const factory = new WalEntryLogFactory({
      fs,
      maxSegmentBytes: 1 << 20,
      maxRecordBytes: 1 << 20,
      maxPendingBytes: 1 << 24,
      logger: silentLogger,
      clock: systemClock,
      scheduler: systemScheduler,
    });
    try {
      const p = await open(await factory.open('/wal'), { logAppendTime }, { epoch: 7 });
      const sent = [batch(3), Buffer.concat([batch(2, { prefix: 'x' }), batch(4, { prefix: 'y' })])];
      for (const b of sent) await p.append(b, 1, 0);
      await p.close();
      // A fresh open reads every entry back from the files, checking each entry's CRC-32C.
      await fs.unlink('/wal/index.snapshot');
      const q = await open(
        await factory.open('/wal'),
        { logAppendTime },
        { cache: new BatchCache(0), epoch: 7 },
      );
      expect(q.logEndOffset).toBe(9n);
      const read = await q.read(0n, 1 << 20, true, 0);
      expect(read.chunks.map((c) => readRecordBatchHeader(c, 0).baseOffset)).toEqual([0n, 3n, 5n]);
      expect(read.chunks.every((c) => readRecordBatchHeader(c, 0).partitionLeaderEpoch === 7)).toBe(true);
      await q.close();
    } finally {
      factory.close();
    }
  },
);

test('a failed write stops the partition for good: KAFKA_STORAGE_ERROR, and the manager is told', async () => {
  class FailingLog extends MemoryEntryLog {
    fail = false;
    override async append(entries: Parameters<MemoryEntryLog['append']>[0]): Promise<void> {
      await super.append(entries);
      if (this.fail) throw new Error('EIO: disk says no');
    }
  }
  const log = new FailingLog();
  const ev = events();
  const p: ManagedPartition = await open(log, {}, { events: ev });
  await p.append(batch(1), 1, 0);
  log.fail = true;
  await expect(p.append(batch(1), 1, 0)).rejects.toMatchObject({ code: 'KAFKA_STORAGE_ERROR' });
  expect(ev.failures).toHaveLength(1);
  expect(p.isLeader()).toBe(false);
  log.fail = false;
  await expect(p.append(batch(1), 1, 0)).rejects.toMatchObject({ code: 'KAFKA_STORAGE_ERROR' });
  await expect(p.read(0n, 100, true, 0)).rejects.toMatchObject({ code: 'KAFKA_STORAGE_ERROR' });
});

test('a read that meets a damaged entry answers the batches before it, then KAFKA_STORAGE_ERROR at it', async () => {
  class DamagedLog extends MemoryEntryLog {
    damaged = -1;
    override async read(fromIndex: number, toIndex: number, maxBytes: number): Promise<Buffer[]> {
      if (this.damaged >= fromIndex && this.damaged < toIndex)
        throw new WalError('Corruption', `record ${this.damaged}: checksum mismatch`);
      return super.read(fromIndex, toIndex, maxBytes);
    }
  }
  const log = new DamagedLog();
  const p = await open(log, {}, { cache: new BatchCache(0) });
  for (let i = 0; i < 5; i++) await p.append(batch(2), 1, 0);
  log.damaged = log.firstIndex() + 3; // the fourth batch (offsets 6-7)
  expect(offsets((await p.read(0n, 1 << 20, true, 0)).chunks)).toEqual([0n, 2n, 4n]);
  await expect(p.read(6n, 1 << 20, true, 0)).rejects.toMatchObject({ code: 'KAFKA_STORAGE_ERROR' });
  // The rest of the log is still served: the single-node partition has no other copy to move to.
  expect(offsets((await p.read(8n, 1 << 20, true, 0)).chunks)).toEqual([8n]);
  expect(p.isLeader()).toBe(true);
});

test('an append the log refuses before writing is answered by the cause: overload retriable, I/O a storage error', async () => {
  class RefusingLog extends MemoryEntryLog {
    refusal: WalError | undefined;
    override append(entries: Parameters<MemoryEntryLog['append']>[0]): Promise<void> {
      if (this.refusal !== undefined) return Promise.reject(this.refusal);
      return super.append(entries);
    }
  }
  const log = new RefusingLog();
  const p = await open(log);
  log.refusal = new WalError('Overloaded', 'too many pending appends');
  await expect(p.append(batch(1), 1, 0)).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
  log.refusal = new WalError('Io', 'ENOSPC: no space left on device');
  await expect(p.append(batch(1), 1, 0)).rejects.toMatchObject({ code: 'KAFKA_STORAGE_ERROR' });
  log.refusal = undefined;
  expect((await p.append(batch(1), 1, 0)).baseOffset).toBe(0n); // nothing was burned
});

test('crash recovery re-reads the log: open and aborted transactions, the LSO and the producers as before the crash', async () => {
  const log = new MemoryEntryLog();
  const p = await open(log);
  await p.append(txnBatch(2, { producerId: 1n, seq: 0 }), -1, 0); // 0-1
  expect(await p.writeTxnMarker(marker(1n, false, { coordinatorEpoch: 2 }), 0)).toBe(2n);
  await p.append(txnBatch(1, { producerId: 2n, seq: 0, prefix: 'k' }), -1, 0); // 3
  await p.writeTxnMarker(marker(2n, true, { epoch: 1, coordinatorEpoch: 2 }), 0); // 4: one epoch up
  await p.append(txnBatch(1, { producerId: 3n, seq: 0, prefix: 'o' }), -1, 0); // 5: open
  await p.append(batch(1, { prefix: 'x' }), -1, 0); // 6
  const producers = p.describeProducers();
  const before = await readCommitted(p, 0n);
  expect(before).toMatchObject({
    lastStableOffset: 5n,
    abortedTransactions: [{ producerId: 1n, firstOffset: 0n }],
  });
  // No close: as if killed (no index snapshot).
  const q = await open(log, {}, { epoch: 1 });
  expect(log.files.has('index.snapshot')).toBe(false);
  const after = await readCommitted(q, 0n);
  expect(after).toMatchObject({
    lastStableOffset: 5n,
    highWatermark: 7n,
    abortedTransactions: before.abortedTransactions!,
  });
  expect(committedValues(after)).toEqual(['k0']);
  expect(q.describeProducers()).toEqual(producers);
  expect(q.hasOngoingTxn(3n, 0)).toBe(true);
  await expect(q.append(txnBatch(1, { producerId: 2n, seq: 1 }), -1, 0)).rejects.toMatchObject({
    code: 'INVALID_PRODUCER_EPOCH',
  });
  expect(await q.writeTxnMarker(marker(3n, true, { coordinatorEpoch: 2 }), 0)).toBe(7n);
  expect(committedValues(await readCommitted(q, 0n))).toEqual(['k0', 'o0', 'x0']);
});

test('the LSO stays at a transaction until its marker is written: read_committed never sees it before its outcome', async () => {
  const log = new MemoryEntryLog();
  const p = await open(log);
  await p.append(txnBatch(2, { producerId: 1n, seq: 0 }), -1, 0); // 0-1
  let release!: () => void;
  log.appendHook = () => new Promise<void>((r) => (release = r));
  const written = p.writeTxnMarker(marker(1n, true), 0); // indexed at 2, its write held
  expect([p.logEndOffset, p.highWatermark]).toEqual([3n, 2n]);
  expect(p.hasOngoingTxn(1n, 0)).toBe(false);
  expect(await readCommitted(p, 0n)).toMatchObject({ lastStableOffset: 0n, chunks: [] });
  expect((await p.listOffset(-1n, 1)).offset).toBe(0n);
  log.appendHook = undefined;
  release();
  expect(await written).toBe(2n);
  const r = await readCommitted(p, 0n);
  expect(r).toMatchObject({ lastStableOffset: 3n, highWatermark: 3n });
  expect(committedValues(r)).toEqual(['t0', 't1']);
});

describe('ProducerStateTable', () => {
  const h = (producerId: bigint, baseSequence: number, records = 1) =>
    readRecordBatchHeader(
      buildRecordBatch({
        records: Array.from({ length: records }, () => ({ value: null })),
        producerId,
        producerEpoch: 0,
        baseSequence,
      }),
    );

  test('evicts the producer updated longest ago when full', () => {
    const t = new ProducerStateTable(2);
    t.update(h(1n, 0), 0n);
    t.update(h(2n, 0), 1n);
    t.update(h(1n, 1), 2n); // 1 is now the most recent
    t.update(h(3n, 0), 3n); // evicts 2
    expect(
      t
        .describe()
        .map((p) => p.producerId)
        .sort(),
    ).toEqual([1n, 3n]);
    expect(t.check(h(1n, 1))).toEqual({ kind: 'duplicate', baseOffset: 2n });
  });

  test('never evicts a producer with an open transaction (pinned): its epoch must keep fencing', () => {
    const t = new ProducerStateTable(2, (id) => id === 1n);
    t.update(h(1n, 0), 0n);
    t.update(h(2n, 0), 1n);
    t.update(h(3n, 0), 2n); // 1 is the oldest, but pinned: 2 goes
    expect(
      t
        .describe()
        .map((p) => p.producerId)
        .sort(),
    ).toEqual([1n, 3n]);
  });

  test('a batch whose sequences wrap past Int32.MAX is recognised as a duplicate on retry', () => {
    const t = new ProducerStateTable();
    const wrapping = h(5n, 2147483646, 3); // sequences 2147483646, 2147483647, 0
    t.update(wrapping, 10n);
    expect(t.check(wrapping)).toEqual({ kind: 'duplicate', baseOffset: 10n });
    expect(t.check(h(5n, 1))).toEqual({ kind: 'append' });
  });
});

test('log compaction: the freed prefix leaves the log after a compaction snapshot; a crash recovers from it and the relocations after it', async () => {
  const log = new MemoryEntryLog();
  const config = { compact: true, segmentMs: 1, minCleanableDirtyRatio: 0 };
  const io = { throttle: async () => undefined, pause: async () => undefined, mapBytes: 1 << 20 };
  const p = await open(log, config);
  const keyed = (k: number, v: string, seq: number): Buffer =>
    buildRecordBatch({
      records: [{ key: Buffer.from(`k${k}`), value: Buffer.from(v) }],
      timestampMs: 1000n,
      producerId: 5n,
      producerEpoch: 0,
      baseSequence: seq,
    });
  let seq = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 40; i++) {
      await p.append(keyed(i % 8, `r${round}-${i}`, seq), -1, 5000);
      seq++;
    }
    const plan = p.cleanable(now);
    expect((await p.clean(plan!, now, io)).completed).toBe(true);
  }
  // Every original batch of both rounds but the newest is gone from the log: it starts with a relocation.
  expect(log.firstIndex()).toBeGreaterThan(40);
  expect(log.files.has('compaction.snapshot')).toBe(true);
  const before = Buffer.concat((await p.read(0n, 1 << 20, true, 0)).chunks as Buffer[]);
  // A crash: no clean close, no index.snapshot; a new partition opens the same log.
  const q = await open(log, config, { epoch: 1 });
  expect(q.highWatermark).toBe(80n);
  expect(Buffer.concat((await q.read(0n, 1 << 20, true, 0)).chunks as Buffer[])).toEqual(before);
  // The producer state came back: the last batch's retry is a duplicate, the next one appends.
  expect((await q.append(keyed(7, 'r1-39', 79), -1, 5000)).baseOffset).toBe(79n);
  expect((await q.append(keyed(0, 'late', 80), -1, 5000)).baseOffset).toBe(80n);
  // The relocation chain goes on after the recovery.
  await q.append(keyed(1, 'later', 81), -1, 5000);
  expect((await q.clean(q.cleanable(now)!, now, io)).completed).toBe(true);
  const values = (await q.read(0n, 1 << 20, true, 0)).chunks.flatMap((c) =>
    decodeRecordBatch(c).records.map((r) => `${r.key?.toString()}=${r.value?.toString()}`),
  );
  // k1's older value stays: its newest record is in the newest batch, which no pass maps.
  expect(values).toEqual([
    'k1=r1-33',
    'k2=r1-34',
    'k3=r1-35',
    'k4=r1-36',
    'k5=r1-37',
    'k6=r1-38',
    'k7=r1-39',
    'k0=late',
    'k1=later',
  ]);
});
