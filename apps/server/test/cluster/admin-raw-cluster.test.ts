// Wire-level admin behaviours of issue 26 that no client library here sends, on a 3-node cluster
// (in one process): DescribeTopicPartitions paging with a cursor asked of each node, and a JoinGroup
// whose rebalance_timeout_ms is 0 (left unset) held to the session timeout by the group's
// coordinator, wherever it is. Their one-node versions are in admin-apis.test.ts.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { RawClient } from '../helpers/raw-client.js';
import { InProcessCluster } from './in-process-cluster.js';

jest.setTimeout(120_000);

const cluster = new InProcessCluster({
  ids: [1, 2, 3],
  raft: { electionTicks: 50, partitionElectionTicks: 50 },
});
beforeAll(() => cluster.startAll());
afterAll(() => cluster.stop());

test('DescribeTopicPartitions pages with a cursor, the same from every node', async () => {
  const c1 = await RawClient.connect(cluster.node(1).broker.kafkaPort);
  await c1.request(ApiKey.CreateTopics, 7, {
    topics: [
      { name: 'dtp-a', numPartitions: 3, replicationFactor: 3, assignments: [], configs: [] },
      { name: 'dtp-b', numPartitions: 2, replicationFactor: 3, assignments: [], configs: [] },
    ],
    timeoutMs: 15_000,
    validateOnly: false,
  });
  c1.close();
  for (const node of cluster.nodes) {
    const c = await RawClient.connect(node.broker.kafkaPort);
    try {
      const topics = [{ name: 'dtp-a' }, { name: 'dtp-b' }, { name: 'dtp-nope' }];
      let first = await c.request(ApiKey.DescribeTopicPartitions, 0, {
        topics,
        responsePartitionLimit: 4,
        cursor: null,
      });
      // A node applies the new topics from the replicated metadata: wait until it has them.
      for (let i = 0; i < 100 && first.topics.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
        first = await c.request(ApiKey.DescribeTopicPartitions, 0, {
          topics,
          responsePartitionLimit: 4,
          cursor: null,
        });
      }
      expect(first.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)])).toEqual([
        ['dtp-a', [0, 1, 2]],
        ['dtp-b', [0]],
      ]);
      for (const t of first.topics)
        for (const p of t.partitions) expect(p.replicaNodes.sort()).toEqual([1, 2, 3]);
      expect(first.nextCursor).toEqual({ topicName: 'dtp-b', partitionIndex: 1 });
      const next = await c.request(ApiKey.DescribeTopicPartitions, 0, {
        topics,
        responsePartitionLimit: 4,
        cursor: first.nextCursor,
      });
      expect(
        next.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)]),
      ).toEqual([
        ['dtp-b', 0, [1]],
        ['dtp-nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
      ]);
      expect(next.nextCursor).toBeNull();
    } finally {
      c.close();
    }
  }
});

test("JoinGroup with rebalance_timeout_ms 0 is held to the session timeout by the group's coordinator", async () => {
  const group = 'unset-rebalance-timeout-3';
  const any = await RawClient.connect(cluster.node(1).broker.kafkaPort);
  let coordinator = -1;
  for (let i = 0; i < 200 && coordinator < 0; i++) {
    const f = await any.request(ApiKey.FindCoordinator, 3, { key: group, keyType: 0, coordinatorKeys: [] });
    if (f.errorCode === 0) coordinator = f.nodeId;
    else await new Promise((r) => setTimeout(r, 50));
  }
  any.close();
  expect(coordinator).toBeGreaterThan(0);
  const c = await RawClient.connect(cluster.node(coordinator).broker.kafkaPort);
  try {
    const joinGroup = () =>
      c.request(ApiKey.JoinGroup, 5, {
        groupId: group,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 0,
        memberId: '',
        groupInstanceId: 'static-1',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: null,
      });
    let join = await joinGroup();
    for (
      let tries = 0;
      tries < 100 &&
      (join.errorCode === ErrorCode.NOT_COORDINATOR ||
        join.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
        join.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      tries++
    ) {
      await new Promise((r) => setTimeout(r, 50));
      join = await joinGroup();
    }
    expect(join.errorCode).toBe(0);
    // Past a rebalance timeout of 0, within the session timeout: the member is still there.
    await new Promise((r) => setTimeout(r, 200));
    const sync = await c.request(ApiKey.SyncGroup, 3, {
      groupId: group,
      generationId: join.generationId,
      memberId: join.memberId,
      groupInstanceId: 'static-1',
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: join.memberId, assignment: Buffer.alloc(0) }],
    });
    expect(sync.errorCode).toBe(0);
  } finally {
    c.close();
  }
});
