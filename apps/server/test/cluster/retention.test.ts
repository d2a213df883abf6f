// raft-cluster partition snapshots, log compaction and retention, with real processes and kafkajs:
// - a follower killed -9 while the leader's log is compacted past its position (retention.bytes on a
//   topic with small segments) catches up by snapshot on restart: its log start offset, high
//   watermark and log end offset match the leader's; it rejoins the ISR only once caught up; once it
//   leads (it is the preferred replica), a consumer reading from it gets every acknowledged record at
//   or above the log start offset, exactly once and in order;
// - disk use of every node stays bounded while writes go on (the data directory is measured).
// RETENTION_LONG=1 writes ~200 MiB instead of ~8 MiB in the disk-use check.
import { Kafka, logLevel } from 'kafkajs';
import fs from 'node:fs';
import path from 'node:path';
import type { ClusterJson, PartitionJson } from './cluster-helper.js';
import { TestCluster, sleep, waitFor } from './cluster-helper.js';

const LONG = process.env.RETENTION_LONG === '1';
jest.setTimeout(LONG ? 900_000 : 240_000);

const TOPIC = 'retained';
const RETENTION_BYTES = 128 * 1024;
const VALUE = 'r'.repeat(1000);

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.started(3);
});

afterAll(async () => {
  await cluster?.destroy();
});

function kafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'retention-test',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}

async function view(id: number): Promise<PartitionJson | undefined> {
  return (await cluster.partitions(id, TOPIC)).find((x) => x.partition === 0);
}

function dirBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0; // removed meanwhile (a compacted segment)
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    try {
      total += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

/** Produces `count` records of ~1 KiB with acks=all in batches of 50; returns the acknowledged values. */
async function produce(brokers: string[], prefix: string, count: number): Promise<string[]> {
  const producer = kafka(brokers).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked: string[] = [];
  try {
    for (let i = 0; i < count; i += 50) {
      const values = Array.from({ length: Math.min(50, count - i) }, (_, k) => `${prefix}-${i + k}`);
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: values.map((v) => ({ value: `${v}:${VALUE}` })),
      });
      acked.push(...values);
    }
  } finally {
    await producer.disconnect();
  }
  return acked;
}

describe('raft cluster retention and snapshots', () => {
  const follower = 3;
  const acked: string[] = [];

  test('a follower behind the compacted log catches up by snapshot and serves the same records once it leads', async () => {
    // Node 3 is the preferred replica but down when the topic is created, so another node leads
    // and node 3 is the follower that falls behind.
    await cluster.kill(follower);
    // CreateTopics goes to the controller (the metadata leader): wait until it is not the dead node.
    await cluster.withLogs(() =>
      waitFor('a metadata leader among the live nodes', async () => {
        const views = await Promise.all([1, 2].map((id) => cluster.admin<ClusterJson>(id, '/v1/cluster')));
        const leaders = new Set(views.map((v) => v.metadataGroup.leaderId));
        return leaders.size === 1 && !leaders.has(follower) && !leaders.has(-1) ? true : undefined;
      }),
    );
    const admin = kafka(cluster.brokers([1, 2])).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic: TOPIC,
            replicaAssignment: [{ partition: 0, replicas: [3, 1, 2] }],
            configEntries: [
              { name: 'segment.bytes', value: '16384' },
              { name: 'retention.bytes', value: String(RETENTION_BYTES) },
              { name: 'max.message.bytes', value: '65536' },
            ],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const leader = await cluster.waitForLeader(TOPIC, 0);
    expect(leader).not.toBe(follower);
    cluster.start(follower);
    acked.push(...(await produce(cluster.brokers([1, 2]), 'a', 100)));
    await cluster.withLogs(() =>
      waitFor('the follower has the first records', async () =>
        Number((await view(follower))?.highWatermark) === 100 ? true : undefined,
      ),
    );
    const followerHadHw = 100;
    // Kill it before it has been up long enough to get its preferred leadership back.
    await cluster.kill(follower);
    acked.push(...(await produce(cluster.brokers([1, 2]), 'b', 3000)));
    const lead = await cluster.withLogs(() =>
      waitFor('retention on the leader', async () => {
        const v = await view(leader);
        // retention.bytes keeps about 128 KiB of ~1 KiB records.
        return v !== undefined && Number(v.logStartOffset) > 3100 - 200 ? v : undefined;
      }),
    );
    expect(Number(lead.highWatermark)).toBe(3100);
    expect(Number(lead.logStartOffset)).toBeGreaterThan(followerHadHw);
    expect(Number(lead.logStartOffset)).toBeLessThanOrEqual(3000);
    // The leader's Raft log was compacted at a snapshot far beyond what the follower has.
    // (one entry per batch of 50 records: the follower's log ended near index 5, the snapshot is
    // beyond 50 of the 62 batches). The compaction follows the log start's move at the next
    // snapshot point the replica offers: wait for it rather than look once.
    const raftDir = path.join(cluster.node(leader).dataDir, 'raft');
    const newestSnapshot = (): number =>
      Math.max(
        0,
        ...fs
          .readdirSync(raftDir)
          .filter((g) => g.startsWith('group-'))
          .flatMap((g) => fs.readdirSync(path.join(raftDir, g)))
          .map((f) => /^snapshot-(\d+)-\d+\.snap$/.exec(f)?.[1])
          .filter((x): x is string => x !== undefined)
          .map(Number),
      );
    await waitFor('the leader compacted its log beyond index 50', async () =>
      newestSnapshot() > 50 ? true : undefined,
    );
    await cluster.withLogs(() =>
      waitFor('the follower out of the ISR', async () =>
        (await view(leader))?.isr.includes(follower) === false ? true : undefined,
      ),
    );

    // Restart: it must install the snapshot and enter the ISR only once it has caught up.
    cluster.start(follower);
    const hwAtRestart = Number(lead.highWatermark);
    const seenInIsr = await cluster.withLogs(() =>
      waitFor(
        'the restarted follower back in the ISR',
        async () => {
          const v = await view(leader);
          if (v?.isr.includes(follower) !== true) return undefined;
          return view(follower);
        },
        60_000,
        50,
      ),
    );
    expect(Number(seenInIsr.highWatermark)).toBeGreaterThanOrEqual(hwAtRestart);
    await cluster.withLogs(() =>
      waitFor('the follower matching the leader', async () => {
        const [l, f] = await Promise.all([view(leader), view(follower)]);
        if (l === undefined || f === undefined) return undefined;
        return String(l.highWatermark) === String(f.highWatermark) &&
          String(l.logStartOffset) === String(f.logStartOffset) &&
          String(l.logEndOffset) === String(f.logEndOffset)
          ? true
          : undefined;
      }),
    );
    expect(
      cluster.node(follower).logs.some((line) => line.includes('partition state restored from a snapshot')),
    ).toBe(true);

    // The preferred replica gets the leadership back once it is steadily up; then read from it alone.
    await cluster.withLogs(() =>
      waitFor(
        'leadership back on the follower (preferred replica)',
        async () => ((await view(follower))?.role === 'leader' ? true : undefined),
        60_000,
      ),
    );
    const fv = (await view(follower)) as PartitionJson;
    const logStart = Number(fv.logStartOffset);
    const hw = Number(fv.highWatermark);
    expect(hw).toBe(3100);
    const consumer = kafka(cluster.brokers([follower])).consumer({
      groupId: 'retention-readers',
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
    });
    const read: Array<{ offset: number; value: string }> = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`read ${read.length} of ${hw - logStart}\n${cluster.dumpLogs(15)}`)),
          60_000,
        );
        void consumer.run({
          eachMessage: async ({ message }) => {
            read.push({
              offset: Number(message.offset),
              value: (message.value?.toString() ?? '').split(':')[0] as string,
            });
            if (read.length >= hw - logStart) {
              clearTimeout(t);
              resolve();
            }
          },
        });
      });
      await sleep(500);
    } finally {
      await consumer.disconnect();
    }
    // Offsets logStart … hw-1, each once, in order; they are the acknowledged records at those offsets.
    expect(read.map((r) => r.offset)).toEqual(Array.from({ length: hw - logStart }, (_, k) => logStart + k));
    expect(read.map((r) => r.value)).toEqual(acked.slice(logStart));
  });

  test('disk use of every node stays bounded while writes go on', async () => {
    const total = LONG ? 200_000 : 8_000;
    const rounds = LONG ? 20 : 4;
    const brokers = cluster.brokers();
    const sizes: number[][] = [];
    for (let r = 0; r < rounds; r++) {
      await produce(brokers, `d${r}`, total / rounds);
      // Let retention run (checked every second) and the compaction reach the disk.
      await sleep(2500);
      sizes.push(cluster.nodes.map((n) => dirBytes(n.dataDir)));
    }
    process.stdout.write(
      `retention: ${((total * 1024) / 2 ** 20).toFixed(0)} MiB produced; node data dirs per round (KiB): ${sizes
        .map((s) => s.map((b) => Math.round(b / 1024)).join('/'))
        .join(' ')}\n`,
    );
    const v = await view(await cluster.waitForLeader(TOPIC, 0));
    expect(Number(v?.logStartOffset)).toBeGreaterThan(3100 + total - 300);
    // ~8 MiB (or ~200 MiB) went through each node; a node keeps ~128 KiB of the topic plus a few
    // 256 KiB WAL segments, the metadata log and the consumer-offsets partitions.
    for (const s of sizes) for (const b of s) expect(b).toBeLessThan(4 * 1024 * 1024);
  });
});
