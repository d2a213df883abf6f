// Kafka 4's mixed groups (KIP-848 online upgrade): classic members (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup) inside a consumer group, beside members of the consumer protocol, under a
// fake clock with an in-memory log. The server assignor includes the classic members; their
// JoinGroup answers carry their member epoch as generation and no leader; SyncGroup hands them
// what they may use now; REBALANCE_IN_PROGRESS on Heartbeat tells them to rejoin. A running classic
// group is upgraded when a consumer-protocol member joins it. Every step keeps each partition with
// at most one member, and the group settles with every partition assigned exactly once.
import type { GroupCoordinator, JoinGroupRequest, OffsetsTopicRecord } from '../../src/groups/index.js';
import { decodeRecord } from '../../src/groups/index.js';
import { decodeAssignment, encodeAssignment } from '../../src/groups/consumer-protocol.js';
import type { ConsumerHarness } from './consumer-helpers.js';
import {
  assignmentOf,
  consumerHarness,
  hbReq,
  joinHb,
  settle,
  takeConsumerViolations,
} from './consumer-helpers.js';
import { joinReq, subscription } from './helpers.js';

afterEach(() => {
  expect(takeConsumerViolations()).toEqual([]);
});

const G = 'mixed';

function classicJoin(topics: string[], over: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return joinReq(G, { protocols: [{ name: 'range', metadata: subscription(topics) }], ...over });
}

/** What a classic member's SyncGroup hands it, as "partition" numbers of topic t. */
function syncedPartitions(c: GroupCoordinator, memberId: string, generationId: number): Promise<number[]> {
  return c
    .syncGroup({
      groupId: G,
      generationId,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
    })
    .then((r) => {
      expect(r.errorCode).toBe('NONE');
      const a = decodeAssignment(r.assignment);
      if (a === null) throw new Error('unreadable assignment');
      return a.flatMap((t) => t.partitions).sort((x, y) => x - y);
    });
}

/** A classic member as a client runs it: join (with its id), sync, and what it owns. */
class ClassicClient {
  memberId = '';
  generation = -1;
  owned: number[] = [];
  constructor(private readonly h: ConsumerHarness) {}

  async join(): Promise<void> {
    // An eager client gives everything up before it rejoins.
    this.owned = [];
    let r = await this.h.coordinator.joinGroup(
      classicJoin(['t'], { memberId: this.memberId, requireKnownMemberId: true }),
    );
    if (r.errorCode === 'MEMBER_ID_REQUIRED') {
      this.memberId = r.memberId;
      r = await this.h.coordinator.joinGroup(
        classicJoin(['t'], { memberId: this.memberId, requireKnownMemberId: true }),
      );
    }
    expect(r).toMatchObject({
      errorCode: 'NONE',
      leader: '',
      protocolType: 'consumer',
      protocolName: 'range',
    });
    expect(r.members).toEqual([]);
    this.memberId = r.memberId;
    this.generation = r.generationId;
    this.owned = await syncedPartitions(this.h.coordinator, this.memberId, this.generation);
  }

  /** One heartbeat; rejoins when told to. Returns the heartbeat's answer. */
  async beat(): Promise<string> {
    const e = this.h.coordinator.heartbeat({
      groupId: G,
      generationId: this.generation,
      memberId: this.memberId,
      groupInstanceId: null,
    });
    if (e === 'REBALANCE_IN_PROGRESS') await this.join();
    return e;
  }
}

/** A consumer-protocol member as a client runs it: heartbeats reporting what it owns. */
class ConsumerClient {
  epoch = 0;
  owned = new Map<string, number[]>();
  constructor(
    private readonly h: ConsumerHarness,
    readonly memberId: string,
  ) {}

  async beat(): Promise<void> {
    const r =
      this.epoch === 0
        ? await this.h.coordinator.consumerGroupHeartbeat(joinHb(G, this.memberId, ['t']))
        : await this.h.coordinator.consumerGroupHeartbeat(
            hbReq(G, this.memberId, this.epoch, {
              topicPartitions: [...this.owned].map(([topicId, partitions]) => ({ topicId, partitions })),
            }),
          );
    expect(r.errorCode).toBe('NONE');
    this.epoch = r.memberEpoch;
    const a = assignmentOf(r);
    if (a !== null) this.owned = a;
  }

  partitions(): number[] {
    return [...this.owned.values()].flat();
  }
}

/** No partition owned twice at any time. */
function expectDisjoint(...owners: number[][]): void {
  const all = owners.flat();
  expect(new Set(all).size).toBe(all.length);
}

async function settleGroup(
  classics: ClassicClient[],
  consumers: ConsumerClient[],
  partitions: number,
  rounds = 10,
): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (const c of consumers) {
      await c.beat();
      expectDisjoint(...classics.map((x) => x.owned), ...consumers.map((x) => x.partitions()));
    }
    for (const c of classics) {
      await c.beat();
      expectDisjoint(...classics.map((x) => x.owned), ...consumers.map((x) => x.partitions()));
    }
  }
  const all = [...classics.map((x) => x.owned), ...consumers.map((x) => x.partitions())].flat();
  expect(all.sort((a, b) => a - b)).toEqual([...Array(partitions).keys()]);
  expect(consumers.every((c) => c.partitions().length > 0)).toBe(true);
  expect(classics.every((c) => c.owned.length > 0)).toBe(true);
}

describe('classic members in a consumer group', () => {
  test('a classic member joins a running consumer group: the server assigns, SyncGroup hands it its share once it is free', async () => {
    const h = await consumerHarness();
    const t = h.topics.create('t', 4);
    const consumer = new ConsumerClient(h, 'c1');
    await consumer.beat();
    expect(consumer.partitions()).toEqual([0, 1, 2, 3]);

    const classic = new ClassicClient(h);
    const first = await h.coordinator.joinGroup(classicJoin(['t'], { requireKnownMemberId: true }));
    expect(first.errorCode).toBe('MEMBER_ID_REQUIRED');
    const joined = await h.coordinator.joinGroup(
      classicJoin(['t'], { memberId: first.memberId, requireKnownMemberId: true }),
    );
    // Generation = its member epoch (the group's new epoch: nothing to wait for at join).
    expect(joined).toMatchObject({
      errorCode: 'NONE',
      generationId: 2,
      leader: '',
      memberId: first.memberId,
    });
    classic.memberId = joined.memberId;
    classic.generation = joined.generationId;
    // Its partitions are still the consumer's: it gets nothing yet, and is not told to rejoin.
    classic.owned = await syncedPartitions(h.coordinator, classic.memberId, classic.generation);
    expect(classic.owned).toEqual([]);
    expect(await classic.beat()).toBe('NONE');

    const d = h.coordinator.consumerGroupDescribe([G])[0];
    expect(d?.members.map((m) => m.memberId).sort()).toEqual(['c1', first.memberId].sort());
    expect(d?.members.find((m) => m.memberId === first.memberId)?.subscribedTopicNames).toEqual(['t']);

    // The consumer revokes two; then the classic member is told to rejoin and gets them.
    await consumer.beat();
    expect(consumer.partitions()).toHaveLength(2);
    await consumer.beat();
    expect(await classic.beat()).toBe('REBALANCE_IN_PROGRESS');
    expect(classic.owned).toHaveLength(2);
    expectDisjoint(classic.owned, consumer.partitions());
    expect(await classic.beat()).toBe('NONE');
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.state).toBe('Stable');
    void t;
  });

  test('a consumer-protocol member upgrades a running classic group; everyone converges, each partition once', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 6);
    // A classic group of two, Stable, assigned by its leader.
    const first = await h.coordinator.joinGroup(classicJoin(['t']));
    const b = h.coordinator.joinGroup(classicJoin(['t']));
    const [ja, jb] = await Promise.all([
      h.coordinator.joinGroup(classicJoin(['t'], { memberId: first.memberId })),
      b,
    ]);
    const leader = ja.leader === ja.memberId ? ja : jb;
    const follower = leader === ja ? jb : ja;
    const assignments = [
      { memberId: leader.memberId, assignment: encodeAssignment([{ topic: 't', partitions: [0, 1, 2] }]) },
      { memberId: follower.memberId, assignment: encodeAssignment([{ topic: 't', partitions: [3, 4, 5] }]) },
    ];
    const sync = (memberId: string, as: typeof assignments) =>
      h.coordinator.syncGroup({
        groupId: G,
        generationId: ja.generationId,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: as,
      });
    await Promise.all([sync(leader.memberId, assignments), sync(follower.memberId, [])]);
    expect(h.coordinator.describeGroups([G])[0]?.state).toBe('Stable');

    const classics = [leader, follower].map((j, i) => {
      const c = new ClassicClient(h);
      c.memberId = j.memberId;
      c.generation = j.generationId;
      c.owned = i === 0 ? [0, 1, 2] : [3, 4, 5];
      return c;
    });
    const consumer = new ConsumerClient(h, 'c1');
    await consumer.beat();
    // Now a consumer group of three; the classic members keep what they own until they rejoin.
    expect(consumer.partitions()).toEqual([]);
    const d = h.coordinator.consumerGroupDescribe([G])[0];
    expect(d).toMatchObject({ errorCode: 'NONE', groupEpoch: ja.generationId + 1 });
    expect(d?.members).toHaveLength(3);
    expect(h.coordinator.listGroups({ statesFilter: [], typesFilter: ['consumer'] }).groups).toHaveLength(1);
    expect(
      h.coordinator.heartbeat({
        groupId: G,
        generationId: ja.generationId,
        memberId: leader.memberId,
        groupInstanceId: null,
      }),
    ).toBe('REBALANCE_IN_PROGRESS');
    await settleGroup(classics, [consumer], 6);
    expect(consumer.partitions()).toHaveLength(2);
  });

  test('an upgrade whose write fails leaves the classic group running: its members rejoin it as classic', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 2);
    const first = await h.coordinator.joinGroup(classicJoin(['t']));
    await h.coordinator.syncGroup({
      groupId: G,
      generationId: first.generationId,
      memberId: first.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        { memberId: first.memberId, assignment: encodeAssignment([{ topic: 't', partitions: [0, 1] }]) },
      ],
    });
    h.log.failNext();
    const r = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'c1', ['t']));
    expect(r.errorCode).not.toBe('NONE');
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.errorCode).toBe('GROUP_ID_NOT_FOUND');
    expect(h.coordinator.listGroups({ statesFilter: [], typesFilter: ['classic'] }).groups).toHaveLength(1);
    // The classic group rebalances; its member rejoins it and is its leader again.
    expect(
      h.coordinator.heartbeat({
        groupId: G,
        generationId: first.generationId,
        memberId: first.memberId,
        groupInstanceId: null,
      }),
    ).toBe('REBALANCE_IN_PROGRESS');
    const again = await h.coordinator.joinGroup(classicJoin(['t'], { memberId: first.memberId }));
    expect(again).toMatchObject({
      errorCode: 'NONE',
      leader: first.memberId,
      generationId: first.generationId + 1,
    });
  });

  test('the classic members survive a coordinator restart (their records carry their JoinGroup metadata)', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 4);
    const consumer = new ConsumerClient(h, 'c1');
    await consumer.beat();
    const classic = new ClassicClient(h);
    await classic.join();
    await settleGroup([classic], [consumer], 4);

    const h2 = await consumerHarness({}, { log: h.log, clock: h.clock, topics: h.topics });
    const again = new ClassicClient(h2);
    again.memberId = classic.memberId;
    again.generation = classic.generation;
    again.owned = classic.owned;
    expect(await again.beat()).toBe('NONE');
    expect(await syncedPartitions(h2.coordinator, classic.memberId, classic.generation)).toEqual(
      classic.owned,
    );
    h.coordinator.close();
    h2.coordinator.close();
  });

  test('a static classic member restarting takes its old place (assignment, epoch); the old id is fenced', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 4);
    const consumer = new ConsumerClient(h, 'c1');
    await consumer.beat();
    const join = (memberId: string) =>
      h.coordinator.joinGroup(
        classicJoin(['t'], { memberId, groupInstanceId: 'inst-1', requireKnownMemberId: true }),
      );
    const first = await join('');
    expect(first.errorCode).toBe('NONE');
    const classic = new ClassicClient(h);
    classic.memberId = first.memberId;
    classic.generation = first.generationId;
    classic.owned = await syncedPartitions(h.coordinator, first.memberId, first.generationId);
    const beat = (memberId: string, generationId: number) =>
      h.coordinator.heartbeat({ groupId: G, generationId, memberId, groupInstanceId: 'inst-1' });
    // Settle: the consumer revokes, the static member rejoins for its share.
    for (let i = 0; i < 4; i++) {
      await consumer.beat();
      if (beat(classic.memberId, classic.generation) === 'REBALANCE_IN_PROGRESS') {
        const again = await join(classic.memberId);
        classic.generation = again.generationId;
        classic.owned = await syncedPartitions(h.coordinator, classic.memberId, classic.generation);
      }
    }
    expect(classic.owned).toHaveLength(2);
    const epochBefore = h.coordinator.consumerGroupDescribe([G])[0]?.groupEpoch;
    // The process restarts: no member id, the same instance id.
    const restarted = await join('');
    expect(restarted).toMatchObject({ errorCode: 'NONE', generationId: classic.generation });
    expect(restarted.memberId).not.toBe(classic.memberId);
    expect(await syncedPartitions(h.coordinator, restarted.memberId, restarted.generationId)).toEqual(
      classic.owned,
    );
    expect(beat(classic.memberId, classic.generation)).toBe('FENCED_INSTANCE_ID');
    expect(beat(restarted.memberId, restarted.generationId)).toBe('NONE');
    // No new target for a replacement.
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.groupEpoch).toBe(epochBefore);
  });

  test('offsets by generation, LeaveGroup, and the classic timers (session, rejoin)', async () => {
    const h = await consumerHarness();
    h.topics.create('t', 4);
    const consumer = new ConsumerClient(h, 'c1');
    await consumer.beat();
    const classic = new ClassicClient(h);
    await classic.join();
    await settleGroup([classic], [consumer], 4);
    const commit = (generationId: number, apiVersion: number) =>
      h.coordinator.commitOffsets({
        groupId: G,
        generationId,
        memberId: classic.memberId,
        groupInstanceId: null,
        retentionTimeMs: -1,
        apiVersion,
        topics: [
          {
            name: 't',
            partitions: [
              {
                partitionIndex: classic.owned[0] ?? 0,
                committedOffset: 7n,
                committedLeaderEpoch: -1,
                commitTimestampMs: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      });
    expect((await commit(classic.generation, 8)).topics[0]?.partitions[0]?.errorCode).toBe('NONE');
    expect((await commit(classic.generation + 5, 8)).topics[0]?.partitions[0]?.errorCode).toBe(
      'ILLEGAL_GENERATION',
    );

    // LeaveGroup: the consumer gets everything again.
    const left = await h.coordinator.leaveGroup({
      groupId: G,
      members: [{ memberId: classic.memberId, groupInstanceId: null }],
    });
    expect(left.members[0]?.errorCode).toBe('NONE');
    await consumer.beat();
    await consumer.beat();
    expect(consumer.partitions().sort()).toEqual([0, 1, 2, 3]);

    // A classic member that stops heartbeating is removed after its session timeout (10 s).
    const silent = new ClassicClient(h);
    await silent.join();
    await consumer.beat();
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.members).toHaveLength(2);
    await consumer.beat();
    h.clock.advance(10_001);
    await settle();
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.members.map((m) => m.memberId)).toEqual(['c1']);

    // One told to rejoin that keeps heartbeating but never rejoins is removed after its rebalance timeout.
    const stubborn = new ClassicClient(h);
    await stubborn.join();
    // Another member joins: the group epoch moves past the classic member's.
    await new ConsumerClient(h, 'c2').beat();
    const beat = () =>
      h.coordinator.heartbeat({
        groupId: G,
        generationId: stubborn.generation,
        memberId: stubborn.memberId,
        groupInstanceId: null,
      });
    expect(beat()).toBe('REBALANCE_IN_PROGRESS');
    for (let i = 0; i < 11; i++) {
      h.clock.advance(3000);
      beat();
      await settle();
    }
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.members.map((m) => m.memberId)).toEqual(['c1', 'c2']);
  });
});

describe('the downgrade (Kafka 4) and group.consumer.migration.policy', () => {
  /** A settled mixed group: one consumer-protocol member and one classic member on 4 partitions. */
  async function mixed(
    policy?: 'disabled' | 'upgrade' | 'downgrade' | 'bidirectional',
  ): Promise<{ h: ConsumerHarness; consumer: ConsumerClient; classic: ClassicClient }> {
    const h = await consumerHarness({}, {}, undefined, policy);
    h.topics.create('t', 4);
    const consumer = new ConsumerClient(h, 'c1');
    await consumer.beat();
    const classic = new ClassicClient(h);
    await classic.join();
    await settleGroup([classic], [consumer], 4);
    return { h, consumer, classic };
  }

  /** The records of the group's partition, decoded, from `from` on. */
  async function recordsOf(h: ConsumerHarness, from = 0): Promise<OffsetsTopicRecord[]> {
    const out: OffsetsTopicRecord[] = [];
    for await (const e of h.log.readAll(h.coordinator.partitionFor(G)))
      if (e.kind === 'record') out.push(decodeRecord(e.key, e.value));
    return out.slice(from);
  }

  test('the last consumer-protocol member leaves: the group is classic again at generation = group epoch, durably, and rebalances', async () => {
    const { h, consumer, classic } = await mixed();
    const epoch = h.coordinator.consumerGroupDescribe([G])[0]?.groupEpoch ?? -1;
    expect(classic.generation).toBe(epoch);
    const before = (await recordsOf(h)).length;
    const left = await h.coordinator.consumerGroupHeartbeat(hbReq(G, 'c1', -1));
    expect(left).toMatchObject({ errorCode: 'NONE', memberEpoch: -1 });
    void consumer;

    // One write: every consumer-group record deleted, then the classic group stated whole.
    const written = await recordsOf(h, before);
    expect(written.map((r) => `${r.type}:${r.value === null ? 'null' : 'value'}`)).toEqual([
      'consumer-group:null',
      'consumer-member:null',
      'consumer-assignment:null',
      'consumer-member:null',
      'consumer-assignment:null',
      'group:value',
    ]);
    const stored = written.at(-1);
    if (stored?.type !== 'group' || stored.value === null) throw new Error('no classic group record');
    expect(stored.value).toMatchObject({
      protocolType: 'consumer',
      generationId: epoch,
      protocolName: 'range',
      leaderId: classic.memberId,
    });
    // It keeps what it holds (the ownership invariant survives a failover).
    const held = decodeAssignment(stored.value.members[0]?.assignment ?? new Uint8Array());
    expect(held?.flatMap((t) => t.partitions).sort()).toEqual([...classic.owned].sort());

    // A classic group now, rebalancing: ConsumerGroupDescribe does not know it, DescribeGroups does.
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.errorCode).toBe('GROUP_ID_NOT_FOUND');
    expect(h.coordinator.describeGroups([G])[0]).toMatchObject({
      errorCode: 'NONE',
      state: 'PreparingRebalance',
      protocolType: 'consumer',
    });
    expect(h.coordinator.listGroups({ statesFilter: [], typesFilter: ['classic'] }).groups).toHaveLength(1);
    const beat = (generationId: number) =>
      h.coordinator.heartbeat({
        groupId: G,
        generationId,
        memberId: classic.memberId,
        groupInstanceId: null,
      });
    expect(beat(classic.generation)).toBe('REBALANCE_IN_PROGRESS');

    // The member rejoins as in any classic group: it leads the next generation and assigns.
    const joined = await h.coordinator.joinGroup(classicJoin(['t'], { memberId: classic.memberId }));
    expect(joined).toMatchObject({
      errorCode: 'NONE',
      generationId: epoch + 1,
      leader: classic.memberId,
      protocolName: 'range',
    });
    expect(joined.members.map((m) => m.memberId)).toEqual([classic.memberId]);
    const synced = await h.coordinator.syncGroup({
      groupId: G,
      generationId: joined.generationId,
      memberId: classic.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        {
          memberId: classic.memberId,
          assignment: encodeAssignment([{ topic: 't', partitions: [0, 1, 2, 3] }]),
        },
      ],
    });
    expect(synced.errorCode).toBe('NONE');
    expect(beat(joined.generationId)).toBe('NONE');
    expect(h.coordinator.describeGroups([G])[0]?.state).toBe('Stable');
  });

  test('a new coordinator after the downgrade keeps the classic group (the failover case)', async () => {
    const { h, classic } = await mixed();
    const epoch = h.coordinator.consumerGroupDescribe([G])[0]?.groupEpoch ?? -1;
    await h.coordinator.consumerGroupHeartbeat(hbReq(G, 'c1', -1));
    const h2 = await consumerHarness({}, { log: h.log, clock: h.clock, topics: h.topics });
    expect(h2.coordinator.consumerGroupDescribe([G])[0]?.errorCode).toBe('GROUP_ID_NOT_FOUND');
    expect(h2.coordinator.describeGroups([G])[0]).toMatchObject({
      state: 'Stable',
      protocolType: 'consumer',
    });
    // The member carries on at its generation with what it holds.
    expect(
      h2.coordinator.heartbeat({
        groupId: G,
        generationId: epoch,
        memberId: classic.memberId,
        groupInstanceId: null,
      }),
    ).toBe('NONE');
    expect(await syncedPartitions(h2.coordinator, classic.memberId, epoch)).toEqual(classic.owned);
    h.coordinator.close();
    h2.coordinator.close();
  });

  test('a consumer-protocol member whose session expires triggers the downgrade too; a failed write leaves the consumer group', async () => {
    const { h, classic } = await mixed();
    // The write fails once: the group stays a consumer group (the expiry is tried again).
    h.log.failNext();
    for (let i = 0; i < 10; i++) {
      h.clock.advance(5000);
      classic.beat();
      await settle();
      if (i === 8) expect(h.coordinator.consumerGroupDescribe([G])[0]?.errorCode).toBe('NONE');
    }
    h.clock.advance(1000);
    await settle();
    expect(h.coordinator.consumerGroupDescribe([G])[0]?.errorCode).toBe('GROUP_ID_NOT_FOUND');
    expect(h.coordinator.describeGroups([G])[0]?.state).toBe('PreparingRebalance');
  });

  test('a classic member without a protocol the other classic members support is INCONSISTENT_GROUP_PROTOCOL (as Kafka)', async () => {
    const { h } = await mixed();
    const other = await h.coordinator.joinGroup(
      joinReq(G, { protocols: [{ name: 'roundrobin', metadata: subscription(['t']) }] }),
    );
    expect(other.errorCode).toBe('INCONSISTENT_GROUP_PROTOCOL');
    const both = await h.coordinator.joinGroup(
      joinReq(G, {
        protocols: [
          { name: 'roundrobin', metadata: subscription(['t']) },
          { name: 'range', metadata: subscription(['t']) },
        ],
      }),
    );
    expect(both).toMatchObject({ errorCode: 'NONE', protocolName: 'roundrobin' });
  });

  test('policy upgrade (or disabled): no downgrade, the classic members go on in the consumer group', async () => {
    for (const policy of ['upgrade', 'disabled'] as const) {
      const { h, classic } = await mixed(policy);
      await h.coordinator.consumerGroupHeartbeat(hbReq(G, 'c1', -1));
      expect(h.coordinator.consumerGroupDescribe([G])[0]).toMatchObject({ errorCode: 'NONE' });
      expect(h.coordinator.consumerGroupDescribe([G])[0]?.members.map((m) => m.memberId)).toEqual([
        classic.memberId,
      ]);
      // Consumer-protocol groups are Dead to DescribeGroups v0–v5, as Kafka answers them.
      expect(h.coordinator.describeGroups([G])[0]).toMatchObject({ errorCode: 'NONE', state: 'Dead' });
    }
  });

  test('policy downgrade (or disabled): a consumer-protocol member may not upgrade a running classic group; an empty one still converts', async () => {
    for (const policy of ['downgrade', 'disabled'] as const) {
      const h = await consumerHarness({}, {}, undefined, policy);
      h.topics.create('t', 2);
      const first = await h.coordinator.joinGroup(classicJoin(['t']));
      expect(first.errorCode).toBe('NONE');
      const r = await h.coordinator.consumerGroupHeartbeat(joinHb(G, 'c1', ['t']));
      expect(r).toMatchObject({
        errorCode: 'GROUP_ID_NOT_FOUND',
        errorMessage: `Cannot upgrade classic group ${G} to consumer group because online upgrade is disabled.`,
      });
      const empty = await h.coordinator.consumerGroupHeartbeat(joinHb('other', 'c1', ['t']));
      expect(empty.errorCode).toBe('NONE');
      // Classic members may still join a running consumer group.
      const joined = await h.coordinator.joinGroup(
        joinReq('other', { protocols: [{ name: 'range', metadata: subscription(['t']) }] }),
      );
      expect(joined).toMatchObject({ errorCode: 'NONE', leader: '' });
    }
  });
});
