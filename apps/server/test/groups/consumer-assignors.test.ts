// The server-side assignors (uniform, range) and the reconciliation of members towards their
// targets, on their own: examples, and properties checked with fast-check over random groups.
import fc from 'fast-check';
import type { AssignmentSpec, AssignorMember, AssignorTopic } from '../../src/groups/consumer-assignors.js';
import { assignPartitions } from '../../src/groups/consumer-assignors.js';
import type { Partitions } from '../../src/groups/consumer-partitions.js';
import {
  NO_PARTITIONS,
  forEachPartition,
  partitionCount,
  partitionKey,
  partitionsEqual,
  partitionsOf,
} from '../../src/groups/consumer-partitions.js';
import type { MemberAssignmentState } from '../../src/groups/consumer-reconcile.js';
import { reconcile } from '../../src/groups/consumer-reconcile.js';

const topicIdOf = (name: string): string => `00000000-0000-0000-0000-${name.padStart(12, '0')}`;

function topicsOf(counts: Record<string, number>): Map<string, AssignorTopic> {
  return new Map(
    Object.entries(counts).map(([name, n]) => [
      topicIdOf(name),
      { topicId: topicIdOf(name), name, numPartitions: n },
    ]),
  );
}

function member(id: string, topics: string[], instanceId: string | null = null): AssignorMember {
  return { memberId: id, instanceId, topicIds: new Set(topics.map(topicIdOf)) };
}

function counts(result: Map<string, Partitions>): Map<string, number> {
  return new Map([...result].map(([id, p]) => [id, partitionCount(p)]));
}

/** Every partition of a subscribed topic to exactly one subscriber; nothing else assigned. */
function checkComplete(spec: AssignmentSpec, result: Map<string, Partitions>): void {
  const owners = new Map<string, string>();
  for (const m of spec.members) {
    const got = result.get(m.memberId);
    expect(got).toBeDefined();
    forEachPartition(got ?? NO_PARTITIONS, (t, p) => {
      expect(m.topicIds.has(t)).toBe(true);
      const topic = spec.topics.get(t);
      expect(topic).toBeDefined();
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(topic?.numPartitions ?? 0);
      const k = partitionKey(t, p);
      expect(owners.has(k)).toBe(false);
      owners.set(k, m.memberId);
    });
  }
  for (const t of spec.topics.values()) {
    const subscribed = spec.members.some((m) => m.topicIds.has(t.topicId));
    for (let p = 0; p < t.numPartitions; p++) expect(owners.has(partitionKey(t.topicId, p))).toBe(subscribed);
  }
}

describe('uniform assignor', () => {
  test('spreads the partitions of a homogeneous group evenly and keeps them when nothing changes', () => {
    const spec: AssignmentSpec = {
      members: [member('a', ['t1', 't2']), member('b', ['t1', 't2']), member('c', ['t1', 't2'])],
      topics: topicsOf({ t1: 4, t2: 3 }),
      previous: new Map(),
    };
    const first = assignPartitions('uniform', spec);
    checkComplete(spec, first);
    expect([...counts(first).values()].sort()).toEqual([2, 2, 3]);
    const again = assignPartitions('uniform', { ...spec, previous: first });
    for (const [id, p] of first) expect(partitionsEqual(again.get(id) ?? NO_PARTITIONS, p)).toBe(true);
  });

  test('a new member takes partitions only from those above the new quota', () => {
    const members = [member('a', ['t']), member('b', ['t'])];
    const topics = topicsOf({ t: 6 });
    const before = assignPartitions('uniform', { members, topics, previous: new Map() });
    const after = assignPartitions('uniform', {
      members: [...members, member('c', ['t'])],
      topics,
      previous: before,
    });
    expect([...counts(after).values()]).toEqual([2, 2, 2]);
    // a and b each keep two of their three.
    for (const id of ['a', 'b']) {
      const kept = [...(after.get(id)?.get(topicIdOf('t')) ?? [])];
      const had = new Set(before.get(id)?.get(topicIdOf('t')) ?? []);
      expect(kept.every((p) => had.has(p))).toBe(true);
    }
  });

  test('heterogeneous subscriptions: partitions go only to subscribers, balanced where possible', () => {
    const spec: AssignmentSpec = {
      members: [member('a', ['t1']), member('b', ['t1', 't2']), member('c', ['t2'])],
      topics: topicsOf({ t1: 3, t2: 3 }),
      previous: new Map(),
    };
    const r = assignPartitions('uniform', spec);
    checkComplete(spec, r);
    expect([...counts(r).values()]).toEqual([2, 2, 2]);
  });

  test('no members, no topics, missing topics', () => {
    expect(
      assignPartitions('uniform', { members: [], topics: topicsOf({ t: 3 }), previous: new Map() }).size,
    ).toBe(0);
    const r = assignPartitions('uniform', {
      members: [member('a', ['gone'])],
      topics: topicsOf({}),
      previous: new Map([['a', partitionsOf([[topicIdOf('gone'), [0]]])]]),
    });
    expect(partitionCount(r.get('a') ?? NO_PARTITIONS)).toBe(0);
  });
});

describe('range assignor', () => {
  test('consecutive ranges per topic, the first members get the extra partitions', () => {
    const spec: AssignmentSpec = {
      members: [member('m2', ['t1', 't2']), member('m1', ['t1', 't2'])],
      topics: topicsOf({ t1: 3, t2: 3 }),
      previous: new Map(),
    };
    const r = assignPartitions('range', spec);
    checkComplete(spec, r);
    expect(r.get('m1')?.get(topicIdOf('t1'))).toEqual([0, 1]);
    expect(r.get('m1')?.get(topicIdOf('t2'))).toEqual([0, 1]);
    expect(r.get('m2')?.get(topicIdOf('t1'))).toEqual([2]);
  });

  test('orders static members by instance id', () => {
    const spec: AssignmentSpec = {
      members: [member('a', ['t'], 'z'), member('b', ['t'], 'y')],
      topics: topicsOf({ t: 2 }),
      previous: new Map(),
    };
    const r = assignPartitions('range', spec);
    expect(r.get('b')?.get(topicIdOf('t'))).toEqual([0]);
    expect(r.get('a')?.get(topicIdOf('t'))).toEqual([1]);
  });
});

// ---- properties ------------------------------------------------------------------------------

const TOPIC_NAMES = ['a', 'b', 'c', 'd'];

const specArb: fc.Arbitrary<AssignmentSpec> = fc
  .record({
    partitions: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 4, maxLength: 4 }),
    members: fc.uniqueArray(
      fc.record({
        id: fc.integer({ min: 0, max: 40 }).map((n) => `m${n}`),
        topics: fc.subarray(TOPIC_NAMES),
        instance: fc.option(fc.integer({ min: 0, max: 9 }).map((n) => `i${n}`)),
      }),
      { maxLength: 9, selector: (m) => m.id },
    ),
    previousSeed: fc.array(
      fc.tuple(
        fc.integer({ min: 0, max: 8 }),
        fc.constantFrom(...TOPIC_NAMES),
        fc.integer({ min: 0, max: 14 }),
      ),
      {
        maxLength: 30,
      },
    ),
  })
  .map(({ partitions, members, previousSeed }) => {
    const topics = topicsOf(Object.fromEntries(TOPIC_NAMES.map((t, i) => [t, partitions[i] ?? 0])));
    const ms = members.map((m) => member(m.id, m.topics, m.instance));
    // Previous targets with overlaps, unsubscribed topics and partitions that no longer exist.
    const prev = new Map<string, Array<[string, number[]]>>();
    for (const [mi, t, p] of previousSeed) {
      const m = ms[mi % Math.max(ms.length, 1)];
      if (m === undefined) continue;
      const list = prev.get(m.memberId) ?? [];
      list.push([topicIdOf(t), [p]]);
      prev.set(m.memberId, list);
    }
    return {
      members: ms,
      topics,
      previous: new Map([...prev].map(([id, e]) => [id, partitionsOf(e)])),
    };
  });

test('property: both assignors give every subscribed partition to exactly one subscriber, deterministically', () => {
  fc.assert(
    fc.property(specArb, fc.constantFrom('uniform' as const, 'range' as const), (spec, name) => {
      const r = assignPartitions(name, spec);
      checkComplete(spec, r);
      const again = assignPartitions(name, { ...spec, members: [...spec.members].reverse() });
      for (const [id, p] of r) expect(partitionsEqual(again.get(id) ?? NO_PARTITIONS, p)).toBe(true);
    }),
    { numRuns: 150 },
  );
});

test('property: uniform is balanced (±1 when homogeneous; no improving move otherwise) and sticky', () => {
  fc.assert(
    fc.property(specArb, (spec) => {
      const r = assignPartitions('uniform', spec);
      const c = counts(r);
      const homogeneous = spec.members.every((m) =>
        TOPIC_NAMES.every(
          (t) => m.topicIds.has(topicIdOf(t)) === spec.members[0]?.topicIds.has(topicIdOf(t)),
        ),
      );
      if (homogeneous && spec.members.length > 0) {
        const values = [...c.values()];
        expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
      }
      // No partition could move to a subscriber holding two fewer.
      for (const m of spec.members) {
        forEachPartition(r.get(m.memberId) ?? NO_PARTITIONS, (t) => {
          for (const n of spec.members) {
            if (n === m || !n.topicIds.has(t)) continue;
            expect(c.get(n.memberId) ?? 0).toBeGreaterThan((c.get(m.memberId) ?? 0) - 2);
          }
        });
      }
      // Run again from its own result: nothing moves.
      const again = assignPartitions('uniform', { ...spec, previous: r });
      for (const [id, p] of r) expect(partitionsEqual(again.get(id) ?? NO_PARTITIONS, p)).toBe(true);
    }),
    { numRuns: 150 },
  );
});

// ---- reconciliation --------------------------------------------------------------------------

const fresh: MemberAssignmentState = {
  memberEpoch: 0,
  previousMemberEpoch: -1,
  state: 'stable',
  assigned: NO_PARTITIONS,
  pendingRevocation: NO_PARTITIONS,
};
const T = topicIdOf('t');
const ps = (...n: number[]): Partitions => partitionsOf([[T, n]]);

describe('reconcile', () => {
  test('a new member gets the free partitions of its target at once, the held ones later', () => {
    const holders = new Map([[partitionKey(T, 1), 'other']]);
    const s = reconcile({
      memberId: 'me',
      current: fresh,
      targetEpoch: 3,
      target: ps(0, 1),
      holderOf: (t, p) => holders.get(partitionKey(t, p)),
      owned: NO_PARTITIONS,
    });
    expect(s).toMatchObject({ memberEpoch: 3, state: 'unreleased', previousMemberEpoch: 0 });
    expect(s.assigned).toEqual(ps(0));
    holders.clear();
    const s2 = reconcile({
      memberId: 'me',
      current: s,
      targetEpoch: 3,
      target: ps(0, 1),
      holderOf: () => undefined,
      owned: ps(0),
    });
    expect(s2).toMatchObject({ memberEpoch: 3, state: 'stable' });
    expect(s2.assigned).toEqual(ps(0, 1));
  });

  test('a member keeps its epoch until it reports the revoked partitions gone', () => {
    const current: MemberAssignmentState = { ...fresh, memberEpoch: 2, assigned: ps(0, 1, 2) };
    const holderOf = (): string => 'me';
    const s = reconcile({
      memberId: 'me',
      current,
      targetEpoch: 3,
      target: ps(0, 2),
      holderOf,
      owned: ps(0, 1, 2),
    });
    expect(s).toMatchObject({ memberEpoch: 2, state: 'unrevoked' });
    expect(s.assigned).toEqual(ps(0, 2));
    expect(s.pendingRevocation).toEqual(ps(1));
    // Still owning it (or not saying): nothing moves.
    expect(
      reconcile({
        memberId: 'me',
        current: s,
        targetEpoch: 3,
        target: ps(0, 2),
        holderOf,
        owned: ps(0, 1, 2),
      }),
    ).toBe(s);
    expect(
      reconcile({ memberId: 'me', current: s, targetEpoch: 3, target: ps(0, 2), holderOf, owned: null }),
    ).toBe(s);
    const done = reconcile({
      memberId: 'me',
      current: s,
      targetEpoch: 3,
      target: ps(0, 2),
      holderOf,
      owned: ps(0, 2),
    });
    expect(done).toMatchObject({ memberEpoch: 3, state: 'stable', previousMemberEpoch: 2 });
    expect(done.pendingRevocation.size).toBe(0);
  });

  test('partitions already given up are not waited for', () => {
    const current: MemberAssignmentState = { ...fresh, memberEpoch: 2, assigned: ps(0, 1) };
    const s = reconcile({
      memberId: 'me',
      current,
      targetEpoch: 3,
      target: ps(0),
      holderOf: () => undefined,
      owned: ps(0),
    });
    expect(s).toMatchObject({ memberEpoch: 3, state: 'stable' });
  });

  test('a stable member at the target epoch does not change', () => {
    const current: MemberAssignmentState = { ...fresh, memberEpoch: 3, assigned: ps(0) };
    expect(
      reconcile({
        memberId: 'me',
        current,
        targetEpoch: 3,
        target: ps(0, 1),
        holderOf: () => undefined,
        owned: ps(0),
      }),
    ).toBe(current);
  });
});

/**
 * A model group: members reconcile towards targets that the uniform assignor recomputes as members
 * come and go, heartbeating in random order, each reporting what it was last told (after giving up
 * what it was told to revoke). Checked after every step: no partition is held by two members, and
 * no two clients believe they own the same partition; once everyone has heartbeated enough with no
 * change, every member holds exactly its target and every partition is held.
 */
test('property: reconciliation never lets two members own a partition, and converges', () => {
  const opArb = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('hb' as const), m: fc.integer({ min: 0, max: 5 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('join' as const), m: fc.integer({ min: 0, max: 5 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('leave' as const), m: fc.integer({ min: 0, max: 5 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('grow' as const), m: fc.integer({ min: 0, max: 5 }) }),
    },
  );
  fc.assert(
    fc.property(
      fc.array(opArb, { maxLength: 80 }),
      fc.integer({ min: 1, max: 8 }),
      (ops, initialPartitions) => {
        let numPartitions = initialPartitions;
        let epoch = 0;
        let targets = new Map<string, Partitions>();
        const states = new Map<string, MemberAssignmentState>();
        /** What each client believes it owns (what it was last told). */
        const clients = new Map<string, Partitions>();
        const holderOf = (t: string, p: number): string | undefined => {
          for (const [id, s] of states) {
            if (
              partitionsOf([[t, [p]]]).size > 0 &&
              (s.assigned.get(t)?.includes(p) || s.pendingRevocation.get(t)?.includes(p))
            )
              return id;
          }
          return undefined;
        };
        const rebalance = (): void => {
          epoch++;
          targets = assignPartitions('uniform', {
            members: [...states.keys()].map((id) => member(id, ['t'])),
            topics: topicsOf({ t: numPartitions }),
            previous: targets,
          });
        };
        const heartbeat = (id: string): void => {
          const s = states.get(id);
          if (s === undefined) return;
          const next = reconcile({
            memberId: id,
            current: s,
            targetEpoch: epoch,
            target: targets.get(id) ?? NO_PARTITIONS,
            holderOf,
            owned: clients.get(id) ?? NO_PARTITIONS,
          });
          states.set(id, next);
          clients.set(id, next.assigned);
        };
        const check = (): void => {
          const held = new Set<string>();
          for (const s of states.values()) {
            forEachPartition(s.assigned, (t, p) => {
              expect(held.has(partitionKey(t, p))).toBe(false);
              held.add(partitionKey(t, p));
            });
            forEachPartition(s.pendingRevocation, (t, p) => {
              expect(held.has(partitionKey(t, p))).toBe(false);
              held.add(partitionKey(t, p));
            });
          }
          const believed = new Set<string>();
          for (const c of clients.values())
            forEachPartition(c, (t, p) => {
              expect(believed.has(partitionKey(t, p))).toBe(false);
              believed.add(partitionKey(t, p));
            });
        };
        for (const op of ops) {
          const id = `m${op.m}`;
          if (op.kind === 'join' && !states.has(id)) {
            states.set(id, fresh);
            clients.set(id, NO_PARTITIONS);
            rebalance();
          } else if (op.kind === 'leave' && states.has(id)) {
            states.delete(id);
            clients.delete(id);
            rebalance();
          } else if (op.kind === 'grow') {
            numPartitions++;
            rebalance();
          } else heartbeat(id);
          check();
        }
        // Quiet: everyone heartbeats until nothing changes.
        for (let round = 0; round < 4; round++) for (const id of [...states.keys()]) heartbeat(id);
        check();
        let total = 0;
        for (const [id, s] of states) {
          expect(s.state).toBe('stable');
          expect(s.memberEpoch).toBe(epoch);
          expect(partitionsEqual(s.assigned, targets.get(id) ?? NO_PARTITIONS)).toBe(true);
          total += partitionCount(s.assigned);
        }
        if (states.size > 0) expect(total).toBe(numPartitions);
      },
    ),
    { numRuns: 150 },
  );
});
