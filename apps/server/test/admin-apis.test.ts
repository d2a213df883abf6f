// The admin and producer-state APIs at the wire level: DescribeCluster, DescribeLogDirs,
// DescribeTopicPartitions (with a cursor), IncrementalAlterConfigs, DescribeConfigs synonyms,
// InitProducerId + DescribeProducers, OffsetForLeaderEpoch, FindCoordinator v3 and v4 (batched),
// CreatePartitions validate-only, CreateTopics validate-only, JoinGroup with an unset rebalance timeout.
import { ApiKey, ErrorCode, buildRecordBatch, defaultProduceRequest } from '@chronik/protocol';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

let ctx: Awaited<ReturnType<typeof startBroker>>;
let c: RawClient;
beforeAll(async () => {
  ctx = await startBroker();
  c = await RawClient.connect(ctx.broker.kafkaPort);
  await c.request(ApiKey.CreateTopics, 7, {
    topics: [
      { name: 'a', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] },
      {
        name: 'b',
        numPartitions: 2,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: 'retention.ms', value: '1000' }],
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
});
afterAll(async () => {
  c.close();
  await ctx.stop();
  removeDir(ctx.dataDir);
});

test('DescribeCluster', async () => {
  const r = await c.request(ApiKey.DescribeCluster, 1, {
    includeClusterAuthorizedOperations: false,
    endpointType: 1,
  });
  expect(r).toMatchObject({
    errorCode: 0,
    controllerId: 1,
    brokers: [{ brokerId: 1, host: '127.0.0.1', port: ctx.broker.kafkaPort }],
  });
  expect(r.clusterId.length).toBeGreaterThan(0);
  const ctl = await c.request(ApiKey.DescribeCluster, 1, {
    includeClusterAuthorizedOperations: false,
    endpointType: 2,
  });
  expect(ctl.errorCode).toBe(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
});

test('authorized operations without an authorizer: every operation of the resource type, when asked', async () => {
  const TOPIC = 3576; // READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
  const CLUSTER = 8096; // CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE
  const NOT_ASKED = -2147483648;
  const cluster = await c.request(ApiKey.DescribeCluster, 1, {
    includeClusterAuthorizedOperations: true,
    endpointType: 1,
  });
  expect(cluster.clusterAuthorizedOperations).toBe(CLUSTER);
  const md = await c.request(ApiKey.Metadata, 9, {
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'a' }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: true,
    includeTopicAuthorizedOperations: true,
  });
  expect([md.clusterAuthorizedOperations, md.topics[0]?.topicAuthorizedOperations]).toEqual([CLUSTER, TOPIC]);
  const plain = await c.request(ApiKey.Metadata, 9, {
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'a' }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  expect([plain.clusterAuthorizedOperations, plain.topics[0]?.topicAuthorizedOperations]).toEqual([
    NOT_ASKED,
    NOT_ASKED,
  ]);
  const dtp = await c.request(ApiKey.DescribeTopicPartitions, 0, {
    topics: [{ name: 'a' }],
    responsePartitionLimit: 10,
    cursor: null,
  });
  expect(dtp.topics[0]?.topicAuthorizedOperations).toBe(TOPIC);
});

test('DescribeTopicPartitions pages with a cursor', async () => {
  const first = await c.request(ApiKey.DescribeTopicPartitions, 0, {
    topics: [{ name: 'a' }, { name: 'b' }, { name: 'nope' }],
    responsePartitionLimit: 4,
    cursor: null,
  });
  expect(first.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)])).toEqual([
    ['a', [0, 1, 2]],
    ['b', [0]],
  ]);
  expect(first.nextCursor).toEqual({ topicName: 'b', partitionIndex: 1 });
  const next = await c.request(ApiKey.DescribeTopicPartitions, 0, {
    topics: [{ name: 'a' }, { name: 'b' }, { name: 'nope' }],
    responsePartitionLimit: 4,
    cursor: first.nextCursor,
  });
  expect(next.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)])).toEqual([
    ['b', 0, [1]],
    ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
  ]);
  expect(next.nextCursor).toBeNull();
});

test('IncrementalAlterConfigs and DescribeConfigs with synonyms', async () => {
  const set = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [
      {
        resourceType: 2,
        resourceName: 'a',
        configs: [{ name: 'retention.bytes', configOperation: 0, value: '123456' }],
      },
    ],
    validateOnly: false,
  });
  expect(set.responses[0]?.errorCode).toBe(0);
  // Log compaction is accepted (validate only here: the topic stays as it is).
  const compact = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [
      {
        resourceType: 2,
        resourceName: 'a',
        configs: [{ name: 'cleanup.policy', configOperation: 0, value: 'compact,delete' }],
      },
    ],
    validateOnly: true,
  });
  expect(compact.responses[0]?.errorCode).toBe(0);
  const bad = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [
      {
        resourceType: 2,
        resourceName: 'a',
        configs: [{ name: 'cleanup.policy', configOperation: 0, value: 'shred' }],
      },
    ],
    validateOnly: false,
  });
  expect(bad.responses[0]?.errorCode).toBe(ErrorCode.INVALID_CONFIG);
  const unknown = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [
      {
        resourceType: 2,
        resourceName: 'a',
        configs: [{ name: 'no.such.config', configOperation: 0, value: '1' }],
      },
    ],
    validateOnly: false,
  });
  expect(unknown.responses[0]?.errorCode).toBe(ErrorCode.INVALID_CONFIG);
  const d = await c.request(ApiKey.DescribeConfigs, 4, {
    resources: [
      { resourceType: 2, resourceName: 'a', configurationKeys: ['retention.bytes', 'retention.ms'] },
    ],
    includeSynonyms: true,
    includeDocumentation: true,
  });
  const byName = Object.fromEntries((d.results[0]?.configs ?? []).map((e) => [e.name, e]));
  expect(byName['retention.bytes']).toMatchObject({ value: '123456', configSource: 1 });
  // No flag set it: the broker's default, as Kafka reports it (DEFAULT_CONFIG).
  expect(byName['retention.ms']).toMatchObject({ value: '604800000', configSource: 5 });
  expect(byName['retention.ms']?.synonyms.map((s) => s.name)).toContain('log.retention.ms');
  expect(byName['retention.ms']?.documentation).toBeTruthy();
  const broker = await c.request(ApiKey.DescribeConfigs, 4, {
    resources: [{ resourceType: 4, resourceName: '1', configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  expect(broker.results[0]?.errorCode).toBe(0);
  expect(broker.results[0]?.configs.length).toBeGreaterThan(5);
});

test('DescribeConfigs for the broker: its group configs, read-only, static when a flag gave them', async () => {
  const other = await startBroker({
    broker: {
      groupConsumerMigrationPolicy: 'upgrade',
      groupMaxSize: 50,
      staticConfigNames: ['group.consumer.migration.policy', 'group.max.size'],
    },
  });
  const oc = await RawClient.connect(other.broker.kafkaPort);
  try {
    const keys = ['group.consumer.migration.policy', 'group.max.size', 'group.initial.rebalance.delay.ms'];
    const describe = (resourceName: string) =>
      oc.request(ApiKey.DescribeConfigs, 4, {
        resources: [{ resourceType: 4, resourceName, configurationKeys: keys }],
        includeSynonyms: true,
        includeDocumentation: true,
      });
    const r = await describe('1');
    const byName = Object.fromEntries((r.results[0]?.configs ?? []).map((e) => [e.name, e]));
    expect(byName['group.consumer.migration.policy']).toMatchObject({
      value: 'upgrade',
      readOnly: true,
      configSource: 4,
      configType: 2,
    });
    expect(byName['group.consumer.migration.policy']?.documentation).toMatch(/bidirectional/);
    expect(byName['group.max.size']).toMatchObject({ value: '50', configSource: 4 });
    expect(byName['group.initial.rebalance.delay.ms']).toMatchObject({ configSource: 5, readOnly: true });
    // The cluster-wide default resource holds dynamic configs only.
    expect((await describe('')).results[0]?.configs).toEqual([]);
  } finally {
    oc.close();
    await other.stop();
    removeDir(other.dataDir);
  }
});

test('DescribeConfigs: defaults no flag set are DEFAULT_CONFIG; flags the operator gave are STATIC_BROKER_CONFIG', async () => {
  const keys = ['retention.ms', 'retention.bytes', 'segment.bytes', 'flush.ms'];
  const describe = async (client: RawClient) => {
    const r = await client.request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 2, resourceName: 'b', configurationKeys: keys }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    return Object.fromEntries((r.results[0]?.configs ?? []).map((e) => [e.name, [e.value, e.configSource]]));
  };
  const topicB = async (client: RawClient) =>
    client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'b', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
  // Topic 'b' of this broker sets retention.ms itself (DYNAMIC_TOPIC_CONFIG).
  expect(await describe(c)).toEqual({
    'retention.ms': ['1000', 1],
    'retention.bytes': ['-1', 5],
    'segment.bytes': ['134217728', 5],
    'flush.ms': ['1000', 5],
  });
  const other = await startBroker({
    broker: {
      logSegmentBytes: 2_097_152,
      logRetentionBytes: 5_000_000,
      staticConfigNames: ['log.segment.bytes'],
    },
  });
  const oc = await RawClient.connect(other.broker.kafkaPort);
  try {
    await topicB(oc);
    expect(await describe(oc)).toEqual({
      'retention.ms': ['604800000', 5],
      'retention.bytes': ['5000000', 5], // a default of this broker, not given by the operator
      'segment.bytes': ['2097152', 4],
      'flush.ms': ['1000', 5],
    });
  } finally {
    oc.close();
    await other.stop();
    removeDir(other.dataDir);
  }
});

test('InitProducerId, idempotent produce, DescribeProducers', async () => {
  const init = await c.request(ApiKey.InitProducerId, 4, {
    transactionalId: null,
    transactionTimeoutMs: 60000,
    producerId: -1n,
    producerEpoch: -1,
  });
  expect(init.errorCode).toBe(0);
  expect(init.producerId).toBeGreaterThanOrEqual(0n);
  const second = await c.request(ApiKey.InitProducerId, 4, {
    transactionalId: null,
    transactionTimeoutMs: 60000,
    producerId: -1n,
    producerEpoch: -1,
  });
  expect(second.producerId).not.toBe(init.producerId);
  const records = buildRecordBatch({
    records: [{ value: Buffer.from('i') }, { value: Buffer.from('j') }],
    producerId: init.producerId,
    producerEpoch: 0,
    baseSequence: 0,
  });
  const produce = (b: Buffer) =>
    c.request(ApiKey.Produce, 9, {
      ...defaultProduceRequest(),
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'a', partitionData: [{ index: 1, records: b }] }],
    });
  expect((await produce(Buffer.from(records))).responses[0]?.partitionResponses[0]).toMatchObject({
    errorCode: 0,
    baseOffset: 0n,
  });
  expect((await produce(Buffer.from(records))).responses[0]?.partitionResponses[0]).toMatchObject({
    errorCode: 0,
    baseOffset: 0n,
  }); // duplicate
  const gap = buildRecordBatch({
    records: [{ value: Buffer.from('k') }],
    producerId: init.producerId,
    producerEpoch: 0,
    baseSequence: 5,
  });
  expect((await produce(gap)).responses[0]?.partitionResponses[0]?.errorCode).toBe(
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  );
  const dp = await c.request(ApiKey.DescribeProducers, 0, {
    topics: [{ name: 'a', partitionIndexes: [1, 7] }],
  });
  expect(dp.topics[0]?.partitions[0]?.activeProducers).toEqual([
    expect.objectContaining({ producerId: init.producerId, producerEpoch: 0, lastSequence: 1 }),
  ]);
  expect(dp.topics[0]?.partitions[1]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // A transactional id goes to its coordinator, which no node is before FindCoordinator created
  // __transaction_state (test/txn/handlers.test.ts has the rest).
  const txn = await c.request(ApiKey.InitProducerId, 4, {
    transactionalId: 'tx',
    transactionTimeoutMs: 60000,
    producerId: -1n,
    producerEpoch: -1,
  });
  expect(txn.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
});

test('InitProducerId with a producer id and epoch (KIP-360) allocates a new id, as Kafka does without a transactional id', async () => {
  const initProducerId = (producerId: bigint, producerEpoch: number) =>
    c.request(ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId,
      producerEpoch,
    });
  const owner = await initProducerId(-1n, -1);
  expect(owner).toMatchObject({ errorCode: 0, producerEpoch: 0 });
  const produce = (producerId: bigint, producerEpoch: number, baseSequence: number) =>
    c.request(ApiKey.Produce, 9, {
      ...defaultProduceRequest(),
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'a',
          partitionData: [
            {
              index: 2,
              records: buildRecordBatch({
                records: [{ value: Buffer.from(`s${baseSequence}`) }],
                producerId,
                producerEpoch,
                baseSequence,
              }),
            },
          ],
        },
      ],
    });
  expect((await produce(owner.producerId, 0, 0)).responses[0]?.partitionResponses[0]?.errorCode).toBe(0);

  // Another client names the owner's id and epoch: it gets an id of its own, not the owner's bumped.
  const other = await initProducerId(owner.producerId, 0);
  expect(other.errorCode).toBe(0);
  expect(other.producerId).not.toBe(owner.producerId);
  expect(other.producerEpoch).toBe(0);
  // An id that was never handed out, and an epoch far ahead: a new id too.
  const made = await initProducerId(987_654_321n, 77);
  expect(made.errorCode).toBe(0);
  expect(made.producerEpoch).toBe(0);
  expect(new Set([made.producerId, other.producerId, owner.producerId, 987_654_321n]).size).toBe(4);
  // The other client produces with what it was given; the owner is not fenced: its epoch 0 goes on.
  expect(
    (await produce(other.producerId, other.producerEpoch, 0)).responses[0]?.partitionResponses[0]?.errorCode,
  ).toBe(0);
  expect((await produce(owner.producerId, 0, 1)).responses[0]?.partitionResponses[0]?.errorCode).toBe(0);
  const dp = await c.request(ApiKey.DescribeProducers, 0, { topics: [{ name: 'a', partitionIndexes: [2] }] });
  expect(dp.topics[0]?.partitions[0]?.activeProducers).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ producerId: owner.producerId, producerEpoch: 0, lastSequence: 1 }),
      expect.objectContaining({ producerId: other.producerId, producerEpoch: 0, lastSequence: 0 }),
    ]),
  );

  // One of the two without the other is INVALID_REQUEST (Kafka's KafkaApis).
  for (const [id, epoch] of [
    [owner.producerId, -1],
    [-1n, 0],
  ] as const) {
    expect(await initProducerId(id, epoch)).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUEST,
      producerId: -1n,
      producerEpoch: -1,
    });
  }
});

test('OffsetForLeaderEpoch', async () => {
  const r = await c.request(ApiKey.OffsetForLeaderEpoch, 4, {
    replicaId: -1,
    topics: [
      {
        topic: 'a',
        partitions: [
          { partition: 1, currentLeaderEpoch: 0, leaderEpoch: 0 },
          { partition: 2, currentLeaderEpoch: 5, leaderEpoch: 0 },
        ],
      },
    ],
  });
  expect(r.topics[0]?.partitions[0]).toMatchObject({ errorCode: 0, leaderEpoch: 0, endOffset: 2n });
  expect(r.topics[0]?.partitions[1]?.errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
});

test('FindCoordinator v3 and batched v4 answer this broker', async () => {
  const v3 = await c.request(ApiKey.FindCoordinator, 3, { key: 'group-x', keyType: 0, coordinatorKeys: [] });
  expect(v3).toMatchObject({ errorCode: 0, nodeId: 1, host: '127.0.0.1', port: ctx.broker.kafkaPort });
  const v4 = await c.request(ApiKey.FindCoordinator, 4, {
    key: '',
    keyType: 0,
    coordinatorKeys: ['g1', 'g2'],
  });
  expect(v4.coordinators.map((k) => [k.key, k.nodeId, k.errorCode])).toEqual([
    ['g1', 1, 0],
    ['g2', 1, 0],
  ]);
});

test('DescribeLogDirs, DeleteRecords, validate-only CreateTopics and CreatePartitions', async () => {
  const logs = await c.request(ApiKey.DescribeLogDirs, 4, { topics: [{ topic: 'a', partitions: [1] }] });
  const dir = logs.results[0];
  expect(dir?.logDir).toBe(ctx.dataDir);
  expect(dir?.topics).toEqual([{ name: 'a', partitions: [expect.objectContaining({ partitionIndex: 1 })] }]);
  expect(dir?.topics[0]?.partitions[0]?.partitionSize).toBeGreaterThan(0n);
  const del = await c.request(ApiKey.DeleteRecords, 2, {
    topics: [
      {
        name: 'a',
        partitions: [
          { partitionIndex: 1, offset: -1n },
          { partitionIndex: 2, offset: 10n },
        ],
      },
    ],
    timeoutMs: 1000,
  });
  expect(del.topics[0]?.partitions.map((p) => [p.lowWatermark, p.errorCode])).toEqual([
    [2n, 0],
    [-1n, ErrorCode.OFFSET_OUT_OF_RANGE],
  ]);
  const vt = await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: 'maybe', numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: true,
  });
  expect(vt.topics[0]).toMatchObject({ errorCode: 0, numPartitions: 4 });
  const rf = await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: 'rf3', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(rf.topics[0]?.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  const vp = await c.request(ApiKey.CreatePartitions, 3, {
    topics: [{ name: 'b', count: 5, assignments: null }],
    timeoutMs: 1000,
    validateOnly: true,
  });
  expect(vp.results[0]?.errorCode).toBe(0);
  const fewer = await c.request(ApiKey.CreatePartitions, 3, {
    topics: [{ name: 'b', count: 1, assignments: null }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(fewer.results[0]?.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
  const md = await c.request(ApiKey.DescribeTopicPartitions, 0, {
    topics: [{ name: 'b' }, { name: 'maybe' }],
    responsePartitionLimit: 100,
    cursor: null,
  });
  expect(md.topics.map((t) => [t.name, t.partitions.length])).toEqual([
    ['b', 2],
    ['maybe', 0],
  ]);
});

test('CreateTopics with manual replica assignments: accepted as listed, refused as Kafka refuses them', async () => {
  const create = async (
    name: string,
    assignments: Array<{ partitionIndex: number; brokerIds: number[] }>,
    numPartitions = -1,
  ) => {
    const r = await c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions, replicationFactor: -1, assignments, configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    return r.topics[0];
  };
  // Listed out of order: partition 1 first.
  const ok = await create('manual', [
    { partitionIndex: 1, brokerIds: [1] },
    { partitionIndex: 0, brokerIds: [1] },
  ]);
  expect(ok).toMatchObject({ errorCode: 0, numPartitions: 2, replicationFactor: 1 });
  const gap = await create('manual-gap', [
    { partitionIndex: 0, brokerIds: [1] },
    { partitionIndex: 2, brokerIds: [1] },
  ]);
  expect(gap?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  const twice = await create('manual-twice', [
    { partitionIndex: 0, brokerIds: [1] },
    { partitionIndex: 0, brokerIds: [1] },
  ]);
  expect(twice?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  const unknown = await create('manual-unknown', [{ partitionIndex: 0, brokerIds: [7] }]);
  expect(unknown?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  const dupBroker = await create('manual-dup-broker', [{ partitionIndex: 0, brokerIds: [1, 1] }]);
  expect(dupBroker?.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  const withCount = await create('manual-count', [{ partitionIndex: 0, brokerIds: [1] }], 1);
  expect(withCount?.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  const md = await c.request(ApiKey.DescribeTopicPartitions, 0, {
    topics: [{ name: 'manual' }, { name: 'manual-gap' }],
    responsePartitionLimit: 100,
    cursor: null,
  });
  expect(md.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.replicaNodes)])).toEqual([
    ['manual', 0, [[1], [1]]],
    ['manual-gap', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
  ]);
});

test('JoinGroup with rebalance_timeout_ms 0 (left unset) is held to the session timeout: the member still syncs', async () => {
  const joinGroup = () =>
    c.request(ApiKey.JoinGroup, 5, {
      groupId: 'unset-rebalance-timeout',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 0,
      memberId: '',
      groupInstanceId: 'static-1',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
    });
  // FindCoordinator creates the offsets topic the group coordinator lives on, as clients ask first.
  await c.request(ApiKey.FindCoordinator, 3, {
    key: 'unset-rebalance-timeout',
    keyType: 0,
    coordinatorKeys: [],
  });
  let join = await joinGroup();
  // The group coordinator starts with the node (retriable until it is loaded).
  for (
    let tries = 0;
    join.errorCode === ErrorCode.NOT_COORDINATOR ||
    join.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
    join.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    tries++
  ) {
    if (tries > 100) break;
    await new Promise((r) => setTimeout(r, 50));
    join = await joinGroup();
  }
  expect(join.errorCode).toBe(0);
  await new Promise((r) => setTimeout(r, 200));
  const sync = await c.request(ApiKey.SyncGroup, 3, {
    groupId: 'unset-rebalance-timeout',
    generationId: join.generationId,
    memberId: join.memberId,
    groupInstanceId: 'static-1',
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: join.memberId, assignment: Buffer.alloc(0) }],
  });
  expect(sync.errorCode).toBe(0);
});

test('the group session timeout bounds and group size come from the broker flags', async () => {
  const own = await startBroker({
    broker: { groupMinSessionTimeoutMs: 20_000, groupMaxSessionTimeoutMs: 30_000, groupMaxSize: 1 },
  });
  const client = await RawClient.connect(own.broker.kafkaPort);
  try {
    await client.request(ApiKey.FindCoordinator, 3, { key: 'bounded', keyType: 0, coordinatorKeys: [] });
    const join = async (sessionTimeoutMs: number) => {
      for (let tries = 0; ; tries++) {
        const r = await client.request(ApiKey.JoinGroup, 5, {
          groupId: 'bounded',
          sessionTimeoutMs,
          rebalanceTimeoutMs: 1000,
          memberId: '',
          groupInstanceId: `static-${sessionTimeoutMs}`,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
          reason: null,
        });
        const loading =
          r.errorCode === ErrorCode.NOT_COORDINATOR ||
          r.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
          r.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        if (!loading || tries > 100) return r.errorCode;
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    expect(await join(10_000)).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect(await join(40_000)).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect(await join(25_000)).toBe(ErrorCode.NONE);
    // A second member is one too many for a group of at most one.
    expect(await join(26_000)).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
  } finally {
    client.close();
    await own.stop();
    removeDir(own.dataDir);
  }
});
