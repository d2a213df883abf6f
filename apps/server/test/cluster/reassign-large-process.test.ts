// A partition holding a lot of data reassigned under the replication throttle, and a second move of
// it cancelled halfway, on four chronik-server processes (issue 23). Node 1 leads `big` ([1, 2, 3])
// and `probe` ([1, 2, 3]); `big` is filled with SIZE_MB of 10 KB records, then:
//   1. moves to [1, 2, 4] with `--replication-throttled-rate` THROTTLE_MBS MB/s on every node: node 1
//      sends the whole log to node 4 through its throttle, so the catch-up takes about size/throttle;
//      meanwhile an idempotent acks=all producer writes single records to `probe` (same leader) and
//      its latency is compared before and during the catch-up;
//   2. moves back to [1, 2, 3] and is cancelled (AlterPartitionReassignments with null replicas) once
//      node 3 holds half of the log: the partition ends on [1, 2, 4] and node 3 removes its copy.
// Every acknowledged record of both topics is read back exactly once. The numbers are printed (the
// cluster README's measurement).
//
// Short by default (64 MB at 10 MB/s, part of the normal suite); CHRONIK_LONG=1 runs the long one
// (2048 MB at 50 MB/s). REASSIGN_LARGE_MB and REASSIGN_LARGE_THROTTLE_MBS override either. Check
// `df -h /tmp` first: the log is stored on three nodes (four during a move).
import { execFileSync } from 'node:child_process';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { RawClient } from '../helpers/raw-client.js';
import { TestCluster, sleep, waitFor } from './cluster-helper.js';

const LONG = process.env['CHRONIK_LONG'] === '1';
const SIZE_MB = Number(process.env['REASSIGN_LARGE_MB'] ?? (LONG ? 2048 : 64));
const THROTTLE_MBS = Number(process.env['REASSIGN_LARGE_THROTTLE_MBS'] ?? (LONG ? 50 : 10));
const MiB = 1024 * 1024;
const RECORD_BYTES = 10_000;
const RECORDS = Math.ceil((SIZE_MB * MiB) / RECORD_BYTES);
const BATCH = 100;

jest.setTimeout(Math.max(180_000, SIZE_MB * 1500));

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.create(4);
  cluster.raftArgs = ['--replication-throttled-rate', String(THROTTLE_MBS * MiB)];
  for (const n of cluster.nodes) cluster.start(n.id);
  await cluster.waitForMetadata(4, 60_000);
});

afterAll(async () => {
  await cluster?.destroy();
});

function kafka(): Kafka {
  return new Kafka({
    clientId: 'reassign-large',
    brokers: cluster.brokers(),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30 },
  });
}

/** Bytes under `dir` (du), 0 when it is gone. */
function diskBytes(dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir]).toString().split('\t')[0]);
  } catch {
    return 0;
  }
}

function p99(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** The log end offset of `big` on node `id`, -1 while it holds no replica. */
async function logEnd(id: number): Promise<number> {
  const [p] = await cluster.partitions(id, 'big');
  return p === undefined ? -1 : Number(p.logEndOffset);
}

/** Waits until ListPartitionReassignments lists no move of `big`. */
async function moveDone(raw: RawClient, timeoutMs: number): Promise<void> {
  await waitFor(
    'the move of big done',
    async () => {
      const listed = await raw.request(ApiKey.ListPartitionReassignments, 0, {
        timeoutMs: 5000,
        topics: null,
      });
      return listed.topics.some((t) => t.name === 'big') ? undefined : true;
    },
    timeoutMs,
    100,
  );
}

/**
 * Reads `topic` partition 0 from the beginning until `expected` records came; returns how often each
 * id below `ids` came.
 */
async function readCounts(
  topic: string,
  ids: number,
  expected: number,
  timeoutMs: number,
): Promise<Uint16Array> {
  const counts = new Uint16Array(ids);
  let read = 0;
  const consumer = kafka().consumer({
    groupId: `${topic}-reader`,
    maxBytes: 32 * MiB,
    maxBytesPerPartition: 16 * MiB,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const value = m.value ?? Buffer.alloc(0);
        const id = Number(value.subarray(0, value.indexOf(0x2d)).toString());
        if (id < ids) counts[id] = (counts[id] ?? 0) + 1;
        read++;
      }
    },
  });
  await waitFor(`every record of ${topic} read`, () => (read >= expected ? true : undefined), timeoutMs, 200);
  await consumer.disconnect();
  return counts;
}

test(`a ${SIZE_MB} MB partition moves under a ${THROTTLE_MBS} MB/s throttle while acks=all producers keep their latency; a second move cancelled halfway`, async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'big', replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] },
      { topic: 'probe', replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  await cluster.waitForLeader('big', 0);
  await cluster.waitForLeader('probe', 0);

  // The data: RECORDS records of RECORD_BYTES, "<id>-" then padding.
  const filler = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await filler.connect();
  const pad = Buffer.alloc(RECORD_BYTES, 0x78);
  const fillStarted = Date.now();
  let ackedBig = 0;
  while (ackedBig < RECORDS) {
    const n = Math.min(BATCH, RECORDS - ackedBig);
    const messages = Array.from({ length: n }, (_, i) => {
      const value = Buffer.from(pad);
      value.write(`${ackedBig + i}-`);
      return { value };
    });
    await filler.send({ topic: 'big', acks: -1, messages });
    ackedBig += n;
  }
  await filler.disconnect();
  const fillMs = Date.now() - fillStarted;
  const bigBytes = ackedBig * RECORD_BYTES;

  // The probe: one record per acks=all request, its latency kept with the phase it was sent in.
  const probe = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await probe.connect();
  let phase: 'before' | 'during' | 'after' = 'before';
  const latency = { before: [] as number[], during: [] as number[], after: [] as number[] };
  let probeNext = 0;
  const probeAcked: number[] = [];
  let probeErrors = 0;
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const id = probeNext++;
      const sentIn = phase;
      const t0 = performance.now();
      try {
        await probe.send({ topic: 'probe', acks: -1, messages: [{ value: `${id}-probe` }] });
        latency[sentIn].push(performance.now() - t0);
        probeAcked.push(id);
      } catch {
        // Not acknowledged after kafkajs' retries: stored once or not at all.
        probeErrors++;
      }
    }
  })();
  await sleep(3000);

  const raw = await RawClient.connect(cluster.node(1).kafkaPort);
  const alter = async (replicas: number[] | null): Promise<void> => {
    const r = await raw.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [{ name: 'big', partitions: [{ partitionIndex: 0, replicas }] }],
    });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.responses[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
  };
  const moveTimeout = Math.max(120_000, ((SIZE_MB / THROTTLE_MBS) * 3 + 60) * 1000);
  try {
    // 1. The throttled move to node 4.
    const end = await logEnd(1);
    phase = 'during';
    const moveStarted = Date.now();
    await alter([1, 2, 4]);
    const caughtUpMs = await waitFor(
      'node 4 caught up',
      async () => ((await logEnd(4)) >= end ? Date.now() - moveStarted : undefined),
      moveTimeout,
      100,
    );
    phase = 'after';
    await moveDone(raw, moveTimeout);
    const movedMs = Date.now() - moveStarted;
    await waitFor('node 3 without big', async () => ((await logEnd(3)) < 0 ? true : undefined), 60_000);
    await sleep(2000);

    // 2. Back to node 3, cancelled once node 3 holds half of the log.
    const before3 = diskBytes(cluster.node(3).dataDir);
    await alter([1, 2, 3]);
    const secondStarted = Date.now();
    await waitFor(
      'node 3 halfway',
      async () => ((await logEnd(3)) >= end / 2 ? true : undefined),
      moveTimeout,
      50,
    );
    const halfMs = Date.now() - secondStarted;
    const halfway = await logEnd(3);
    const peak3 = diskBytes(cluster.node(3).dataDir);
    const cancelStarted = Date.now();
    await alter(null);
    await moveDone(raw, 60_000);
    const cancelMs = Date.now() - cancelStarted;
    await waitFor('node 3 removed its copy', async () => ((await logEnd(3)) < 0 ? true : undefined), 60_000);
    const removedMs = Date.now() - cancelStarted;
    // The folder goes after the replica closed (a tree of WAL segments: it takes a moment).
    const after3 = await waitFor(
      "node 3's disk freed",
      () => {
        const now = diskBytes(cluster.node(3).dataDir);
        return now < before3 + 8 * MiB ? now : undefined;
      },
      60_000,
      100,
    );
    const freedMs = Date.now() - cancelStarted;
    const metaAdmin = kafka().admin();
    await metaAdmin.connect();
    const meta = await metaAdmin.fetchTopicMetadata({ topics: ['big'] });
    await metaAdmin.disconnect();
    expect([...(meta.topics[0]?.partitions[0]?.replicas ?? [])].sort()).toEqual([1, 2, 4]);

    probing = false;
    await probeLoop;
    await probe.disconnect();

    const rate = bigBytes / MiB / (caughtUpMs / 1000);
    console.log(
      [
        `${(bigBytes / MiB).toFixed(0)} MiB (${ackedBig} records of ${RECORD_BYTES} B) written in ${fillMs} ms (${(
          bigBytes /
          MiB /
          (fillMs / 1000)
        ).toFixed(1)} MiB/s, idempotent acks=all kafkajs)`,
        `move [1,2,3] -> [1,2,4] under ${THROTTLE_MBS} MiB/s: node 4 caught up in ${caughtUpMs} ms (${rate.toFixed(
          1,
        )} MiB/s, ${((rate / THROTTLE_MBS) * 100).toFixed(0)}% of the throttle; size/throttle = ${(
          (bigBytes / MiB / THROTTLE_MBS) *
          1000
        ).toFixed(0)} ms), move done in ${movedMs} ms`,
        `probe acks=all single-record latency: before p50 ${median(latency.before).toFixed(1)} ms p99 ${p99(
          latency.before,
        ).toFixed(1)} ms (${latency.before.length}); during catch-up p50 ${median(latency.during).toFixed(
          1,
        )} ms p99 ${p99(latency.during).toFixed(1)} ms (${latency.during.length}); after p99 ${p99(
          latency.after,
        ).toFixed(1)} ms (${latency.after.length}); ${probeErrors} errors`,
        `move back to [1,2,3] cancelled at offset ${halfway}/${end} after ${halfMs} ms: ListPartitionReassignments empty ${cancelMs} ms after the cancel, node 3's copy gone after ${removedMs} ms, its disk freed after ${freedMs} ms; node 3 data dir ${(
          before3 / MiB
        ).toFixed(1)} MiB before, ${(peak3 / MiB).toFixed(1)} MiB at the cancel, ${(after3 / MiB).toFixed(
          1,
        )} MiB after (${((peak3 - after3) / MiB).toFixed(1)} MiB freed)`,
      ].join('\n'),
    );
    // The throttle holds (over it by at most the bucket's burst, one second's worth) and the
    // catch-up is not far below it.
    expect(rate).toBeLessThan(THROTTLE_MBS * (1 + THROTTLE_MBS / SIZE_MB) * 1.1);
    expect(rate).toBeGreaterThan(THROTTLE_MBS * 0.3);
    expect(latency.during.length).toBeGreaterThan(10);
    expect(p99(latency.during)).toBeLessThan(2000);
    expect(after3).toBeLessThan(peak3);
  } finally {
    probing = false;
    await probeLoop;
    raw.close();
  }

  // Every acknowledged record of both topics, exactly once.
  const bigCounts = await readCounts('big', ackedBig, ackedBig, Math.max(120_000, SIZE_MB * 1000));
  expect(bigCounts.every((c) => c === 1)).toBe(true);
  const probeCounts = await readCounts('probe', probeNext, probeAcked.length, 60_000);
  expect(probeCounts.every((c) => c <= 1)).toBe(true);
  expect(probeAcked.every((id) => probeCounts[id] === 1)).toBe(true);
});
