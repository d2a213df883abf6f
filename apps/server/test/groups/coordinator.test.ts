// The classic group state machine under a fake clock: joins, rebalances, sync ordering, session
// expiry, static membership, leaving, generation errors, protocol selection and limits.
import { GroupCoordinator, InMemoryOffsetLog } from '../../src/groups/index.js';
import { ManualScheduler } from '@chronik/env';
import {
  assign,
  harness,
  joinReq,
  joinWithId,
  settle,
  subscription,
  track,
  takeViolations,
  leaveNow,
} from './helpers.js';

afterEach(() => {
  expect(takeViolations()).toEqual([]);
});

describe('JoinGroup', () => {
  it('gives a v4+ dynamic member its id with MEMBER_ID_REQUIRED, then makes it leader of generation 1', async () => {
    const h = await harness();
    const first = await h.coordinator.joinGroup(joinReq('g', { requireKnownMemberId: true, clientId: 'c1' }));
    expect(first).toMatchObject({ errorCode: 'MEMBER_ID_REQUIRED', memberId: 'c1-uuid1', generationId: -1 });
    expect(h.coordinator.inspect('g')?.pendingMembers).toEqual(['c1-uuid1']);
    const joined = await h.coordinator.joinGroup(
      joinReq('g', { requireKnownMemberId: true, memberId: first.memberId }),
    );
    expect(joined).toMatchObject({
      errorCode: 'NONE',
      generationId: 1,
      leader: 'c1-uuid1',
      memberId: 'c1-uuid1',
      protocolName: 'range',
      protocolType: 'consumer',
    });
    expect(joined.members.map((m) => m.memberId)).toEqual(['c1-uuid1']);
    expect(Buffer.from(joined.members[0]?.metadata ?? []).equals(Buffer.from(subscription(['t1'])))).toBe(
      true,
    );
    expect(h.coordinator.groupState('g')).toBe('CompletingRebalance');
  });

  it('accepts an old client (v0–v3) without the MEMBER_ID_REQUIRED round trip', async () => {
    const h = await harness();
    const r = await h.coordinator.joinGroup(joinReq('g'));
    expect(r).toMatchObject({
      errorCode: 'NONE',
      generationId: 1,
      memberId: 'client-uuid1',
      leader: 'client-uuid1',
    });
  });

  it('rejects a member id the group does not know, an empty group id and bad session timeouts', async () => {
    const h = await harness({ minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 60_000 });
    expect((await h.coordinator.joinGroup(joinReq('g', { memberId: 'nobody' }))).errorCode).toBe(
      'UNKNOWN_MEMBER_ID',
    );
    expect((await h.coordinator.joinGroup(joinReq(''))).errorCode).toBe('INVALID_GROUP_ID');
    expect((await h.coordinator.joinGroup(joinReq('g', { sessionTimeoutMs: 5999 }))).errorCode).toBe(
      'INVALID_SESSION_TIMEOUT',
    );
    expect((await h.coordinator.joinGroup(joinReq('g', { sessionTimeoutMs: 60_001 }))).errorCode).toBe(
      'INVALID_SESSION_TIMEOUT',
    );
    expect(h.coordinator.groupCount()).toBe(0);
  });

  it('waits group.initial.rebalance.delay.ms for more members, extending while they arrive', async () => {
    const h = await harness({ initialRebalanceDelayMs: 3000 });
    const a = track(h.coordinator.joinGroup(joinReq('g', { clientId: 'a' })));
    h.clock.advance(1000);
    const b = track(h.coordinator.joinGroup(joinReq('g', { clientId: 'b' })));
    h.clock.advance(2000); // first delay over, but b arrived: wait another delay
    await settle();
    expect(a.done).toBe(false);
    h.clock.advance(2999);
    await settle();
    expect(a.done).toBe(false);
    h.clock.advance(1);
    await settle();
    expect(a.result).toMatchObject({ errorCode: 'NONE', generationId: 1, leader: 'a-uuid1' });
    expect(b.result).toMatchObject({ errorCode: 'NONE', generationId: 1, leader: 'a-uuid1', members: [] });
    expect(a.result?.members.map((m) => m.memberId)).toEqual(['a-uuid1', 'b-uuid2']);
  });

  it('selects the protocol all members support that most prefer, and refuses members with none in common', async () => {
    const h = await harness({ initialRebalanceDelayMs: 100 });
    const p = (names: string[]) => names.map((name) => ({ name, metadata: subscription(['t']) }));
    const a = track(
      h.coordinator.joinGroup(joinReq('g', { protocols: p(['range', 'roundrobin', 'cooperative-sticky']) })),
    );
    const b = track(h.coordinator.joinGroup(joinReq('g', { protocols: p(['roundrobin', 'range']) })));
    const c = track(
      h.coordinator.joinGroup(joinReq('g', { protocols: p(['roundrobin', 'cooperative-sticky', 'range']) })),
    );
    const bad = await h.coordinator.joinGroup(joinReq('g', { protocols: p(['sticky']) }));
    expect(bad.errorCode).toBe('INCONSISTENT_GROUP_PROTOCOL');
    const otherType = await h.coordinator.joinGroup(
      joinReq('g', { protocolType: 'connect', protocols: p(['range']) }),
    );
    expect(otherType.errorCode).toBe('INCONSISTENT_GROUP_PROTOCOL');
    h.clock.advance(100); // members arrived during the delay: it is extended once more
    await settle();
    expect(a.done).toBe(false);
    h.clock.advance(100);
    await settle();
    for (const t of [a, b, c])
      expect(t.result).toMatchObject({ errorCode: 'NONE', protocolName: 'roundrobin' });
  });

  it('refuses a member beyond group.max.size', async () => {
    const h = await harness({ maxGroupSize: 2, initialRebalanceDelayMs: 100 });
    void h.coordinator.joinGroup(joinReq('g'));
    void h.coordinator.joinGroup(joinReq('g'));
    const third = await h.coordinator.joinGroup(joinReq('g'));
    expect(third.errorCode).toBe('GROUP_MAX_SIZE_REACHED');
  });

  it('refuses oversized protocol metadata and too many groups', async () => {
    const h = await harness({ maxProtocolMetadataBytes: 100, maxGroups: 1 });
    const big = await h.coordinator.joinGroup(
      joinReq('g', { protocols: [{ name: 'range', metadata: new Uint8Array(101) }] }),
    );
    expect(big.errorCode).toBe('INVALID_REQUEST');
    expect((await h.coordinator.joinGroup(joinReq('g1'))).errorCode).toBe('NONE');
    expect((await h.coordinator.joinGroup(joinReq('g2'))).errorCode).toBe('GROUP_MAX_SIZE_REACHED');
  });

  it('forgets a pending member (MEMBER_ID_REQUIRED) that never comes back, after its session timeout', async () => {
    const h = await harness();
    await h.coordinator.joinGroup(joinReq('g', { requireKnownMemberId: true }));
    expect(h.coordinator.inspect('g')?.pendingMembers).toHaveLength(1);
    h.clock.advance(10_000);
    expect(h.coordinator.inspect('g')?.pendingMembers).toHaveLength(0);
  });
});

/** A stable group of two dynamic members; returns ids, generation and the leader. */
async function stableGroupOfTwo(h: Awaited<ReturnType<typeof harness>>) {
  const a = await joinWithId(h, 'g', { clientId: 'a' });
  await settle();
  const ra = a.join.result;
  expect(ra?.generationId).toBe(1);
  // the first sync makes it stable with one member, then b joins and a rejoins
  await h.coordinator.syncGroup({
    groupId: 'g',
    generationId: 1,
    memberId: a.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: assign(ra?.members ?? []),
  });
  expect(h.coordinator.groupState('g')).toBe('Stable');
  const b = await joinWithId(h, 'g', { clientId: 'b' });
  expect(h.coordinator.groupState('g')).toBe('PreparingRebalance');
  expect(
    h.coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null }),
  ).toBe('REBALANCE_IN_PROGRESS');
  const a2 = track(h.coordinator.joinGroup(joinReq('g', { clientId: 'a', memberId: a.memberId })));
  await settle();
  expect(a2.result).toMatchObject({ errorCode: 'NONE', generationId: 2, leader: a.memberId });
  expect(b.join.result).toMatchObject({
    errorCode: 'NONE',
    generationId: 2,
    leader: a.memberId,
    members: [],
  });
  expect(a2.result?.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
  // sync ordering: the follower's SyncGroup waits for the leader's
  const syncB = track(
    h.coordinator.syncGroup({
      groupId: 'g',
      generationId: 2,
      memberId: b.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
    }),
  );
  await settle();
  expect(syncB.done).toBe(false);
  const syncA = await h.coordinator.syncGroup({
    groupId: 'g',
    generationId: 2,
    memberId: a.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: assign(a2.result?.members ?? []),
  });
  await settle();
  expect(syncA.errorCode).toBe('NONE');
  expect(Buffer.from(syncA.assignment).toString()).toBe(`assignment-for-${a.memberId}`);
  expect(syncB.result?.errorCode).toBe('NONE');
  expect(Buffer.from(syncB.result?.assignment ?? []).toString()).toBe(`assignment-for-${b.memberId}`);
  expect(h.coordinator.groupState('g')).toBe('Stable');
  return { a: a.memberId, b: b.memberId, generationId: 2 };
}

describe('rebalance, SyncGroup and Heartbeat', () => {
  it("rebalances when a second member joins, followers wait for the leader's assignment", async () => {
    const h = await harness();
    const { a, b } = await stableGroupOfTwo(h);
    expect(
      h.coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: a, groupInstanceId: null }),
    ).toBe('NONE');
    expect(
      h.coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: b, groupInstanceId: null }),
    ).toBe('NONE');
    // a stable member re-syncing gets its assignment back at once
    const again = await h.coordinator.syncGroup({
      groupId: 'g',
      generationId: 2,
      memberId: b,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    expect(Buffer.from(again.assignment).toString()).toBe(`assignment-for-${b}`);
  });

  it('answers generation and member errors', async () => {
    const h = await harness();
    const { a } = await stableGroupOfTwo(h);
    const hb = (memberId: string, generationId: number, groupId = 'g') =>
      h.coordinator.heartbeat({ groupId, generationId, memberId, groupInstanceId: null });
    expect(hb(a, 1)).toBe('ILLEGAL_GENERATION');
    expect(hb('ghost', 2)).toBe('UNKNOWN_MEMBER_ID');
    expect(hb(a, 2, 'other')).toBe('UNKNOWN_MEMBER_ID');
    expect(hb(a, 2, '')).toBe('INVALID_GROUP_ID');
    const sync = (generationId: number, memberId: string, protocolName: string | null = null) =>
      h.coordinator.syncGroup({
        groupId: 'g',
        generationId,
        memberId,
        groupInstanceId: null,
        protocolType: null,
        protocolName,
        assignments: [],
      });
    expect((await sync(1, a)).errorCode).toBe('ILLEGAL_GENERATION');
    expect((await sync(2, 'ghost')).errorCode).toBe('UNKNOWN_MEMBER_ID');
    expect((await sync(2, a, 'roundrobin')).errorCode).toBe('INCONSISTENT_GROUP_PROTOCOL');
  });

  it('a retried JoinGroup during CompletingRebalance gets the same answer; SyncGroup during PreparingRebalance gets REBALANCE_IN_PROGRESS', async () => {
    const h = await harness();
    const { a, b } = await stableGroupOfTwo(h);
    const c = await joinWithId(h, 'g', { clientId: 'c' });
    expect(
      (
        await h.coordinator.syncGroup({
          groupId: 'g',
          generationId: 2,
          memberId: b,
          groupInstanceId: null,
          protocolType: null,
          protocolName: null,
          assignments: [],
        })
      ).errorCode,
    ).toBe('REBALANCE_IN_PROGRESS');
    const ja = track(h.coordinator.joinGroup(joinReq('g', { clientId: 'a', memberId: a })));
    const jb = track(h.coordinator.joinGroup(joinReq('g', { clientId: 'b', memberId: b })));
    await settle();
    expect(ja.result?.generationId).toBe(3);
    expect(jb.result?.generationId).toBe(3);
    expect(c.join.result?.generationId).toBe(3);
    expect(h.coordinator.groupState('g')).toBe('CompletingRebalance');
    const retry = await h.coordinator.joinGroup(joinReq('g', { clientId: 'b', memberId: b }));
    expect(retry).toMatchObject({ errorCode: 'NONE', generationId: 3, leader: a });
    // heartbeats after the join answer are fine while the leader assigns
    expect(
      h.coordinator.heartbeat({ groupId: 'g', generationId: 3, memberId: b, groupInstanceId: null }),
    ).toBe('NONE');
  });

  it('removes a member that does not rejoin within the rebalance timeout', async () => {
    const h = await harness();
    const { a, b } = await stableGroupOfTwo(h);
    // b changes its subscription: rebalance; a keeps heartbeating but never rejoins
    const jb = track(
      h.coordinator.joinGroup(
        joinReq('g', {
          clientId: 'b',
          memberId: b,
          protocols: [{ name: 'range', metadata: subscription(['t1', 't2']) }],
        }),
      ),
    );
    for (let t = 0; t < 30_000; t += 3000) {
      h.clock.advance(3000);
      if (t < 27_000)
        expect(
          h.coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: a, groupInstanceId: null }),
        ).toBe('REBALANCE_IN_PROGRESS');
    }
    await settle();
    expect(jb.result).toMatchObject({ errorCode: 'NONE', generationId: 3, leader: b });
    expect(jb.result?.members.map((m) => m.memberId)).toEqual([b]);
    expect(
      h.coordinator.heartbeat({ groupId: 'g', generationId: 3, memberId: a, groupInstanceId: null }),
    ).toBe('UNKNOWN_MEMBER_ID');
  });

  it('expires a member whose session times out and rebalances the rest', async () => {
    const h = await harness();
    const { a, b } = await stableGroupOfTwo(h);
    for (let i = 0; i < 4; i++) {
      h.clock.advance(3000);
      expect(
        h.coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: a, groupInstanceId: null }),
      ).toBe(i < 3 ? 'NONE' : 'REBALANCE_IN_PROGRESS');
    }
    expect(h.coordinator.inspect('g')?.members).toEqual([a]);
    expect(
      h.coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: b, groupInstanceId: null }),
    ).toBe('UNKNOWN_MEMBER_ID');
    const ja = await h.coordinator.joinGroup(joinReq('g', { clientId: 'a', memberId: a }));
    expect(ja).toMatchObject({ errorCode: 'NONE', generationId: 3, leader: a });
    expect(ja.members).toHaveLength(1);
  });

  it('removes members that never send SyncGroup after the join (pending sync timeout)', async () => {
    const h = await harness();
    const { a, b } = await stableGroupOfTwo(h);
    void h.coordinator.joinGroup(
      joinReq('g', {
        clientId: 'a',
        memberId: a,
        protocols: [{ name: 'range', metadata: subscription(['x']) }],
      }),
    );
    const jb = await h.coordinator.joinGroup(joinReq('g', { clientId: 'b', memberId: b }));
    expect(jb.generationId).toBe(3);
    // nobody syncs, though both keep heartbeating (so no session expires)
    for (let t = 0; t < 30_000; t += 3000) {
      expect(h.coordinator.groupState('g')).toBe('CompletingRebalance');
      h.clock.advance(3000);
      for (const m of [a, b])
        h.coordinator.heartbeat({ groupId: 'g', generationId: 3, memberId: m, groupInstanceId: null });
    }
    // both removed; with nobody left the rebalance completes at once into an empty generation
    expect(h.coordinator.inspect('g')).toMatchObject({ state: 'Empty', generationId: 4, members: [] });
  });

  it('a failed write of the assignment answers every waiting member and rebalances', async () => {
    const h = await harness();
    const a = await joinWithId(h, 'g');
    await settle();
    h.log.failNext();
    const s = await h.coordinator.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: assign(a.join.result?.members ?? []),
    });
    await settle();
    expect(s.errorCode).toBe('COORDINATOR_NOT_AVAILABLE');
    expect(h.coordinator.groupState('g')).toBe('PreparingRebalance');
  });
});

describe('LeaveGroup', () => {
  it('a leaving member triggers a rebalance; the last one leaves the group Empty', async () => {
    const h = await harness();
    const { a, b } = await stableGroupOfTwo(h);
    const r = leaveNow(h.coordinator, {
      groupId: 'g',
      members: [
        { memberId: b, groupInstanceId: null },
        { memberId: 'ghost', groupInstanceId: null },
      ],
    });
    expect(r.errorCode).toBe('NONE');
    expect(r.members.map((m) => m.errorCode)).toEqual(['NONE', 'UNKNOWN_MEMBER_ID']);
    expect(h.coordinator.groupState('g')).toBe('PreparingRebalance');
    const ja = await h.coordinator.joinGroup(joinReq('g', { clientId: 'a', memberId: a }));
    expect(ja).toMatchObject({ generationId: 3, leader: a });
    expect(
      leaveNow(h.coordinator, { groupId: 'g', members: [{ memberId: a, groupInstanceId: null }] }).members[0]
        ?.errorCode,
    ).toBe('NONE');
    await settle();
    expect(h.coordinator.inspect('g')).toMatchObject({ state: 'Empty', generationId: 4, members: [] });
  });

  it('answers UNKNOWN_MEMBER_ID for every member of an unknown group', async () => {
    const h = await harness();
    const r = leaveNow(h.coordinator, {
      groupId: 'nope',
      members: [{ memberId: 'x', groupInstanceId: null }],
    });
    expect(r).toEqual({
      errorCode: 'NONE',
      members: [{ memberId: 'x', groupInstanceId: null, errorCode: 'UNKNOWN_MEMBER_ID' }],
    });
  });
});

describe('static membership', () => {
  async function stableStatic(h: Awaited<ReturnType<typeof harness>>) {
    const ja = track(
      h.coordinator.joinGroup(
        joinReq('g', { groupInstanceId: 'i-a', clientId: 'a', requireKnownMemberId: true }),
      ),
    );
    const jb = track(
      h.coordinator.joinGroup(
        joinReq('g', { groupInstanceId: 'i-b', clientId: 'b', requireKnownMemberId: true }),
      ),
    );
    await settle();
    // static members skip MEMBER_ID_REQUIRED; a joined first and completed generation 1 alone, b triggered generation 2
    expect(ja.result?.errorCode).toBe('NONE');
    const a = ja.result?.memberId ?? '';
    if (!jb.done) {
      const ra = await h.coordinator.joinGroup(
        joinReq('g', { groupInstanceId: 'i-a', clientId: 'a', memberId: a }),
      );
      expect(ra.errorCode).toBe('NONE');
      await settle();
    }
    const b = jb.result?.memberId ?? '';
    const gen = h.coordinator.inspect('g')?.generationId ?? -1;
    const leaderMembers = (
      await h.coordinator.joinGroup(joinReq('g', { groupInstanceId: 'i-a', clientId: 'a', memberId: a }))
    ).members;
    await h.coordinator.syncGroup({
      groupId: 'g',
      generationId: gen,
      memberId: a,
      groupInstanceId: 'i-a',
      protocolType: null,
      protocolName: null,
      assignments: assign(leaderMembers),
    });
    await settle();
    expect(h.coordinator.groupState('g')).toBe('Stable');
    return { a, b, gen };
  }

  it('a restarted static member takes over its old id without a rebalance; the old id is fenced', async () => {
    const h = await harness();
    const { a, b, gen } = await stableStatic(h);
    const rejoin = await h.coordinator.joinGroup(
      joinReq('g', { groupInstanceId: 'i-b', clientId: 'b', requireKnownMemberId: true }),
    );
    await settle();
    expect(rejoin.errorCode).toBe('NONE');
    expect(rejoin.memberId).not.toBe(b);
    expect(rejoin).toMatchObject({ generationId: gen, leader: a, members: [] });
    expect(h.coordinator.groupState('g')).toBe('Stable');
    const newB = rejoin.memberId;
    const s = await h.coordinator.syncGroup({
      groupId: 'g',
      generationId: gen,
      memberId: newB,
      groupInstanceId: 'i-b',
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    expect(Buffer.from(s.assignment).toString()).toBe(`assignment-for-${b}`); // its assignment kept
    expect(
      h.coordinator.heartbeat({ groupId: 'g', generationId: gen, memberId: b, groupInstanceId: 'i-b' }),
    ).toBe('FENCED_INSTANCE_ID');
    expect(
      h.coordinator.heartbeat({ groupId: 'g', generationId: gen, memberId: newB, groupInstanceId: 'i-b' }),
    ).toBe('NONE');
    // the replacement is durable: a reload sees the new member id
    const h2 = await harness({}, h.log);
    expect(h2.coordinator.inspect('g')?.members.sort()).toEqual([a, newB].sort());
  });

  it('a restarted static leader (v9) is told it leads but must skip the assignment; an old client gets the old leader id', async () => {
    const h = await harness();
    const { a, gen } = await stableStatic(h);
    const v9 = await h.coordinator.joinGroup(
      joinReq('g', { groupInstanceId: 'i-a', clientId: 'a', supportsSkipAssignment: true }),
    );
    await settle();
    expect(v9).toMatchObject({
      errorCode: 'NONE',
      generationId: gen,
      skipAssignment: true,
      leader: v9.memberId,
    });
    expect(v9.members).toHaveLength(2);
    const old = await h.coordinator.joinGroup(joinReq('g', { groupInstanceId: 'i-a', clientId: 'a' }));
    await settle();
    expect(old).toMatchObject({
      errorCode: 'NONE',
      generationId: gen,
      skipAssignment: false,
      leader: v9.memberId,
      members: [],
    });
    expect(a).not.toBe(old.memberId);
  });

  it('a static member rejoining so that the selected protocol changes triggers a rebalance', async () => {
    const h = await harness();
    const p = (names: string[]) => names.map((name) => ({ name, metadata: subscription(['t1']) }));
    const j = await h.coordinator.joinGroup(
      joinReq('s', { groupInstanceId: 'i', protocols: p(['range', 'roundrobin']) }),
    );
    expect(j).toMatchObject({ generationId: 1, protocolName: 'range' });
    await h.coordinator.syncGroup({
      groupId: 's',
      generationId: 1,
      memberId: j.memberId,
      groupInstanceId: 'i',
      protocolType: null,
      protocolName: null,
      assignments: assign(j.members),
    });
    await settle();
    expect(h.coordinator.groupState('s')).toBe('Stable');
    const same = await h.coordinator.joinGroup(
      joinReq('s', { groupInstanceId: 'i', protocols: p(['range', 'roundrobin']) }),
    );
    await settle();
    expect(same).toMatchObject({ generationId: 1, protocolName: 'range' });
    const changed = await h.coordinator.joinGroup(
      joinReq('s', { groupInstanceId: 'i', protocols: p(['roundrobin', 'range']) }),
    );
    expect(changed).toMatchObject({
      errorCode: 'NONE',
      generationId: 2,
      protocolName: 'roundrobin',
      leader: changed.memberId,
    });
  });

  it('a static member that leaves by instance id (admin removal) is removed; a wrong member id is fenced', async () => {
    const h = await harness();
    const { a } = await stableStatic(h);
    const fenced = leaveNow(h.coordinator, {
      groupId: 'g',
      members: [{ memberId: 'other-id', groupInstanceId: 'i-a' }],
    });
    expect(fenced.members[0]?.errorCode).toBe('FENCED_INSTANCE_ID');
    const r = leaveNow(h.coordinator, {
      groupId: 'g',
      members: [
        { memberId: '', groupInstanceId: 'i-b' },
        { memberId: '', groupInstanceId: 'i-zzz' },
      ],
    });
    expect(r.members.map((m) => m.errorCode)).toEqual(['NONE', 'UNKNOWN_MEMBER_ID']);
    expect(h.coordinator.inspect('g')?.members).toEqual([a]);
  });

  it('static members that do not rejoin stay through the rebalance until their session expires', async () => {
    const h = await harness();
    const { a, b } = await stableStatic(h);
    // a rejoins with a new subscription (leader: rebalance); b is silent
    const ja = track(
      h.coordinator.joinGroup(
        joinReq('g', {
          groupInstanceId: 'i-a',
          clientId: 'a',
          memberId: a,
          sessionTimeoutMs: 60_000,
          protocols: [{ name: 'range', metadata: subscription(['t9']) }],
        }),
      ),
    );
    h.clock.advance(9_999);
    await settle();
    expect(ja.done).toBe(false);
    h.clock.advance(1); // b's session (10 s) expires: everyone who is left has joined
    await settle();
    expect(ja.result?.members.map((m) => m.memberId)).toEqual([a]);
    expect(h.coordinator.inspect('g')?.members).toEqual([a]);
    void b;
  });
});

describe('DescribeGroups, ListGroups, DeleteGroups', () => {
  it('describes members with metadata and assignment of a Stable group, and Dead for an unknown one', async () => {
    const h = await harness();
    const { a, b } = await stableGroupOfTwo(h);
    const [g, none] = h.coordinator.describeGroups(['g', 'none']);
    expect(g).toMatchObject({
      errorCode: 'NONE',
      state: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
    });
    expect(g?.members.map((m) => m.memberId).sort()).toEqual([a, b].sort());
    expect(Buffer.from(g?.members.find((m) => m.memberId === b)?.assignment ?? []).toString()).toBe(
      `assignment-for-${b}`,
    );
    expect(none).toMatchObject({ errorCode: 'NONE', state: 'Dead', members: [] });
  });

  it('lists groups with a state filter', async () => {
    const h = await harness();
    await stableGroupOfTwo(h);
    await h.coordinator.commitOffsets({
      groupId: 'simple',
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
              committedOffset: 5n,
              committedLeaderEpoch: -1,
              commitTimestampMs: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
    });
    const all = h.coordinator.listGroups({ statesFilter: [], typesFilter: [] });
    expect(all.groups.map((g) => [g.groupId, g.state, g.protocolType]).sort()).toEqual([
      ['g', 'Stable', 'consumer'],
      ['simple', 'Empty', ''],
    ]);
    expect(
      h.coordinator.listGroups({ statesFilter: ['stable'], typesFilter: [] }).groups.map((g) => g.groupId),
    ).toEqual(['g']);
    expect(h.coordinator.listGroups({ statesFilter: [], typesFilter: ['consumer'] }).groups).toEqual([]);
    expect(h.coordinator.listGroups({ statesFilter: [], typesFilter: ['Classic'] }).groups).toHaveLength(2);
  });

  it('deletes only empty groups, durably', async () => {
    const h = await harness();
    await stableGroupOfTwo(h);
    await h.coordinator.commitOffsets({
      groupId: 'simple',
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
              committedOffset: 5n,
              committedLeaderEpoch: -1,
              commitTimestampMs: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
    });
    const r = await h.coordinator.deleteGroups(['g', 'simple', 'missing']);
    expect(r).toEqual([
      { groupId: 'g', errorCode: 'NON_EMPTY_GROUP' },
      { groupId: 'simple', errorCode: 'NONE' },
      { groupId: 'missing', errorCode: 'GROUP_ID_NOT_FOUND' },
    ]);
    expect(
      h.coordinator.fetchOffsets({ groupId: 'simple', topics: null, requireStable: false }).topics,
    ).toEqual([]);
    const h2 = await harness({}, h.log);
    expect(h2.coordinator.groupState('simple')).toBeUndefined();
    expect(h2.coordinator.groupState('g')).toBe('Stable');
  });
});

describe('coordinator ownership', () => {
  it('answers NOT_COORDINATOR for groups of partitions it does not own, and LOAD_IN_PROGRESS while loading', async () => {
    const log = new InMemoryOffsetLog();
    const clock = new ManualScheduler();
    const c = new GroupCoordinator({
      offsetLog: log,
      clock,
      scheduler: clock,
      newUuid: () => 'uuid',
      config: { numPartitions: 4, initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1000 },
    });
    expect((await c.joinGroup(joinReq('g'))).errorCode).toBe('NOT_COORDINATOR');
    const p = c.partitionFor('g');
    const loading = c.loadPartition(p);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: 'x', groupInstanceId: null })).toBe(
      'COORDINATOR_LOAD_IN_PROGRESS',
    );
    await loading;
    expect(c.isCoordinatorFor('g')).toBe(true);
    const j = await c.joinGroup(joinReq('g'));
    expect(j.errorCode).toBe('NONE');
    // leadership moves away: waiting requests are answered, state is dropped
    const s = track(
      c.syncGroup({
        groupId: 'g',
        generationId: 1,
        memberId: 'nobody',
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    );
    await settle();
    expect(s.result?.errorCode).toBe('UNKNOWN_MEMBER_ID');
    c.unloadPartition(p);
    expect(c.groupCount()).toBe(0);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: j.memberId, groupInstanceId: null })).toBe(
      'NOT_COORDINATOR',
    );
    c.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
