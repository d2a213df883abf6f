// The balancer (src/cluster/balancer.ts) over a metadata state machine, the partition mover played
// by the test (each round completes the reassignments started): a decommission moves a node's
// replicas away with never more than the bound moving, then asks for its removal; a second balancer
// (another metadata leader) takes over half way from the metadata alone; a rebalance spreads every
// topic onto a new broker and ends 'balanced'; the runs are deterministic.
import { ManualScheduler } from '@chronik/env';
import type { ApplyResult, MetadataCommand } from '@chronik/metadata';
import {
  MetadataStateMachine,
  isReassigning,
  prepareCreateTopic,
  targetReplicas,
  topicIdFromBytes,
} from '@chronik/metadata';
import { Balancer, movingPartitions, replicasOn } from '../../src/cluster/balancer.js';
import { silentLogger } from '../../src/logger.js';
import type { MetadataStore } from '../../src/services/metadata-store.js';

class Store {
  readonly state = new MetadataStateMachine();
  private index = 0;
  readonly commands: MetadataCommand[] = [];

  apply(command: MetadataCommand): ApplyResult {
    this.commands.push(command);
    return this.state.applyCommand(++this.index, command);
  }

  commit(command: MetadataCommand): Promise<ApplyResult> {
    return Promise.resolve(this.apply(command));
  }

  asStore(): MetadataStore {
    return this as unknown as MetadataStore;
  }

  /** The partition mover's part: every reassignment in progress completes. */
  completeMoves(): number {
    let n = 0;
    for (const t of this.state.topics())
      for (const p of t.partitions)
        if (isReassigning(p)) {
          n++;
          const r = this.apply({
            type: 'completeReassignment',
            topicId: t.topicId,
            partition: p.partition,
            replicas: [...targetReplicas(p)],
          });
          if (!r.ok) throw new Error(r.error.message);
        }
    return n;
  }
}

function cluster(ids: number[], topics: Array<[string, number, number]>): Store {
  const s = new Store();
  s.state.setMembership({ voters: ids, learners: [] });
  s.apply({ type: 'initCluster', clusterId: 'c' });
  for (const id of ids)
    s.apply({
      type: 'registerBroker',
      brokerId: id,
      host: `h${id}`,
      port: 9092,
      rack: null,
      raftAddress: `h${id}:9192`,
      incarnation: `i${id}`,
    });
  let n = 0;
  for (const [name, partitions, rf] of topics) {
    const p = prepareCreateTopic(
      s.state,
      { name, numPartitions: partitions, replicationFactor: rf },
      {
        defaultPartitions: 1,
        defaultReplicationFactor: 1,
        newTopicId: () => topicIdFromBytes(Uint8Array.of(1, ...new Array<number>(14).fill(0), ++n)),
      },
    );
    if (!p.ok) throw new Error(p.error.message);
    s.apply(p.command);
  }
  return s;
}

function balancer(s: Store, maxConcurrentMoves: number): Balancer {
  return new Balancer({
    store: s.asStore(),
    isMetadataLeader: () => true,
    scheduler: new ManualScheduler(),
    logger: silentLogger,
    maxConcurrentMoves,
    nowMs: () => 0,
  });
}

async function decommission(): Promise<{ s: Store; rounds: number; maxMoving: number }> {
  const s = cluster(
    [1, 2, 3, 4],
    [
      ['a', 6, 3],
      ['b', 4, 2],
    ],
  );
  s.apply({ type: 'decommissionNode', nodeId: 4, remove: true });
  let b = balancer(s, 2);
  let maxMoving = 0;
  let rounds = 0;
  for (; rounds < 50 && s.state.membershipChange() === null; rounds++) {
    // Half way, another node leads the metadata: a new balancer, the same metadata.
    if (rounds === 2) b = balancer(s, 2);
    await b.step();
    maxMoving = Math.max(maxMoving, movingPartitions(s.state));
    s.completeMoves();
  }
  return { s, rounds, maxMoving };
}

test('a decommission moves the node off every topic, at most the bound at once, then asks for its removal', async () => {
  const before = cluster(
    [1, 2, 3, 4],
    [
      ['a', 6, 3],
      ['b', 4, 2],
    ],
  );
  const held = replicasOn(before.state, 4);
  expect(held).toBeGreaterThan(2);
  const { s, rounds, maxMoving } = await decommission();
  expect(maxMoving).toBe(2);
  expect(rounds).toBeGreaterThanOrEqual(Math.ceil(held / 2));
  expect(replicasOn(s.state, 4)).toBe(0);
  expect(s.state.membershipChange()).toMatchObject({ nodeId: 4, kind: 'remove' });
  // Replication factors kept, and the others share the replicas within one.
  expect(s.state.topic('a')?.partitions.every((p) => p.replicas.length === 3)).toBe(true);
  expect(s.state.topic('b')?.partitions.every((p) => p.replicas.length === 2)).toBe(true);
  const counts = [1, 2, 3].map((id) => replicasOn(s.state, id));
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  // The same metadata, the same moves.
  const again = await decommission();
  expect(again.s.commands).toEqual(s.commands);
});

test('a recommissioned node is left alone; a rebalance spreads every topic onto a new broker and ends balanced', async () => {
  const s = cluster(
    [1, 2, 3],
    [
      ['x', 4, 2],
      ['y', 4, 2],
      ['z', 4, 2],
    ],
  );
  s.state.setMembership({ voters: [1, 2, 3, 4], learners: [] });
  s.apply({
    type: 'registerBroker',
    brokerId: 4,
    host: 'h4',
    port: 9092,
    rack: null,
    raftAddress: 'h4:9192',
    incarnation: 'i4',
  });
  s.apply({ type: 'decommissionNode', nodeId: 1, remove: true });
  s.apply({ type: 'recommissionNode', nodeId: 1 });
  const b = balancer(s, 3);
  await b.step();
  expect(movingPartitions(s.state)).toBe(0);
  s.apply({ type: 'startRebalance' });
  let maxMoving = 0;
  for (let round = 0; round < 50 && s.state.rebalance()?.endIndex === null; round++) {
    await b.step();
    maxMoving = Math.max(maxMoving, movingPartitions(s.state));
    s.completeMoves();
  }
  expect(s.state.rebalance()).toMatchObject({ reason: 'balanced' });
  expect(maxMoving).toBeLessThanOrEqual(3);
  const counts = [1, 2, 3, 4].map((id) => replicasOn(s.state, id));
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  const leaders = new Map<number, number>();
  for (const t of s.state.topics())
    for (const p of t.partitions)
      leaders.set(p.replicas[0] as number, (leaders.get(p.replicas[0] as number) ?? 0) + 1);
  const lc = [1, 2, 3, 4].map((id) => leaders.get(id) ?? 0);
  expect(Math.max(...lc) - Math.min(...lc)).toBeLessThanOrEqual(1);
});
