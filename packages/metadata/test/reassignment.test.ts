// Partition reassignment in the metadata (KIP-455): the merged replica set with adding/removing
// replicas, retries, refusals with Kafka's errors, cancel (the data moves back), completion,
// replication-factor changes, and the snapshot (format 7 while a partition moves).
import { MetadataStateMachine, originalReplicas, targetReplicas } from '@chronik/metadata';
import { pack, unpack } from 'msgpackr';
import { Node, stateOf } from './helpers.js';

function setup(): { n: Node; topicId: string } {
  const n = new Node();
  n.registerBrokers([1, 2, 3, 4, 5]);
  const { topicId } = n.createTopic('t', 2, 3);
  return { n, topicId };
}

function partition(n: Node, p = 0) {
  const info = n.sm.partition('t', p);
  if (info === undefined) throw new Error('no partition');
  return info;
}

describe('partition reassignment', () => {
  test('a move records the merged replica set, the target first, with the replicas added and removed', () => {
    const { n, topicId } = setup();
    const before = partition(n);
    const target = [4, ...before.replicas.slice(1)];
    const r = n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: target });
    expect(r.ok && r.changes[0]).toMatchObject({ type: 'partitionChanged', reason: 'replicas' });
    const moving = partition(n);
    expect(moving.replicas).toEqual([...target, before.replicas[0]]);
    expect(moving.addingReplicas).toEqual([4]);
    expect(moving.removingReplicas).toEqual([before.replicas[0]]);
    expect(moving.partitionEpoch).toBe(before.partitionEpoch + 1);
    expect(targetReplicas(moving)).toEqual(target);
    expect([...originalReplicas(moving)].sort()).toEqual([...before.replicas].sort());
    // The same target again (a retried request) changes nothing.
    const again = n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: target });
    expect(again.ok && again.changes).toEqual([]);
    // Another target while it runs: Kafka's REASSIGNMENT_IN_PROGRESS.
    expect(n.apply({ type: 'alterReassignment', topicId, partition: 0, replicas: [5, 4, 3] })).toMatchObject({
      ok: false,
      error: { code: 'REASSIGNMENT_IN_PROGRESS', errorCode: 60 },
    });
    // A stale completion (another target) is refused; the right one ends it.
    expect(
      n.apply({ type: 'completeReassignment', topicId, partition: 0, replicas: [5, 4, 3] }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    n.ok({ type: 'completeReassignment', topicId, partition: 0, replicas: target });
    expect(partition(n)).toMatchObject({ replicas: target, addingReplicas: [], removingReplicas: [] });
    expect(partition(n).isr.every((b) => target.includes(b))).toBe(true);
    // Nothing left to complete or cancel.
    expect(n.apply({ type: 'completeReassignment', topicId, partition: 0, replicas: target })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    expect(n.apply({ type: 'alterReassignment', topicId, partition: 0, replicas: null })).toMatchObject({
      ok: false,
      error: { code: 'NO_REASSIGNMENT_IN_PROGRESS', errorCode: 85 },
    });
  });

  test('the current replicas, or the same brokers in another order, move no data', () => {
    const { n, topicId } = setup();
    const before = partition(n);
    const same = n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: [...before.replicas] });
    expect(same.ok && same.changes).toEqual([]);
    const reordered = [...before.replicas].reverse();
    n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: reordered });
    expect(partition(n)).toMatchObject({ replicas: reordered, addingReplicas: [], removingReplicas: [] });
  });

  test('bad targets are INVALID_REPLICA_ASSIGNMENT with Kafka messages; unknown partitions are refused', () => {
    const { n, topicId } = setup();
    const bad: Array<[number[], RegExp]> = [
      [[], /Empty replica list/],
      [[1, 1, 2], /Duplicate replica ids/],
      [[1, 2, 9], /includes broker 9, but no such broker is registered/],
    ];
    for (const [replicas, message] of bad) {
      const r = n.apply({ type: 'alterReassignment', topicId, partition: 0, replicas });
      expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_REPLICA_ASSIGNMENT', errorCode: 39 } });
      expect(!r.ok && r.error.message).toMatch(message);
    }
    // A negative id does not even encode as a valid command (the handler refuses it first).
    expect(n.apply({ type: 'alterReassignment', topicId, partition: 0, replicas: [-1, 2] })).toMatchObject({
      ok: false,
    });
    expect(n.apply({ type: 'alterReassignment', topicId, partition: 7, replicas: [1] })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_TOPIC_OR_PARTITION' },
    });
  });

  test('a cancel makes the old replica set the target again: the added replicas are the ones leaving', () => {
    const { n, topicId } = setup();
    const before = partition(n);
    const target = [4, 5, before.replicas[0] as number];
    n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: target });
    const moving = partition(n);
    n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: null });
    const back = partition(n);
    // The old set, in the merged set's order (as Kafka reverts).
    expect([...targetReplicas(back)].sort()).toEqual([...before.replicas].sort());
    expect(targetReplicas(back)).toEqual(originalReplicas(moving));
    // Every node that may hold a copy the group counts is still a replica.
    expect([...back.replicas].sort()).toEqual([...moving.replicas].sort());
    expect(back.removingReplicas).toEqual([4, 5]);
    expect(back.addingReplicas).toEqual(moving.removingReplicas);
    // Completing the cancelled target is refused; completing the old set ends it.
    expect(n.apply({ type: 'completeReassignment', topicId, partition: 0, replicas: target })).toMatchObject({
      ok: false,
    });
    n.ok({ type: 'completeReassignment', topicId, partition: 0, replicas: targetReplicas(back) });
    expect(partition(n)).toMatchObject({
      replicas: targetReplicas(back),
      addingReplicas: [],
      removingReplicas: [],
    });
  });

  test('a replication-factor change is a reassignment; CreatePartitions keeps the target factor', () => {
    const { n, topicId } = setup();
    const before = partition(n);
    const grown = [...before.replicas, ...[1, 2, 3, 4, 5].filter((b) => !before.replicas.includes(b))];
    n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: grown });
    expect(partition(n)).toMatchObject({ replicas: grown, removingReplicas: [] });
    expect(partition(n).addingReplicas).toHaveLength(2);
    // Partition 0 has 5 replicas as its target: new partitions get 5.
    n.ok({
      type: 'createPartitions',
      name: 't',
      topicId,
      expectedCurrentCount: 2,
      assignments: [[1, 2, 3, 4, 5]],
    });
    expect(
      n.apply({
        type: 'createPartitions',
        name: 't',
        topicId,
        expectedCurrentCount: 3,
        assignments: [[1, 2, 3]],
      }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_REPLICA_ASSIGNMENT' } });
    // Shrinking: the leader leaves the ISR and the leadership when it leaves the replicas.
    const p1 = partition(n, 1);
    const leader = p1.replicas[0] as number;
    n.ok({ type: 'changeLeader', topicId, partition: 1, leader, leaderEpoch: 1, isr: [...p1.replicas] });
    const shrunk = p1.replicas.slice(1, 2);
    n.ok({ type: 'alterReassignment', topicId, partition: 1, replicas: shrunk });
    expect(partition(n, 1)).toMatchObject({ addingReplicas: [], leader });
    n.ok({ type: 'completeReassignment', topicId, partition: 1, replicas: shrunk });
    expect(partition(n, 1)).toMatchObject({ replicas: shrunk, isr: shrunk, leader: -1 });
  });

  test('repairs of a replica that leaves go with it at completion', () => {
    const { n, topicId } = setup();
    const before = partition(n);
    const leaving = before.replicas[2] as number;
    n.ok({
      type: 'replicaRepair',
      topicId,
      partition: 0,
      brokerId: leaving,
      phase: 'requested',
      requestIndex: -1,
    });
    const target = [...before.replicas.slice(0, 2), 4];
    n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: target });
    expect(partition(n).repairs.map((r) => r.brokerId)).toEqual([leaving]);
    n.ok({ type: 'completeReassignment', topicId, partition: 0, replicas: target });
    expect(partition(n).repairs).toEqual([]);
  });

  test('a moving partition survives a snapshot (format 7), repairs or not; a settled state keeps its old format', () => {
    const { n, topicId } = setup();
    expect((unpack(Buffer.from(n.sm.snapshot())) as { format: number }).format).toBe(1);
    n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: [4, 5] });
    const p1 = partition(n, 1);
    n.ok({
      type: 'replicaRepair',
      topicId,
      partition: 1,
      brokerId: p1.replicas[0] as number,
      phase: 'requested',
      requestIndex: -1,
    });
    n.ok({ type: 'alterReassignment', topicId, partition: 1, replicas: [5, ...p1.replicas.slice(1)] });
    const bytes = n.sm.snapshot();
    expect((unpack(Buffer.from(bytes)) as { format: number }).format).toBe(7);
    const restored = MetadataStateMachine.fromSnapshot(bytes);
    expect(stateOf(restored)).toEqual(stateOf(n.sm));
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
    n.ok({ type: 'completeReassignment', topicId, partition: 0, replicas: [4, 5] });
    n.ok({ type: 'alterReassignment', topicId, partition: 1, replicas: null });
    n.ok({ type: 'completeReassignment', topicId, partition: 1, replicas: targetReplicas(partition(n, 1)) });
    expect((unpack(Buffer.from(n.sm.snapshot())) as { format: number }).format).toBe(3);
  });

  test('a snapshot row whose reassignment does not hold together is refused', () => {
    const { n, topicId } = setup();
    n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: [4, 5] });
    const snap = unpack(Buffer.from(n.sm.snapshot())) as {
      topics: Array<{ partitions: unknown[][] }>;
    };
    const row = snap.topics[0]?.partitions[0] as unknown[];
    row[6] = [[9], []];
    expect(() => MetadataStateMachine.fromSnapshot(pack(snap))).toThrow(/malformed reassignment/);
  });
});
