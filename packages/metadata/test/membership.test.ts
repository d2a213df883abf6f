// Cluster membership in the metadata: only members of the metadata group (its configuration, given
// by the group) register as brokers; addNode / removeNode / membershipDone record one change at a
// time with Kafka's errors for what is refused; the snapshot (format 8) keeps the change and the
// last outcome.
import { MetadataStateMachine } from '@chronik/metadata';
import { unpack } from 'msgpackr';
import { Node, broker, stateOf } from './helpers.js';

function cluster(): Node {
  const n = new Node();
  n.sm.setMembership({ voters: [1, 2, 3], learners: [] });
  n.ok({ type: 'initCluster', clusterId: 'cluster-a' });
  n.registerBrokers([1, 2, 3]);
  return n;
}

const add = (
  nodeId: number,
  extra: Partial<{ raftAddress: string; clusterId: string; directoryId: string }> = {},
) => ({
  type: 'addNode' as const,
  nodeId,
  raftAddress: `host${nodeId}:9999`,
  clusterId: '',
  directoryId: `dir-${nodeId}`,
  ...extra,
});

describe('cluster membership', () => {
  test('a node that is not a member of the metadata group cannot register (INVALID_REGISTRATION)', () => {
    const n = cluster();
    expect(n.apply(broker(4))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REGISTRATION', errorCode: 119 },
    });
    // Once the group has it (a learner), it may.
    n.sm.setMembership({ voters: [1, 2, 3], learners: [4] });
    n.ok(broker(4));
    expect(n.sm.broker(4)).toBeDefined();
    // A single node (no group gives a membership) registers as before.
    const single = new Node();
    single.ok(broker(7));
  });

  test('addNode records one change at a time; retries from the same directory; refusals', () => {
    const n = cluster();
    const r = n.ok(add(4));
    expect(r.ok && r.changes[0]).toMatchObject({
      type: 'membershipChanged',
      change: { nodeId: 4, kind: 'add' },
    });
    const first = n.index;
    expect(n.sm.membershipChange()).toEqual({
      nodeId: 4,
      kind: 'add',
      raftAddress: 'host4:9999',
      directoryId: 'dir-4',
      requestIndex: first,
    });
    // The same join again (the node asked twice): nothing changes.
    const again = n.ok(add(4));
    expect(again.ok && again.changes).toEqual([]);
    // Another directory with the same id, or another node meanwhile: refused.
    expect(n.apply(add(4, { directoryId: 'other' }))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    expect(n.apply(add(5))).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/one node at a time/) },
    });
    expect(n.apply({ type: 'removeNode', nodeId: 3 })).toMatchObject({ ok: false });
    // A stale end is refused; the right one ends it.
    expect(
      n.apply({ type: 'membershipDone', nodeId: 4, requestIndex: first + 1, refused: null }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    n.sm.setMembership({ voters: [1, 2, 3, 4], learners: [] });
    n.ok({ type: 'membershipDone', nodeId: 4, requestIndex: first, refused: null });
    expect(n.sm.membershipChange()).toBeNull();
    expect(n.sm.membershipOutcome()).toMatchObject({ nodeId: 4, kind: 'add', refused: null });
  });

  test('an operator admits a node before it starts (no directory): its own join is the same; a removal replaces an add that never came', () => {
    const n = cluster();
    n.ok(add(4, { directoryId: '' }));
    const again = n.ok(add(4));
    expect(again.ok && again.changes).toEqual([]);
    n.ok({ type: 'removeNode', nodeId: 4 });
    expect(n.sm.membershipChange()).toMatchObject({ nodeId: 4, kind: 'remove' });
  });

  test('adding is refused for members, registered brokers, used Raft addresses and another cluster id', () => {
    const n = cluster();
    expect(n.apply(add(2))).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/already a member/) },
    });
    expect(n.apply(add(4, { raftAddress: 'host1:9193' }))).toMatchObject({
      ok: false,
      error: { code: 'DUPLICATE_BROKER_REGISTRATION' },
    });
    expect(n.apply(add(4, { clusterId: 'cluster-b' }))).toMatchObject({
      ok: false,
      error: { code: 'INCONSISTENT_CLUSTER_ID', errorCode: 104 },
    });
    expect(n.apply(add(4, { raftAddress: '' }))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    n.ok(add(4, { clusterId: 'cluster-a' }));
  });

  test('removeNode: not while it holds replicas, never the last voter; a removal done unregisters the broker', () => {
    const n = cluster();
    const { topicId } = n.createTopic('t', 1, 2);
    const holder = n.sm.partition('t', 0)?.replicas[0] as number;
    n.ok({ type: 'changeLeader', topicId, partition: 0, leader: holder, leaderEpoch: 1, isr: [holder] });
    expect(n.apply({ type: 'removeNode', nodeId: holder })).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/still holds 1 partition replica\(s\) \(t-0\)/) },
    });
    expect(n.apply({ type: 'removeNode', nodeId: 9 })).toMatchObject({
      ok: false,
      error: { code: 'BROKER_ID_NOT_REGISTERED' },
    });
    const free = [1, 2, 3].find((b) => !(n.sm.partition('t', 0)?.replicas ?? []).includes(b)) as number;
    n.ok({ type: 'removeNode', nodeId: free });
    const req = n.index;
    expect(n.sm.membershipChange()).toMatchObject({
      nodeId: free,
      kind: 'remove',
      raftAddress: `host${free}:${9192 + free}`,
    });
    // Refused by the leader (it would lose quorum): the broker stays.
    n.ok({ type: 'membershipDone', nodeId: free, requestIndex: req, refused: 'would lose quorum' });
    expect(n.sm.broker(free)).toBeDefined();
    expect(n.sm.membershipOutcome()).toMatchObject({ refused: 'would lose quorum' });
    n.ok({ type: 'removeNode', nodeId: free });
    const again = n.index;
    n.sm.setMembership({ voters: [1, 2, 3].filter((b) => b !== free), learners: [] });
    const done = n.ok({ type: 'membershipDone', nodeId: free, requestIndex: again, refused: null });
    expect(done.ok && done.changes.map((c) => c.type)).toEqual(['membershipChanged', 'brokerUnregistered']);
    expect(n.sm.broker(free)).toBeUndefined();
    // The last voter.
    const solo = new Node();
    solo.sm.setMembership({ voters: [1], learners: [] });
    solo.ok(broker(1));
    expect(solo.apply({ type: 'removeNode', nodeId: 1 })).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/only voter/) },
    });
  });

  test('the change in progress and the last outcome survive a snapshot (format 8)', () => {
    const n = cluster();
    n.ok(add(4));
    const first = n.index;
    n.ok({ type: 'membershipDone', nodeId: 4, requestIndex: first, refused: null });
    n.sm.setMembership({ voters: [1, 2, 3, 4], learners: [] });
    n.ok({ type: 'removeNode', nodeId: 3 });
    const bytes = n.sm.snapshot();
    expect((unpack(Buffer.from(bytes)) as { format: number }).format).toBe(8);
    const restored = MetadataStateMachine.fromSnapshot(bytes);
    expect(stateOf(restored)).toEqual(stateOf(n.sm));
    expect(restored.membershipChange()).toEqual(n.sm.membershipChange());
    expect(restored.membershipOutcome()).toEqual(n.sm.membershipOutcome());
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
    // The group's configuration is not part of it (the Raft group gives it again).
    expect(restored.membership()).toBeNull();
  });

  test('format 8 does not take the number of another feature, and a state without a membership change is written as before', () => {
    // Quotas (5), ACLs (6) and a move (7) beside no membership change: format 7, as main writes it.
    const n = cluster();
    n.sm.setMembership({ voters: [1, 2, 3, 4], learners: [] });
    n.registerBrokers([4]);
    n.ok({
      type: 'alterClientQuotas',
      entries: [
        { entity: [{ type: 'user', name: 'alice' }], ops: [{ key: 'producer_byte_rate', value: 1024 }] },
      ],
    });
    n.ok({
      type: 'createAcls',
      acls: [
        {
          resourceType: 'TOPIC',
          resourceName: 't',
          patternType: 'LITERAL',
          principal: 'User:alice',
          host: '*',
          operation: 'READ',
          permission: 'ALLOW',
        },
      ],
    });
    const { topicId, assignments } = n.createTopic('t', 1, 3);
    const now = assignments[0] ?? [];
    const target = [[1, 2, 3, 4].find((b) => !now.includes(b)) as number, ...now.slice(1)];
    n.ok({ type: 'alterReassignment', topicId, partition: 0, replicas: target });
    const before = n.sm.snapshot();
    const unpacked = unpack(Buffer.from(before)) as Record<string, unknown>;
    expect(unpacked.format).toBe(7);
    expect('membershipChange' in unpacked || 'membershipOutcome' in unpacked).toBe(false);
    // Read back and written again byte for byte.
    expect(
      Buffer.from(MetadataStateMachine.fromSnapshot(before).snapshot()).equals(Buffer.from(before)),
    ).toBe(true);
    // A membership change: format 8 keeps everything the earlier formats hold.
    n.ok(add(5));
    const after = n.sm.snapshot();
    expect((unpack(Buffer.from(after)) as { format: number }).format).toBe(8);
    const restored = MetadataStateMachine.fromSnapshot(after);
    expect(stateOf(restored)).toEqual(stateOf(n.sm));
    expect(restored.acls()).toEqual(n.sm.acls());
    expect(restored.clientQuotas()).toEqual(n.sm.clientQuotas());
    expect(restored.partition('t', 0)?.addingReplicas).toEqual([target[0]]);
    expect(restored.membershipChange()).toEqual(n.sm.membershipChange());
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(after))).toBe(true);
  });
});
