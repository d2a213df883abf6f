/**
 * Property tests of the replicated state machine: applying the same log gives the same state and
 * byte-identical snapshots; snapshot → restore → continue equals continuing without the snapshot;
 * rejected commands and retries (a request id applied again) change nothing.
 */
import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';
import { AlterConfigOp, MetadataStateMachine, encodeCommand } from '@chronik/metadata';
import type { AlterConfigOp as Op, MetadataChange, MetadataCommand } from '@chronik/metadata';
import { broker, stateOf, topicIds } from './helpers.js';

const ids = topicIds(100);
const TOPIC_IDS = Array.from({ length: 5 }, () => ids());
const NAMES = ['a', 'b', 'a.b', 'a_b', '__consumer_offsets', '', 'bad/name', 'c'];
const BROKERS = [1, 2, 3, 4, 5];
const KEYS = [
  'retention.ms',
  'cleanup.policy',
  'segment.bytes',
  'min.insync.replicas',
  'compression.type',
  'unknown.key',
];
const VALUES = ['1000', '-1', 'compact', 'delete', 'compact,delete', 'gzip', 'x', '0', '2'];
const BROKER_KEYS = ['log.retention.ms', 'log.cleanup.policy', 'message.max.bytes', 'broker.id'];

const brokerId = fc.constantFrom(...BROKERS);
const anyTopicId = fc.constantFrom(...TOPIC_IDS);
/** Partition-level commands mostly address the setup topic `a`. */
const topicId = fc.oneof(
  { weight: 3, arbitrary: fc.constant(TOPIC_IDS[0] as string) },
  { weight: 1, arbitrary: anyTopicId },
);
const replicaList = fc.oneof(
  { weight: 3, arbitrary: fc.shuffledSubarray([1, 2, 3], { minLength: 1, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...BROKERS, 9), { minLength: 0, maxLength: 4 }) },
);
/** Mostly a (name, id) pair that belongs together, so topic commands often find their topic. */
const PAIRS: [string, string][] = [
  ['a', TOPIC_IDS[0] as string],
  ['b', TOPIC_IDS[1] as string],
  ['a.b', TOPIC_IDS[2] as string],
  ['c', TOPIC_IDS[3] as string],
];
const namedTopic = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PAIRS).map(([n, id]) => ({ name: n, topicId: id })) },
  { weight: 1, arbitrary: fc.record({ name: fc.constantFrom(...NAMES), topicId: anyTopicId }) },
);
const assignmentsArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.nat(2))
      .map(([n, rf, s]) =>
        Array.from({ length: n }, (_, p) => Array.from({ length: rf }, (_, j) => 1 + ((s + p + j) % 3))),
      ),
  },
  { weight: 1, arbitrary: fc.array(replicaList, { minLength: 0, maxLength: 4 }) },
);
const randomAlteration = fc.record({
  name: fc.constantFrom(...KEYS, ...BROKER_KEYS),
  op: fc.constantFrom<Op>(
    AlterConfigOp.SET,
    AlterConfigOp.DELETE,
    AlterConfigOp.APPEND,
    AlterConfigOp.SUBTRACT,
  ),
  value: fc.option(fc.constantFrom(...VALUES), { nil: null }),
});
const alterationOf = (pairs: [string, string][]) =>
  fc.array(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.constantFrom(...pairs), fc.constantFrom<Op>(AlterConfigOp.SET, AlterConfigOp.DELETE))
          .map(([[name, value], op]) => ({ name, op, value })),
      },
      { weight: 1, arbitrary: randomAlteration },
    ),
    { minLength: 1, maxLength: 2 },
  );
const topicAlterations = alterationOf([
  ['retention.ms', '1000'],
  ['cleanup.policy', 'compact'],
  ['min.insync.replicas', '2'],
  ['compression.type', 'gzip'],
]);
const brokerAlterations = alterationOf([
  ['log.retention.ms', '1000'],
  ['log.cleanup.policy', 'compact,delete'],
  ['message.max.bytes', '2'],
]);

const commandArb: Arbitrary<MetadataCommand> = fc.oneof(
  fc.record({ type: fc.constant('initCluster' as const), clusterId: fc.constantFrom('c1', 'c2', '') }),
  fc
    .tuple(brokerId, fc.constantFrom('r1', 'r2', null), fc.constantFrom('i1', 'i2'))
    .map(([id, rack, inc]) => broker(id, rack, inc)),
  fc.tuple(brokerId, brokerId).map(([id, other]) => ({
    ...broker(id),
    host: `host${other}`,
    port: 9092 + other,
    incarnation: 'moved',
  })),
  fc.record({ type: fc.constant('unregisterBroker' as const), brokerId }),
  fc.record({
    type: fc.constant('fenceBroker' as const),
    brokerId,
    brokerEpoch: fc.constantFrom(-1, 1, 2, 3),
    fenced: fc.boolean(),
  }),
  fc
    .record({
      type: fc.constant('createTopic' as const),
      topic: namedTopic,
      assignments: assignmentsArb,
      configs: fc.array(fc.record({ name: fc.constantFrom(...KEYS), value: fc.constantFrom(...VALUES) }), {
        maxLength: 2,
      }),
      internal: fc.oneof(
        { weight: 5, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    })
    .map(({ topic, ...rest }) => ({ ...rest, ...topic })),
  namedTopic.map((t) => ({ type: 'deleteTopic' as const, ...t })),
  fc
    .record({ topic: namedTopic, expectedCurrentCount: fc.nat(4), assignments: assignmentsArb })
    .map(({ topic, ...rest }) => ({ type: 'createPartitions' as const, ...topic, ...rest })),
  fc.record({
    type: fc.constant('assignReplicas' as const),
    topicId,
    partition: fc.nat(4),
    replicas: replicaList,
  }),
  fc
    .record({
      topicId,
      partition: fc.nat(3),
      leader: fc.constantFrom(-1, ...BROKERS),
      leaderEpoch: fc.nat(3),
      isr: replicaList,
      leaderOnly: fc.boolean(),
    })
    .map(({ leaderOnly, ...c }) => ({
      type: 'changeLeader' as const,
      ...c,
      isr: leaderOnly && c.leader !== -1 ? [c.leader] : c.isr,
    })),
  fc.record({
    type: fc.constant('changeIsr' as const),
    topicId,
    partition: fc.nat(2),
    leaderEpoch: fc.nat(3),
    isr: fc.shuffledSubarray([1, 2, 3], { minLength: 1 }),
  }),
  fc
    .record({ topic: namedTopic, alterations: topicAlterations, replace: fc.boolean() })
    .map(({ topic, ...rest }) => ({ type: 'alterTopicConfigs' as const, ...topic, ...rest })),
  fc.record({
    type: fc.constant('alterBrokerConfigs' as const),
    brokerId: fc.option(brokerId, { nil: null }),
    alterations: brokerAlterations,
    replace: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('allocateProducerIds' as const),
    brokerId,
    brokerEpoch: fc.constantFrom(-1, 1, 2),
    count: fc.integer({ min: 1, max: 5000 }),
  }),
  fc.record({
    type: fc.constant('replicaRepair' as const),
    topicId,
    partition: fc.nat(3),
    brokerId,
    phase: fc.constantFrom('requested' as const, 'rebuilding' as const, 'done' as const),
    requestIndex: fc.constantFrom(-1, -1, 5, 6, 7, 8, 9, 10),
  }),
  fc.record({
    type: fc.constant('alterReassignment' as const),
    topicId,
    partition: fc.nat(3),
    replicas: fc.option(fc.shuffledSubarray([1, 2, 3, 4], { minLength: 1 }), { nil: null }),
  }),
  fc.record({
    type: fc.constant('addNode' as const),
    nodeId: fc.constantFrom(4, 5),
    raftAddress: fc.constantFrom('h4:1', 'h5:1'),
    clusterId: fc.constant(''),
    directoryId: fc.constantFrom('d1', 'd2'),
  }),
  fc.record({ type: fc.constant('removeNode' as const), nodeId: fc.constantFrom(1, 2, 3, 4, 5) }),
  fc.record({
    type: fc.constant('membershipDone' as const),
    nodeId: fc.constantFrom(3, 4, 5),
    requestIndex: fc.constantFrom(5, 6, 7, 8, 9, 10, 11, 12),
    refused: fc.constantFrom(null, 'would lose quorum'),
  }),
  fc.record({
    type: fc.constant('completeReassignment' as const),
    topicId,
    partition: fc.nat(3),
    replicas: fc.shuffledSubarray([1, 2, 3, 4], { minLength: 1 }),
  }),
);

/** A leader report followed by an ISR change in the same epoch (as a partition leader would send). */
const leaderThenIsr: Arbitrary<MetadataCommand[]> = fc
  .record({
    partition: fc.nat(2),
    leader: fc.constantFrom(1, 2, 3),
    leaderEpoch: fc.nat(6),
    isr: fc.shuffledSubarray([1, 2, 3], { minLength: 1 }),
  })
  .map(({ partition, leader, leaderEpoch, isr }) => [
    { type: 'changeLeader', topicId: TOPIC_IDS[0] as string, partition, leader, leaderEpoch, isr: [leader] },
    {
      type: 'changeIsr',
      topicId: TOPIC_IDS[0] as string,
      partition,
      leaderEpoch,
      isr: [...new Set([leader, ...isr])],
    },
  ]);

/** A reassignment started and completed (as a partition leader would report it). */
const reassignThenComplete: Arbitrary<MetadataCommand[]> = fc
  .record({ partition: fc.nat(2), replicas: fc.shuffledSubarray([1, 2, 3], { minLength: 1 }) })
  .map(({ partition, replicas }) => [
    { type: 'alterReassignment', topicId: TOPIC_IDS[0] as string, partition, replicas },
    { type: 'completeReassignment', topicId: TOPIC_IDS[0] as string, partition, replicas },
  ]);

const entryArb: Arbitrary<MetadataCommand[]> = fc.oneof(
  { weight: 12, arbitrary: commandArb.map((c) => [c]) },
  { weight: 1, arbitrary: leaderThenIsr },
  { weight: 1, arbitrary: reassignThenComplete },
);

/** Setup that makes many commands valid: brokers 1-3 and topic `a` on TOPIC_IDS[0]. */
const SETUP: MetadataCommand[] = [
  broker(1, 'r1'),
  broker(2, 'r2'),
  broker(3, 'r1'),
  {
    type: 'createTopic',
    name: 'a',
    topicId: TOPIC_IDS[0] as string,
    assignments: [
      [1, 2],
      [2, 3],
      [3, 1],
    ],
    configs: [],
    internal: false,
  },
];

/**
 * A log: commands with strictly increasing indexes and occasional gaps and no-op entries. About
 * half carry a request id, and now and then an earlier entry with an id comes again, byte for byte
 * (a proposal retried after its answer was lost).
 */
const logArb = fc
  .array(
    fc.tuple(
      entryArb,
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      fc.boolean(),
      fc.option(fc.nat(), { nil: undefined }),
    ),
    { minLength: 1, maxLength: 30 },
  )
  .map((entries) => {
    let index = 0;
    let requests = 0;
    const log: { index: number; data: Uint8Array }[] = [];
    const withIds: Uint8Array[] = [];
    for (const command of SETUP) log.push({ index: ++index, data: encodeCommand(command) });
    for (const [commands, gap, noop, withId, retry] of entries) {
      index += gap;
      if (noop && gap === 3) log.push({ index, data: new Uint8Array(0) });
      for (const command of commands) {
        const data = encodeCommand(command, withId ? { requestId: `q${requests++}` } : {});
        if (withId) withIds.push(data);
        log.push({ index: ++index, data });
      }
      if (retry !== undefined && withIds.length > 0)
        log.push({ index: ++index, data: withIds[retry % withIds.length] as Uint8Array });
    }
    return log;
  });

function outcome(sm: MetadataStateMachine, entry: { index: number; data: Uint8Array }): string {
  const r = sm.apply(entry.index, entry.data);
  const retry = r.retryOf === undefined ? '' : `@${r.retryOf}`;
  return (r.ok ? `ok:${r.changes.length}` : r.error.code) + retry;
}

/** `METADATA_PROPERTY_RUNS_FACTOR=50 pnpm test:soak` runs the properties much longer. */
const factor = Math.max(1, Number(process.env['METADATA_PROPERTY_RUNS_FACTOR'] ?? '1'));
const runs = (n: number): number => Math.round(n * factor);

describe('determinism', () => {
  test('property: two instances applying the same log reach identical states and byte-identical snapshots', () => {
    fc.assert(
      fc.property(logArb, (log) => {
        const a = new MetadataStateMachine();
        const b = new MetadataStateMachine();
        const outcomesA = log.map((e) => outcome(a, e));
        const outcomesB = log.map((e) => outcome(b, e));
        expect(outcomesB).toEqual(outcomesA);
        expect(Buffer.from(b.snapshot()).equals(Buffer.from(a.snapshot()))).toBe(true);
        expect(stateOf(b)).toEqual(stateOf(a));
      }),
      { numRuns: runs(150) },
    );
  });

  test('the generated logs exercise every command type, accepted and rejected, and retries of both', () => {
    const accepted = new Set<string>();
    const rejected = new Set<string>();
    const retried = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(logArb, (log) => {
        const sm = new MetadataStateMachine();
        for (const entry of log) {
          const r = sm.apply(entry.index, entry.data);
          if (r.command === null) continue;
          if (r.retryOf !== undefined) retried[r.ok ? 'ok' : 'rejected']++;
          else (r.ok && r.changes.length > 0 ? accepted : rejected).add(r.command.type);
        }
      }),
      { numRuns: 2000, seed: 42 },
    );
    expect(retried.ok).toBeGreaterThan(0);
    expect(retried.rejected).toBeGreaterThan(0);
    const all = [
      'initCluster',
      'registerBroker',
      'unregisterBroker',
      'fenceBroker',
      'createTopic',
      'deleteTopic',
      'createPartitions',
      'assignReplicas',
      'changeLeader',
      'changeIsr',
      'alterTopicConfigs',
      'alterBrokerConfigs',
      'allocateProducerIds',
      'replicaRepair',
      'alterReassignment',
      'completeReassignment',
      'addNode',
      'removeNode',
      'membershipDone',
    ];
    expect([...accepted].sort()).toEqual([...all].sort());
    expect([...rejected].sort()).toEqual([...all].sort());
  });

  test('property: a rejected or retried command changes nothing but the applied index and publishes nothing', () => {
    fc.assert(
      fc.property(logArb, (log) => {
        const sm = new MetadataStateMachine();
        const published: MetadataChange[] = [];
        sm.subscribe(0, (e) => {
          if (e.type === 'changes') published.push(...e.changes);
        });
        for (const entry of log) {
          const before = stateOf(sm);
          const count = published.length;
          const r = sm.apply(entry.index, entry.data);
          expect(sm.appliedIndex).toBe(entry.index);
          if (!r.ok || r.changes.length === 0 || r.retryOf !== undefined) {
            expect(stateOf(sm)).toEqual(before);
            expect(published.length).toBe(count);
          } else {
            expect(published.slice(count)).toEqual(r.changes);
            expect(r.changes.every((c) => c.index === entry.index)).toBe(true);
          }
        }
      }),
      { numRuns: runs(100) },
    );
  });

  test('property: snapshot → restore → continue equals continuing without the snapshot', () => {
    fc.assert(
      fc.property(logArb, fc.nat(), (log, cutSeed) => {
        const cut = cutSeed % (log.length + 1);
        const straight = new MetadataStateMachine();
        const straightOutcomes = log.map((e) => outcome(straight, e));

        const first = new MetadataStateMachine();
        const firstOutcomes = log.slice(0, cut).map((e) => outcome(first, e));
        const restored = MetadataStateMachine.fromSnapshot(first.snapshot());
        expect(restored.appliedIndex).toBe(first.appliedIndex);
        expect(Buffer.from(restored.snapshot()).equals(Buffer.from(first.snapshot()))).toBe(true);
        const restOutcomes = log.slice(cut).map((e) => outcome(restored, e));

        expect([...firstOutcomes, ...restOutcomes]).toEqual(straightOutcomes);
        expect(Buffer.from(restored.snapshot()).equals(Buffer.from(straight.snapshot()))).toBe(true);
        expect(stateOf(restored)).toEqual(stateOf(straight));
      }),
      { numRuns: runs(100) },
    );
  });

  test('property: the order in which independent topics were created does not change the snapshot', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2, 3, 4], { minLength: 5, maxLength: 5 }), (order) => {
        const build = (sequence: number[]): Uint8Array => {
          const sm = new MetadataStateMachine();
          let index = 0;
          for (const command of SETUP.slice(0, 3)) sm.applyCommand(++index, command);
          for (const i of sequence) {
            sm.applyCommand(++index, {
              type: 'createTopic',
              name: `t${i}`,
              topicId: TOPIC_IDS[i] as string,
              assignments: [[1 + (i % 3)]],
              configs: [
                { name: 'retention.ms', value: String(i) },
                { name: 'cleanup.policy', value: 'compact' },
              ],
              internal: false,
            });
          }
          for (const b of sequence) {
            sm.applyCommand(++index, {
              type: 'alterBrokerConfigs',
              brokerId: b,
              alterations: [{ name: 'log.retention.ms', op: AlterConfigOp.SET, value: '5' }],
              replace: false,
            });
          }
          return sm.snapshot();
        };
        expect(Buffer.from(build(order)).equals(Buffer.from(build([0, 1, 2, 3, 4])))).toBe(true);
      }),
      { numRuns: runs(60) },
    );
  });
});
