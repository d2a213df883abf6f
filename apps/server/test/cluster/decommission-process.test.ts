// Decommission and rebalance on chronik-server processes, with the `chronik` command-line tool,
// while a kafkajs idempotent acks=all producer writes: a node holding replicas and leaders is
// decommissioned (`cluster decommission`: its replicas move, two at a time, then it leaves the
// cluster and its process stops), shrinking 4 → 3; a new node joins with --join and
// `partitions rebalance` spreads replicas onto it (3 → 4); every acknowledged record is read back
// exactly once.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { TestCluster, waitFor } from './cluster-helper.js';
import type { PartitionJson } from './cluster-helper.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '..', '..', '..', '..', 'tools', 'cli', 'bin', 'chronik');

jest.setTimeout(240_000);

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.started(4);
});

afterAll(async () => {
  await cluster?.destroy();
});

function kafka(ids: number[]): Kafka {
  return new Kafka({
    clientId: 'decommission-process',
    brokers: cluster.brokers(ids),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30 },
  });
}

async function chronik(ids: number[], ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, '-b', cluster.brokers(ids).join(','), ...args], {
    timeout: 5 * 60_000,
  });
  return stdout;
}

async function replicasOn(id: number): Promise<PartitionJson[]> {
  return (await cluster.admin<PartitionJson[]>(id, '/v1/partitions')).filter((p) => p.topic === 'spread');
}

test('a node holding leaders is decommissioned (4 → 3), a new one joins and a rebalance spreads replicas onto it (3 → 4)', async () => {
  const admin = kafka([1, 2, 3]).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'spread', numPartitions: 4, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka([1, 2, 3]).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked: string[] = [];
  const ackedAt = new Map<string, string>();
  let producing = true;
  let next = 0;
  const load = (async () => {
    while (producing) {
      // Each send spans two partitions (four records each), as a keyed batch would.
      const first = Math.floor(next / 8) % 4;
      const batch = Array.from({ length: 8 }, (_, i) => ({
        partition: (first + (i % 2)) % 4,
        value: String(next++),
      }));
      try {
        const meta = await producer.send({ topic: 'spread', acks: -1, messages: batch });
        for (const m of batch) acked.push(m.value);
        for (const r of meta)
          for (const m of batch.filter((x) => x.partition === r.partition))
            ackedAt.set(m.value, `${r.partition}@${r.baseOffset ?? '?'}`);
      } catch {
        // Outcome unknown after kafkajs' retries: not counted as acknowledged.
      }
    }
  })();
  await waitFor('node 4 leads a partition', async () =>
    (await replicasOn(4)).some((p) => p.role === 'leader') ? true : undefined,
  );

  const admins = [1, 2, 3].map((id) => `http://127.0.0.1:${cluster.node(id).adminPort}`).join(',');
  const decommissioned = await chronik([1, 2, 3], 'cluster', 'decommission', '4', '--admin', admins);
  expect(decommissioned).toMatch(/node 4: \d+ replica\(s\) moved; removed from the cluster/);
  await cluster.node(4).exited;
  expect(cluster.node(4).logs.join('\n')).toMatch(/was removed from the cluster/);
  cluster.node(4).proc = undefined;
  for (const id of [1, 2, 3]) expect((await replicasOn(id)).length).toBe(4);

  // Grow again: node 5 joins, a rebalance gives it replicas (and leadership follows the preferred replicas).
  await cluster.addNode(5, 1);
  cluster.start(5);
  await waitFor(
    'node 5 registered',
    async () =>
      (await cluster.admin<{ brokers: Array<{ nodeId: number }> }>(1, '/v1/cluster/members')).brokers.some(
        (b) => b.nodeId === 5,
      )
        ? true
        : undefined,
    60_000,
  );
  const rebalanced = await chronik([1, 2, 3], 'partitions', 'rebalance', '--max-moves', '10');
  expect(rebalanced).toMatch(/done: \d+ moved/);
  const held = await Promise.all([1, 2, 3, 5].map(async (id) => (await replicasOn(id)).length));
  expect(held[3]).toBeGreaterThan(0);
  expect(Math.max(...held) - Math.min(...held)).toBeLessThanOrEqual(1);

  producing = false;
  await load;
  await producer.disconnect();

  const consumer = kafka([1, 2, 3]).consumer({ groupId: 'spread-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'spread', fromBeginning: true });
  const seen: string[] = [];
  const seenAt = new Map<string, string>();
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      seen.push(message.value?.toString() ?? '');
      seenAt.set(`${partition}@${message.offset}`, message.value?.toString() ?? '');
    },
  });
  await waitFor('every record read', () => (seen.length >= acked.length ? true : undefined), 120_000).catch(
    async (e: unknown) => {
      const views = await Promise.all([1, 2, 3, 5].map(async (id) => [id, await replicasOn(id)] as const));
      const got = new Set(seen);
      const moves = [1, 2, 3, 5]
        .flatMap((id) => cluster.node(id).logs.map((l) => `n${id} ${l}`))
        .filter(
          (l) =>
            /partition move|leader elected|no longer a replica|membership/.test(l) && l.includes('spread'),
        )
        .map((l) => l.slice(0, 400));
      throw new Error(
        `${String(e)}: missing ${JSON.stringify(acked.filter((v) => !got.has(v)).slice(0, 20))}; acked at ${JSON.stringify(
          acked
            .filter((v) => !got.has(v))
            .map((v) => {
              const first = v;
              const at = ackedAt.get(v) ?? '?';
              const [p, o] = at.split('@');
              const base = Number(o);
              return `${v} in batch ${first} acked at ${at}; log there: ${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => seenAt.get(`${p}@${base + d}`)).join(',')}`;
            }),
        )}; moves ${moves.join('\n')}; read ${seen.length} of ${acked.length}; replicas ${JSON.stringify(
          views.map(([id, ps]) => [
            id,
            ps.map((p) => [p.partition, p.role, p.leader, p.highWatermark, p.replicas]),
          ]),
        )}`,
      );
    },
  );
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  expect(new Set(seen).size).toBe(seen.length);
  const got = new Set(seen);
  expect(acked.filter((v) => !got.has(v))).toEqual([]);
});
