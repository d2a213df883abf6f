// A raft cluster of brokers 0, 1 and 2 — Kafka's usual ids, which tools and tests assume — as three
// real processes (docs/design/node-ids.md): node 0 leads the metadata group and a partition, kcat
// lists broker 0 and leader 0, kafkajs produces with acks=-1 and consumes in a group coordinated by
// broker 0, and node 0 survives kill -9 and a restart (back in every ISR, read through by kcat).
import { ApiKey } from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { consumeWithKcat, kcat } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';
import type { ClusterJson } from './cluster-helper.js';
import { TestCluster, waitFor } from './cluster-helper.js';

jest.setTimeout(120_000);

const TOPIC = 'zero';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.create(3, ['--offsets-topic-partitions', '3'], 0);
  // Node 0 times out first (0.5–1 s against 2–4 s), so it wins the first metadata election.
  cluster.nodeArgs = (id) => ['--raft-election-ticks', id === 0 ? '5' : '20'];
  for (const n of cluster.nodes) cluster.start(n.id);
  await cluster.waitForMetadata(3);
});

afterAll(async () => {
  await cluster?.destroy();
});

function kafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'node-zero-test',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}

/** A consumer group id whose coordinator is broker `id` (FindCoordinator through node `via`). */
async function groupCoordinatedBy(id: number, via: number): Promise<string> {
  const c = await RawClient.connect(cluster.node(via).kafkaPort);
  try {
    for (let i = 0; i < 100; i++) {
      const key = `readers-${i}`;
      const r = await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [key] });
      const found = r.coordinators[0];
      if (found?.errorCode === 0 && found.nodeId === id) return key;
    }
  } finally {
    c.close();
  }
  throw new Error(`no group coordinated by broker ${id}`);
}

async function produce(brokers: string[], from: number, count: number): Promise<void> {
  const producer = kafka(brokers).producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = from; i < from + count; i++)
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: [{ partition: i % 3, key: `k${i}`, value: `v${i}` }],
      });
  } finally {
    await producer.disconnect();
  }
}

async function consumeAll(brokers: string[], groupId: string, expected: number): Promise<Set<string>> {
  const consumer = kafka(brokers).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  const seen = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value?.toString() ?? '');
      },
    });
    await waitFor(`${expected} records read in group ${groupId}`, () =>
      seen.size >= expected ? true : undefined,
    );
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

test('brokers 0, 1, 2: node 0 leads, clients see broker 0, and it survives kill -9 and a restart', async () => {
  // The metadata group: node 0 leads it, and every node names it 0 (Kafka's "none" is -1).
  const views = await Promise.all([0, 1, 2].map((id) => cluster.admin<ClusterJson>(id, '/v1/cluster')));
  for (const v of views) {
    expect(v.metadataGroup.leaderId).toBe(0);
    expect([...v.metadataGroup.voters].sort()).toEqual([0, 1, 2]);
    expect(v.brokers.map((b) => b.nodeId).sort()).toEqual([0, 1, 2]);
  }

  // A topic whose partition 0 prefers broker 0.
  const admin = kafka(cluster.brokers()).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          replicaAssignment: [
            { partition: 0, replicas: [0, 1, 2] },
            { partition: 1, replicas: [1, 2, 0] },
            { partition: 2, replicas: [2, 0, 1] },
          ],
        },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  await waitFor('broker 0 leading zero-0', async () =>
    (await cluster.waitForLeader(TOPIC, 0)) === 0 ? true : undefined,
  );

  // kcat (librdkafka): broker 0 is listed, the leader of partition 0, and the controller when it
  // answers (every broker names itself: metadata-cache.ts, controllerId).
  const listed = await kcat(['-L', '-b', cluster.brokers([0])[0]!, '-t', TOPIC]);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/broker 0 at 127\.0\.0\.1:\d+ \(controller\)/);
  expect(listed.stdout).toMatch(/partition 0, leader 0, replicas: 0,1,2, isrs: [0-2,]+/);

  // acks=-1 through every broker, read back in a group whose coordinator is broker 0.
  await produce(cluster.brokers(), 0, 30);
  const group0 = await groupCoordinatedBy(0, 2);
  expect((await consumeAll(cluster.brokers(), group0, 30)).size).toBe(30);

  // kill -9 of node 0: the others elect a metadata leader and leaders for its partitions.
  await cluster.kill(0);
  await waitFor('a metadata leader among nodes 1 and 2', async () => {
    const leaders = await Promise.all(
      [1, 2].map(async (id) => (await cluster.admin<ClusterJson>(id, '/v1/cluster')).metadataGroup.leaderId),
    );
    return leaders[0] === leaders[1] && [1, 2].includes(leaders[0]!) ? true : undefined;
  });
  await waitFor('a new leader of zero-0', async () =>
    [1, 2].includes(await cluster.waitForLeader(TOPIC, 0)) ? true : undefined,
  );
  await produce(cluster.brokers([1, 2]), 30, 15);

  // Restarted, node 0 catches up: back in every partition's ISR, and everything reads through it.
  cluster.start(0);
  await cluster.waitForMetadata(3);
  await waitFor('broker 0 back in the ISR of every partition', async () => {
    const parts = await cluster.partitions(1, TOPIC);
    return parts.length === 3 && parts.every((p) => p.isr.includes(0)) ? true : undefined;
  });
  const members = await cluster.admin<{ voters: number[] }>(0, '/v1/cluster/members');
  expect([...members.voters].sort()).toEqual([0, 1, 2]);
  const all = await consumeWithKcat(cluster.brokers([0])[0]!, TOPIC);
  expect(new Set(all.map((r) => r.value)).size).toBe(45);
});
