import {
  AlterConfigOp,
  clusterIdFromBytes,
  ConfigSource,
  ConfigType,
  MetadataStateMachine,
  SNAPSHOT_FORMAT_VERSION,
  coordinatorPartition,
  encodeCommand,
  findCoordinator,
  isValidTopicId,
  javaStringHashCode,
  prepareConsumerOffsetsTopic,
  prepareDeleteTopic,
  prepareTransactionStateTopic,
  prepareCreateTopic,
  topicIdFromBytes,
  topicIdToBytes,
} from '@chronik/metadata';
import type { FeedEvent, MetadataChange } from '@chronik/metadata';
import { pack, unpack } from 'msgpackr';
import { Node, broker, stateOf } from './helpers.js';

describe('apply', () => {
  test('indexes must increase; gaps and empty no-op entries are allowed', () => {
    const sm = new MetadataStateMachine();
    expect(sm.apply(3, new Uint8Array(0))).toEqual({ ok: true, index: 3, command: null, changes: [] });
    expect(sm.appliedIndex).toBe(3);
    expect(() => sm.apply(3, encodeCommand(broker(1)))).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_SERVER_ERROR' }),
    );
    expect(() => sm.apply(2, encodeCommand(broker(1)))).toThrow();
    expect(sm.apply(7, encodeCommand(broker(1))).ok).toBe(true);
    expect(sm.appliedIndex).toBe(7);
  });

  test('malformed bytes are a rejected entry: the index advances, nothing else changes', () => {
    const sm = new MetadataStateMachine();
    const r = sm.apply(1, new Uint8Array([1, 2, 3]));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('INVALID_REQUEST');
    expect(sm.appliedIndex).toBe(1);
    expect(sm.brokers()).toEqual([]);
  });

  test('a command from newer code throws UNSUPPORTED_VERSION and is not applied', () => {
    const sm = new MetadataStateMachine();
    expect(() => sm.apply(1, pack({ t: 'registerBroker', v: 99 }))).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_VERSION', errorCode: 35 }),
    );
    expect(sm.appliedIndex).toBe(0);
  });

  test('broker lifecycle: registration epochs, retries, re-registration, fencing, unregistration', () => {
    const n = new Node();
    const first = n.ok(broker(1));
    expect(first.ok && first.changes[0]).toMatchObject({
      type: 'brokerRegistered',
      broker: { brokerId: 1, brokerEpoch: 1, fenced: false },
    });
    // The same incarnation again is a retry: no change, epoch kept.
    expect(n.ok(broker(1)).ok && n.sm.broker(1)?.brokerEpoch).toBe(1);
    // A new incarnation (restart) gets a new epoch.
    n.ok({ ...broker(1), incarnation: 'second-run' });
    expect(n.sm.broker(1)?.brokerEpoch).toBe(3);
    n.ok(broker(2));
    n.ok({ type: 'fenceBroker', brokerId: 2, brokerEpoch: 4, fenced: true });
    expect(n.sm.liveBrokers().map((b) => b.brokerId)).toEqual([1]);
    expect(n.sm.brokers().map((b) => b.brokerId)).toEqual([1, 2]);
    // Fenced brokers get no replicas: RF 2 is impossible now.
    const prepared = prepareCreateTopic(
      n.sm,
      { name: 't', numPartitions: 1, replicationFactor: 2 },
      { defaultPartitions: 1, defaultReplicationFactor: 1, newTopicId: n.newTopicId },
    );
    expect(!prepared.ok && prepared.error.code).toBe('INVALID_REPLICATION_FACTOR');
    n.ok({ type: 'fenceBroker', brokerId: 2, brokerEpoch: -1, fenced: false });
    n.ok({ type: 'unregisterBroker', brokerId: 2 });
    expect(n.sm.broker(2)).toBeUndefined();
  });

  test('leader and ISR reports', () => {
    const n = new Node();
    n.registerBrokers([1, 2, 3]);
    const { topicId } = n.createTopic('t', 2, 3);
    const p0 = n.sm.partition('t', 0);
    expect(p0).toMatchObject({ leader: -1, leaderEpoch: -1, isr: [1, 2, 3], partitionEpoch: 0 });
    const leader = p0?.replicas[0] as number;
    const r = n.ok({ type: 'changeLeader', topicId, partition: 0, leader, leaderEpoch: 1, isr: [3, leader] });
    expect(n.sm.partition('t', 0)).toMatchObject({
      leader,
      leaderEpoch: 1,
      isr: [...new Set([leader, 3])].sort(),
      partitionEpoch: 1,
    });
    expect(r.ok && r.changes[0]).toMatchObject({
      type: 'partitionChanged',
      reason: 'leader',
      name: 't',
      partition: { leader },
    });
    // Same report again: no change.
    expect(
      n.ok({ type: 'changeLeader', topicId, partition: 0, leader, leaderEpoch: 1, isr: [3, leader] }).ok &&
        n.sm.partition('t', 0)?.partitionEpoch,
    ).toBe(1);
    const isr = n.ok({ type: 'changeIsr', topicId, partition: 0, leaderEpoch: 1, isr: [1, 2, 3] });
    expect(isr.ok && isr.changes[0]).toMatchObject({ type: 'partitionChanged', reason: 'isr' });
    // A new term elects another replica.
    const other = p0?.replicas[1] as number;
    n.ok({ type: 'changeLeader', topicId, partition: 0, leader: other, leaderEpoch: 4, isr: [other] });
    expect(n.sm.partition('t', 0)).toMatchObject({ leader: other, leaderEpoch: 4, isr: [other] });
    // Reassignment away from the leader clears it until the group reports again.
    const moved = n.ok({
      type: 'assignReplicas',
      topicId,
      partition: 0,
      replicas: [leader, 3].filter((b, i, a) => a.indexOf(b) === i && b !== other),
    });
    expect(moved.ok && moved.changes[0]).toMatchObject({ type: 'partitionChanged', reason: 'replicas' });
    expect(n.sm.partition('t', 0)?.leader).toBe(-1);
    expect(n.sm.partition('t', 0)?.leaderEpoch).toBe(4);
  });

  test('unregistering a broker clears the leaderships it held, until the group reports again', () => {
    const n = new Node();
    n.registerBrokers([1, 2, 3]);
    const { topicId } = n.createTopic('t', 3, 2);
    const led = n.sm.topic('t')?.partitions.filter((p) => p.replicas.includes(2)) ?? [];
    for (const p of led)
      n.ok({ type: 'changeLeader', topicId, partition: p.partition, leader: 2, leaderEpoch: 3, isr: [2] });
    const r = n.ok({ type: 'unregisterBroker', brokerId: 2 });
    const changed = r.ok ? r.changes.filter((c) => c.type === 'partitionChanged') : [];
    expect(changed).toHaveLength(led.length);
    for (const p of led)
      expect(n.sm.partition('t', p.partition)).toMatchObject({ leader: -1, leaderEpoch: 3 });
    // Another replica elected in the same term can report it (no other leader is known for the term).
    const p = led[0]?.partition as number;
    const other = n.sm.partition('t', p)?.replicas.find((b) => b !== 2) as number;
    n.ok({ type: 'changeLeader', topicId, partition: p, leader: other, leaderEpoch: 3, isr: [other] });
    expect(n.sm.partition('t', p)?.leader).toBe(other);
  });

  test('producer id blocks are consecutive and never overlap', () => {
    const n = new Node();
    n.registerBrokers([1, 2]);
    const a = n.ok({ type: 'allocateProducerIds', brokerId: 1, brokerEpoch: 1, count: 1000 });
    const b = n.ok({ type: 'allocateProducerIds', brokerId: 2, brokerEpoch: -1, count: 10 });
    expect(a.ok && a.changes[0]).toMatchObject({
      type: 'producerIdsAllocated',
      block: { brokerId: 1, firstProducerId: 0, count: 1000 },
    });
    expect(b.ok && b.changes[0]).toMatchObject({ block: { brokerId: 2, firstProducerId: 1000, count: 10 } });
    expect(n.sm.nextProducerId()).toBe(1010);
    expect(n.apply({ type: 'allocateProducerIds', brokerId: 1, brokerEpoch: 1, count: 0 }).ok).toBe(false);
  });

  test('cluster id', () => {
    const n = new Node();
    expect(n.sm.clusterId()).toBeNull();
    n.ok({ type: 'initCluster', clusterId: 'abc' });
    expect(n.ok({ type: 'initCluster', clusterId: 'abc' }).ok).toBe(true);
    expect(n.sm.clusterId()).toBe('abc');
  });

  test('queries: topics sorted, by id, partitions; topics and partitions are frozen', () => {
    const n = new Node();
    n.registerBrokers([1]);
    const b = n.createTopic('b', 1, 1);
    n.createTopic('a', 2, 1);
    expect(n.sm.topics().map((t) => t.name)).toEqual(['a', 'b']);
    expect(n.sm.topicById(b.topicId)?.name).toBe('b');
    expect(n.sm.partition('a', 1)?.replicas).toEqual([1]);
    expect(n.sm.partition('a', 2)).toBeUndefined();
    expect(n.sm.totalPartitionCount()).toBe(3);
    expect(Object.isFrozen(n.sm.topic('a'))).toBe(true);
    expect(Object.isFrozen(n.sm.partition('a', 0)?.replicas)).toBe(true);
  });
});

describe('replica repair', () => {
  test('request, rebuilding, done: each phase answers the current request; stale ones are refused', () => {
    const n = new Node();
    n.registerBrokers([1, 2, 3]);
    const { topicId } = n.createTopic('t', 1, 3);
    const req = n.ok({
      type: 'replicaRepair',
      topicId,
      partition: 0,
      brokerId: 2,
      phase: 'requested',
      requestIndex: -1,
    });
    expect(req.ok && req.changes[0]).toMatchObject({ type: 'partitionChanged', reason: 'repair' });
    const first = n.index;
    expect(n.sm.partition('t', 0)?.repairs).toEqual([
      { brokerId: 2, phase: 'requested', requestIndex: first },
    ]);
    // A repeated request while one waits changes nothing (the node asks again after a restart).
    const again = n.ok({
      type: 'replicaRepair',
      topicId,
      partition: 0,
      brokerId: 2,
      phase: 'requested',
      requestIndex: -1,
    });
    expect(again.ok && again.changes).toEqual([]);
    expect(
      n.apply({
        type: 'replicaRepair',
        topicId,
        partition: 0,
        brokerId: 2,
        phase: 'rebuilding',
        requestIndex: first + 7,
      }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(
      n.apply({
        type: 'replicaRepair',
        topicId,
        partition: 0,
        brokerId: 2,
        phase: 'done',
        requestIndex: first,
      }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    n.ok({
      type: 'replicaRepair',
      topicId,
      partition: 0,
      brokerId: 2,
      phase: 'rebuilding',
      requestIndex: first,
    });
    expect(n.sm.partition('t', 0)?.repairs).toEqual([
      { brokerId: 2, phase: 'rebuilding', requestIndex: first },
    ]);
    // Damaged again while rebuilding: a new request starts over under its own index.
    n.ok({ type: 'replicaRepair', topicId, partition: 0, brokerId: 2, phase: 'requested', requestIndex: -1 });
    const second = n.index;
    expect(
      n.apply({
        type: 'replicaRepair',
        topicId,
        partition: 0,
        brokerId: 2,
        phase: 'rebuilding',
        requestIndex: first,
      }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    n.ok({
      type: 'replicaRepair',
      topicId,
      partition: 0,
      brokerId: 2,
      phase: 'rebuilding',
      requestIndex: second,
    });
    const epoch = n.sm.partition('t', 0)?.partitionEpoch as number;
    n.ok({ type: 'replicaRepair', topicId, partition: 0, brokerId: 2, phase: 'done', requestIndex: second });
    expect(n.sm.partition('t', 0)).toMatchObject({ repairs: [], partitionEpoch: epoch + 1 });
    expect(
      n.apply({
        type: 'replicaRepair',
        topicId,
        partition: 0,
        brokerId: 4,
        phase: 'requested',
        requestIndex: -1,
      }),
    ).toMatchObject({ ok: false, error: { code: 'INELIGIBLE_REPLICA' } });
  });

  test('repairs survive a snapshot (format 3) and go with a replica that leaves the partition', () => {
    const n = new Node();
    n.registerBrokers([1, 2, 3]);
    const { topicId } = n.createTopic('t', 2, 3);
    expect((unpack(Buffer.from(n.sm.snapshot())) as { format: number }).format).toBe(1);
    n.ok({ type: 'replicaRepair', topicId, partition: 1, brokerId: 3, phase: 'requested', requestIndex: -1 });
    n.ok({ type: 'replicaRepair', topicId, partition: 1, brokerId: 1, phase: 'requested', requestIndex: -1 });
    const bytes = n.sm.snapshot();
    expect((unpack(Buffer.from(bytes)) as { format: number }).format).toBe(3);
    const restored = MetadataStateMachine.fromSnapshot(bytes);
    expect(stateOf(restored)).toEqual(stateOf(n.sm));
    expect(restored.partition('t', 1)?.repairs.map((r) => r.brokerId)).toEqual([1, 3]);
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
    n.ok({ type: 'assignReplicas', topicId, partition: 1, replicas: [1, 2] });
    expect(n.sm.partition('t', 1)?.repairs.map((r) => r.brokerId)).toEqual([1]);
  });
});

describe('snapshot', () => {
  test('restore of corrupt bytes throws and keeps the state', () => {
    const n = new Node();
    n.registerBrokers([1, 2]);
    n.createTopic('t', 2, 2);
    const before = stateOf(n.sm);
    expect(() => n.sm.restore(new Uint8Array([0xc1, 0x00]))).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_SERVER_ERROR' }),
    );
    expect(() => n.sm.restore(pack({ format: SNAPSHOT_FORMAT_VERSION + 1 }))).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }),
    );
    expect(() =>
      n.sm.restore(
        pack({
          format: 1,
          appliedIndex: 1,
          clusterId: null,
          nextProducerId: 0,
          brokers: [],
          topics: [{ name: 'x' }],
          brokerConfigs: [],
        }),
      ),
    ).toThrow();
    expect(stateOf(n.sm)).toEqual(before);
  });

  test('a snapshot restores every part of the state', () => {
    const n = new Node();
    n.ok({ type: 'initCluster', clusterId: 'cid' });
    n.registerBrokers([1, 2, 3], ['r1', 'r2', null]);
    const t = n.createTopic('t', 3, 2, { configs: [{ name: 'retention.ms', value: '5' }] });
    n.ok({
      type: 'changeLeader',
      topicId: t.topicId,
      partition: 1,
      leader: t.assignments[1]?.[0] as number,
      leaderEpoch: 3,
      isr: [t.assignments[1]?.[0] as number],
    });
    n.ok({
      type: 'alterBrokerConfigs',
      brokerId: null,
      alterations: [{ name: 'log.retention.ms', op: AlterConfigOp.SET, value: '10' }],
      replace: false,
    });
    n.ok({
      type: 'alterBrokerConfigs',
      brokerId: 2,
      alterations: [{ name: 'min.insync.replicas', op: AlterConfigOp.SET, value: '2' }],
      replace: false,
    });
    n.ok({ type: 'allocateProducerIds', brokerId: 3, brokerEpoch: -1, count: 7 });
    n.ok({ type: 'fenceBroker', brokerId: 3, brokerEpoch: -1, fenced: true });
    const restored = MetadataStateMachine.fromSnapshot(n.sm.snapshot());
    expect(stateOf(restored)).toEqual(stateOf(n.sm));
    expect(restored.appliedIndex).toBe(n.sm.appliedIndex);
    expect(restored.topicById(t.topicId)?.name).toBe('t');
    expect(restored.collidingTopic('t')).toBeUndefined();
  });
});

describe('change feed', () => {
  function cluster(maxRetainedChanges = 100): Node {
    const n = new Node(new MetadataStateMachine({ maxRetainedChanges }));
    n.registerBrokers([1, 2, 3]);
    return n;
  }

  test('changesSince returns changes after an index, oldest first, and pages at entry boundaries', () => {
    const n = cluster();
    const t = n.createTopic('t', 2, 1);
    n.ok({ type: 'deleteTopic', name: 't', topicId: t.topicId });
    const all = n.sm.changesSince(0);
    expect(all.type).toBe('changes');
    const types = all.type === 'changes' ? all.changes.map((c) => c.type) : [];
    expect(types).toEqual([
      'brokerRegistered',
      'brokerRegistered',
      'brokerRegistered',
      'topicCreated',
      'topicDeleted',
    ]);
    expect(all.type === 'changes' && all.upToIndex).toBe(5);
    const after3 = n.sm.changesSince(3);
    expect(after3.type === 'changes' && after3.changes.map((c) => c.index)).toEqual([4, 5]);
    const page = n.sm.changesSince(0, 2);
    expect(page.type === 'changes' && page.changes.length).toBe(2);
    expect(page.type === 'changes' && page.upToIndex).toBe(2);
    expect(n.sm.changesSince(5)).toEqual({ type: 'changes', changes: [], upToIndex: 5 });
  });

  test('a reader behind the retention gets a resync signal', () => {
    const n = cluster(4);
    n.createTopic('a', 1, 1);
    n.createTopic('b', 1, 1);
    expect(n.sm.changesSince(0).type).toBe('resync');
    expect(n.sm.changesSince(1).type).toBe('changes');
    n.createTopic('c', 1, 1);
    expect(n.sm.changesSince(1)).toEqual({ type: 'resync', appliedIndex: 6 });
    const late: FeedEvent[] = [];
    n.sm.subscribe(0, (e) => late.push(e));
    expect(late).toEqual([{ type: 'resync', appliedIndex: 6 }]);
    const tail = n.sm.changesSince(2);
    expect(tail.type === 'changes' && tail.changes.map((c) => c.type)).toEqual([
      'brokerRegistered',
      'topicCreated',
      'topicCreated',
      'topicCreated',
    ]);
  });

  test('subscribe delivers the backlog, then each entry, then resync on restore; unsubscribe stops it', () => {
    const n = cluster();
    const events: FeedEvent[] = [];
    const stop = n.sm.subscribe(1, (e) => events.push(e));
    expect(events).toHaveLength(1);
    expect(events[0]?.type === 'changes' && events[0].changes.map((c: MetadataChange) => c.index)).toEqual([
      2, 3,
    ]);
    n.createTopic('t', 1, 1);
    expect(events[1]).toMatchObject({
      type: 'changes',
      upToIndex: 4,
      changes: [{ type: 'topicCreated', index: 4 }],
    });
    n.sm.restore(n.sm.snapshot());
    expect(events[2]).toEqual({ type: 'resync', appliedIndex: 4 });
    stop();
    n.createTopic('u', 1, 1);
    expect(events).toHaveLength(3);
  });

  test('a throwing listener is logged and does not break apply; subscribers are limited', () => {
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (msg: string) => void errors.push(msg) };
    const sm = new MetadataStateMachine({ logger, maxSubscribers: 2 });
    sm.subscribe(0, () => {
      throw new Error('boom');
    });
    expect(sm.applyCommand(1, broker(1)).ok).toBe(true);
    expect(errors).toEqual(['metadata change-feed listener threw']);
    sm.subscribe(0, () => {});
    expect(() => sm.subscribe(0, () => {})).toThrow(expect.objectContaining({ code: 'POLICY_VIOLATION' }));
  });
});

describe('configs', () => {
  function withTopic(): { n: Node; topicId: string } {
    const n = new Node();
    n.registerBrokers([1, 2]);
    const t = n.createTopic('t', 1, 1, { configs: [{ name: 'retention.ms', value: '1000' }] });
    return { n, topicId: t.topicId };
  }

  test('describe shows value and source at every level, with synonyms', () => {
    const { n } = withTopic();
    n.ok({
      type: 'alterBrokerConfigs',
      brokerId: 1,
      alterations: [{ name: 'log.segment.bytes', op: AlterConfigOp.SET, value: '2000' }],
      replace: false,
    });
    n.ok({
      type: 'alterBrokerConfigs',
      brokerId: null,
      alterations: [
        { name: 'log.segment.bytes', op: AlterConfigOp.SET, value: '3000' },
        { name: 'log.cleanup.policy', op: AlterConfigOp.SET, value: 'compact' },
      ],
      replace: false,
    });
    const entries = n.sm.describeTopicConfigs('t', {
      brokerId: 1,
      staticBrokerConfigs: { 'log.retention.ms': '7', 'min.insync.replicas': '2' },
      includeSynonyms: true,
    });
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('retention.ms')).toMatchObject({
      value: '1000',
      source: ConfigSource.DYNAMIC_TOPIC_CONFIG,
      isDefault: false,
      configType: ConfigType.LONG,
      synonyms: [
        { name: 'retention.ms', value: '1000', source: 1 },
        { name: 'log.retention.ms', value: '7', source: 4 },
        { name: 'log.retention.ms', value: '604800000', source: 5 },
      ],
    });
    expect(byName.get('segment.bytes')).toMatchObject({
      value: '2000',
      source: ConfigSource.DYNAMIC_BROKER_CONFIG,
    });
    expect(byName.get('cleanup.policy')).toMatchObject({
      value: 'compact',
      source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
      configType: ConfigType.LIST,
    });
    expect(byName.get('min.insync.replicas')).toMatchObject({
      value: '2',
      source: ConfigSource.STATIC_BROKER_CONFIG,
    });
    expect(byName.get('compression.type')).toMatchObject({
      value: 'producer',
      source: ConfigSource.DEFAULT_CONFIG,
      isDefault: true,
    });
    // Another broker does not see broker 1's override.
    expect(n.sm.describeTopicConfigs('t', { brokerId: 2, keys: ['segment.bytes'] })).toMatchObject([
      { value: '3000', source: 3, synonyms: [] },
    ]);
    expect(n.sm.effectiveTopicConfigs('t')['cleanup.policy']).toBe('compact');
    expect(() => n.sm.describeTopicConfigs('nope')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_TOPIC_OR_PARTITION', errorCode: 3 }),
    );
    const brokerEntries = n.sm.describeBrokerConfigs(1, { keys: ['log.segment.bytes', 'log.retention.ms'] });
    expect(brokerEntries).toMatchObject([
      { name: 'log.retention.ms', value: '604800000', source: 5 },
      { name: 'log.segment.bytes', value: '2000', source: 2 },
    ]);
  });

  test('incremental SET, DELETE, APPEND, SUBTRACT and legacy replace', () => {
    const { n, topicId } = withTopic();
    const alter = (
      alterations: { name: string; op: 0 | 1 | 2 | 3; value: string | null }[],
      replace = false,
    ) => n.ok({ type: 'alterTopicConfigs', name: 't', topicId, alterations, replace });
    alter([{ name: 'cleanup.policy', op: AlterConfigOp.APPEND, value: 'compact' }]);
    expect(n.sm.topic('t')?.configs['cleanup.policy']).toBe('delete,compact');
    alter([{ name: 'cleanup.policy', op: AlterConfigOp.SUBTRACT, value: 'delete' }]);
    expect(n.sm.topic('t')?.configs['cleanup.policy']).toBe('compact');
    expect(
      n.apply({
        type: 'alterTopicConfigs',
        name: 't',
        topicId,
        alterations: [{ name: 'cleanup.policy', op: AlterConfigOp.SUBTRACT, value: 'compact' }],
        replace: false,
      }).ok,
    ).toBe(false);
    alter([
      { name: 'retention.ms', op: AlterConfigOp.DELETE, value: null },
      { name: 'segment.ms', op: AlterConfigOp.SET, value: '100' },
    ]);
    expect(n.sm.topic('t')?.configs).toEqual({ 'cleanup.policy': 'compact', 'segment.ms': '100' });
    const r = alter([{ name: 'max.message.bytes', op: AlterConfigOp.SET, value: '5000' }], true);
    expect(n.sm.topic('t')?.configs).toEqual({ 'max.message.bytes': '5000' });
    expect(r.ok && r.changes[0]).toMatchObject({
      type: 'topicConfigChanged',
      configs: { 'max.message.bytes': '5000' },
    });
  });
});

describe('coordinator', () => {
  test("Java's String.hashCode", () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(javaStringHashCode('é')).toBe(233);
  });

  test('partition = abs(hash) % n with Utils.abs(MIN_VALUE) = 0', () => {
    expect(coordinatorPartition('polygenelubricants', 50)).toBe(0);
    expect(coordinatorPartition('hello', 50)).toBe(99162322 % 50);
    expect(coordinatorPartition('Aa', 7)).toBe(coordinatorPartition('BB', 7)); // same hash
    expect(() => coordinatorPartition('x', 0)).toThrow(RangeError);
  });

  test('findCoordinator before and after __consumer_offsets exists and has leaders', () => {
    const n = new Node();
    n.registerBrokers([1, 2, 3]);
    const missing = findCoordinator(n.sm, 'group-1', 'group', 10);
    expect(missing).toMatchObject({
      ok: false,
      topicExists: false,
      partition: coordinatorPartition('group-1', 10),
      error: { code: 'COORDINATOR_NOT_AVAILABLE', errorCode: 15 },
    });
    const prepared = prepareConsumerOffsetsTopic(n.sm, {
      partitionCount: 10,
      replicationFactor: 5,
      newTopicId: n.newTopicId,
    });
    if (!prepared.ok) throw prepared.error;
    expect(prepared.command.internal).toBe(true);
    expect(prepared.command.assignments.every((r) => r.length === 3)).toBe(true); // capped at the live brokers
    n.ok(prepared.command);
    expect(n.sm.topic('__consumer_offsets')?.configs['cleanup.policy']).toBe('compact');
    const noLeader = n.sm.findCoordinator('group-1', 'group', 50);
    expect(noLeader).toMatchObject({
      ok: false,
      topicExists: true,
      partition: coordinatorPartition('group-1', 10),
    });
    const p = coordinatorPartition('group-1', 10);
    const leader = prepared.command.assignments[p]?.[1] as number;
    n.ok({
      type: 'changeLeader',
      topicId: prepared.command.topicId,
      partition: p,
      leader,
      leaderEpoch: 1,
      isr: [leader],
    });
    expect(n.sm.findCoordinator('group-1', 'group', 50)).toMatchObject({
      ok: true,
      topic: '__consumer_offsets',
      partition: p,
      leaderId: leader,
      broker: { brokerId: leader },
    });
    expect(n.sm.findCoordinator('txn-1', 'transaction', 50)).toMatchObject({
      ok: false,
      topic: '__transaction_state',
      topicExists: false,
    });
    const txn = prepareTransactionStateTopic(n.sm, {
      partitionCount: 4,
      replicationFactor: 1,
      newTopicId: n.newTopicId,
    });
    if (!txn.ok) throw txn.error;
    n.ok(txn.command);
    expect(n.sm.topic('__transaction_state')).toMatchObject({
      internal: true,
      configs: { 'cleanup.policy': 'compact', 'compression.type': 'uncompressed' },
    });
    expect(n.sm.findCoordinator('txn-1', 'transaction', 50)).toMatchObject({
      ok: false,
      topicExists: true,
      partition: coordinatorPartition('txn-1', 4),
    });
    expect(prepareDeleteTopic(n.sm, { name: '__transaction_state' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    expect(prepareDeleteTopic(n.sm, { name: '__transaction_state' }, { allowInternal: true }).ok).toBe(true);
    // Clients may not create or delete it.
    const byClient = prepareCreateTopic(
      n.sm,
      { name: '__transaction_state', numPartitions: 1, replicationFactor: 1 },
      { defaultPartitions: 1, defaultReplicationFactor: 1, newTopicId: n.newTopicId },
    );
    expect(!byClient.ok && byClient.error.code).toBe('INVALID_REQUEST');
  });
});

describe('topic ids', () => {
  test('format and parse 16 bytes', () => {
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    const id = topicIdFromBytes(bytes);
    expect(id).toBe('00112233-4455-6677-8899-aabbccddeeff');
    expect(topicIdToBytes(id)).toEqual(bytes);
    expect(isValidTopicId(id)).toBe(true);
    expect(isValidTopicId('00000000-0000-0000-0000-000000000000')).toBe(false);
    expect(isValidTopicId('00000000-0000-0000-0000-000000000001')).toBe(false);
    expect(isValidTopicId('ABCDEF00-0000-0000-0000-000000000001')).toBe(false);
    expect(() => topicIdFromBytes(new Uint8Array(3))).toThrow();
    const clusterId = clusterIdFromBytes(bytes);
    expect(clusterId).toHaveLength(22);
    expect(Buffer.from(clusterId, 'base64url')).toEqual(Buffer.from(bytes));
  });
});
