// A voter must never forget its log: a node whose data directory was wiped (a replaced disk) and
// that restarts under its old id refuses to take part — it exits naming the cause and the remedy —
// while the other two go on; a node whose first start comes after the others formed the cluster
// joins as usual. Real processes (cluster/rejoin-check.ts).
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { TestCluster, waitFor } from './cluster-helper.js';

jest.setTimeout(120_000);

let cluster: TestCluster;

afterEach(async () => {
  await cluster?.destroy();
});

function kafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'wiped',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}

async function produce(brokers: string[], topic: string, values: string[]): Promise<void> {
  const p = kafka(brokers).producer({ idempotent: true });
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  } finally {
    await p.disconnect();
  }
}

test('a node restarted with a wiped data directory refuses to rejoin; the others go on', async () => {
  cluster = await TestCluster.started(3);
  const admin = kafka(cluster.brokers()).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'w', numPartitions: 1, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  await produce(cluster.brokers(), 'w', ['a', 'b']);

  const node = cluster.node(3);
  await cluster.kill(3);
  fs.rmSync(node.dataDir, { recursive: true, force: true });
  cluster.start(3);
  await waitFor('the wiped node to exit', () => (node.proc?.exitCode !== null ? true : undefined), 30_000);
  expect(node.proc?.exitCode).not.toBe(0);
  const logs = node.logs.join('\n');
  expect(logs).toMatch(/NODE_STATE_LOST/);
  expect(logs).toMatch(/wiped or replaced/);
  node.proc = undefined;

  // Nodes 1 and 2 are a majority: acks=all goes on.
  await produce(cluster.brokers([1, 2]), 'w', ['c']);
});

test('a node whose first start comes after the others formed the cluster joins', async () => {
  cluster = await TestCluster.create(3);
  cluster.start(1);
  cluster.start(2);
  await cluster.withLogs(() =>
    waitFor(
      'nodes 1 and 2 registered',
      async () => {
        const v = await cluster.admin<{ brokers: unknown[] }>(1, '/v1/cluster');
        return v.brokers.length === 2 ? true : undefined;
      },
      30_000,
    ),
  );
  await produce(cluster.brokers([1, 2]), 'early', ['x']);
  cluster.start(3);
  await cluster.waitForMetadata(3);
});
