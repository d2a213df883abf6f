import fc from 'fast-check';
import {
  assignReplicas,
  chooseStartIndex,
  prepareCreateTopics,
  rackAlternatedOrder,
} from '@chronik/metadata';
import type { AssignmentBroker } from '@chronik/metadata';
import { Node } from './helpers.js';

describe('rackAlternatedOrder', () => {
  test('by id without racks', () => {
    expect(
      rackAlternatedOrder([3, 1, 2].map((brokerId) => ({ brokerId, rack: null }))).map((b) => b.brokerId),
    ).toEqual([1, 2, 3]);
  });
  test('alternates racks', () => {
    const brokers: AssignmentBroker[] = [
      { brokerId: 1, rack: 'a' },
      { brokerId: 2, rack: 'a' },
      { brokerId: 3, rack: 'b' },
      { brokerId: 4, rack: 'b' },
      { brokerId: 5, rack: 'c' },
    ];
    expect(rackAlternatedOrder(brokers).map((b) => b.brokerId)).toEqual([1, 3, 5, 2, 4]);
  });
  test('ignores racks when a broker has none', () => {
    const brokers: AssignmentBroker[] = [
      { brokerId: 2, rack: 'a' },
      { brokerId: 1, rack: null },
      { brokerId: 3, rack: 'a' },
    ];
    expect(rackAlternatedOrder(brokers).map((b) => b.brokerId)).toEqual([1, 2, 3]);
  });
});

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

describe('assignReplicas', () => {
  const plain = (ids: number[]): AssignmentBroker[] => ids.map((brokerId) => ({ brokerId, rack: null }));

  test('round robin, leader first, partition p starts at (start + p) mod n', () => {
    expect(
      assignReplicas({ brokers: plain([1, 2, 3]), partitionCount: 4, replicationFactor: 2, startIndex: 0 }),
    ).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
      [1, 2],
    ]);
    expect(
      assignReplicas({
        brokers: plain([10, 20, 30]),
        partitionCount: 2,
        replicationFactor: 3,
        startIndex: 2,
      }),
    ).toEqual([
      [30, 10, 20],
      [10, 20, 30],
    ]);
  });

  test('spreads replicas over racks even when racks are uneven', () => {
    const brokers: AssignmentBroker[] = [
      { brokerId: 1, rack: 'a' },
      { brokerId: 2, rack: 'a' },
      { brokerId: 3, rack: 'a' },
      { brokerId: 4, rack: 'b' },
    ];
    // order: 1(a) 4(b) 2(a) 3(a); partition starting at 2 must still take 4 before another 'a'
    const result = assignReplicas({ brokers, partitionCount: 4, replicationFactor: 2, startIndex: 0 });
    for (const replicas of result) expect(new Set(replicas.map((b) => (b === 4 ? 'b' : 'a'))).size).toBe(2);
  });

  test('rejects a replication factor above the broker count', () => {
    expect(() =>
      assignReplicas({ brokers: plain([1, 2]), partitionCount: 1, replicationFactor: 3, startIndex: 0 }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_REPLICATION_FACTOR', errorCode: 38 }));
  });

  const brokersArb = fc
    .record({
      ids: fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 }),
      racks: fc.option(fc.array(fc.constantFrom('r1', 'r2', 'r3', 'r4'), { minLength: 12, maxLength: 12 }), {
        nil: null,
      }),
    })
    .map(({ ids, racks }) =>
      ids.map((brokerId, i) => ({ brokerId, rack: racks === null ? null : (racks[i] as string) })),
    );

  test('property: rf distinct registered replicas, leaders round-robin, racks spread, deterministic', () => {
    fc.assert(
      fc.property(
        brokersArb,
        fc.integer({ min: 1, max: 60 }),
        fc.nat(100),
        fc.nat(11),
        (brokers, partitionCount, startIndex, rfSeed) => {
          const rf = 1 + (rfSeed % brokers.length);
          const input = { brokers, partitionCount, replicationFactor: rf, startIndex };
          const result = assignReplicas(input);
          expect(assignReplicas({ ...input, brokers: [...brokers].reverse() })).toEqual(result);
          const order = rackAlternatedOrder(brokers);
          const ids = new Set(brokers.map((b) => b.brokerId));
          const rackOf = new Map(brokers.map((b) => [b.brokerId, b.rack]));
          const racks = new Set(brokers.map((b) => b.rack));
          const rackAware = brokers.every((b) => b.rack !== null);
          check(result.length === partitionCount, 'partition count');
          result.forEach((replicas, p) => {
            check(replicas.length === rf, `partition ${p} has ${replicas.length} replicas`);
            check(new Set(replicas).size === rf, `partition ${p} has two replicas on one broker`);
            for (const b of replicas) check(ids.has(b), `unknown broker ${b}`);
            check(
              replicas[0] === order[(startIndex + p) % order.length]?.brokerId,
              `partition ${p} leader is not round-robin`,
            );
            if (rackAware)
              check(
                new Set(replicas.map((b) => rackOf.get(b))).size === Math.min(rf, racks.size),
                `partition ${p} racks not spread`,
              );
          });
          // Leaders of one topic are balanced to within one.
          const leaders = new Map<number, number>();
          for (const replicas of result)
            leaders.set(replicas[0] as number, (leaders.get(replicas[0] as number) ?? 0) + 1);
          const counts = order.map((b) => leaders.get(b.brokerId) ?? 0);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
          // A whole number of rounds puts exactly the same number of replicas on every broker (no racks).
          if (!rackAware && partitionCount % brokers.length === 0) {
            const replicasPer = new Map<number, number>();
            for (const replicas of result)
              for (const b of replicas) replicasPer.set(b, (replicasPer.get(b) ?? 0) + 1);
            expect(new Set(replicasPer.values()).size).toBe(1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('chooseStartIndex', () => {
  test('starts right after the more loaded run', () => {
    expect(chooseStartIndex([0, 0, 0], 1)).toBe(0);
    expect(chooseStartIndex([1, 0, 0], 1)).toBe(1);
    expect(chooseStartIndex([1, 1, 0, 0], 3)).toBe(2);
    expect(chooseStartIndex([2, 1, 1, 2], 2)).toBe(1);
  });
});

describe('cluster-wide leader balance (prepareCreateTopics)', () => {
  test('property: on an even cluster, per-broker preferred-leader counts differ by at most one after every creation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        fc.array(
          fc.record({
            partitions: fc.integer({ min: 1, max: 20 }),
            rf: fc.integer({ min: 1, max: 7 }),
            batch: fc.boolean(),
          }),
          { minLength: 1, maxLength: 15 },
        ),
        (brokerCount, withRacks, topics) => {
          const node = new Node();
          // Even racks: brokerCount racks of one broker, or two racks of equal size when even.
          const racks = Array.from({ length: brokerCount }, (_, i) =>
            withRacks ? (brokerCount % 2 === 0 ? `r${i % 2}` : `r${i}`) : null,
          );
          node.registerBrokers(
            Array.from({ length: brokerCount }, (_, i) => i + 1),
            racks,
          );
          let pending: { name: string; numPartitions: number; replicationFactor: number }[] = [];
          const flush = (): void => {
            const prepared = prepareCreateTopics(node.sm, pending, {
              defaultPartitions: 1,
              defaultReplicationFactor: 1,
              newTopicId: node.newTopicId,
            });
            for (const p of prepared) {
              if (!p.result.ok) throw p.result.error;
              node.ok(p.result.command);
            }
            pending = [];
            check();
          };
          const check = (): void => {
            const counts = new Map<number, number>();
            for (const b of node.sm.brokers()) counts.set(b.brokerId, 0);
            for (const t of node.sm.topics()) {
              for (const p of t.partitions) {
                if (new Set(p.replicas).size !== p.replicas.length)
                  throw new Error(`two replicas on one broker: ${p.replicas.join(',')}`);
                counts.set(p.replicas[0] as number, (counts.get(p.replicas[0] as number) ?? 0) + 1);
              }
            }
            const values = [...counts.values()];
            if (Math.max(...values) - Math.min(...values) > 1)
              throw new Error(`leaders unbalanced: ${JSON.stringify([...counts])}`);
          };
          topics.forEach((t, i) => {
            pending.push({
              name: `t${i}`,
              numPartitions: t.partitions,
              replicationFactor: 1 + ((t.rf - 1) % brokerCount),
            });
            if (!t.batch) flush();
          });
          flush();
        },
      ),
      { numRuns: 150 },
    );
  });
});
