// A standalone partition's index checkpoints (partition/index-checkpoint.ts): written while it
// runs, used by a start after a crash to replay only the entries after them, and never trusted
// blindly — a damaged, stale, foreign or missing one gives the same answers as a full scan.
import { buildRecordBatch } from '@chronik/protocol';
import { silentLogger } from '../../src/logger.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/partition/index-checkpoint.js';
import { LocalPartition } from '../../src/partition/local-partition.js';
import type { PartitionEvents } from '../../src/partition/types.js';
import { BatchCache } from '../../src/storage/batch-cache.js';
import { MemoryEntryLog } from '../../src/storage/entry-log.js';
import { seededRandom } from '../helpers/prng.js';
import { LOG_CONFIG, TOPIC_ID } from './harness.js';

const SNAPSHOT_FILES = ['index.snapshot', 'index.checkpoint', 'compaction.snapshot'];

const events = (): PartitionEvents => ({
  leaderReady: () => undefined,
  leaderLost: () => undefined,
  damaged: () => undefined,
  failed: () => undefined,
});

async function open(log: MemoryEntryLog, checkpointIntervalBytes = 600): Promise<LocalPartition> {
  const p = new LocalPartition({
    topic: 't',
    topicId: TOPIC_ID,
    partition: 0,
    nodeId: 1,
    leaderEpoch: 0,
    openLog: () => Promise.resolve(log),
    cache: new BatchCache(0),
    config: LOG_CONFIG,
    maxEntryBytes: 1 << 20,
    retentionCheckIntervalMs: 60_000,
    logger: silentLogger,
    nowMs: () => 1_700_000_000_000,
    events: events(),
    checkpointIntervalBytes,
  });
  await p.open();
  return p;
}

function batch(n: number, ts: bigint, producer?: { id: bigint; seq: number }): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({
      value: Buffer.from(`value-${ts}-${i}-${'x'.repeat(300)}`),
      timestampMs: ts + BigInt(i),
    })),
    ...(producer !== undefined
      ? { producerId: producer.id, producerEpoch: 0, baseSequence: producer.seq }
      : {}),
  });
}

/** What a client can see of a partition. */
async function answers(p: LocalPartition): Promise<unknown> {
  const read = await p.read(p.logStartOffset, 1 << 24, true, 0);
  return {
    start: p.logStartOffset,
    end: p.logEndOffset,
    size: p.sizeBytes(),
    chunks: read.chunks.map((c) => c.toString('hex')),
    maxTs: await p.listOffset(-3n, 0),
    earliest: await p.listOffset(-2n, 0),
    byTime: await p.listOffset(1050n, 0),
    producers: p.describeProducers(),
  };
}

/** Random appends (some idempotent), some DeleteRecords; the log as a crash leaves it (no close). */
async function crashedLog(seed: number, deletes = true): Promise<MemoryEntryLog> {
  const rnd = seededRandom(seed);
  const log = new MemoryEntryLog();
  const p = await open(log);
  const seqs = new Map<bigint, number>();
  const n = 20 + Math.floor(rnd() * 40);
  for (let k = 0; k < n; k++) {
    const records = 1 + Math.floor(rnd() * 6);
    const id = rnd() < 0.4 ? BigInt(1 + Math.floor(rnd() * 3)) : undefined;
    const producer = id !== undefined ? { id, seq: seqs.get(id) ?? 0 } : undefined;
    if (id !== undefined) seqs.set(id, (seqs.get(id) ?? 0) + records);
    await p.append(batch(records, 1000n + BigInt(k * 10), producer), rnd() < 0.5 ? 1 : -1, 0);
    if (deletes && rnd() < 0.05) await p.deleteRecords(p.logEndOffset - BigInt(1 + Math.floor(rnd() * 5)), 0);
  }
  // The last checkpoint written (they are chained behind syncs): let it land.
  await p.append(batch(1, 5000n), -1, 0);
  await new Promise((r) => setImmediate(r));
  return log;
}

/** The answers after a start from a full scan (every snapshot file removed first). */
async function scanned(log: MemoryEntryLog): Promise<unknown> {
  const copy = log.files;
  const saved = new Map(copy);
  for (const f of SNAPSHOT_FILES) copy.delete(f);
  const p = await open(log);
  const a = await answers(p);
  for (const f of SNAPSHOT_FILES) copy.delete(f);
  for (const [k, v] of saved) copy.set(k, v);
  return a;
}

test('a start after a crash uses the index checkpoint and answers as a full scan does (20 seeds)', async () => {
  let used = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const log = await crashedLog(seed);
    expect(log.files.has('index.checkpoint')).toBe(true);
    const want = await scanned(log);
    const reads: number[] = [];
    const read = log.read.bind(log);
    log.read = (from, to, max) => {
      reads.push(from);
      return read(from, to, max);
    };
    const p = await open(log);
    log.read = read;
    // Only the entries after the checkpoint were replayed (plus the one checked against it).
    if (reads.length > 0 && Math.min(...reads) > log.firstIndex()) used++;
    // Producers: a snapshot also remembers those whose batches all fell below the log start since
    // (DeleteRecords), as Kafka keeps them (KAFKA-7190); a scan knows only those it read.
    const got = (await answers(p)) as { producers: unknown[] };
    const { producers, ...rest } = got;
    const { producers: wantProducers, ...wantRest } = want as { producers: unknown[] };
    expect(rest).toEqual(wantRest);
    expect(producers).toEqual(expect.arrayContaining(wantProducers));
    // It keeps producing where the scan would.
    await p.append(batch(2, 9000n), -1, 0);
    expect(p.logEndOffset).toBe((want as { end: bigint }).end + 2n);
  }
  expect(used).toBeGreaterThan(10);
});

test('a damaged, stale, foreign or missing checkpoint is detected: the same answers as a full scan', async () => {
  const log = await crashedLog(7, false);
  const want = await scanned(log);
  const good = log.files.get('index.checkpoint') as Buffer;
  // A checkpoint at a position inside this log but describing other batches there (every batch's
  // offsets shifted by one, as if of another log): refused by the check of its last batch.
  const { json, rows } = decodeSnapshot(good);
  const shifted = Buffer.from(rows);
  const n = shifted.readUInt32BE(0);
  for (let k = 0; k < 2 * n; k++) {
    const at = 4 + k * 8;
    new DataView(shifted.buffer, shifted.byteOffset).setFloat64(
      at,
      new DataView(shifted.buffer, shifted.byteOffset).getFloat64(at, true) + 1,
      true,
    );
  }
  const forged = encodeSnapshot(Buffer.from(json), shifted);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 10] = (flipped[flipped.length - 10] as number) ^ 0x40;
  // Its position moved back by one entry: the batch after it does not continue its offsets.
  const back = JSON.parse(decodeSnapshot(good).json) as { nextIndex: number };
  back.nextIndex -= 1;
  const behind = encodeSnapshot(Buffer.from(JSON.stringify(back)), decodeSnapshot(good).rows);
  // A checkpoint claiming entries the log does not hold (written before a crash cut the tail).
  const ahead = JSON.parse(decodeSnapshot(good).json) as { nextIndex: number };
  ahead.nextIndex = log.nextIndex() + 5;
  const future = encodeSnapshot(Buffer.from(JSON.stringify(ahead)), decodeSnapshot(good).rows);
  for (const [what, bytes] of [
    ['damaged', flipped],
    ['truncated', good.subarray(0, good.length - 7)],
    ['empty', Buffer.alloc(0)],
    ['foreign', forged],
    ['moved back', behind],
    ['ahead of the log', future],
  ] as const) {
    log.files.set('index.checkpoint', bytes);
    const p = await open(log);
    expect({ what, answers: await answers(p) }).toEqual({ what, answers: want });
  }
  log.files.delete('index.checkpoint');
  expect(await answers(await open(log))).toEqual(want);
});
