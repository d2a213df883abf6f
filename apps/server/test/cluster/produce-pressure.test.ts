// A producer at full speed past a partition leader's uncommitted budget, with real processes and
// librdkafka's defaults for pipelining (up to a million requests in flight per connection; the
// broker reads at most its per-connection limit): the leader's budget is set small (1 MiB, for
// ~30 MB of 10 KB records), so that Produce requests wait for room. They are never refused, offsets
// stay contiguous (TestCluster.destroy scans them), and a non-idempotent producer's records land
// exactly once and in the order it sent them — where refusing with NOT_LEADER_OR_FOLLOWER left
// holes and re-sent batches out of order.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { TestCluster } from './cluster-helper.js';

jest.setTimeout(180_000);

const SCRIPT = path.join(__dirname, '..', 'scripts', 'confluent_client.py');
const COUNT = 3000;
const SIZE = 10_000;

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.started(3, [
    '--offsets-topic-partitions',
    '3',
    '--raft-partition-uncommitted-bytes',
    String(1 << 20),
  ]);
});

afterAll(async () => {
  await cluster?.destroy();
});

interface Flood {
  delivered: Array<[number, number]>;
  errors: string[];
  error_count: number;
  remaining: number;
}

function flood(topic: string): Promise<Flood> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      '/usr/bin/python3',
      [SCRIPT, cluster.brokers().join(','), 'produce-flood', topic, String(COUNT), String(SIZE)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 150_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Flood);
      } catch {
        reject(new Error(`python exited ${code}: ${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
      }
    });
  });
}

test('a producer at full speed past the uncommitted budget waits, and its records land once, in order, without holes', async () => {
  const admin = new Kafka({
    clientId: 'pressure',
    brokers: cluster.brokers(),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: 'flood', numPartitions: 1, replicationFactor: 3 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  await cluster.waitForLeader('flood', 0);

  const r = await flood('flood');
  expect({ errors: r.errors, remaining: r.remaining }).toEqual({ errors: [], remaining: 0 });
  expect(r.delivered).toHaveLength(COUNT);
  // Sent in order, not idempotent, never retried: record i has offset i.
  const misplaced = r.delivered.filter(([i, offset]) => offset !== i);
  expect(misplaced.slice(0, 5)).toEqual([]);
  const leader = await cluster.waitForLeader('flood', 0);
  const p = (await cluster.partitions(leader, 'flood')).find((x) => x.partition === 0);
  expect(Number(p?.highWatermark)).toBe(COUNT);
  expect(await cluster.offsetHoles()).toEqual([]);
});
