// PartitionLog on the in-memory EntryLog: offsets, reads, idempotence, recovery, retention,
// DeleteRecords, ListOffsets and OffsetForLeaderEpoch.
import fs from 'node:fs';
import path from 'node:path';
import { buildRecordBatch, readRecordBatchHeader } from '@chronik/protocol';

import { silentLogger } from '../src/logger.js';
import { BatchCache } from '../src/storage/batch-cache.js';
import { MemoryEntryLog } from '../src/storage/entry-log.js';
import type { PartitionLogConfig } from '../src/storage/partition-log.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import { ProducerStateTable } from '../src/storage/producer-state.js';
import { WalEntryLogFactory } from '../src/storage/wal-entry-log.js';
import { tempDir } from './helpers/server.js';
import { KafkaError } from '../src/errors.js';

const CONFIG: PartitionLogConfig = {
  logAppendTime: false,
  maxMessageBytes: 1 << 20,
  retentionMs: -1,
  retentionBytes: -1,
  flushMessages: undefined,
  flushMs: 1000,
};

let dir: string;
let now = 1_700_000_000_000;
beforeEach(() => {
  dir = tempDir('chronik-plog-');
  now = 1_700_000_000_000;
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function open(
  log: MemoryEntryLog,
  config: Partial<PartitionLogConfig> = {},
  cache?: BatchCache,
): Promise<PartitionLog> {
  return PartitionLog.open({
    topic: 't',
    partition: 0,
    dir,
    log,
    config: { ...CONFIG, ...config },
    logger: silentLogger,
    nowMs: () => now,
    ...(cache ? { cache } : {}),
  });
}

function batch(
  n: number,
  opts: { ts?: bigint; producerId?: bigint; epoch?: number; seq?: number; prefix?: string } = {},
): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({
      value: Buffer.from(`${opts.prefix ?? 'v'}${i}`),
      timestampMs: (opts.ts ?? 1000n) + BigInt(i),
    })),
    ...(opts.producerId !== undefined
      ? { producerId: opts.producerId, producerEpoch: opts.epoch ?? 0, baseSequence: opts.seq ?? 0 }
      : {}),
  });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof KafkaError ? e.code : `other: ${String(e)}`;
  }
}

describe('PartitionLog', () => {
  test('assigns dense offsets, advances the high watermark, reads from the middle of a batch', async () => {
    const log = new MemoryEntryLog();
    const p = await open(log);
    expect((await p.append(batch(3), 1, 0)).baseOffset).toBe(0n);
    expect((await p.append(batch(2), 1, 0)).baseOffset).toBe(3n);
    expect(p.highWatermark).toBe(5n);
    const r = await p.read(4n, 1 << 20);
    expect(r.chunks).toHaveLength(1); // the batch holding offset 4 (base 3)
    expect(r.chunks[0]?.readBigInt64BE(0)).toBe(3n);
    const all = await p.read(0n, 1);
    expect(all.chunks).toHaveLength(1); // first batch whole even over maxBytes
    expect(await p.read(5n, 100)).toMatchObject({ bytes: 0 });
    expect(await codeOf(p.read(6n, 100))).toBe('OFFSET_OUT_OF_RANGE');
  });

  test('reads from the log when the shared cache holds nothing, honouring maxBytes', async () => {
    const log = new MemoryEntryLog();
    const cache = new BatchCache(1);
    const p = await open(log, {}, cache);
    const sizes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const b = batch(3, { prefix: `b${i}-` });
      sizes.push(b.length);
      await p.append(b, 1, 0);
    }
    expect(cache.sizeBytes).toBe(0);
    const all = await p.read(0n, 1 << 20);
    expect(all.chunks.map((c) => c.readBigInt64BE(0))).toEqual([0n, 3n, 6n, 9n, 12n, 15n]);
    const two = await p.read(4n, (sizes[1] ?? 0) + (sizes[2] ?? 0));
    expect(two.chunks.map((c) => c.readBigInt64BE(0))).toEqual([3n, 6n]);
    const one = await p.read(7n, 1);
    expect(one.chunks.map((c) => c.readBigInt64BE(0))).toEqual([6n]);
  });

  test('the shared cache stays within its budget', async () => {
    const cache = new BatchCache(1000);
    const p = await open(new MemoryEntryLog(), {}, cache);
    for (let i = 0; i < 50; i++) await p.append(batch(5), 1, 0);
    expect(cache.sizeBytes).toBeLessThanOrEqual(1000);
    expect((await p.read(0n, 1 << 20)).chunks).toHaveLength(50);
  });

  test('acks=all syncs; acks=1 does not (until flush.messages)', async () => {
    const log = new MemoryEntryLog();
    const p = await open(log, { flushMessages: 5 });
    await p.append(batch(2), 1, 0);
    expect(log.syncs).toBe(0);
    await p.append(batch(1), -1, 0);
    expect(log.syncs).toBe(1);
    await p.append(batch(5), 1, 0); // reaches flush.messages
    expect(log.syncs).toBe(2);
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

  test('idempotent producer: duplicates answered with the original offset, gaps and old epochs rejected', async () => {
    const log = new MemoryEntryLog();
    const p = await open(log);
    expect((await p.append(batch(2, { producerId: 7n, seq: 0 }), 1, 0)).baseOffset).toBe(0n);
    expect((await p.append(batch(2, { producerId: 7n, seq: 2 }), 1, 0)).baseOffset).toBe(2n);
    expect((await p.append(batch(2, { producerId: 7n, seq: 0 }), 1, 0)).baseOffset).toBe(0n); // duplicate
    expect(p.logEndOffset).toBe(4n);
    expect(await codeOf(p.append(batch(1, { producerId: 7n, seq: 9 }), 1, 0))).toBe(
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
    );
    expect(await codeOf(p.append(batch(1, { producerId: 7n, epoch: 1, seq: 0 }), 1, 0))).toBe('ok'); // new epoch
    expect(await codeOf(p.append(batch(1, { producerId: 7n, epoch: 0, seq: 4 }), 1, 0))).toBe(
      'INVALID_PRODUCER_EPOCH',
    );
    expect(p.describeProducers()).toEqual([
      expect.objectContaining({ producerId: 7n, producerEpoch: 1, lastSequence: 0 }),
    ]);
  });

  test('recovery rebuilds offsets, the index and producer state from the log', async () => {
    const log = new MemoryEntryLog();
    const p = await open(log);
    await p.append(batch(3, { producerId: 9n, seq: 0 }), 1, 0);
    await p.append(batch(4), 1, 0);
    await p.close();
    const q = await open(log);
    expect(q.logEndOffset).toBe(7n);
    expect(q.highWatermark).toBe(7n);
    expect((await q.append(batch(3, { producerId: 9n, seq: 0 }), 1, 0)).baseOffset).toBe(0n); // still a duplicate
    expect((await q.append(batch(1), 1, 0)).baseOffset).toBe(7n);
  });

  test('a clean close leaves an index snapshot that the next open uses once; a stale one is ignored', async () => {
    const log = new MemoryEntryLog();
    const p = await open(log);
    await p.append(batch(3, { producerId: 4n, seq: 0, ts: 50n }), 1, 0);
    await p.append(batch(2, { ts: 70n }), 1, 3);
    await p.deleteRecords(3n);
    await p.close();
    const snap = path.join(dir, 'index.snapshot');
    expect(fs.existsSync(snap)).toBe(true);
    const q = await open(log);
    expect(fs.existsSync(snap)).toBe(false); // used once
    expect([q.logStartOffset, q.logEndOffset, q.sizeBytes()]).toEqual([3n, 5n, p.sizeBytes()]);
    expect((await q.append(batch(3, { producerId: 4n, seq: 0 }), 1, 0)).baseOffset).toBe(0n); // duplicate still known
    expect(q.offsetForLeaderEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 3n });
    expect(await q.listOffset(-3n)).toMatchObject({ offset: 4n, timestamp: 71n });
    expect((await q.read(3n, 1 << 20)).chunks).toHaveLength(1);
    await q.close();
    // the log moved on after the snapshot (a crash after more appends): the snapshot is ignored
    const saved = fs.readFileSync(snap);
    const r = await open(log);
    await r.append(batch(1), 1, 3); // no close: as if killed
    fs.writeFileSync(snap, saved); // a snapshot older than the log
    const fresh = await open(log);
    expect(fresh.logEndOffset).toBe(6n);
    expect((await fresh.read(5n, 100)).chunks).toHaveLength(1);
    expect(fs.existsSync(snap)).toBe(false);
  });

  test('a batch larger than max.message.bytes is MESSAGE_TOO_LARGE', async () => {
    const p = await open(new MemoryEntryLog(), { maxMessageBytes: 100 });
    expect(await codeOf(p.append(batch(20), 1, 0))).toBe('MESSAGE_TOO_LARGE');
    expect(p.logEndOffset).toBe(0n);
  });

  test('DeleteRecords moves the log start offset durably; reads below it are out of range', async () => {
    const log = new MemoryEntryLog();
    const p = await open(log);
    for (let i = 0; i < 5; i++) await p.append(batch(2), 1, 0);
    expect(await p.deleteRecords(3n)).toBe(3n);
    expect(await codeOf(p.read(2n, 100))).toBe('OFFSET_OUT_OF_RANGE');
    expect(log.firstIndex()).toBe(1); // the batch [0,1] is gone, [2,3] stays (it holds offset 3)
    expect(await codeOf(p.deleteRecords(11n))).toBe('OFFSET_OUT_OF_RANGE');
    await p.close();
    const q = await open(log);
    expect(q.logStartOffset).toBe(3n);
    expect((await q.listOffset(-2n)).offset).toBe(3n);
  });

  test('retention by size and by time drops whole batches from the front', async () => {
    const log = new MemoryEntryLog();
    const p = await open(log, { retentionBytes: 400 });
    for (let i = 0; i < 10; i++) await p.append(batch(3, { ts: BigInt(now - 10_000 + i) }), 1, 0);
    const before = p.sizeBytes();
    expect(await p.enforceRetention(now)).toBeGreaterThan(0);
    expect(p.sizeBytes()).toBeLessThanOrEqual(400);
    expect(p.sizeBytes()).toBeLessThan(before);
    p.config = { ...p.config, retentionBytes: -1, retentionMs: 5000 };
    now += 60_000;
    await p.enforceRetention(now);
    expect(p.logStartOffset).toBe(30n);
    expect(p.logEndOffset).toBe(30n);
  });

  test('ListOffsets: latest, earliest, by timestamp, max timestamp; OffsetForLeaderEpoch', async () => {
    const p = await open(new MemoryEntryLog());
    await p.append(batch(3, { ts: 100n }), 1, 0); // offsets 0..2, ts 100..102
    await p.append(batch(3, { ts: 500n }), 1, 2); // offsets 3..5, ts 500..502, epoch 2
    await p.append(batch(2, { ts: 200n }), 1, 2); // offsets 6..7
    expect((await p.listOffset(-1n)).offset).toBe(8n);
    expect((await p.listOffset(-2n)).offset).toBe(0n);
    expect(await p.listOffset(101n)).toMatchObject({ offset: 1n, timestamp: 101n });
    expect(await p.listOffset(300n)).toMatchObject({ offset: 3n, timestamp: 500n });
    expect(await p.listOffset(-3n)).toMatchObject({ offset: 5n, timestamp: 502n });
    expect((await p.listOffset(9999n)).offset).toBe(-1n);
    expect(p.offsetForLeaderEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 3n });
    expect(p.offsetForLeaderEpoch(1)).toEqual({ leaderEpoch: 0, endOffset: 3n });
    expect(p.offsetForLeaderEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 8n });
  });

  test('LogAppendTime topics stamp the broker time', async () => {
    const p = await open(new MemoryEntryLog(), { logAppendTime: true });
    const r = await p.append(batch(2, { ts: 5n }), 1, 0);
    expect(r.logAppendTimeMs).toBe(BigInt(now));
    expect(await p.listOffset(-3n)).toMatchObject({ timestamp: BigInt(now) });
  });

  test.each([false, true])(
    'on the WAL (logAppendTime %s): batches are stored under their derived checksums and read back after a reopen',
    async (logAppendTime) => {
      const factory = new WalEntryLogFactory({
        maxSegmentBytes: 1 << 20,
        maxRecordBytes: 1 << 20,
        maxPendingBytes: 1 << 24,
        logger: silentLogger,
      });
      const logDir = path.join(dir, 'wal');
      try {
        const p = await PartitionLog.open({
          topic: 't',
          partition: 0,
          dir,
          log: await factory.open(logDir),
          config: { ...CONFIG, logAppendTime },
          logger: silentLogger,
          nowMs: () => now,
        });
        const sent = [batch(3), Buffer.concat([batch(2, { prefix: 'x' }), batch(4, { prefix: 'y' })])];
        for (const b of sent) await p.append(b, 1, 7);
        await p.close();
        // A fresh open reads every entry back from the files, checking each entry's CRC-32C.
        fs.rmSync(path.join(dir, 'index.snapshot'), { force: true });
        const q = await PartitionLog.open({
          topic: 't',
          partition: 0,
          dir,
          log: await factory.open(logDir),
          config: { ...CONFIG, logAppendTime },
          logger: silentLogger,
          nowMs: () => now,
          cache: new BatchCache(0),
        });
        expect(q.logEndOffset).toBe(9n);
        const read = await q.read(0n, 1 << 20);
        expect(read.chunks.map((c) => readRecordBatchHeader(c, 0).baseOffset)).toEqual([0n, 3n, 5n]);
        expect(read.chunks.every((c) => readRecordBatchHeader(c, 0).partitionLeaderEpoch === 7)).toBe(true);
        await q.close();
      } finally {
        factory.close();
      }
    },
  );

  test('watch wakes on append', async () => {
    const p = await open(new MemoryEntryLog());
    const woke = new Promise<void>((resolve) => p.watch(resolve));
    await p.append(batch(1), 1, 0);
    await expect(woke).resolves.toBeUndefined();
  });
});

describe('ProducerStateTable', () => {
  test('evicts the producer updated longest ago when full', () => {
    const t = new ProducerStateTable(2);
    const h = (producerId: bigint, baseSequence: number) =>
      readRecordBatchHeader(
        buildRecordBatch({ records: [{ value: null }], producerId, producerEpoch: 0, baseSequence }),
      );
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
});
