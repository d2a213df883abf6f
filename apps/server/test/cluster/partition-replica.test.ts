// PartitionReplica on a real RaftHost (one voter, WAL in a temp dir): offsets assigned by the leader
// one entry per batch, the high watermark, reads and ListOffsets through the offset → Raft index
// index, idempotent duplicates and sequence errors, DeleteRecords, and the index rebuilt from the
// Raft log after a restart; retention compacting the log at a checkpoint, and the restart from that
// snapshot (state restored, later batches re-applied from the log).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildRecordBatch, decodeRecordBatch, readRecordBatchHeader } from '@chronik/protocol';
import { RaftHost } from '@chronik/raft-host';
import { PartitionReplica } from '../../src/cluster/raft/partition-replica.js';
import type { ReplicaConfig } from '../../src/cluster/raft/partition-replica.js';
import { partitionGroupId } from '../../src/cluster/raft/group-ids.js';
import { silentLogger } from '../../src/logger.js';

jest.setTimeout(30_000);

const GROUP = partitionGroupId('7b0e6c3a-7a43-4e0e-9a43-2a8e1f0c1d11', 0);

interface Node {
  host: RaftHost;
  replica: PartitionReplica;
  ready: Promise<void>;
}

async function open(
  dir: string,
  o: { config?: Partial<ReplicaConfig>; segmentBytes?: number; checkpointEveryBytes?: number } = {},
): Promise<Node> {
  const host = new RaftHost({ nodeId: 1, dataDir: dir, tickMs: 10, electionTicks: 5 });
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const replica = new PartitionReplica({
    topic: 't',
    topicId: '7b0e6c3a-7a43-4e0e-9a43-2a8e1f0c1d11',
    partition: 0,
    groupId: GROUP,
    nodeId: 1,
    host,
    config: {
      logAppendTime: false,
      maxMessageBytes: 1024 * 1024,
      retentionMs: -1,
      retentionBytes: -1,
      ...o.config,
    },
    logger: silentLogger,
    ...(o.checkpointEveryBytes !== undefined ? { checkpointEveryBytes: o.checkpointEveryBytes } : {}),
    nowMs: Date.now,
    onLeaderReady: () => readyResolve(),
    onLeaderLost: () => undefined,
  });
  replica.replicas = [1];
  await host.openGroup({
    groupId: GROUP,
    stateMachine: replica,
    bootstrapVoters: [1],
    snapshotPolicy: 'stateMachine',
    ...(o.segmentBytes !== undefined ? { maxSegmentBytes: o.segmentBytes } : {}),
  });
  host.start();
  return { host, replica, ready };
}

function batch(values: string[], producer?: { id: bigint; epoch: number; seq: number }): Buffer {
  return buildRecordBatch({
    records: values.map((v) => ({ value: Buffer.from(v) })),
    timestampMs: 1_700_000_000_000n,
    ...(producer
      ? { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.seq }
      : {}),
  });
}

function values(chunks: readonly Buffer[]): string[] {
  return chunks.flatMap((c) => decodeRecordBatch(c).records.map((r) => r.value?.toString() ?? ''));
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-replica-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the leader assigns offsets per batch; reads stop at the high watermark; restart rebuilds the index', async () => {
  const a = await open(dir);
  await a.ready;
  expect(a.replica.isLeader()).toBe(true);
  const r1 = await a.replica.append(batch(['a', 'b', 'c']), -1, 5000);
  const r2 = await a.replica.append(Buffer.concat([batch(['d']), batch(['e', 'f'])]), -1, 5000);
  expect(r1.baseOffset).toBe(0n);
  expect(r2.baseOffset).toBe(3n);
  expect(a.replica.highWatermark).toBe(6n);
  expect(a.replica.batchCount()).toBe(3);
  const all = a.replica.read(0n, 1024 * 1024);
  expect(values(all.chunks)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  expect(all.leaderEpoch).toBeGreaterThan(0);
  expect(readRecordBatchHeader(all.chunks[0] as Buffer, 0).partitionLeaderEpoch).toBe(a.replica.term);
  // From the middle of a batch: the whole batch comes back (Kafka semantics).
  expect(values(a.replica.read(4n, 1024 * 1024).chunks)).toEqual(['e', 'f']);
  // Byte budget: the first batch is returned whole even when larger.
  expect(a.replica.read(0n, 1).chunks).toHaveLength(1);
  expect(a.replica.read(6n, 1024).chunks).toHaveLength(0);
  expect(() => a.replica.read(7n, 1024)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }));
  expect(a.replica.listOffset(-1n).offset).toBe(6n);
  expect(a.replica.listOffset(-2n).offset).toBe(0n);
  expect(a.replica.listOffset(1_700_000_000_000n).offset).toBe(0n);
  expect(a.replica.offsetForLeaderEpoch(a.replica.term).endOffset).toBe(6n);
  // DeleteRecords replicates a new log start offset.
  expect(await a.replica.deleteRecords(3n, 5000)).toBe(3n);
  expect(a.replica.listOffset(-2n).offset).toBe(3n);
  expect(() => a.replica.read(1n, 1024)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }));
  const termBefore = a.replica.term;
  await a.host.close();

  const b = await open(dir);
  await b.ready;
  expect(b.replica.term).toBeGreaterThan(termBefore);
  expect(b.replica.highWatermark).toBe(6n);
  expect(b.replica.logStartOffset).toBe(3n);
  expect(values(b.replica.read(3n, 1024 * 1024).chunks)).toEqual(['d', 'e', 'f']);
  const r3 = await b.replica.append(batch(['g']), -1, 5000);
  expect(r3.baseOffset).toBe(6n);
  expect(readRecordBatchHeader(b.replica.read(6n, 1024).chunks[0] as Buffer, 0).partitionLeaderEpoch).toBe(
    b.replica.term,
  );
  // The leader epoch cache spans both terms.
  expect(b.replica.offsetForLeaderEpoch(termBefore)).toEqual({ leaderEpoch: termBefore, endOffset: 6n });
  await b.host.close();
});

test('idempotent producers: duplicates get the original offset, gaps and old epochs are refused, state survives restart', async () => {
  const a = await open(dir);
  await a.ready;
  const p = { id: 42n, epoch: 0, seq: 0 };
  expect((await a.replica.append(batch(['x0', 'x1'], p), -1, 5000)).baseOffset).toBe(0n);
  expect((await a.replica.append(batch(['x2'], { ...p, seq: 2 }), -1, 5000)).baseOffset).toBe(2n);
  // A retry of an acknowledged batch: the original offset, nothing appended.
  expect((await a.replica.append(batch(['x2'], { ...p, seq: 2 }), -1, 5000)).baseOffset).toBe(2n);
  expect(a.replica.highWatermark).toBe(3n);
  await expect(a.replica.append(batch(['x9'], { ...p, seq: 9 }), -1, 5000)).rejects.toMatchObject({
    code: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  });
  // Pipelined batches of one producer (not yet applied when the next is checked).
  const [q1, q2] = await Promise.all([
    a.replica.append(batch(['x3'], { ...p, seq: 3 }), -1, 5000),
    a.replica.append(batch(['x4'], { ...p, seq: 4 }), -1, 5000),
  ]);
  expect([q1.baseOffset, q2.baseOffset]).toEqual([3n, 4n]);
  await a.replica.append(batch(['y0'], { ...p, epoch: 1, seq: 0 }), -1, 5000);
  await expect(a.replica.append(batch(['old'], { ...p, epoch: 0, seq: 5 }), -1, 5000)).rejects.toMatchObject({
    code: 'INVALID_PRODUCER_EPOCH',
  });
  expect(a.replica.describeProducers()).toEqual([
    expect.objectContaining({ producerId: 42n, producerEpoch: 1, lastSequence: 0 }),
  ]);
  await a.host.close();

  const b = await open(dir);
  await b.ready;
  expect((await b.replica.append(batch(['y0'], { ...p, epoch: 1, seq: 0 }), -1, 5000)).baseOffset).toBe(5n);
  expect(b.replica.highWatermark).toBe(6n);
  await b.host.close();
});

test('a follower (or a closed replica) refuses appends and reads with NOT_LEADER_OR_FOLLOWER', async () => {
  const a = await open(dir);
  await a.ready;
  a.replica.close();
  await expect(a.replica.append(batch(['z']), -1, 5000)).rejects.toMatchObject({
    code: 'NOT_LEADER_OR_FOLLOWER',
  });
  await a.host.close();
});

test('acks=1 answers once the batch is durable in the leader log; acks=all once it is applied', async () => {
  const a = await open(dir);
  await a.ready;
  const r1 = await a.replica.append(batch(['p', 'q']), 1, 5000);
  expect(r1.baseOffset).toBe(0n);
  const r2 = await a.replica.append(batch(['r']), -1, 5000);
  expect(r2.baseOffset).toBe(2n);
  // acks=all returned after applying, which in one log also covers the acks=1 batch before it.
  expect(a.replica.highWatermark).toBe(3n);
  expect(values(a.replica.read(0n, 1024 * 1024).chunks)).toEqual(['p', 'q', 'r']);
  await a.host.close();
  // Both survive a restart: acks=1 was answered only after the batch was fsync'd.
  const b = await open(dir);
  await b.ready;
  expect(values(b.replica.read(0n, 1024 * 1024).chunks)).toEqual(['p', 'q', 'r']);
  await b.host.close();
});

async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function dirBytes(d: string): number {
  let total = 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    total += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return total;
}

test('retention.bytes: the leader moves the log start, the log is compacted at a checkpoint, and a restart restores it', async () => {
  const opts = {
    config: { retentionBytes: 40 * 1024 },
    segmentBytes: 32 * 1024,
    checkpointEveryBytes: 8 * 1024,
  };
  const a = await open(dir, opts);
  await a.ready;
  const p = { id: 7n, epoch: 0, seq: 0 };
  const pad = 'x'.repeat(1000);
  for (let i = 0; i < 300; i++) await a.replica.append(batch([`v${i}:${pad}`], { ...p, seq: i }), -1, 5000);
  const sizeBefore = dirBytes(dir);
  a.replica.enforceRetention(Date.now(), 5000);
  await until(() => a.replica.logStartOffset > 0n && a.host.status(GROUP).snapshotIndex > 1);
  const start = a.replica.logStartOffset;
  // About 40 KiB of ~1 KiB batches stay; everything below the log start is gone.
  expect(Number(start)).toBeGreaterThan(250);
  expect(Number(start)).toBeLessThan(270);
  const st = a.host.status(GROUP);
  expect(st.firstIndex).toBe(st.snapshotIndex + 1);
  const kept = (r: PartitionReplica): string[] =>
    values(r.read(start, 16 * 1024 * 1024).chunks).map((v) => v.split(':')[0] as string);
  const expected = Array.from({ length: 300 - Number(start) }, (_, k) => `v${Number(start) + k}`);
  expect(kept(a.replica)).toEqual(expected);
  expect(() => a.replica.read(start - 1n, 1024)).toThrow(
    expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }),
  );
  await until(() => dirBytes(dir) < sizeBefore / 2);
  await a.host.close();

  const b = await open(dir, opts);
  await b.ready;
  expect(b.replica.highWatermark).toBe(300n);
  expect(b.replica.logStartOffset).toBe(start);
  expect(b.replica.listOffset(-2n).offset).toBe(start);
  expect(kept(b.replica)).toEqual(expected);
  // Producer state came back from the snapshot plus the batches after it: a retry of the last
  // acknowledged batch is a duplicate, the next sequence appends.
  expect((await b.replica.append(batch([`v299:${pad}`], { ...p, seq: 299 }), -1, 5000)).baseOffset).toBe(
    299n,
  );
  expect((await b.replica.append(batch(['v300'], { ...p, seq: 300 }), -1, 5000)).baseOffset).toBe(300n);
  await expect(b.replica.append(batch(['gap'], { ...p, seq: 305 }), -1, 5000)).rejects.toMatchObject({
    code: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  });
  await b.host.close();
});

test('retention.ms expires every old batch: the log start reaches the high watermark and appends continue after it', async () => {
  const opts = { config: { retentionMs: 60_000 }, segmentBytes: 32 * 1024, checkpointEveryBytes: 8 * 1024 };
  const a = await open(dir, opts);
  await a.ready;
  // batch() stamps records in 2023: older than retention.ms.
  for (let i = 0; i < 100; i++) await a.replica.append(batch([`old${i}:${'y'.repeat(500)}`]), -1, 5000);
  expect(a.replica.retentionTarget(Date.now())).toBe(100n);
  a.replica.enforceRetention(Date.now(), 5000);
  await until(() => a.replica.logStartOffset === 100n && a.host.status(GROUP).snapshotIndex > 1);
  expect(a.replica.batchCount()).toBe(0);
  expect(a.replica.read(100n, 1024).chunks).toHaveLength(0);
  const fresh = buildRecordBatch({
    records: [{ value: Buffer.from('new') }],
    timestampMs: BigInt(Date.now()),
  });
  expect((await a.replica.append(fresh, -1, 5000)).baseOffset).toBe(100n);
  expect(a.replica.retentionTarget(Date.now())).toBeUndefined();
  await a.host.close();
  const b = await open(dir, opts);
  await b.ready;
  expect(b.replica.logStartOffset).toBe(100n);
  expect(values(b.replica.read(100n, 1024).chunks)).toEqual(['new']);
  await b.host.close();
});
