// What only the replicated partition does (the shared cases are in partition-suite.test.ts), on a
// real RaftHost with one voter and its WAL in a temp dir: acks=1 answered once durable in the
// leader's log; retention compacting the Raft log at a checkpoint (disk shrinks) and the restart
// from that snapshot (state restored, later batches re-applied from the log) — the producers' open
// transactions and the aborted-transaction index included; a committed entry that cannot be
// applied, or a Raft group that stopped (an invariant of the core broken), stops the replica instead
// of being stepped over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildRecordBatch, decodeRecordBatch } from '@chronik/protocol';
import { EntryType, MessageType, newMessage } from '@chronik/raft';
import { RaftHost } from '@chronik/raft-host';
import { partitionGroupId } from '../../src/cluster/group-ids.js';
import { silentLogger } from '../../src/logger.js';
import type { PartitionGroup } from '../../src/partition/replicated-partition.js';
import { ReplicatedPartition } from '../../src/partition/replicated-partition.js';
import type { LogConfig } from '../../src/partition/types.js';
import { LOG_CONFIG, TOPIC_ID, committedValues, marker, readCommitted, txnBatch } from './harness.js';

jest.setTimeout(30_000);

const GROUP = partitionGroupId(TOPIC_ID, 0);

interface Node {
  host: RaftHost;
  replica: ReplicatedPartition;
  ready: Promise<void>;
  failures: Error[];
}

/** A group on the host, as cluster/partition-groups.ts builds it (here with a chosen segment size). */
function groupOn(host: RaftHost, segmentBytes: number | undefined): PartitionGroup {
  return {
    groupId: GROUP,
    open: (stateMachine) =>
      host.openGroup({
        groupId: GROUP,
        stateMachine,
        bootstrapVoters: [1],
        snapshotPolicy: 'stateMachine',
        ...(segmentBytes !== undefined ? { maxSegmentBytes: segmentBytes } : {}),
      }),
    propose: (data, timeoutMs, options) => host.propose(GROUP, data, timeoutMs, options),
    proposeConfChange: (cc, timeoutMs) => host.proposeConfChange(GROUP, cc, timeoutMs),
    status: () => host.status(GROUP),
    log: () => host.log(GROUP),
    transferLeadership: (to) => host.transferLeadership(GROUP, to),
    close: () => host.closeGroup(GROUP),
  };
}

async function open(
  dir: string,
  o: { config?: Partial<LogConfig>; segmentBytes?: number; checkpointEveryBytes?: number } = {},
): Promise<Node> {
  const host = new RaftHost({ nodeId: 1, dataDir: dir, tickMs: 10, electionTicks: 5 });
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const failures: Error[] = [];
  const replica = new ReplicatedPartition({
    topic: 't',
    topicId: TOPIC_ID,
    partition: 0,
    nodeId: 1,
    group: groupOn(host, o.segmentBytes),
    config: { ...LOG_CONFIG, ...o.config },
    retentionCheckIntervalMs: 0,
    proposalTimeoutMs: 5000,
    logger: silentLogger,
    ...(o.checkpointEveryBytes !== undefined ? { checkpointEveryBytes: o.checkpointEveryBytes } : {}),
    nowMs: Date.now,
    events: {
      leaderReady: () => readyResolve(),
      leaderLost: () => undefined,
      damaged: () => undefined,
      failed: (_p, e) => failures.push(e),
    },
  });
  replica.replicas = [1];
  await replica.open();
  host.start();
  return { host, replica, ready, failures };
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

const read = async (r: ReplicatedPartition, from: bigint, maxBytes = 16 * 1024 * 1024): Promise<string[]> =>
  values((await r.read(from, maxBytes, true, 0)).chunks);

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
  a.replica.maintain(Date.now());
  await until(() => a.replica.logStartOffset > 0n && a.host.status(GROUP).snapshotIndex > 1);
  const start = a.replica.logStartOffset;
  // About 40 KiB of ~1 KiB batches stay; everything below the log start is gone.
  expect(Number(start)).toBeGreaterThan(250);
  expect(Number(start)).toBeLessThan(270);
  const st = a.host.status(GROUP);
  expect(st.firstIndex).toBe(st.snapshotIndex + 1);
  const kept = async (r: ReplicatedPartition): Promise<string[]> =>
    (await read(r, start)).map((v) => v.split(':')[0] as string);
  const expected = Array.from({ length: 300 - Number(start) }, (_, k) => `v${Number(start) + k}`);
  expect(await kept(a.replica)).toEqual(expected);
  await expect(a.replica.read(start - 1n, 1024, true, 0)).rejects.toMatchObject({
    code: 'OFFSET_OUT_OF_RANGE',
  });
  await until(() => dirBytes(dir) < sizeBefore / 2);
  await a.host.close();

  const b = await open(dir, opts);
  await b.ready;
  expect(b.replica.highWatermark).toBe(300n);
  expect(b.replica.logStartOffset).toBe(start);
  expect((await b.replica.listOffset(-2n, 0)).offset).toBe(start);
  expect(await kept(b.replica)).toEqual(expected);
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
  a.replica.maintain(Date.now());
  await until(() => a.replica.logStartOffset === 100n && a.host.status(GROUP).snapshotIndex > 1);
  expect(a.replica.batchCount()).toBe(0);
  expect(await read(a.replica, 100n, 1024)).toHaveLength(0);
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
  expect(await read(b.replica, 100n, 1024)).toEqual(['new']);
  await b.host.close();
});

test('a replica restored from a checkpoint answers the transactions as before: open ones begun before it, aborted ones completed after it', async () => {
  const opts = { segmentBytes: 32 * 1024, checkpointEveryBytes: 8 * 1024 };
  const a = await open(dir, opts);
  await a.ready;
  const pad = 'x'.repeat(1000);
  const r = a.replica;
  await r.append(txnBatch(1, { producerId: 2n, seq: 0, prefix: 'b' }), -1, 5000); // 0: stays open
  await r.append(txnBatch(1, { producerId: 1n, seq: 0, prefix: 'a' }), -1, 5000); // 1: aborted later
  for (let i = 0; i < 100; i++) await r.append(batch([`v${i + 2}:${pad}`]), -1, 5000); // 2..101
  expect(await r.writeTxnMarker(marker(1n, false, { coordinatorEpoch: 5 }), 5000)).toBe(102n);
  for (let i = 0; i < 10; i++) await r.append(batch([`w${i}`]), -1, 5000); // 103..112
  // The log start passes both transactions' first batches; the log is compacted at a checkpoint
  // taken after them and before the abort marker.
  expect(await r.deleteRecords(50n, 5000)).toBe(50n);
  await until(() => a.host.status(GROUP).snapshotIndex > 3);
  // Raft index = offset + 2 here (the bootstrap entry and the leader's no-op come first).
  expect(a.host.status(GROUP).snapshotIndex).toBeLessThan(102 + 2);
  const producers = r.describeProducers();
  expect(await readCommitted(r, 50n)).toMatchObject({ lastStableOffset: 50n, chunks: [] });
  await a.host.close();

  const b = await open(dir, opts);
  await b.ready;
  expect(b.replica.describeProducers()).toEqual(producers);
  expect(b.replica.describeProducers().find((x) => x.producerId === 2n)?.currentTxnStartOffset).toBe(0n);
  expect(b.replica.hasOngoingTxn(2n, 0)).toBe(true);
  expect(await readCommitted(b.replica, 50n)).toMatchObject({ lastStableOffset: 50n, chunks: [] });
  expect(await b.replica.writeTxnMarker(marker(2n, true, { coordinatorEpoch: 5 }), 5000)).toBe(113n);
  const all = await readCommitted(b.replica, 50n);
  expect(all).toMatchObject({
    lastStableOffset: 114n,
    abortedTransactions: [{ producerId: 1n, firstOffset: 1n }],
  });
  expect(committedValues(all).map((v) => v.split(':')[0])).toEqual([
    ...Array.from({ length: 52 }, (_, i) => `v${i + 50}`),
    ...Array.from({ length: 10 }, (_, i) => `w${i}`),
  ]);
  await b.host.close();
});

test('acks=1 answers once the batch is durable in the leader log; acks=all once it is applied', async () => {
  const a = await open(dir);
  await a.ready;
  expect((await a.replica.append(batch(['p', 'q']), 1, 5000)).baseOffset).toBe(0n);
  expect((await a.replica.append(batch(['r']), -1, 5000)).baseOffset).toBe(2n);
  // acks=all returned after applying, which in one log also covers the acks=1 batch before it.
  expect(a.replica.highWatermark).toBe(3n);
  expect(await read(a.replica, 0n)).toEqual(['p', 'q', 'r']);
  await a.host.close();
  // Both survive a restart: acks=1 was answered only after the batch was fsync'd.
  const b = await open(dir);
  await b.ready;
  expect(await read(b.replica, 0n)).toEqual(['p', 'q', 'r']);
  await b.host.close();
});

test('a committed entry this replica cannot apply stops it: it serves nothing more and the manager is told', async () => {
  const a = await open(dir);
  await a.ready;
  await a.replica.append(batch(['x']), -1, 5000);
  // A partition control entry of a kind this code does not know (as if written by newer code).
  await a.replica.group.propose(Buffer.from([0xff, 0x7f, 0, 0]), 5000).catch(() => undefined);
  await until(() => a.failures.length > 0);
  expect(a.failures[0]?.message).toMatch(/unknown control entry/);
  expect(a.replica.isLeader()).toBe(false);
  await expect(a.replica.append(batch(['y']), -1, 5000)).rejects.toMatchObject({
    code: 'KAFKA_STORAGE_ERROR',
  });
  await a.host.close();
});

test('its Raft group stops (the core broke an invariant): the replica leads no more, serves nothing and the manager is told', async () => {
  const a = await open(dir);
  await a.ready;
  await a.replica.append(batch(['x']), -1, 5000);
  const st = a.host.status(GROUP);
  // A newer leader's append carrying another entry for an index committed here.
  a.host.receive(
    GROUP,
    newMessage({
      type: MessageType.MsgApp,
      to: 1,
      from: 2,
      term: st.term + 1,
      index: st.lastIndex,
      logTerm: st.term,
      entries: [{ index: 2, term: st.term + 1, type: EntryType.Normal, data: Buffer.from('x') }],
      commit: st.lastIndex,
    }),
  );
  expect(a.host.status(GROUP).failure).toMatchObject({ code: 'InvariantViolated' });
  await until(() => a.failures.length > 0);
  expect(a.failures[0]?.message).toMatch(/conflicts with committed entry/);
  expect(a.replica.isLeader()).toBe(false);
  expect(a.replica.leaderId()).toBe(-1);
  await expect(a.replica.append(batch(['y']), -1, 5000)).rejects.toMatchObject({
    code: 'KAFKA_STORAGE_ERROR',
  });
  await a.host.close();
});

test('log compaction: a pass frees the head of the Raft log (snapshot past the original batches); a restart replays the relocations after it', async () => {
  const opts = {
    config: { compact: true, segmentMs: 1, minCleanableDirtyRatio: 0 },
    segmentBytes: 32 * 1024,
    checkpointEveryBytes: 8 * 1024,
  };
  const a = await open(dir, opts);
  await a.ready;
  const io = { throttle: async () => undefined, pause: async () => undefined, mapBytes: 1 << 20 };
  const pad = 'x'.repeat(500);
  const keyedBatch = (k: number, v: string): Buffer =>
    buildRecordBatch({
      records: [{ key: Buffer.from(`k${k}`), value: Buffer.from(`${v}:${pad}`) }],
      timestampMs: 1_700_000_000_000n,
    });
  // 300 batches over 20 keys, then a pass; twice (the second pass rewrites the first's output).
  const latest = new Map<string, string>();
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 150; i++) {
      const v = `r${round}-${i}`;
      await a.replica.append(keyedBatch(i % 20, v), -1, 5000);
      latest.set(`k${i % 20}`, v);
    }
    const plan = a.replica.cleanable(Date.now());
    expect(plan).toBeDefined();
    expect((await a.replica.clean(plan!, Date.now(), io)).completed).toBe(true);
  }
  await a.replica.append(keyedBatch(99, 'tail'), -1, 5000);
  latest.set('k99', 'tail');
  // The log was compacted past every original batch of the first round (and most of the second).
  await until(() => a.host.status(GROUP).firstIndex > 200);
  const all = async (r: ReplicatedPartition): Promise<Buffer> =>
    Buffer.concat((await r.read(0n, 1 << 24, true, 0)).chunks as Buffer[]);
  const kv = (b: Buffer): string[] =>
    decodeRecordBatch(b).records.map((x) => `${x.key?.toString()}=${x.value?.toString().split(':')[0]}`);
  const chunks = (await a.replica.read(0n, 1 << 24, true, 0)).chunks;
  const seen = chunks.flatMap((c) => kv(c));
  // Every key once below the newest batch of the second round (never cleaned), with its last value.
  const cleaned = seen.slice(0, -2);
  expect(new Set(cleaned.map((s) => s.split('=')[0])).size).toBe(cleaned.length);
  expect(Object.fromEntries(seen.map((s) => s.split('=')))).toEqual(Object.fromEntries(latest));
  const bytes = await all(a.replica);
  await a.host.close();

  const b = await open(dir, opts);
  await b.ready;
  expect(b.replica.highWatermark).toBe(301n);
  expect(await all(b.replica)).toEqual(bytes);
  await b.host.close();
});
