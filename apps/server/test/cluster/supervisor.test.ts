// ReplicationSupervisor's preferred-leader round, on fakes (no Raft).
import { ManualScheduler } from '@chronik/env';
import type { RaftHost } from '@chronik/raft-host';
import { ReplicationSupervisor } from '../../src/cluster/supervisor.js';
import { silentLogger } from '../../src/logger.js';
import type { ReplicatedPartition } from '../../src/partition/replicated-partition.js';
import type { MetadataStore } from '../../src/services/metadata-store.js';

test('a preferred-leader round moves many misplaced leaders back at once, within its bound', () => {
  // After a big topic's creation a node may lead hundreds of partitions whose preferred replica is
  // another node; one transfer per 2 s round left leaders unevenly spread for many minutes.
  const clock = new ManualScheduler();
  const moved: number[] = [];
  const replicas = Array.from({ length: 100 }, (_, i) => ({
    topic: 't',
    partition: i,
    replicas: [2, 1, 3],
    leaderSinceMs: clock.nowMs(),
    group: { groupId: 1024 + i },
    isLeaderReady: () => true,
    transferringUntilMs: 0,
    get transferring() {
      return this.transferringUntilMs > clock.nowMs();
    },
    transferLeadership(to: number, windowMs: number) {
      this.transferringUntilMs = clock.nowMs() + windowMs;
      moved.push(to);
    },
  }));
  let acks = 0;
  const supervisor = new ReplicationSupervisor({
    nodeId: 1,
    host: { status: () => ({ voters: [1, 2, 3] }) } as unknown as RaftHost,
    store: {} as MetadataStore,
    replicas: () => replicas as unknown as ReplicatedPartition[],
    peerAcks: () => [{ nodeId: 2, totalAckedBatches: ++acks }],
    clock,
    scheduler: clock,
    logger: silentLogger,
    replicaLagMaxMs: 10_000,
    activeWindowMs: 2_000,
    transferWindowMs: 2_000,
  });
  supervisor.rebalance(); // node 2 seen answering; nothing moves before it answered steadily
  expect(moved).toHaveLength(0);
  for (let t = 0; t < 11; t++) {
    clock.advance(1000);
    supervisor.rebalance();
    if (moved.length > 0) break;
  }
  expect(moved.length).toBe(32);
  expect(new Set(moved)).toEqual(new Set([2]));
  // Those 32 did not complete (still leaders here): no more start while their windows run.
  clock.advance(1000);
  supervisor.rebalance();
  expect(moved.length).toBe(32);
  clock.advance(1000); // their windows (2 s) passed: the next round starts 32 others
  supervisor.rebalance();
  expect(moved.length).toBe(64);
  // The first 32 are tried again only after their backoff (10 s), once the other 36 had their turn.
  for (let t = 0; t < 4; t++) {
    clock.advance(2000);
    supervisor.rebalance();
  }
  expect(moved.length).toBe(100 + 32);
});
