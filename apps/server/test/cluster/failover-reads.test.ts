// Reads through leader changes, with real processes (kill -9) and real clients: while an idempotent
// producer writes with acks=all, probes on every node keep asking at the highest high watermark any
// node ever published (or acknowledged a produce beyond) — Fetch at that offset, ListOffsets(LATEST), OffsetForLeaderEpoch for the
// epoch of the last batch read — and librdkafka consumers (auto.offset.reset = earliest, latest and
// error) read the partition from offset 0. Faults: the leader killed and restarted; a follower
// killed, left behind, then the leader killed and the stale follower restarted (only the up-to-date
// replica may win); the leader and a follower killed together and both restarted.
// Kafka's rules, checked throughout: no OFFSET_OUT_OF_RANGE at a published offset, no high
// watermark or ListOffsets(LATEST) below one already published, OffsetForLeaderEpoch never below
// what a consumer has read in that epoch — and every consumer reads every acknowledged record
// exactly once, never resetting its position.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ApiKey,
  ErrorCode,
  defaultFetchRequest,
  defaultListOffsetsRequest,
  defaultOffsetForLeaderEpochRequest,
  readRecordBatchHeader,
  splitRecordBatches,
} from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { RawClient } from '../helpers/raw-client.js';
import { TestCluster, sleep, waitFor } from './cluster-helper.js';

jest.setTimeout(240_000);

const TOPIC = 'wm';
const CONSUMER = path.join(__dirname, '..', 'scripts', 'assign_consumer.py');
const RESETS = ['earliest', 'latest', 'error'] as const;
const PADDING = 'k'.repeat(1000);

let cluster: TestCluster;
let tmp: string;

beforeAll(async () => {
  cluster = await TestCluster.started(3);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-failover-reads-'));
});

afterAll(async () => {
  await cluster?.destroy();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function kafka(): Kafka {
  return new Kafka({
    clientId: 'failover-reads',
    brokers: cluster.brokers(),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 60 },
  });
}

/** What the probes saw: the highest watermark published, and every broken rule. */
class Watch {
  /** The highest high watermark (or LATEST offset) any node answered. */
  published = 0n;
  /** The last batch any probe read: its epoch and the offset after it. */
  lastBatch: { epoch: number; end: bigint } | undefined;
  readonly violations: string[] = [];
  readonly answers = new Map<string, number>();

  count(what: string): void {
    this.answers.set(what, (this.answers.get(what) ?? 0) + 1);
  }

  publish(offset: bigint): void {
    if (offset > this.published) this.published = offset;
  }
}

/** Probes node `id` until `stop()`: each round a Fetch, a ListOffsets and an OffsetForLeaderEpoch. */
async function probe(id: number, watch: Watch, running: () => boolean): Promise<void> {
  let client: RawClient | undefined;
  while (running()) {
    try {
      client ??= await RawClient.connect(cluster.node(id).kafkaPort);
      const at = watch.published;
      const fetch = await client.request(ApiKey.Fetch, 12, {
        ...defaultFetchRequest(),
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        topics: [
          {
            topic: TOPIC,
            topicId: '00000000-0000-0000-0000-000000000000',
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: at,
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: 1 << 20,
                replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
              },
            ],
          },
        ],
      });
      const f = fetch.responses[0]?.partitions[0];
      if (f?.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE)
        watch.violations.push(`node ${id}: Fetch at published offset ${at} answered OFFSET_OUT_OF_RANGE`);
      if (f?.errorCode === ErrorCode.NONE) {
        watch.count(`fetch ${id}`);
        if (f.highWatermark < at)
          watch.violations.push(`node ${id}: Fetch high watermark ${f.highWatermark} below published ${at}`);
        watch.publish(f.highWatermark);
        for (const b of splitRecordBatches(f.records ?? Buffer.alloc(0))) {
          const h = readRecordBatchHeader(b.bytes, 0);
          const end = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
          if (watch.lastBatch === undefined || end > watch.lastBatch.end)
            watch.lastBatch = { epoch: h.partitionLeaderEpoch, end };
        }
      }
      const latestAt = watch.published;
      const list = await client.request(ApiKey.ListOffsets, 7, {
        ...defaultListOffsetsRequest(),
        replicaId: -1,
        topics: [
          {
            name: TOPIC,
            partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
          },
        ],
      });
      const l = list.topics[0]?.partitions[0];
      if (l?.errorCode === ErrorCode.NONE) {
        watch.count(`list ${id}`);
        if (l.offset < latestAt)
          watch.violations.push(`node ${id}: ListOffsets(LATEST) ${l.offset} below published ${latestAt}`);
        watch.publish(l.offset);
      }
      const read = watch.lastBatch;
      if (read !== undefined) {
        const epochs = await client.request(ApiKey.OffsetForLeaderEpoch, 4, {
          ...defaultOffsetForLeaderEpochRequest(),
          replicaId: -1,
          topics: [
            { topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: read.epoch }] },
          ],
        });
        const e = epochs.topics[0]?.partitions[0];
        if (e?.errorCode === ErrorCode.NONE) {
          watch.count(`epoch ${id}`);
          if (e.leaderEpoch !== read.epoch || e.endOffset < read.end)
            watch.violations.push(
              `node ${id}: OffsetForLeaderEpoch(${read.epoch}) = (epoch ${e.leaderEpoch}, end ${e.endOffset}), but offset ${read.end} was read in epoch ${read.epoch}`,
            );
        }
      }
      await sleep(5);
    } catch {
      // The node is down or restarting: connect again shortly.
      client?.close();
      client = undefined;
      await sleep(200);
    }
  }
  client?.close();
}

interface ConsumerRun {
  reset: string;
  done: Promise<string[]>;
}

function consume(reset: string, stopFile: string): ConsumerRun {
  const bootstrap = cluster.brokers().join(',');
  const p = spawn('/usr/bin/python3', [CONSUMER, bootstrap, TOPIC, reset, stopFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), 200_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l !== '');
      if (lines[lines.length - 1] !== 'DONE')
        reject(new Error(`consumer (${reset}) exited ${code}:\n${stderr.slice(-2000)}`));
      else resolve(lines.slice(0, -1));
    });
  });
  return { reset, done };
}

async function leader(): Promise<number> {
  return cluster.waitForLeader(TOPIC, 0);
}

test('reads through leader kills and stale restarts: no watermark going back, no reset, every acknowledged record once', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  await leader();

  const stopFile = path.join(tmp, 'stop');
  const consumers = RESETS.map((r) => consume(r, stopFile));
  const watch = new Watch();
  let probing = true;
  const probes = [1, 2, 3].map((id) => probe(id, watch, () => probing));

  // Two producers: batches of 100 records of ~1 KB, acks=all, idempotent; what is acknowledged is
  // recorded. The load keeps a follower's applied state behind the leader's, and a stale replica
  // far enough behind that a new leader waits for it before its first entry commits.
  const acked: string[] = [];
  let producing = true;
  const producers = [0, 1].map(() => kafka().producer({ idempotent: true, maxInFlightRequests: 1 }));
  await Promise.all(producers.map((p) => p.connect()));
  const writers = producers.map(async (producer, w) => {
    for (let round = 0; producing; round++) {
      const values = Array.from({ length: 100 }, (_, i) => `w${w}-${round}-${i}`);
      try {
        const [meta] = await producer.send({
          topic: TOPIC,
          acks: -1,
          timeout: 5000,
          messages: values.map((value) => ({ key: PADDING, value })),
        });
        acked.push(...values);
        // acks=all answered: the leader's high watermark has passed the batch.
        if (meta?.baseOffset !== undefined) watch.publish(BigInt(meta.baseOffset) + BigInt(values.length));
      } catch {
        // Not acknowledged: may or may not be in the log (never twice: idempotent).
      }
    }
  });
  const ackedAtLeast = (n: number): Promise<true> =>
    cluster.withLogs(() =>
      waitFor(
        `${n} records acknowledged`,
        () => Promise.resolve(acked.length >= n ? true : undefined),
        60_000,
      ),
    );

  try {
    await ackedAtLeast(3000);

    // 1. The leader dies and comes back as a stale follower.
    const l1 = await leader();
    await cluster.kill(l1);
    await ackedAtLeast(acked.length + 3000);
    cluster.start(l1);
    await ackedAtLeast(acked.length + 3000);

    // 2. A follower dies and falls behind; then the leader dies and the stale follower restarts:
    //    only the replica that holds every committed entry can be elected.
    const l2 = await leader();
    const f2 = [1, 2, 3].find((id) => id !== l2) as number;
    await cluster.kill(f2);
    await ackedAtLeast(acked.length + 30_000);
    await cluster.kill(l2);
    cluster.start(f2);
    await ackedAtLeast(acked.length + 3000);
    cluster.start(l2);
    await ackedAtLeast(acked.length + 3000);

    // 3. The leader and a follower die together and restart together.
    const l3 = await leader();
    const f3 = [1, 2, 3].find((id) => id !== l3) as number;
    await Promise.all([cluster.kill(l3), cluster.kill(f3)]);
    await sleep(500);
    cluster.start(l3);
    cluster.start(f3);
    await ackedAtLeast(acked.length + 3000);
  } finally {
    producing = false;
    await Promise.all(writers);
    await Promise.all(producers.map((p) => p.disconnect()));
  }

  // Every replica at the final high watermark, then the consumers drain and stop.
  await cluster.withLogs(() =>
    waitFor(
      'every replica at one high watermark',
      async () => {
        const views = await Promise.all([1, 2, 3].map((id) => cluster.partitions(id, TOPIC)));
        const hws = views.map((v) => v[0]?.highWatermark);
        return hws.every((h) => h !== undefined && h === hws[0]) ? true : undefined;
      },
      60_000,
    ),
  );
  fs.writeFileSync(stopFile, '');
  const reads = await Promise.all(consumers.map((c) => c.done));
  probing = false;
  await Promise.all(probes);

  process.stdout.write(
    `failover reads: ${acked.length} acknowledged, published ${watch.published}, probe answers ${JSON.stringify(Object.fromEntries(watch.answers))}, consumers read ${reads.map((r) => r.length).join('/')}\n`,
  );
  expect(watch.violations).toEqual([]);
  // The probes were answered on every node that led at some point (a sanity check of the probe).
  expect([...watch.answers.keys()].filter((k) => k.startsWith('list')).length).toBeGreaterThan(1);
  for (const [i, lines] of reads.entries()) {
    const reset = RESETS[i] as string;
    expect({ reset, resets: lines.filter((l) => l.startsWith('RESET')) }).toEqual({ reset, resets: [] });
    const values = lines.filter((l) => l.startsWith('V ')).map((l) => l.slice(2));
    const seen = new Map<string, number>();
    for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([v]) => v);
    const missing = acked.filter((v) => !seen.has(v));
    expect({ reset, twice, missing }).toEqual({ reset, twice: [], missing: [] });
  }
});
