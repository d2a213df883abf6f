// Decommission and rebalance plans (src/client/placement.ts): pure functions of the brokers and the
// partitions' replicas.
import type { BrokerInfo, TopicInfo } from '../src/client/client.js';
import {
  atTargets,
  planDecommission,
  planLeaderBalance,
  planRebalance,
  replicaCounts,
} from '../src/client/placement.js';

function brokers(ids: number[], racks: Array<string | null> = []): BrokerInfo[] {
  return ids.map((nodeId, i) => ({ nodeId, host: 'h', port: 9092 + nodeId, rack: racks[i] ?? null }));
}

function topic(name: string, replicas: number[][]): TopicInfo {
  return {
    name,
    topicId: `${name}-id`,
    errorCode: 0,
    isInternal: false,
    partitions: replicas.map((r, partition) => ({
      partition,
      errorCode: 0,
      leader: r[0] ?? -1,
      leaderEpoch: 0,
      replicas: r,
      isr: r,
      offline: [],
    })),
  };
}

test('decommission moves every replica of the node, in place, to the least loaded brokers', () => {
  const b = brokers([1, 2, 3, 4]);
  const t = [
    topic('t', [
      [4, 1, 2],
      [1, 4, 3],
      [2, 3, 1],
      [3, 4, 2],
    ]),
  ];
  const { moves, stuck } = planDecommission(b, t, 4);
  expect(stuck).toEqual([]);
  expect(moves.map((m) => m.partition)).toEqual([0, 1, 3]);
  for (const m of moves) {
    expect(m.to).not.toContain(4);
    expect(new Set(m.to).size).toBe(3);
    expect(m.to.indexOf(m.to.find((x) => !m.from.includes(x)) as number)).toBe(m.from.indexOf(4));
  }
  const after = replicaCounts(b.slice(0, 3), [topic('t', [...moves.map((m) => m.to), [2, 3, 1]])]);
  const counts = [...after.values()];
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  // Nowhere to go: RF 3 on three brokers.
  expect(planDecommission(brokers([1, 2, 3]), [topic('x', [[1, 2, 3]])], 3).stuck).toEqual([
    { topic: 'x', partition: 0 },
  ]);
});

test('decommission keeps replicas in different racks where it can', () => {
  const b = brokers([1, 2, 3, 4], ['a', 'b', 'a', 'b']);
  const { moves } = planDecommission(b, [topic('t', [[1, 2]])], 2);
  expect(moves[0]?.to).toEqual([1, 4]);
});

test('rebalance moves a bounded number of replicas from the busiest brokers to the lightest', () => {
  const b = brokers([1, 2, 3, 4]);
  const t = [
    topic('t', [
      [1, 2, 3],
      [2, 3, 1],
      [3, 1, 2],
      [1, 2, 3],
      [2, 3, 1],
      [3, 1, 2],
    ]),
  ];
  const all = planRebalance(b, t, 100);
  const bounded = planRebalance(b, t, 2);
  expect(bounded).toHaveLength(2);
  expect(all.length).toBeGreaterThan(2);
  const after = new Map(t[0]?.partitions.map((p) => [p.partition, p.replicas]));
  for (const m of all) after.set(m.partition, m.to);
  const counts = replicaCounts(b, [topic('t', [...after.values()])]);
  expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
  expect(counts.get(4)).toBeGreaterThan(0);
  // A balanced cluster: nothing to do.
  expect(planRebalance(brokers([1, 2, 3]), t, 10)).toEqual([]);
});

test('preferred leaders spread by reordering replicas (no data moves), bounded', () => {
  const b = brokers([1, 2, 3, 4, 5]);
  // After a grow: every preferred leader on 1..3, nodes 4 and 5 hold replicas but lead nothing.
  const t = [
    topic('t', [
      [1, 4, 5],
      [2, 5, 4],
      [3, 4, 1],
      [1, 5, 2],
      [2, 4, 3],
      [3, 5, 1],
      [1, 2, 4],
      [2, 3, 5],
    ]),
  ];
  const reorders = planLeaderBalance(b, t, 100);
  for (const m of reorders) {
    expect([...m.to].sort()).toEqual([...m.from].sort());
    expect(m.to[0]).not.toBe(m.from[0]);
  }
  const after = new Map(t[0]?.partitions.map((p) => [p.partition, p.replicas]));
  for (const m of reorders) after.set(m.partition, m.to);
  const leaders = new Map<number, number>([1, 2, 3, 4, 5].map((id) => [id, 0]));
  for (const r of after.values()) leaders.set(r[0] as number, (leaders.get(r[0] as number) ?? 0) + 1);
  expect(Math.max(...leaders.values()) - Math.min(...leaders.values())).toBeLessThanOrEqual(1);
  expect(planLeaderBalance(b, t, 1)).toHaveLength(1);
  // Spread already: nothing.
  expect(planLeaderBalance(b, [topic('u', [[1], [2], [3], [4], [5]])], 10)).toEqual([]);
});

test('a partition moving already is planned from its target (a rerun asks for the same target)', () => {
  const b = brokers([1, 2, 3, 4]);
  // 1-2-4 moving to 1-2-3 (4 leaving): a decommission of 4 run again has nothing left to plan there.
  const t = [
    topic('t', [
      [1, 2, 3, 4],
      [4, 1, 2],
    ]),
  ];
  const moving = [{ topic: 't', partition: 0, replicas: [1, 2, 3, 4], removingReplicas: [4] }];
  const at = atTargets(t, moving);
  expect(at[0]?.partitions.map((p) => p.replicas)).toEqual([
    [1, 2, 3],
    [4, 1, 2],
  ]);
  expect(planDecommission(b, at, 4).moves.map((m) => [m.partition, m.to])).toEqual([[1, [3, 1, 2]]]);
});

test('rebalance onto a new broker keeps each partition in both racks where it can', () => {
  // Racks a = {1, 3, 5}, b = {2, 4}; broker 5 (rack a) is new and empty.
  const b = brokers([1, 2, 3, 4, 5], ['a', 'b', 'a', 'b', 'a']);
  const t = [
    topic('t', [
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 1],
      [1, 2],
      [2, 3],
    ]),
  ];
  const moves = planRebalance(b, t, 100);
  expect(moves.length).toBeGreaterThan(0);
  const rack = (id: number) => b.find((x) => x.nodeId === id)?.rack;
  for (const m of moves) expect(new Set(m.to.map(rack)).size).toBe(2);
  const after = new Map(t[0]?.partitions.map((p) => [p.partition, p.replicas]));
  for (const m of moves) after.set(m.partition, m.to);
  const counts = replicaCounts(b, [topic('t', [...after.values()])]);
  expect(counts.get(5)).toBeGreaterThanOrEqual(2);
  expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
});
