import {
  AlterConfigOp,
  KAFKA_ERROR_NUMBERS,
  MetadataErrorCode,
  prepareAlterBrokerConfigs,
  prepareAlterTopicConfigs,
  prepareCreatePartitions,
  prepareCreateTopics,
  prepareDeleteTopic,
} from '@chronik/metadata';
import type {
  CreateTopicRequest,
  MetadataCommand,
  MetadataError,
  MetadataErrorCode as Code,
} from '@chronik/metadata';
import { Node, broker, stateOf } from './helpers.js';

/** A 3-broker cluster with topic `existing` (3 partitions, RF 2) and `a.b`. */
function cluster(): { node: Node; topicId: string } {
  const node = new Node();
  node.registerBrokers([1, 2, 3]);
  const c = node.createTopic('existing', 3, 2);
  node.createTopic('a.b', 1, 1);
  return { node, topicId: c.topicId };
}

function expectError(error: MetadataError | undefined, code: Code, kafkaNumber: number): void {
  expect(error).toBeDefined();
  expect(error?.code).toBe(code);
  expect(error?.errorCode).toBe(kafkaNumber);
  expect(KAFKA_ERROR_NUMBERS[code]).toBe(kafkaNumber);
}

describe('Kafka error numbers', () => {
  test.each([
    ['UNKNOWN_SERVER_ERROR', -1],
    ['UNKNOWN_TOPIC_OR_PARTITION', 3],
    ['COORDINATOR_NOT_AVAILABLE', 15],
    ['INVALID_TOPIC_EXCEPTION', 17],
    ['UNSUPPORTED_VERSION', 35],
    ['TOPIC_ALREADY_EXISTS', 36],
    ['INVALID_PARTITIONS', 37],
    ['INVALID_REPLICATION_FACTOR', 38],
    ['INVALID_REPLICA_ASSIGNMENT', 39],
    ['INVALID_CONFIG', 40],
    ['INVALID_REQUEST', 42],
    ['POLICY_VIOLATION', 44],
    ['FENCED_LEADER_EPOCH', 74],
    ['UNKNOWN_LEADER_EPOCH', 75],
    ['STALE_BROKER_EPOCH', 77],
    ['UNKNOWN_TOPIC_ID', 100],
    ['DUPLICATE_BROKER_REGISTRATION', 101],
    ['BROKER_ID_NOT_REGISTERED', 102],
    ['INCONSISTENT_CLUSTER_ID', 104],
    ['INELIGIBLE_REPLICA', 107],
  ] as const)('%s is %i', (name, n) => {
    expect(MetadataErrorCode[name]).toBe(name);
    expect(KAFKA_ERROR_NUMBERS[name]).toBe(n);
  });
});

const longName = 'x'.repeat(250);

describe('CreateTopics validation (prepare) and the same rejection at apply', () => {
  const cases: [string, CreateTopicRequest, Code, number][] = [
    ['empty name', { name: '', numPartitions: 1, replicationFactor: 1 }, 'INVALID_TOPIC_EXCEPTION', 17],
    ['name "."', { name: '.', numPartitions: 1, replicationFactor: 1 }, 'INVALID_TOPIC_EXCEPTION', 17],
    ['name ".."', { name: '..', numPartitions: 1, replicationFactor: 1 }, 'INVALID_TOPIC_EXCEPTION', 17],
    [
      'name longer than 249',
      { name: longName, numPartitions: 1, replicationFactor: 1 },
      'INVALID_TOPIC_EXCEPTION',
      17,
    ],
    [
      'illegal character',
      { name: 'bad/name', numPartitions: 1, replicationFactor: 1 },
      'INVALID_TOPIC_EXCEPTION',
      17,
    ],
    [
      'non-ASCII character',
      { name: 'tópico', numPartitions: 1, replicationFactor: 1 },
      'INVALID_TOPIC_EXCEPTION',
      17,
    ],
    ['space', { name: 'a b', numPartitions: 1, replicationFactor: 1 }, 'INVALID_TOPIC_EXCEPTION', 17],
    [
      'collides with a.b',
      { name: 'a_b', numPartitions: 1, replicationFactor: 1 },
      'INVALID_TOPIC_EXCEPTION',
      17,
    ],
    ['exists', { name: 'existing', numPartitions: 1, replicationFactor: 1 }, 'TOPIC_ALREADY_EXISTS', 36],
    [
      'internal name by a client',
      { name: '__consumer_offsets', numPartitions: 1, replicationFactor: 1 },
      'INVALID_REQUEST',
      42,
    ],
    ['zero partitions', { name: 't', numPartitions: 0, replicationFactor: 1 }, 'INVALID_PARTITIONS', 37],
    ['negative partitions', { name: 't', numPartitions: -5, replicationFactor: 1 }, 'INVALID_PARTITIONS', 37],
    [
      'too many partitions',
      { name: 't', numPartitions: 100_001, replicationFactor: 1 },
      'INVALID_PARTITIONS',
      37,
    ],
    [
      'zero replication factor',
      { name: 't', numPartitions: 1, replicationFactor: 0 },
      'INVALID_REPLICATION_FACTOR',
      38,
    ],
    [
      'replication factor above live brokers',
      { name: 't', numPartitions: 1, replicationFactor: 4 },
      'INVALID_REPLICATION_FACTOR',
      38,
    ],
    [
      'assignment and counts both set',
      { name: 't', numPartitions: 1, replicationFactor: -1, assignments: [{ partition: 0, brokerIds: [1] }] },
      'INVALID_REQUEST',
      42,
    ],
    [
      'assignment with a gap',
      {
        name: 't',
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partition: 1, brokerIds: [1] }],
      },
      'INVALID_REPLICA_ASSIGNMENT',
      39,
    ],
    [
      'assignment duplicate broker',
      {
        name: 't',
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partition: 0, brokerIds: [1, 1] }],
      },
      'INVALID_REPLICA_ASSIGNMENT',
      39,
    ],
    [
      'assignment unknown broker',
      {
        name: 't',
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partition: 0, brokerIds: [9] }],
      },
      'INVALID_REPLICA_ASSIGNMENT',
      39,
    ],
    [
      'assignment empty replicas',
      { name: 't', numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, brokerIds: [] }] },
      'INVALID_REPLICA_ASSIGNMENT',
      39,
    ],
    [
      'assignment uneven replication',
      {
        name: 't',
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [
          { partition: 0, brokerIds: [1, 2] },
          { partition: 1, brokerIds: [3] },
        ],
      },
      'INVALID_REPLICA_ASSIGNMENT',
      39,
    ],
    [
      'unknown config key',
      {
        name: 't',
        numPartitions: 1,
        replicationFactor: 1,
        configs: [{ name: 'retention.hours', value: '1' }],
      },
      'INVALID_CONFIG',
      40,
    ],
    [
      'null config value',
      { name: 't', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'retention.ms', value: null }] },
      'INVALID_CONFIG',
      40,
    ],
    [
      'duplicate config key',
      {
        name: 't',
        numPartitions: 1,
        replicationFactor: 1,
        configs: [
          { name: 'retention.ms', value: '1' },
          { name: 'retention.ms', value: '2' },
        ],
      },
      'INVALID_REQUEST',
      42,
    ],
    ...(
      [
        ['cleanup.policy', 'remove'],
        ['cleanup.policy', ''],
        ['retention.ms', 'abc'],
        ['retention.ms', '-2'],
        ['retention.ms', '9223372036854775808'],
        ['retention.bytes', '1.5'],
        ['segment.bytes', '13'],
        ['segment.bytes', '2147483648'],
        ['segment.ms', '0'],
        ['max.message.bytes', '-1'],
        ['min.insync.replicas', '0'],
        ['compression.type', 'brotli'],
        ['message.timestamp.type', 'createtime'],
        ['message.timestamp.difference.max.ms', '-1'],
        ['flush.messages', '0'],
        ['flush.ms', '-1'],
        ['delete.retention.ms', '-1'],
        ['unclean.leader.election.enable', 'yes'],
        ['min.cleanable.dirty.ratio', '1.5'],
        ['compression.gzip.level', '0'],
        ['follower.replication.throttled.replicas', 'x'],
      ] as const
    ).map(([name, value]): [string, CreateTopicRequest, Code, number] => [
      `${name}=${value}`,
      { name: 't', numPartitions: 1, replicationFactor: 1, configs: [{ name, value }] },
      'INVALID_CONFIG',
      40,
    ]),
  ];

  // Request shapes that never reach a command (prepare resolves or refuses them).
  const prepareOnly = new Set([
    'too many partitions',
    'assignment and counts both set',
    'assignment with a gap',
    'null config value',
  ]);

  test.each(cases)('%s', (_label, request, code, n) => {
    const { node } = cluster();
    const before = stateOf(node.sm);
    const [prepared] = prepareCreateTopics(node.sm, [request], {
      defaultPartitions: 1,
      defaultReplicationFactor: 1,
      newTopicId: node.newTopicId,
    });
    expect(prepared?.result.ok).toBe(false);
    expectError(prepared?.result.ok === false ? prepared.result.error : undefined, code, n);

    if (prepareOnly.has(_label)) return;
    // The apply side rejects the same request with the same code when a proposer skipped prepare,
    // for the cases that reach a command (counts/RF are resolved into an assignment by prepare).
    const assignments =
      request.assignments !== undefined && request.assignments.length > 0
        ? [...request.assignments].sort((a, b) => a.partition - b.partition).map((a) => a.brokerIds)
        : Array.from({ length: Math.max(0, Math.min(request.numPartitions, 5)) }, () =>
            Array.from({ length: Math.max(0, request.replicationFactor) }, (_, i) => i + 1),
          );
    const command: MetadataCommand = {
      type: 'createTopic',
      name: request.name,
      topicId: node.newTopicId(),
      assignments,
      configs: (request.configs ?? [])
        .filter((c) => c.value !== null)
        .map((c) => ({ name: c.name, value: c.value as string })),
      internal: false,
    };
    const applied = node.apply(command);
    expect(applied.ok).toBe(false);
    expect(stateOf(node.sm)).toEqual(before);
  });

  test('valid configs are accepted and normalized', () => {
    const { node } = cluster();
    node.createTopic('t', 1, 1, {
      configs: [
        { name: 'cleanup.policy', value: 'compact, delete' },
        { name: 'retention.ms', value: ' -1 ' },
        { name: 'unclean.leader.election.enable', value: 'TRUE' },
        { name: 'min.cleanable.dirty.ratio', value: '0.25' },
        { name: 'retention.bytes', value: '-1' },
      ],
    });
    expect(node.sm.topic('t')?.configs).toEqual({
      'cleanup.policy': 'compact, delete',
      'min.cleanable.dirty.ratio': '0.25',
      'retention.bytes': '-1',
      'retention.ms': '-1',
      'unclean.leader.election.enable': 'true',
    });
  });

  test('legal names at the boundaries are accepted', () => {
    const { node } = cluster();
    for (const name of ['x'.repeat(249), 'a-b_c.D9', '...', '_', '-']) node.createTopic(name, 1, 1);
    expect(node.sm.topic('x'.repeat(249))).toBeDefined();
  });

  test('duplicate names inside one request are each rejected', () => {
    const { node } = cluster();
    const r = prepareCreateTopics(
      node.sm,
      [
        { name: 'dup', numPartitions: 1, replicationFactor: 1 },
        { name: 'dup', numPartitions: 1, replicationFactor: 1 },
        { name: 'f.ine', numPartitions: 1, replicationFactor: 1 },
        { name: 'f_ine', numPartitions: 1, replicationFactor: 1 },
      ],
      { defaultPartitions: 1, defaultReplicationFactor: 1, newTopicId: node.newTopicId },
    );
    expect(r.map((x) => (x.result.ok ? 'ok' : x.result.error.code))).toEqual([
      'INVALID_REQUEST',
      'INVALID_REQUEST',
      'ok',
      'INVALID_TOPIC_EXCEPTION',
    ]);
  });
});

describe('replica budget per broker', () => {
  // `existing`: 3 partitions x RF 2 over brokers 1-3 (2 replicas each), `a.b`: 1 x RF 1.
  const create = (node: Node, requests: CreateTopicRequest[], max: number): string[] =>
    prepareCreateTopics(node.sm, requests, {
      defaultPartitions: 1,
      defaultReplicationFactor: 1,
      newTopicId: node.newTopicId,
      maxReplicasPerBroker: max,
    }).map((x) => (x.result.ok ? 'ok' : x.result.error.code));

  test('a topic that would put more replicas on a broker than its budget is refused', () => {
    const { node } = cluster();
    expect(create(node, [{ name: 'big', numPartitions: 100_000, replicationFactor: 1 }], 4000)).toEqual([
      'POLICY_VIOLATION',
    ]);
    expect(create(node, [{ name: 'fits', numPartitions: 30, replicationFactor: 3 }], 40)).toEqual(['ok']);
    // Explicit assignments count exactly: broker 1 holds 2 or 3 replicas already.
    expect(
      create(
        node,
        [
          {
            name: 'pinned',
            numPartitions: -1,
            replicationFactor: -1,
            assignments: Array.from({ length: 10 }, (_, partition) => ({ partition, brokerIds: [1] })),
          },
        ],
        10,
      ),
    ).toEqual(['POLICY_VIOLATION']);
  });

  test('topics of one request count against the budget together; without a budget nothing is refused', () => {
    const { node } = cluster();
    const two = [
      { name: 'one', numPartitions: 30, replicationFactor: 1 },
      { name: 'two', numPartitions: 30, replicationFactor: 1 },
    ];
    expect(create(node, two, 15)).toEqual(['ok', 'POLICY_VIOLATION']);
    expect(
      prepareCreateTopics(node.sm, [{ name: 'huge', numPartitions: 100_000, replicationFactor: 1 }], {
        defaultPartitions: 1,
        defaultReplicationFactor: 1,
        newTopicId: node.newTopicId,
      })[0]?.result.ok,
    ).toBe(true);
  });

  test('CreatePartitions is held to the same budget', () => {
    const { node } = cluster();
    const r = prepareCreatePartitions(
      node.sm,
      { name: 'existing', count: 300 },
      { maxReplicasPerBroker: 100 },
    );
    expect(r.ok ? 'ok' : r.error.code).toBe('POLICY_VIOLATION');
    const fits = prepareCreatePartitions(
      node.sm,
      { name: 'existing', count: 30 },
      { maxReplicasPerBroker: 100 },
    );
    expect(fits.ok).toBe(true);
  });
});

describe('apply-side rejections of every command', () => {
  const cases: [string, (ctx: { node: Node; topicId: string }) => MetadataCommand, Code, number][] = [
    [
      'initCluster with another id',
      ({ node }) => (
        node.ok({ type: 'initCluster', clusterId: 'c1' }),
        { type: 'initCluster', clusterId: 'c2' }
      ),
      'INCONSISTENT_CLUSTER_ID',
      104,
    ],
    ['initCluster empty', () => ({ type: 'initCluster', clusterId: '' }), 'INVALID_REQUEST', 42],
    [
      'registerBroker duplicate endpoint',
      () => ({ ...broker(7), host: 'host1', port: 9093 }),
      'DUPLICATE_BROKER_REGISTRATION',
      101,
    ],
    [
      'registerBroker same incarnation, other endpoint',
      () => ({ ...broker(1), host: 'elsewhere' }),
      'DUPLICATE_BROKER_REGISTRATION',
      101,
    ],
    ['registerBroker port 0', () => ({ ...broker(7), port: 0 }), 'INVALID_REQUEST', 42],
    ['registerBroker empty host', () => ({ ...broker(7), host: '' }), 'INVALID_REQUEST', 42],
    ['registerBroker empty rack', () => ({ ...broker(7), rack: '' }), 'INVALID_REQUEST', 42],
    [
      'unregisterBroker unknown',
      () => ({ type: 'unregisterBroker', brokerId: 42 }),
      'BROKER_ID_NOT_REGISTERED',
      102,
    ],
    [
      'fenceBroker unknown',
      () => ({ type: 'fenceBroker', brokerId: 42, brokerEpoch: -1, fenced: true }),
      'BROKER_ID_NOT_REGISTERED',
      102,
    ],
    [
      'fenceBroker stale epoch',
      () => ({ type: 'fenceBroker', brokerId: 1, brokerEpoch: 999, fenced: true }),
      'STALE_BROKER_EPOCH',
      77,
    ],
    [
      'createTopic reserved topic id',
      () => ({
        type: 'createTopic',
        name: 'n',
        topicId: '00000000-0000-0000-0000-000000000000',
        assignments: [[1]],
        configs: [],
        internal: false,
      }),
      'INVALID_REQUEST',
      42,
    ],
    [
      'createTopic reused topic id',
      ({ topicId }) => ({
        type: 'createTopic',
        name: 'n',
        topicId,
        assignments: [[1]],
        configs: [],
        internal: false,
      }),
      'INVALID_REQUEST',
      42,
    ],
    [
      'createTopic internal flag on a user topic',
      ({ node }) => ({
        type: 'createTopic',
        name: 'n',
        topicId: node.newTopicId(),
        assignments: [[1]],
        configs: [],
        internal: true,
      }),
      'INVALID_REQUEST',
      42,
    ],
    [
      'createTopic no partitions',
      ({ node }) => ({
        type: 'createTopic',
        name: 'n',
        topicId: node.newTopicId(),
        assignments: [],
        configs: [],
        internal: false,
      }),
      'INVALID_PARTITIONS',
      37,
    ],
    [
      'deleteTopic unknown',
      ({ topicId }) => ({ type: 'deleteTopic', name: 'nope', topicId }),
      'UNKNOWN_TOPIC_OR_PARTITION',
      3,
    ],
    [
      'deleteTopic wrong id',
      ({ node }) => ({ type: 'deleteTopic', name: 'existing', topicId: node.newTopicId() }),
      'UNKNOWN_TOPIC_ID',
      100,
    ],
    [
      'createPartitions unknown topic',
      ({ topicId }) => ({
        type: 'createPartitions',
        name: 'nope',
        topicId,
        expectedCurrentCount: 3,
        assignments: [[1, 2]],
      }),
      'UNKNOWN_TOPIC_OR_PARTITION',
      3,
    ],
    [
      'createPartitions stale count',
      ({ topicId }) => ({
        type: 'createPartitions',
        name: 'existing',
        topicId,
        expectedCurrentCount: 2,
        assignments: [[1, 2]],
      }),
      'INVALID_PARTITIONS',
      37,
    ],
    [
      'createPartitions nothing added',
      ({ topicId }) => ({
        type: 'createPartitions',
        name: 'existing',
        topicId,
        expectedCurrentCount: 3,
        assignments: [],
      }),
      'INVALID_PARTITIONS',
      37,
    ],
    [
      'createPartitions other replication factor',
      ({ topicId }) => ({
        type: 'createPartitions',
        name: 'existing',
        topicId,
        expectedCurrentCount: 3,
        assignments: [[1]],
      }),
      'INVALID_REPLICA_ASSIGNMENT',
      39,
    ],
    [
      'assignReplicas unknown topic id',
      ({ node }) => ({ type: 'assignReplicas', topicId: node.newTopicId(), partition: 0, replicas: [1] }),
      'UNKNOWN_TOPIC_ID',
      100,
    ],
    [
      'assignReplicas unknown partition',
      ({ topicId }) => ({ type: 'assignReplicas', topicId, partition: 3, replicas: [1] }),
      'UNKNOWN_TOPIC_OR_PARTITION',
      3,
    ],
    [
      'assignReplicas duplicate',
      ({ topicId }) => ({ type: 'assignReplicas', topicId, partition: 0, replicas: [2, 2] }),
      'INVALID_REPLICA_ASSIGNMENT',
      39,
    ],
    [
      'assignReplicas unregistered',
      ({ topicId }) => ({ type: 'assignReplicas', topicId, partition: 0, replicas: [1, 8] }),
      'INVALID_REPLICA_ASSIGNMENT',
      39,
    ],
    [
      'changeLeader stale epoch',
      ({ node, topicId }) => (node.ok(leader(node, topicId, 5)), { ...leader(node, topicId, 4) }),
      'FENCED_LEADER_EPOCH',
      74,
    ],
    [
      'changeLeader other leader in the same epoch',
      ({ node, topicId }) => (
        node.ok(leader(node, topicId, 5)),
        { ...leader(node, topicId, 5), leader: otherReplica(node) }
      ),
      'FENCED_LEADER_EPOCH',
      74,
    ],
    [
      'changeLeader not a replica',
      ({ node, topicId }) => ({
        ...leader(node, topicId, 1),
        leader: nonReplica(node),
        isr: [nonReplica(node)],
      }),
      'INELIGIBLE_REPLICA',
      107,
    ],
    [
      'changeLeader leader outside ISR',
      ({ node, topicId }) => ({ ...leader(node, topicId, 1), isr: [otherReplica(node)] }),
      'INVALID_REQUEST',
      42,
    ],
    [
      'changeIsr older epoch',
      ({ node, topicId }) => (
        node.ok(leader(node, topicId, 5)),
        { type: 'changeIsr', topicId, partition: 0, leaderEpoch: 4, isr: [firstReplica(node)] }
      ),
      'FENCED_LEADER_EPOCH',
      74,
    ],
    [
      'changeIsr newer epoch',
      ({ node, topicId }) => (
        node.ok(leader(node, topicId, 5)),
        { type: 'changeIsr', topicId, partition: 0, leaderEpoch: 6, isr: [firstReplica(node)] }
      ),
      'UNKNOWN_LEADER_EPOCH',
      75,
    ],
    [
      'changeIsr member not a replica',
      ({ node, topicId }) => (
        node.ok(leader(node, topicId, 5)),
        {
          type: 'changeIsr',
          topicId,
          partition: 0,
          leaderEpoch: 5,
          isr: [firstReplica(node), nonReplica(node)],
        }
      ),
      'INELIGIBLE_REPLICA',
      107,
    ],
    [
      'alterTopicConfigs unknown topic',
      ({ topicId }) => ({
        type: 'alterTopicConfigs',
        name: 'nope',
        topicId,
        alterations: [],
        replace: false,
      }),
      'UNKNOWN_TOPIC_OR_PARTITION',
      3,
    ],
    [
      'alterTopicConfigs bad value',
      ({ topicId }) => ({
        type: 'alterTopicConfigs',
        name: 'existing',
        topicId,
        alterations: [{ name: 'retention.ms', op: AlterConfigOp.SET, value: 'x' }],
        replace: false,
      }),
      'INVALID_CONFIG',
      40,
    ],
    [
      'alterTopicConfigs APPEND to a non-list',
      ({ topicId }) => ({
        type: 'alterTopicConfigs',
        name: 'existing',
        topicId,
        alterations: [{ name: 'retention.ms', op: AlterConfigOp.APPEND, value: '1' }],
        replace: false,
      }),
      'INVALID_CONFIG',
      40,
    ],
    [
      'alterTopicConfigs replace with DELETE',
      ({ topicId }) => ({
        type: 'alterTopicConfigs',
        name: 'existing',
        topicId,
        alterations: [{ name: 'retention.ms', op: AlterConfigOp.DELETE, value: null }],
        replace: true,
      }),
      'INVALID_REQUEST',
      42,
    ],
    [
      'alterBrokerConfigs unknown key',
      () => ({
        type: 'alterBrokerConfigs',
        brokerId: 1,
        alterations: [{ name: 'broker.id', op: AlterConfigOp.SET, value: '2' }],
        replace: false,
      }),
      'INVALID_CONFIG',
      40,
    ],
    [
      'alterBrokerConfigs bad value',
      () => ({
        type: 'alterBrokerConfigs',
        brokerId: null,
        alterations: [{ name: 'log.retention.ms', op: AlterConfigOp.SET, value: '-5' }],
        replace: false,
      }),
      'INVALID_CONFIG',
      40,
    ],
    [
      'allocateProducerIds unknown broker',
      () => ({ type: 'allocateProducerIds', brokerId: 9, brokerEpoch: -1, count: 1000 }),
      'BROKER_ID_NOT_REGISTERED',
      102,
    ],
    [
      'allocateProducerIds stale epoch',
      () => ({ type: 'allocateProducerIds', brokerId: 1, brokerEpoch: 12345, count: 1000 }),
      'STALE_BROKER_EPOCH',
      77,
    ],
  ];

  function firstReplica(node: Node): number {
    return node.sm.partition('existing', 0)?.replicas[0] as number;
  }
  function otherReplica(node: Node): number {
    return node.sm.partition('existing', 0)?.replicas[1] as number;
  }
  function nonReplica(node: Node): number {
    const replicas = node.sm.partition('existing', 0)?.replicas ?? [];
    return [1, 2, 3].find((b) => !replicas.includes(b)) as number;
  }
  function leader(node: Node, topicId: string, epoch: number): MetadataCommand {
    return {
      type: 'changeLeader',
      topicId,
      partition: 0,
      leader: firstReplica(node),
      leaderEpoch: epoch,
      isr: [firstReplica(node)],
    };
  }

  test.each(cases)('%s', (_label, make, code, n) => {
    const ctx = cluster();
    const command = make(ctx);
    const before = stateOf(ctx.node.sm);
    const changes: unknown[] = [];
    ctx.node.sm.subscribe(ctx.node.sm.appliedIndex, (e) => changes.push(e));
    const result = ctx.node.apply(command);
    expectError(result.ok ? undefined : result.error, code, n);
    // Rejected: nothing but the applied index changed, and no change event was published.
    expect(changes).toEqual([]);
    expect(stateOf(ctx.node.sm)).toEqual(before);
  });
});

describe('other prepare functions', () => {
  test('delete, create partitions and alter configs', () => {
    const { node } = cluster();
    const err = (r: { ok: boolean; error?: MetadataError }): string | undefined =>
      r.ok ? undefined : r.error?.code;
    expect(err(prepareDeleteTopic(node.sm, { name: 'nope' }))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(err(prepareDeleteTopic(node.sm, { topicId: node.newTopicId() }))).toBe('UNKNOWN_TOPIC_ID');
    expect(err(prepareCreatePartitions(node.sm, { name: 'existing', count: 3 }))).toBe('INVALID_PARTITIONS');
    expect(err(prepareCreatePartitions(node.sm, { name: 'existing', count: 2 }))).toBe('INVALID_PARTITIONS');
    expect(err(prepareCreatePartitions(node.sm, { name: 'nope', count: 5 }))).toBe(
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
    expect(err(prepareCreatePartitions(node.sm, { name: 'existing', count: 5, assignments: [[1, 2]] }))).toBe(
      'INVALID_REPLICA_ASSIGNMENT',
    );
    expect(err(prepareCreatePartitions(node.sm, { name: 'existing', count: 4, assignments: [[1, 1]] }))).toBe(
      'INVALID_REPLICA_ASSIGNMENT',
    );
    expect(err(prepareAlterTopicConfigs(node.sm, { name: 'nope', alterations: [], replace: false }))).toBe(
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
    expect(
      err(
        prepareAlterTopicConfigs(node.sm, {
          name: 'existing',
          alterations: [{ name: 'foo', op: AlterConfigOp.SET, value: '1' }],
          replace: false,
        }),
      ),
    ).toBe('INVALID_CONFIG');
    expect(
      err(
        prepareAlterBrokerConfigs(node.sm, {
          brokerId: 1,
          alterations: [{ name: 'log.retention.ms', op: AlterConfigOp.SET, value: 'x' }],
          replace: false,
        }),
      ),
    ).toBe('INVALID_CONFIG');

    node.ok(unwrap(prepareCreatePartitions(node.sm, { name: 'existing', count: 5 })));
    expect(node.sm.topic('existing')?.partitions.length).toBe(5);
    expect(
      node.sm
        .topic('existing')
        ?.partitions.every((p) => p.replicas.length === 2 && new Set(p.replicas).size === 2),
    ).toBe(true);
    node.ok(unwrap(prepareDeleteTopic(node.sm, { name: 'existing' })));
    expect(node.sm.topic('existing')).toBeUndefined();
    // after deletion, the colliding name of a deleted topic is free again
    node.ok(unwrap(prepareDeleteTopic(node.sm, { name: 'a.b' })));
    node.createTopic('a_b', 1, 1);
  });
});

function unwrap<C>(r: { ok: true; command: C } | { ok: false; error: MetadataError }): C {
  if (!r.ok) throw r.error;
  return r.command;
}
