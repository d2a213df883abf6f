// Wire-level admin behaviours of issue 26 that no client library here sends, on a 3-node cluster
// (in one process): DescribeTopicPartitions paging with a cursor asked of each node, a JoinGroup
// whose rebalance_timeout_ms is 0 (left unset) held to the session timeout by the group's
// coordinator, wherever it is, the group timing flags (initial rebalance delay, session timeout
// bounds) applied by the coordinator, and incremental fetch sessions (KIP-227) with the partition
// leader, which are each node's own. Their one-node versions are in admin-apis.test.ts,
// groups/coordinator.test.ts and fetch-sessions.test.ts.
import {
  ApiKey,
  ErrorCode,
  buildRecordBatch,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  defaultProduceRequest,
} from '@chronik/protocol';
import { RawClient } from '../helpers/raw-client.js';
import { InProcessCluster } from './in-process-cluster.js';

jest.setTimeout(120_000);

const cluster = new InProcessCluster({
  ids: [1, 2, 3],
  raft: { electionTicks: 50, partitionElectionTicks: 50 },
  // The group timing flags, as --group-initial-rebalance-delay-ms 300 and so on would set them.
  broker: {
    groupInitialRebalanceDelayMs: 300,
    groupMinSessionTimeoutMs: 2000,
    groupMaxSessionTimeoutMs: 20_000,
  },
});

const ZERO = '00000000-0000-0000-0000-000000000000';

/** The coordinator of `group` (FindCoordinator, retried while __consumer_offsets is created). */
async function coordinatorOf(group: string): Promise<number> {
  const any = await RawClient.connect(cluster.node(1).broker.kafkaPort);
  try {
    for (let i = 0; i < 200; i++) {
      const f = await any.request(ApiKey.FindCoordinator, 3, { key: group, keyType: 0, coordinatorKeys: [] });
      if (f.errorCode === 0) return f.nodeId;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    any.close();
  }
  throw new Error(`no coordinator for ${group}`);
}
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

test('group timing flags on the cluster: session timeout bounds and the initial rebalance delay, applied by the coordinator', async () => {
  const group = 'timing-flags-3';
  const c = await RawClient.connect(cluster.node(await coordinatorOf(group)).broker.kafkaPort);
  try {
    const join = (sessionTimeoutMs: number) =>
      c.request(ApiKey.JoinGroup, 5, {
        groupId: group,
        sessionTimeoutMs,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        groupInstanceId: 'static-t',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: null,
      });
    let low = await join(1999);
    for (let i = 0; i < 100 && low.errorCode !== ErrorCode.INVALID_SESSION_TIMEOUT; i++) {
      await new Promise((r) => setTimeout(r, 50));
      low = await join(1999);
    }
    expect(low.errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await join(20_001)).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    // A new group's first rebalance waits group.initial.rebalance.delay.ms for more members.
    const t0 = Date.now();
    const ok = await join(20_000);
    expect(ok.errorCode).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  } finally {
    c.close();
  }
});

test("incremental fetch sessions (KIP-227) with a partition's leader; another node does not know the session", async () => {
  const c1 = await RawClient.connect(cluster.node(1).broker.kafkaPort);
  const created = await c1.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: 'fs-3', numPartitions: 2, replicationFactor: 3, assignments: [], configs: [] }],
    timeoutMs: 15_000,
    validateOnly: false,
  });
  const topicId = created.topics[0]?.topicId ?? ZERO;
  let leaders: number[] = [];
  for (let i = 0; i < 100 && !(leaders.length === 2 && leaders.every((l) => l > 0)); i++) {
    const md = await c1.request(ApiKey.Metadata, 12, {
      topics: [{ topicId: ZERO, name: 'fs-3' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    leaders = (md.topics[0]?.partitions ?? [])
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((p) => p.leaderId);
    if (!(leaders.length === 2 && leaders.every((l) => l > 0))) await new Promise((r) => setTimeout(r, 50));
  }
  c1.close();
  // Partition 0's leader; both partitions fetched from it when it leads both (else partition 0 only).
  const leaderId = leaders[0] as number;
  const mine = [0, 1].filter((p) => leaders[p] === leaderId);
  const c = await RawClient.connect(cluster.node(leaderId).broker.kafkaPort);
  const other = await RawClient.connect(cluster.node(leaderId === 1 ? 2 : 1).broker.kafkaPort);
  try {
    const produce = (partition: number, value: string) =>
      c.request(ApiKey.Produce, 9, {
        ...defaultProduceRequest(),
        acks: -1,
        timeoutMs: 10_000,
        topicData: [
          {
            name: 'fs-3',
            partitionData: [
              { index: partition, records: buildRecordBatch({ records: [{ value: Buffer.from(value) }] }) },
            ],
          },
        ],
      });
    const fetch = (
      client: RawClient,
      sessionId: number,
      sessionEpoch: number,
      partitions: number[],
      fetchOffset = 0n,
    ) =>
      client.request(ApiKey.Fetch, 13, {
        ...defaultFetchRequest(),
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        sessionId,
        sessionEpoch,
        topics:
          partitions.length === 0
            ? []
            : [
                {
                  topic: '',
                  topicId,
                  partitions: partitions.map((partition) => ({
                    ...defaultFetchRequestFetchPartition(),
                    partition,
                    fetchOffset,
                    partitionMaxBytes: 1 << 20,
                  })),
                },
              ],
        forgottenTopicsData: [],
      });
    const answered = (r: Awaited<ReturnType<typeof fetch>>) =>
      r.responses.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.highWatermark]));
    expect((await produce(0, 'a')).responses[0]?.partitionResponses[0]?.errorCode).toBe(0);
    const full = await fetch(c, 0, 0, mine);
    expect(full.errorCode).toBe(0);
    expect(full.sessionId).toBeGreaterThan(0);
    expect(answered(full).map(([p]) => p)).toEqual(mine);
    // The client moves past record a: nothing new since, an empty incremental answer.
    expect(answered(await fetch(c, full.sessionId, 1, [0], 1n))).toEqual([]);
    const idle = await fetch(c, full.sessionId, 2, []);
    expect(idle).toMatchObject({ errorCode: 0, sessionId: full.sessionId });
    expect(answered(idle)).toEqual([]);
    // A replicated record on partition 0: only it comes back, with its new high watermark.
    await produce(0, 'b');
    let next = await fetch(c, full.sessionId, 3, []);
    for (let epoch = 4; epoch < 100 && answered(next).length === 0; epoch++) {
      await new Promise((r) => setTimeout(r, 20));
      next = await fetch(c, full.sessionId, epoch, []);
    }
    expect(answered(next)).toEqual([[0, 2n]]);
    // Sessions live in the broker that opened them.
    expect((await fetch(other, full.sessionId, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  } finally {
    c.close();
    other.close();
  }
});
