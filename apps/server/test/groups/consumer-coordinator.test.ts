// The consumer group protocol (KIP-848) in the group coordinator, under a fake clock with an
// in-memory log: joins, reconciliation through revocations, leaves, sessions, rebalance timeouts,
// epochs and fencing, static members, topic changes, regex subscriptions, durability across a
// restart, the other protocol's requests, offsets by member epoch; and a random test of clients
// heartbeating, leaving and crashing with the coordinator restarting, in which no two members ever
// own one partition and the group settles with every partition owned.
import fc from 'fast-check';
import type { ConsumerGroupHeartbeatResult, GroupCoordinator } from '../../src/groups/index.js';
import { GroupError, GroupErrorCode, InMemoryOffsetLog } from '../../src/groups/index.js';
import type { ConsumerHarness } from './consumer-helpers.js';
import {
  FakeTopics,
  assignmentOf,
  consumerHarness,
  hbReq,
  joinHb,
  settle,
  takeConsumerViolations,
} from './consumer-helpers.js';
import { joinReq } from './helpers.js';

afterEach(() => {
  expect(takeConsumerViolations()).toEqual([]);
});

const G = 'cg';

async function hb(
  h: ConsumerHarness,
  ...args: Parameters<typeof hbReq>
): Promise<ConsumerGroupHeartbeatResult> {
  return h.coordinator.consumerGroupHeartbeat(hbReq(...args));
}

/** Heartbeat reporting `owned` (a full request, as clients send after a change). */
function owning(h: ConsumerHarness, memberId: string, epoch: number, owned: Map<string, number[]> | null) {
  return h.coordinator.consumerGroupHeartbeat(
    hbReq(G, memberId, epoch, {
      topicPartitions:
        owned === null ? [] : [...owned].map(([topicId, partitions]) => ({ topicId, partitions })),
    }),
  );
}

describe('joining and reconciling', () => {
  test('a first member gets every partition of its topics at epoch 1; the group is Stable', async () => {
    const h = await consumerHarness();
    const t = h.topics.create('orders', 3);
    h.topics.create('other', 2);
    const r = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'm1', ['orders', 'missing']));
    expect(r).toMatchObject({ errorCode: 'NONE', memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 1000 });
    expect(assignmentOf(r)).toEqual(new Map([[t, [0, 1, 2]]]));
    const d = h.coordinator.consumerGroupDescribe([G])[0];
    expect(d).toMatchObject({
      errorCode: 'NONE',
      state: 'Stable',
      groupEpoch: 1,
      assignmentEpoch: 1,
      assignorName: 'uniform',
    });
    expect(d?.members[0]).toMatchObject({
      memberId: 'm1',
      memberEpoch: 1,
      subscribedTopicNames: ['missing', 'orders'],
      assignment: [{ topicId: t, topicName: 'orders', partitions: [0, 1, 2] }],
    });
    // A heartbeat that changes nothing writes nothing and carries no assignment.
    const appends = h.log.appendCount;
    const again = await hb(h, G, 'm1', 1);
    expect(again).toMatchObject({ errorCode: 'NONE', memberEpoch: 1, assignment: null });
    expect(h.log.appendCount).toBe(appends);
  });

  test('a second member gets partitions only after the first revoked them', async () => {
    const h = await consumerHarness();
    const t = h.topics.create('orders', 4);
    const a1 = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['orders']));
    expect(assignmentOf(a1)).toEqual(new Map([[t, [0, 1, 2, 3]]]));
    const b1 = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'b', ['orders']));
    // b is at epoch 2 but everything it should get is still a's.
    expect(b1).toMatchObject({ memberEpoch: 2 });
    expect(assignmentOf(b1)).toEqual(new Map());
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.state).toBe('Reconciling');
    // a is told to keep two (revoking the others), staying at epoch 1.
    const a2 = await owning(h, 'a', 1, new Map([[t, [0, 1, 2, 3]]]));
    expect(a2.memberEpoch).toBe(1);
    const kept = assignmentOf(a2)?.get(t) ?? [];
    expect(kept).toHaveLength(2);
    // b still waits while a owns them.
    expect(assignmentOf(await owning(h, 'b', 2, new Map()))).toBeNull();
    const a3 = await owning(h, 'a', 1, new Map([[t, kept]]));
    expect(a3.memberEpoch).toBe(2);
    const b3 = await owning(h, 'b', 2, new Map());
    const given = assignmentOf(b3)?.get(t) ?? [];
    expect([...kept, ...given].sort()).toEqual([0, 1, 2, 3]);
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.state).toBe('Stable');
  });

  test('v0: the coordinator names the member; v1 needs the client to', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 1);
    const r = await h.coordinator.consumerGroupHeartbeat(joinHb(G, '', ['t'], { apiVersion: 0 }));
    expect(r).toMatchObject({ errorCode: 'NONE', memberId: 'generated-1', memberEpoch: 1 });
    const bad = await h.coordinator.consumerGroupHeartbeat(joinHb(G, '', ['t']));
    expect(bad).toMatchObject({ errorCode: 'INVALID_REQUEST', errorMessage: "MemberId can't be empty." });
  });

  test('a member leaving (-1) gives its partitions back; the last one leaves the group Empty', async () => {
    const h = await consumerHarness();
    const t = h.topics.create('t', 2);
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']));
    const b = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'b', ['t']));
    expect(assignmentOf(b)).toEqual(new Map());
    expect(await hb(h, G, 'a', -1)).toMatchObject({ errorCode: 'NONE', memberEpoch: -1 });
    const b2 = await owning(h, 'b', b.memberEpoch, new Map());
    expect(b2.memberEpoch).toBe(3);
    expect(assignmentOf(b2)).toEqual(new Map([[t, [0, 1]]]));
    await hb(h, G, 'b', -1);
    expect(h.coordinator.consumerGroupDescribe([G])[0]).toMatchObject({ state: 'Empty', members: [] });
    expect(h.coordinator.listGroups({ statesFilter: ['empty'], typesFilter: ['consumer'] }).groups).toEqual([
      { groupId: G, protocolType: 'consumer', state: 'Empty', groupType: 'consumer' },
    ]);
  });
});

describe('epochs and fencing', () => {
  test('a greater epoch, or a smaller one that is not the previous, is fenced; the previous one with owned ⊆ assigned is accepted', async () => {
    const h = await consumerHarness();
    const t = h.topics.create('t', 2);
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']));
    expect((await hb(h, G, 'a', 5)).errorCode).toBe('FENCED_MEMBER_EPOCH');
    h.topics.grow('t', 3);
    const bumped = await owning(h, 'a', 1, new Map([[t, [0, 1]]]));
    expect(bumped.memberEpoch).toBe(2);
    // The answer was lost: the member retries at epoch 1, owning what it had.
    const retried = await owning(h, 'a', 1, new Map([[t, [0, 1]]]));
    expect(retried).toMatchObject({ errorCode: 'NONE', memberEpoch: 2 });
    expect((await owning(h, 'a', 1, new Map([[t, [0, 1, 7]]]))).errorCode).toBe('FENCED_MEMBER_EPOCH');
    expect((await hb(h, G, 'a', 0 + 1 - 1 + 0)).errorCode).toBe('INVALID_REQUEST'); // epoch 0 needs a full join
    // A fenced member rejoins with epoch 0 and the same id.
    const rejoined = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']));
    expect(rejoined).toMatchObject({ errorCode: 'NONE', memberEpoch: 2 });
    expect(assignmentOf(rejoined)).toEqual(new Map([[t, [0, 1, 2]]]));
  });

  test('unknown members and groups', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 1);
    expect(await hb(h, 'nope', 'x', 3)).toMatchObject({
      errorCode: 'GROUP_ID_NOT_FOUND',
      errorMessage: 'Consumer group nope not found.',
    });
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']));
    expect((await hb(h, G, 'x', 1)).errorCode).toBe('UNKNOWN_MEMBER_ID');
    expect((await hb(h, G, 'x', -1)).errorCode).toBe('UNKNOWN_MEMBER_ID');
  });
});

describe('timeouts', () => {
  test('a member whose session expires is removed and its partitions go to the others', async () => {
    const h = await consumerHarness({ consumerSessionTimeoutMs: 10_000 });
    const t = h.topics.create('t', 2);
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']));
    const b = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'b', ['t']));
    // b keeps heartbeating; a goes silent.
    let epoch = b.memberEpoch;
    let owned = new Map<string, number[]>();
    for (let i = 0; i < 7; i++) {
      h.clock.advance(2000);
      await settle();
      const r = await owning(h, 'b', epoch, owned);
      epoch = r.memberEpoch;
      owned = assignmentOf(r) ?? owned;
    }
    const d = h.coordinator.consumerGroupDescribe([G])[0];
    expect(d?.members.map((m) => m.memberId)).toEqual(['b']);
    expect(owned).toEqual(new Map([[t, [0, 1]]]));
    expect((await hb(h, G, 'a', 1)).errorCode).toBe('UNKNOWN_MEMBER_ID');
  });

  test('a member that does not revoke within its rebalance timeout is removed', async () => {
    const h = await consumerHarness();
    const t = h.topics.create('t', 2);
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t'], { rebalanceTimeoutMs: 5000 }));
    const b = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'b', ['t']));
    const a2 = await owning(h, 'a', 1, new Map([[t, [0, 1]]]));
    expect(a2.memberEpoch).toBe(1); // must revoke one
    h.clock.advance(3000);
    await settle();
    expect((await owning(h, 'a', 1, new Map([[t, [0, 1]]]))).memberEpoch).toBe(1); // still holding on
    h.clock.advance(3000);
    await settle();
    expect((await owning(h, 'a', 1, new Map([[t, [0, 1]]]))).errorCode).toBe('UNKNOWN_MEMBER_ID');
    const b2 = await owning(h, 'b', b.memberEpoch, new Map());
    expect(assignmentOf(b2)).toEqual(new Map([[t, [0, 1]]]));
  });
});

describe('static members', () => {
  test('a static member leaving with -2 keeps its partitions for its successor; a live one is not released', async () => {
    const h = await consumerHarness();
    const t = h.topics.create('t', 2);
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t'], { instanceId: 'i1' }));
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'b', ['t'], { instanceId: 'i2' }));
    // Settle a and b.
    for (let i = 0; i < 3; i++) {
      for (const id of ['a', 'b']) {
        const d = h.coordinator.consumerGroupDescribe([G])[0]?.members.find((m) => m.memberId === id);
        await owning(
          h,
          id,
          d?.memberEpoch ?? 0,
          new Map(d?.assignment.map((x) => [x.topicId, x.partitions])),
        );
      }
    }
    const before = h.coordinator.consumerGroupDescribe([G])[0]?.members.find((m) => m.memberId === 'a');
    expect(
      (await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'c', ['t'], { instanceId: 'i1' }))).errorCode,
    ).toBe('UNRELEASED_INSTANCE_ID');
    expect(await hb(h, G, 'a', -2, { instanceId: 'i1' })).toMatchObject({
      errorCode: 'NONE',
      memberEpoch: -2,
    });
    const epochBefore = h.coordinator.consumerGroupDescribe([G])[0]?.groupEpoch;
    const c = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'c', ['t'], { instanceId: 'i1' }));
    expect(c).toMatchObject({ errorCode: 'NONE', memberId: 'c', memberEpoch: before?.memberEpoch });
    expect(assignmentOf(c)).toEqual(new Map(before?.assignment.map((x) => [x.topicId, x.partitions])));
    const after = h.coordinator.consumerGroupDescribe([G])[0];
    expect(after?.groupEpoch).toBe(epochBefore);
    expect(after?.members.map((m) => m.memberId).sort()).toEqual(['b', 'c']);
    expect(t).toBeDefined();
  });
});

describe('topics', () => {
  test('new partitions and deleted topics change the assignment at the next heartbeat', async () => {
    const h = await consumerHarness();
    const t1 = h.topics.create('t1', 1);
    const t2 = h.topics.create('t2', 1);
    const r = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t1', 't2']));
    expect(assignmentOf(r)).toEqual(
      new Map([
        [t1, [0]],
        [t2, [0]],
      ]),
    );
    h.topics.grow('t1', 3);
    const r2 = await owning(h, 'a', 1, assignmentOf(r));
    expect(r2.memberEpoch).toBe(2);
    expect(assignmentOf(r2)).toEqual(
      new Map([
        [t1, [0, 1, 2]],
        [t2, [0]],
      ]),
    );
    h.topics.delete('t2');
    const r3 = await owning(h, 'a', 2, assignmentOf(r2));
    expect(r3.memberEpoch).toBe(2); // revoking t2-0 first
    expect(assignmentOf(r3)).toEqual(new Map([[t1, [0, 1, 2]]]));
    const r4 = await owning(h, 'a', 2, assignmentOf(r3));
    expect(r4.memberEpoch).toBe(3);
  });

  test('regex subscriptions match whole names, skip internal topics, follow new topics; bad ones are refused', async () => {
    const h = await consumerHarness();
    const a = h.topics.create('orders-eu', 1);
    h.topics.create('orders-us-archive', 1);
    h.topics.create('__consumer_offsets', 3, true);
    const r = await h.coordinator.consumerGroupHeartbeat(
      joinHb(G, 'm', [], { subscribedTopicNames: null, subscribedTopicRegex: 'orders-[a-z]{2}' }),
    );
    expect(assignmentOf(r)).toEqual(new Map([[a, [0]]]));
    const b = h.topics.create('orders-us', 2);
    const r2 = await owning(h, 'm', 1, assignmentOf(r));
    expect(assignmentOf(r2)).toEqual(
      new Map([
        [a, [0]],
        [b, [0, 1]],
      ]),
    );
    for (const bad of ['(a+)+', '(?=x)y', '(?i)orders', 'a\\1', '(', 'x'.repeat(2000)]) {
      const e = await h.coordinator.consumerGroupHeartbeat(
        joinHb('g2', 'n', [], { subscribedTopicNames: null, subscribedTopicRegex: bad }),
      );
      expect(e.errorCode).toBe('INVALID_REGULAR_EXPRESSION');
    }
  });
});

describe('requests refused', () => {
  test('Kafka checks and limits', async () => {
    const h = await consumerHarness({ maxGroupSize: 2, consumerMaxSubscribedTopics: 3 });
    h.topics.create('t', 1);
    const join = (over: Parameters<typeof joinHb>[3], id = 'm') =>
      h.coordinator.consumerGroupHeartbeat(joinHb(G, id, ['t'], over));
    expect((await join({ serverAssignor: 'sticky' })).errorCode).toBe('UNSUPPORTED_ASSIGNOR');
    expect((await join({ rebalanceTimeoutMs: -1 })).errorMessage).toBe(
      'RebalanceTimeoutMs must be provided in first request.',
    );
    expect((await join({ topicPartitions: null })).errorCode).toBe('INVALID_REQUEST');
    expect((await join({ subscribedTopicNames: ['a', 'b', 'c', 'd'] })).errorCode).toBe('INVALID_REQUEST');
    expect((await join({ instanceId: ' ' })).errorCode).toBe('INVALID_REQUEST');
    expect((await hb(h, G, 'm', -3)).errorMessage).toBe('MemberEpoch is invalid.');
    expect((await hb(h, '', 'm', 0)).errorCode).toBe('INVALID_REQUEST');
    expect((await join({}, 'm1')).errorCode).toBe('NONE');
    expect((await join({ serverAssignor: 'range' }, 'm2')).errorCode).toBe('NONE');
    expect(await join({}, 'm3')).toMatchObject({ errorCode: 'GROUP_MAX_SIZE_REACHED' });
  });

  test('the other protocol: a running classic group of another protocol type refuses consumers, and a consumer group its classic joins', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 1);
    void h.coordinator.joinGroup(joinReq('classic', { protocolType: 'connect' }));
    await settle();
    expect(await h.coordinator.consumerGroupHeartbeat(joinHb('classic', 'm', ['t']))).toMatchObject({
      errorCode: 'GROUP_ID_NOT_FOUND',
      errorMessage:
        'Group classic cannot become a consumer group: its protocol type is connect, not consumer.',
    });
    expect(h.coordinator.consumerGroupDescribe(['classic'])[0]?.errorCode).toBe('GROUP_ID_NOT_FOUND');
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'm', ['t']));
    const j = await h.coordinator.joinGroup(joinReq(G, { protocolType: 'connect' }));
    expect(j.errorCode).toBe('INCONSISTENT_GROUP_PROTOCOL');
    expect(
      h.coordinator.heartbeat({ groupId: G, generationId: 1, memberId: 'm', groupInstanceId: null }),
    ).toBe('UNKNOWN_MEMBER_ID');
    expect(h.coordinator.describeGroups([G])[0]).toMatchObject({
      state: 'Dead',
      errorCode: 'NONE',
      members: [],
    });
    expect(
      h.coordinator.listGroups({ statesFilter: [], typesFilter: ['classic'] }).groups.map((g) => g.groupId),
    ).toEqual(['classic']);
    expect(
      h.coordinator.listGroups({ statesFilter: ['stable'], typesFilter: [] }).groups.map((g) => g.groupId),
    ).toEqual([G]);
  });

  test('an empty classic group becomes a consumer group with its offsets, and back', async () => {
    const h = await consumerHarness();
    const t = h.topics.create('t', 1);
    const commit = await h.coordinator.commitOffsets({
      groupId: G,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 42n,
              committedLeaderEpoch: -1,
              commitTimestampMs: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
    });
    expect(commit.topics[0]?.partitions[0]?.errorCode).toBe('NONE');
    const r = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'm', ['t']));
    expect(assignmentOf(r)).toEqual(new Map([[t, [0]]]));
    const fetched = h.coordinator.fetchOffsets({
      groupId: G,
      topics: null,
      requireStable: false,
      memberId: 'm',
      memberEpoch: 1,
    });
    expect(fetched.topics[0]?.partitions[0]?.committedOffset).toBe(42n);
    await hb(h, G, 'm', -1);
    // Empty and idle: a classic member may take it back.
    void h.coordinator.joinGroup(joinReq(G));
    await settle();
    expect(h.coordinator.inspect(G)?.type).toBe('classic');
  });
});

describe('offsets', () => {
  const commitAt = (c: GroupCoordinator, memberId: string, epoch: number, apiVersion = 9) =>
    c.commitOffsets({
      groupId: G,
      generationId: epoch,
      memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      apiVersion,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 7n,
              committedLeaderEpoch: -1,
              commitTimestampMs: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
    });
  const code = (r: Awaited<ReturnType<typeof commitAt>>) => r.topics[0]?.partitions[0]?.errorCode;

  test('commits and fetches are checked against the member epoch', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 1);
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'm', ['t']));
    expect(code(await commitAt(h.coordinator, 'm', 1))).toBe('NONE');
    expect(code(await commitAt(h.coordinator, 'm', 0))).toBe('STALE_MEMBER_EPOCH');
    expect(code(await commitAt(h.coordinator, 'x', 1))).toBe('UNKNOWN_MEMBER_ID');
    expect(code(await commitAt(h.coordinator, '', -1))).toBe('UNKNOWN_MEMBER_ID');
    expect(code(await commitAt(h.coordinator, 'm', 1, 8))).toBe('UNSUPPORTED_VERSION');
    const fetch = (memberId: string | null, memberEpoch: number) =>
      h.coordinator.fetchOffsets({ groupId: G, topics: null, requireStable: false, memberId, memberEpoch })
        .errorCode;
    expect(fetch('m', 1)).toBe('NONE');
    expect(fetch(null, -1)).toBe('NONE');
    expect(fetch('m', 3)).toBe('STALE_MEMBER_EPOCH');
    expect(fetch('zz', 1)).toBe('UNKNOWN_MEMBER_ID');
    const txn = await h.coordinator.commitTxnOffsets({
      transactionalId: 'tx',
      groupId: G,
      producerId: 1n,
      producerEpoch: 0,
      generationId: 4,
      memberId: 'm',
      groupInstanceId: null,
      topics: [
        {
          name: 't',
          partitions: [
            { partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
    expect(txn.topics[0]?.partitions[0]?.errorCode).toBe('ILLEGAL_GENERATION');
    // Members gone, anyone may commit (admin tools).
    await hb(h, G, 'm', -1);
    expect(code(await commitAt(h.coordinator, '', -1))).toBe('NONE');
    expect(await h.coordinator.deleteGroups([G])).toEqual([{ groupId: G, errorCode: 'NONE' }]);
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.errorCode).toBe('GROUP_ID_NOT_FOUND');
  });

  test('OffsetDelete spares the topics the group consumes; DeleteGroups refuses a group with members', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 1);
    h.topics.create('u', 1);
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'm', ['t']));
    const r = await h.coordinator.deleteOffsets({
      groupId: G,
      topics: [
        { name: 't', partitionIndexes: [0] },
        { name: 'u', partitionIndexes: [0] },
      ],
    });
    expect(r.topics.map((t) => t.partitions[0]?.errorCode)).toEqual(['GROUP_SUBSCRIBED_TO_TOPIC', 'NONE']);
    expect(await h.coordinator.deleteGroups([G])).toEqual([{ groupId: G, errorCode: 'NON_EMPTY_GROUP' }]);
  });
});

describe('durability', () => {
  test('a restarted coordinator has the members, epochs and assignments; heartbeats carry on', async () => {
    const log = new InMemoryOffsetLog();
    const topics = new FakeTopics();
    const t = topics.create('t', 4);
    const h = await consumerHarness({}, { log, topics });
    const a = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']));
    await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'b', ['t'], { serverAssignor: 'range' }));
    const a2 = await owning(h, 'a', a.memberEpoch, assignmentOf(a));
    const before = h.coordinator.consumerGroupDescribe([G]);
    h.coordinator.close();
    const h2 = await consumerHarness({}, { log, topics });
    expect(h2.coordinator.consumerGroupDescribe([G])).toEqual(before);
    // a still holds what it was last told, at its epoch (no new target: the topics did not change).
    const a3 = await owning(h2, 'a', a2.memberEpoch, assignmentOf(a2));
    expect(a3).toMatchObject({ errorCode: 'NONE', memberEpoch: 2 });
    expect(h2.coordinator.consumerGroupDescribe([G])[0]?.groupEpoch).toBe(before[0]?.groupEpoch);
    expect(t).toBeDefined();
  });

  test('a failed write changes nothing; compaction keeps consumer groups', async () => {
    const log = new InMemoryOffsetLog();
    const topics = new FakeTopics();
    topics.create('t', 2);
    const h = await consumerHarness({ compactionMinRecords: 5 }, { log, topics });
    log.failNext(new GroupError(GroupErrorCode.OFFSET_LOG_UNAVAILABLE, 'injected'));
    expect((await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']))).errorCode).toBe(
      'COORDINATOR_NOT_AVAILABLE',
    );
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.errorCode).toBe('GROUP_ID_NOT_FOUND');
    const a = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']));
    expect(a.errorCode).toBe('NONE');
    for (let i = 0; i < 8; i++) {
      await hb(h, G, 'a', -1);
      await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'a', ['t']));
    }
    await settle();
    const before = h.coordinator.consumerGroupDescribe([G]);
    expect(log.recordCount(h.coordinator.partitionFor(G))).toBeLessThan(30);
    h.coordinator.close();
    const h2 = await consumerHarness({}, { log, topics });
    expect(h2.coordinator.consumerGroupDescribe([G])).toEqual(before);
  });
});

// ---- random clients ----------------------------------------------------------------------------

type Op =
  | { kind: 'hb' | 'join' | 'leave' | 'crash'; c: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'restart' }
  | { kind: 'grow' }
  | { kind: 'fail' };

interface Client {
  memberId: string;
  epoch: number;
  /** What it believes it owns: what it was last told. */
  owned: Map<string, number[]>;
  joined: boolean;
}

test('property: clients never own one partition twice, and a quiet group settles with every partition owned', async () => {
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({ kind: fc.constant('hb' as const), c: fc.integer({ min: 0, max: 3 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('join' as const), c: fc.integer({ min: 0, max: 3 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('leave' as const), c: fc.integer({ min: 0, max: 3 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('crash' as const), c: fc.integer({ min: 0, max: 3 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(500, 3000, 12_000) }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'grow' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'fail' as const }) },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
      const log = new InMemoryOffsetLog();
      const topics = new FakeTopics();
      topics.create('t', 3);
      const config = { consumerSessionTimeoutMs: 20_000, compactionMinRecords: 30 };
      let h = await consumerHarness(config, { log, topics });
      let partitions = 3;
      const clients: Client[] = [0, 1, 2, 3].map((i) => ({
        memberId: `c${i}`,
        epoch: 0,
        owned: new Map(),
        joined: false,
      }));
      const members = (): Set<string> => new Set(h.coordinator.inspect(G)?.consumer?.members ?? []);
      const check = (): void => {
        expect(h.coordinator.invariantViolations()).toEqual([]);
        // Members the coordinator still has never believe they own the same partition.
        const live = members();
        const seen = new Set<string>();
        for (const c of clients) {
          if (!c.joined || !live.has(c.memberId)) continue;
          for (const [t, ps] of c.owned)
            for (const p of ps) {
              const k = `${t}:${p}`;
              expect(seen.has(k)).toBe(false);
              seen.add(k);
            }
        }
      };
      const apply = (c: Client, r: ConsumerGroupHeartbeatResult): void => {
        if (r.errorCode === 'FENCED_MEMBER_EPOCH' || r.errorCode === 'UNKNOWN_MEMBER_ID') {
          c.joined = false;
          c.owned = new Map();
          c.epoch = 0;
          return;
        }
        if (r.errorCode !== 'NONE') return;
        c.epoch = r.memberEpoch;
        if (r.assignment !== null) c.owned = new Map(r.assignment.map((a) => [a.topicId, a.partitions]));
      };
      const heartbeat = async (c: Client): Promise<void> => {
        if (!c.joined) {
          const r = await h.coordinator.consumerGroupHeartbeat(joinHb(G, c.memberId, ['t']));
          if (r.errorCode === 'NONE') c.joined = true;
          apply(c, r);
          return;
        }
        apply(c, await owning(h, c.memberId, c.epoch, c.owned));
      };
      for (const op of ops) {
        switch (op.kind) {
          case 'hb':
          case 'join': {
            const c = clients[op.c];
            if (c !== undefined && (op.kind === 'hb' ? c.joined : !c.joined)) await heartbeat(c);
            break;
          }
          case 'leave': {
            const c = clients[op.c];
            if (c === undefined || !c.joined) break;
            const r = await hb(h, G, c.memberId, -1);
            if (r.errorCode === 'NONE' || r.errorCode === 'UNKNOWN_MEMBER_ID') {
              c.joined = false;
              c.owned = new Map();
              c.epoch = 0;
            }
            break;
          }
          case 'crash': {
            // The client process dies: it stops heartbeating (its session will expire).
            const c = clients[op.c];
            if (c !== undefined) {
              c.owned = new Map();
              c.joined = false;
              c.memberId = `${c.memberId}x`;
            }
            break;
          }
          case 'advance':
            h.clock.advance(op.ms);
            await settle();
            break;
          case 'restart':
            h.coordinator.close();
            h = await consumerHarness(config, { log, topics, clock: h.clock });
            break;
          case 'grow':
            topics.grow('t', ++partitions);
            break;
          case 'fail':
            log.failNext();
            break;
        }
        check();
      }
      // Quiet: every client joins and heartbeats while the sessions of crashed ones run out.
      for (let round = 0; round < 10; round++) {
        h.clock.advance(3000);
        await settle();
        for (const c of clients) await heartbeat(c);
        check();
      }
      const d = h.coordinator.consumerGroupDescribe([G])[0];
      expect(d?.state).toBe('Stable');
      const owned = clients.flatMap((c) => [...c.owned.values()].flat());
      expect(owned.sort((a, b) => a - b)).toEqual(Array.from({ length: partitions }, (_, i) => i));
      h.coordinator.close();
    }),
    { numRuns: 60 },
  );
});
