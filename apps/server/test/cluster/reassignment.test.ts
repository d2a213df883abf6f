// Partition reassignment (KIP-455) on four brokers in one process (in-memory network, simulated
// disks), driven with kafkajs' admin client (alterPartitionReassignments,
// listPartitionReassignments) and raw requests where kafkajs cannot (a cancel is a null replica
// list): a partition moves to a new node while an idempotent acks=all producer writes, every
// acknowledged record read back once and in order, the old copy gone; refusals with Kafka's
// errors; a cancel halfway (the throttle keeps the new replica catching up) moves the data back;
// replication-factor changes, down to a single new replica the leader hands over to.
import path from 'node:path';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import type { Producer } from 'kafkajs';
import { partitionGroupId } from '../../src/cluster/group-ids.js';
import { RawClient } from '../helpers/raw-client.js';
import { InProcessCluster, until } from './in-process-cluster.js';

jest.setTimeout(120_000);

const cluster = new InProcessCluster({
  ids: [1, 2, 3, 4],
  // Slow enough that a cancel meets the new replica catching up; fast enough for the tests.
  raft: { replicationThrottledRate: 256 * 1024 },
});

beforeAll(() => cluster.startAll());
afterAll(() => cluster.stop());

/** The partition as node `at`'s applied metadata has it. */
function partitionInfo(topic: string, partition = 0, at = 2) {
  const c = cluster.node(at).composed;
  if (c === undefined) throw new Error(`node ${at} is not up`);
  return c.store.state.partition(topic, partition);
}

async function createTopic(topic: string, replicas: number[][]): Promise<void> {
  const admin = cluster.kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, replicaAssignment: replicas.map((r, partition) => ({ partition, replicas: r })) }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

async function groupFolders(id: number): Promise<string[]> {
  const n = cluster.node(id);
  return (await n.disk.readdir(path.join(n.dataDir, 'raft')).catch(() => [] as string[])).filter((f) =>
    f.startsWith('group-'),
  );
}

function topicIdOf(topic: string): string {
  const t = cluster.node(2).composed?.store.state.topic(topic);
  if (t === undefined) throw new Error(`no topic ${topic}`);
  return t.topicId;
}

/** Produces `value-<i>` records one by one until stopped; returns the acknowledged ones. */
function producing(producer: Producer, topic: string): { stop(): Promise<string[]> } {
  const acked: string[] = [];
  let running = true;
  let i = 0;
  const loop = (async () => {
    while (running) {
      const batch = Array.from({ length: 10 }, () => ({ value: `value-${i++}-${'x'.repeat(200)}` }));
      try {
        await producer.send({ topic, acks: -1, messages: batch });
        for (const m of batch) acked.push(m.value);
      } catch {
        // kafkajs retried and gave up: the outcome is unknown; those records are not acknowledged.
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return acked;
    },
  };
}

async function readAll(topic: string, expected: number): Promise<string[]> {
  const consumer = cluster.kafka().consumer({ groupId: `read-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      values.push(message.value?.toString() ?? '');
    },
  });
  await until(
    `${expected} records of ${topic}`,
    () => (values.length >= expected ? true : undefined),
    60_000,
  );
  await consumer.disconnect();
  return values;
}

test('a partition moves to a new node while an idempotent acks=all producer writes: every record once, the old copy removed', async () => {
  await createTopic('moving', [[1, 2, 3]]);
  const gid = partitionGroupId(topicIdOf('moving'), 0);
  expect(await groupFolders(2)).toContain(`group-${gid}`);
  const producer = cluster.kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const load = producing(producer, 'moving');
  await new Promise((r) => setTimeout(r, 500));

  // The move takes the leader's replica away: it hands leadership over first.
  const leader = await until('a leader of moving-0', () => cluster.leaderOf('moving', 0)?.id);
  const target = [4, ...[1, 2, 3].filter((b) => b !== leader)];
  const admin = cluster.kafka().admin();
  await admin.connect();
  try {
    await admin.alterPartitionReassignments({
      topics: [{ topic: 'moving', partitionAssignment: [{ partition: 0, replicas: target }] }],
    });
    const listed = await admin.listPartitionReassignments({ topics: [{ topic: 'moving', partitions: [0] }] });
    // Listed while it moves (or already done: then nothing is listed).
    for (const t of listed.topics)
      expect(t.partitions[0]).toMatchObject({
        replicas: [...target, leader],
        addingReplicas: [4],
        removingReplicas: [leader],
      });
    await until(
      'the move done',
      () => {
        const p = partitionInfo('moving');
        return p !== undefined && p.replicas.join() === target.join() && p.addingReplicas.length === 0
          ? true
          : undefined;
      },
      60_000,
    );
    // The broker that answers may apply the completion a moment after node 2 did.
    let left = (await admin.listPartitionReassignments({})).topics;
    for (const deadline = Date.now() + 10_000; left.length > 0 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 50));
      left = (await admin.listPartitionReassignments({})).topics;
    }
    expect(left).toEqual([]);
  } finally {
    await admin.disconnect();
  }
  await new Promise((r) => setTimeout(r, 500));
  const acked = await load.stop();
  await producer.disconnect();
  expect(acked.length).toBeGreaterThan(0);

  // The leaving node removed its copy; the new one holds every record.
  expect(cluster.leaderOf('moving', 0)?.id).not.toBe(leader);
  await until('the old leader no longer holds the partition', () =>
    cluster
      .node(leader)
      .composed?.partitions.statuses()
      .some((s) => s.topic === 'moving') === false
      ? true
      : undefined,
  );
  expect(await groupFolders(leader)).not.toContain(`group-${gid}`);
  const values = await readAll('moving', acked.length);
  const unique = new Set(values);
  expect(unique.size).toBe(values.length); // no duplicates (idempotent producer)
  for (const v of acked) expect(unique.has(v)).toBe(true);
  // In send order.
  const order = values.map((v) => Number(v.split('-')[1]));
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  await until('node 4 caught up', () => {
    const s = cluster
      .node(4)
      .composed?.partitions.statuses()
      .find((x) => x.topic === 'moving');
    return s !== undefined && Number(s.highWatermark) === values.length ? true : undefined;
  });
});

test('refused: another target while a move runs (REASSIGNMENT_IN_PROGRESS), unknown brokers, cancel without a move, unknown partitions', async () => {
  await createTopic('refusals', [[1, 2, 3]]);
  // About 1.5 MB: at the throttle's 256 KiB/s a new replica takes seconds to catch up, so the
  // first move is certainly still running when the second target is asked for.
  const producer = cluster.kafka().producer();
  await producer.connect();
  for (let i = 0; i < 15; i++)
    await producer.send({
      topic: 'refusals',
      acks: -1,
      messages: Array.from({ length: 10 }, (_, j) => ({ value: `${i}-${j}-${'r'.repeat(10_000)}` })),
    });
  await producer.disconnect();
  const leader = cluster.node(2);
  const raw = await RawClient.connect(leader.broker.kafkaPort);
  const alter = (replicas: number[] | null, partition = 0, topic = 'refusals') =>
    raw.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, replicas }] }],
    });
  const codeOf = (r: Awaited<ReturnType<typeof alter>>) => r.responses[0]?.partitions[0]?.errorCode;
  try {
    expect(codeOf(await alter([1, 2, 9]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(codeOf(await alter([1, 1, 2]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(codeOf(await alter([]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(codeOf(await alter(null))).toBe(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    expect(codeOf(await alter([1, 2], 5))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(codeOf(await alter([1, 2], 0, 'no-such-topic'))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Adding a replica: it runs (a learner catching up), and another target is refused meanwhile.
    expect(codeOf(await alter([1, 2, 3, 4]))).toBe(ErrorCode.NONE);
    expect(codeOf(await alter([1, 2, 3, 4]))).toBe(ErrorCode.NONE); // the same again: a retry
    const second = await alter([2, 3, 4]);
    expect(codeOf(second)).toBe(ErrorCode.REASSIGNMENT_IN_PROGRESS);
    expect(second.responses[0]?.partitions[0]?.errorMessage).toMatch(/is in progress; cancel it/);
    await until(
      'replication factor 4',
      () =>
        partitionInfo('refusals')?.replicas.length === 4 &&
        partitionInfo('refusals')?.addingReplicas.length === 0
          ? true
          : undefined,
      60_000,
    );
    // Named twice in one request: INVALID_REQUEST for both.
    const twice = await raw.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [
        {
          name: 'refusals',
          partitions: [
            { partitionIndex: 0, replicas: [1, 2, 3] },
            { partitionIndex: 0, replicas: [2, 3, 4] },
          ],
        },
      ],
    });
    expect(twice.responses[0]?.partitions.map((p) => p.errorCode)).toEqual([
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
  } finally {
    raw.close();
  }
});

test('a cancel halfway moves the data back: the new replica leaves and removes its copy', async () => {
  await createTopic('cancelled', [[1, 2, 3]]);
  const gid = partitionGroupId(topicIdOf('cancelled'), 0);
  // About 2 MB, so that the new replica catches up for seconds under the 256 KiB/s throttle.
  const producer = cluster.kafka().producer({ idempotent: true });
  await producer.connect();
  const big = 'y'.repeat(10_000);
  for (let i = 0; i < 20; i++)
    await producer.send({
      topic: 'cancelled',
      acks: -1,
      messages: Array.from({ length: 10 }, (_, j) => ({ value: `${i * 10 + j}-${big}` })),
    });
  const raw = await RawClient.connect(cluster.node(3).broker.kafkaPort);
  const alter = (replicas: number[] | null) =>
    raw.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [{ name: 'cancelled', partitions: [{ partitionIndex: 0, replicas }] }],
    });
  try {
    expect((await alter([4, 2, 3])).responses[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    // Node 4 opened its replica and catches up (a learner).
    await until('node 4 joined as a learner', () =>
      cluster
        .node(4)
        .composed?.partitions.statuses()
        .some((s) => s.topic === 'cancelled')
        ? true
        : undefined,
    );
    const listed = await raw.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 5000, topics: null });
    const moving = listed.topics.find((t) => t.name === 'cancelled')?.partitions[0];
    expect(moving).toMatchObject({ addingReplicas: [4], removingReplicas: [1] });
    expect((await alter(null)).responses[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    await until(
      'the move back done',
      () => {
        const p = partitionInfo('cancelled');
        return p !== undefined && p.addingReplicas.length === 0 && p.removingReplicas.length === 0
          ? true
          : undefined;
      },
      60_000,
    );
    expect([...(partitionInfo('cancelled')?.replicas ?? [])].sort()).toEqual([1, 2, 3]);
    await until('node 4 removed its copy', () =>
      cluster
        .node(4)
        .composed?.partitions.statuses()
        .some((s) => s.topic === 'cancelled') === false
        ? true
        : undefined,
    );
    expect(await groupFolders(4)).not.toContain(`group-${gid}`);
    // Everything is still there, on the old replicas.
    await producer.send({ topic: 'cancelled', acks: -1, messages: [{ value: 'after' }] });
    const values = await readAll('cancelled', 201);
    expect(values).toHaveLength(201);
  } finally {
    raw.close();
    await producer.disconnect();
  }
});

test('replication-factor changes are reassignments: 2 → 3, then to one new node the leader hands over to', async () => {
  await createTopic('factor', [[1, 2]]);
  const producer = cluster.kafka().producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: 'factor', acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
  const admin = cluster.kafka().admin();
  await admin.connect();
  try {
    await admin.alterPartitionReassignments({
      topics: [{ topic: 'factor', partitionAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }],
    });
    await until(
      'three replicas',
      () =>
        partitionInfo('factor')?.replicas.join() === '1,2,3' &&
        partitionInfo('factor')?.addingReplicas.length === 0
          ? true
          : undefined,
      60_000,
    );
    await producer.send({ topic: 'factor', acks: -1, messages: [{ value: 'c' }] });
    // Every voter leaves at once: node 4 is new, the leader switches the group to it and hands over.
    await admin.alterPartitionReassignments({
      topics: [{ topic: 'factor', partitionAssignment: [{ partition: 0, replicas: [4] }] }],
    });
    await until(
      'one replica, on node 4',
      () =>
        partitionInfo('factor')?.replicas.join() === '4' &&
        partitionInfo('factor')?.removingReplicas.length === 0
          ? true
          : undefined,
      60_000,
    );
    await until('node 4 leads', () => (cluster.leaderOf('factor', 0)?.id === 4 ? true : undefined));
    await producer.send({ topic: 'factor', acks: -1, messages: [{ value: 'd' }] });
    expect(await readAll('factor', 4)).toEqual(['a', 'b', 'c', 'd']);
    for (const id of [1, 2, 3])
      await until(`node ${id} removed its copy`, () =>
        cluster
          .node(id)
          .composed?.partitions.statuses()
          .some((s) => s.topic === 'factor') === false
          ? true
          : undefined,
      );
  } finally {
    await admin.disconnect();
    await producer.disconnect();
  }
});
