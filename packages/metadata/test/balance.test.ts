// The balancer's plans (src/balance.ts) and its state in the metadata (decommissionNode,
// recommissionNode, startRebalance, endRebalance; snapshot format 9).
import type { BalanceBroker, BalancePartition } from '@chronik/metadata';
import {
  MetadataStateMachine,
  balanceReplicaCounts,
  planDrain,
  planLeaderBalance,
  planReplicaBalance,
} from '@chronik/metadata';
import { unpack } from 'msgpackr';
import { Node, stateOf } from './helpers.js';

const broker = (brokerId: number, rack: string | null = null, canTake = true): BalanceBroker => ({
  brokerId,
  rack,
  canTake,
});

/** `count` partitions of each topic on the round-robin of `ids`, replication factor `rf`. */
function roundRobin(topics: string[], count: number, ids: number[], rf: number): BalancePartition[] {
  const out: BalancePartition[] = [];
  let k = 0;
  for (const topic of topics)
    for (let partition = 0; partition < count; partition++, k++)
      out.push({
        topic,
        partition,
        replicas: Array.from({ length: rf }, (_, i) => ids[(k + i) % ids.length] as number),
      });
  return out;
}

function apply(
  partitions: readonly BalancePartition[],
  moves: ReadonlyArray<{ topic: string; partition: number; to: readonly number[] }>,
): BalancePartition[] {
  return partitions.map((p) => {
    const m = moves.find((x) => x.topic === p.topic && x.partition === p.partition);
    return m === undefined ? p : { ...p, replicas: m.to };
  });
}

describe('planDrain', () => {
  test('moves every replica off the draining broker, bounded, deterministic, factor and order kept', () => {
    const brokers = [broker(1), broker(2), broker(3), broker(4, null, false)];
    let parts = roundRobin(['a', 'b'], 6, [1, 2, 3, 4], 3);
    const held = parts.filter((p) => p.replicas.includes(4)).length;
    expect(held).toBeGreaterThan(4);
    const first = planDrain(brokers, parts, new Set([4]), 4);
    expect(first.moves).toHaveLength(4);
    expect(planDrain(brokers, parts, new Set([4]), 4)).toEqual(first);
    for (const m of first.moves) {
      expect(m.to).toHaveLength(3);
      expect(m.to).not.toContain(4);
      expect(new Set(m.to).size).toBe(3);
      // The staying replicas keep their order; the new one goes last.
      expect(m.to.slice(0, 2)).toEqual(m.from.filter((r) => r !== 4));
    }
    // Round after round (as moves complete), until nothing is left.
    for (let round = 0; round < 10; round++) {
      const { moves, stuck } = planDrain(brokers, parts, new Set([4]), 4);
      expect(stuck).toEqual([]);
      if (moves.length === 0) break;
      parts = apply(parts, moves);
    }
    expect(parts.some((p) => p.replicas.includes(4))).toBe(false);
    const counts = balanceReplicaCounts(brokers, parts);
    expect(counts.get(4)).toBe(0);
    const left = [1, 2, 3].map((id) => counts.get(id) as number);
    expect(Math.max(...left) - Math.min(...left)).toBeLessThanOrEqual(1);
  });

  test('rack-aware: the replica goes to the rack the partition lacks; stuck when no broker can take it', () => {
    const brokers = [broker(1, 'a'), broker(2, 'b'), broker(3, 'c'), broker(4, 'a'), broker(5, 'c', false)];
    // 4 holds nothing, but its rack (a) has a replica of t-0 already: 3, in rack c, takes it.
    const parts: BalancePartition[] = [
      { topic: 't', partition: 0, replicas: [1, 2, 5] },
      { topic: 't', partition: 1, replicas: [3, 1, 2] },
      { topic: 't', partition: 2, replicas: [3, 2, 1] },
    ];
    expect(planDrain(brokers, parts, new Set([5]), 10).moves.map((m) => m.to)).toEqual([[1, 2, 3]]);
    // Without racks the emptiest broker takes it.
    const flat = brokers.map((b) => ({ ...b, rack: null }));
    expect(planDrain(flat, parts, new Set([5]), 10).moves.map((m) => m.to)).toEqual([[1, 2, 4]]);
    // Three brokers, RF 3, one draining: nowhere to go.
    const small = [broker(1), broker(2), broker(3, null, false)];
    const r = planDrain(small, [{ topic: 't', partition: 0, replicas: [1, 2, 3] }], new Set([3]), 10);
    expect(r.moves).toEqual([]);
    expect(r.stuck).toEqual([{ topic: 't', partition: 0, replicas: [1, 2, 3] }]);
  });
});

describe('planReplicaBalance and planLeaderBalance', () => {
  test('spread over ALL topics: a new broker gets its share of every topic together, bounded per plan', () => {
    // Three topics of 4 partitions, RF 2, on brokers 1..3; broker 4 is new and empty. Each topic
    // alone is as balanced as it can be over 1..3; together they leave 4 with nothing.
    const brokers = [1, 2, 3, 4].map((id) => broker(id));
    let parts = roundRobin(['x', 'y', 'z'], 4, [1, 2, 3], 2);
    const bounded = planReplicaBalance(brokers, parts, 2);
    expect(bounded).toHaveLength(2);
    expect(planReplicaBalance(brokers, parts, 2)).toEqual(bounded);
    for (let round = 0; round < 20; round++) {
      const moves = planReplicaBalance(brokers, parts, 2);
      if (moves.length === 0) break;
      parts = apply(parts, moves);
    }
    const counts = [...balanceReplicaCounts(brokers, parts).values()];
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(parts.every((p) => new Set(p.replicas).size === 2)).toBe(true);
    // Then the preferred leaders.
    for (let round = 0; round < 20; round++) {
      const moves = planLeaderBalance(brokers, parts, 3);
      if (moves.length === 0) break;
      for (const m of moves) expect([...m.to].sort()).toEqual([...m.from].sort());
      parts = apply(parts, moves);
    }
    const leaders = new Map<number, number>();
    for (const p of parts)
      leaders.set(p.replicas[0] as number, (leaders.get(p.replicas[0] as number) ?? 0) + 1);
    const lc = [1, 2, 3, 4].map((id) => leaders.get(id) ?? 0);
    expect(Math.max(...lc) - Math.min(...lc)).toBeLessThanOrEqual(1);
  });

  test('a broker that may not take replicas (fenced or draining) gets none', () => {
    const brokers = [broker(1), broker(2), broker(3), broker(4, null, false)];
    const parts = roundRobin(['t'], 6, [1, 2], 2);
    const moves = planReplicaBalance(brokers, parts, 100);
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.some((m) => m.to.includes(4))).toBe(false);
  });

  test('racks: no move puts two replicas of a partition in one rack when another rack is free', () => {
    const brokers = [broker(1, 'a'), broker(2, 'b'), broker(3, 'a'), broker(4, 'b'), broker(5, 'c')];
    const parts = roundRobin(['t', 'u'], 5, [1, 2, 3, 4], 2).map((p) => ({
      ...p,
      replicas: p.replicas,
    }));
    const rackOf = (id: number): string =>
      (brokers.find((b) => b.brokerId === id) as BalanceBroker).rack as string;
    for (const m of planReplicaBalance(brokers, parts, 100)) {
      const before = new Set(m.from.map(rackOf)).size;
      expect(new Set(m.to.map(rackOf)).size).toBeGreaterThanOrEqual(before);
    }
  });
});

describe('the balancer state in the metadata', () => {
  function cluster(): Node {
    const n = new Node();
    n.sm.setMembership({ voters: [1, 2, 3, 4], learners: [] });
    n.ok({ type: 'initCluster', clusterId: 'c' });
    n.registerBrokers([1, 2, 3, 4]);
    return n;
  }

  test('decommissionNode marks a node draining (a retry updates remove), recommissionNode ends it; refusals', () => {
    const n = cluster();
    n.ok({ type: 'decommissionNode', nodeId: 4, remove: true });
    const first = n.index;
    expect(n.sm.drains()).toEqual([{ nodeId: 4, remove: true, requestIndex: first }]);
    n.ok({ type: 'decommissionNode', nodeId: 4, remove: false });
    expect(n.sm.drains()).toEqual([{ nodeId: 4, remove: false, requestIndex: first }]);
    expect(n.apply({ type: 'decommissionNode', nodeId: 9, remove: true })).toMatchObject({
      ok: false,
      error: { code: 'BROKER_ID_NOT_REGISTERED' },
    });
    n.ok({ type: 'decommissionNode', nodeId: 2, remove: true });
    n.ok({ type: 'decommissionNode', nodeId: 3, remove: true });
    // The last broker that stays.
    expect(n.apply({ type: 'decommissionNode', nodeId: 1, remove: true })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/no other broker/) },
    });
    n.ok({ type: 'recommissionNode', nodeId: 3 });
    expect(n.sm.drains().map((d) => d.nodeId)).toEqual([2, 4]);
    expect(n.apply({ type: 'recommissionNode', nodeId: 3 })).toMatchObject({
      ok: false,
      error: { message: 'Node 3 is not being decommissioned' },
    });
  });

  test('a draining node takes no new replica: topic creation leaves it out, a reassignment onto it is refused', () => {
    const n = cluster();
    const before = n.createTopic('before', 8, 3);
    expect(before.assignments.some((r) => r.includes(4))).toBe(true);
    n.ok({ type: 'decommissionNode', nodeId: 4, remove: true });
    const after = n.createTopic('after', 8, 3);
    expect(after.assignments.flat()).not.toContain(4);
    expect(() => n.createTopic('too-wide', 1, 4)).toThrow(
      /only 3 broker\(s\) are registered and not being decommissioned \(1 are\)/,
    );
    const onto = [...after.assignments[0]!.slice(0, 2), 4];
    expect(
      n.apply({ type: 'alterReassignment', topicId: after.topicId, partition: 0, replicas: onto }),
    ).toMatchObject({
      ok: false,
      error: {
        code: 'INVALID_REPLICA_ASSIGNMENT',
        message: 'Broker 4 is being decommissioned: it takes no new replicas.',
      },
    });
    // A partition it holds may keep it while its other replicas move.
    const held = before.assignments.findIndex((r) => r.includes(4));
    const keep = [4, ...[1, 2, 3].filter((b) => !before.assignments[held]!.includes(b))].slice(0, 3);
    n.ok({ type: 'alterReassignment', topicId: before.topicId, partition: held, replicas: keep });
  });

  test('the removal of a draining node ends its drain', () => {
    const n = cluster();
    n.ok({ type: 'decommissionNode', nodeId: 4, remove: true });
    n.ok({ type: 'removeNode', nodeId: 4 });
    const requestIndex = n.index;
    n.sm.setMembership({ voters: [1, 2, 3], learners: [] });
    n.ok({ type: 'membershipDone', nodeId: 4, requestIndex, refused: null });
    expect(n.sm.drains()).toEqual([]);
    expect(n.sm.broker(4)).toBeUndefined();
  });

  test('startRebalance / endRebalance: one at a time, retries change nothing', () => {
    const n = cluster();
    expect(n.sm.rebalance()).toBeNull();
    n.ok({ type: 'startRebalance' });
    const first = n.index;
    n.ok({ type: 'startRebalance' });
    expect(n.sm.rebalance()).toEqual({ requestIndex: first, endIndex: null, reason: null });
    expect(n.apply({ type: 'endRebalance', requestIndex: first + 1, reason: 'x' })).toMatchObject({
      ok: false,
    });
    n.ok({ type: 'endRebalance', requestIndex: first, reason: 'balanced' });
    expect(n.sm.rebalance()).toEqual({ requestIndex: first, endIndex: n.index, reason: 'balanced' });
    expect(n.apply({ type: 'endRebalance', requestIndex: first, reason: 'again' })).toMatchObject({
      ok: false,
    });
  });

  test('snapshot format 9 only while a drain or a rebalance exists; restored byte for byte', () => {
    const n = cluster();
    const format = (b: Uint8Array): number => (unpack(Buffer.from(b)) as { format: number }).format;
    expect(format(n.sm.snapshot())).toBeLessThan(9);
    n.ok({ type: 'decommissionNode', nodeId: 4, remove: false });
    n.ok({ type: 'startRebalance' });
    const bytes = n.sm.snapshot();
    expect(format(bytes)).toBe(9);
    const restored = MetadataStateMachine.fromSnapshot(bytes);
    expect(stateOf(restored)).toEqual(stateOf(n.sm));
    expect(restored.drains()).toEqual(n.sm.drains());
    expect(restored.rebalance()).toEqual(n.sm.rebalance());
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
    n.ok({ type: 'recommissionNode', nodeId: 4 });
    // The rebalance stays recorded (its outcome is shown): still format 9.
    expect(format(n.sm.snapshot())).toBe(9);
    const plain = cluster();
    n.ok({ type: 'decommissionNode', nodeId: 4, remove: true });
    expect(format(plain.sm.snapshot())).toBeLessThan(9);
  });
});
