// startGroupServices: which __consumer_offsets partitions this node coordinates, following
// leadership as it moves (cluster mode), and a partition that cannot be loaded leaving only its own
// groups without a coordinator.
import type { Cluster } from '../../src/cluster/cluster.js';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { InMemoryOffsetLog, ManualScheduler } from '../../src/groups/index.js';
import type { EncodedRecord } from '../../src/groups/index.js';
import { partitionsToCoordinate, startGroupServices } from '../../src/groups/service.js';
import { settle } from './helpers.js';

function fakeCluster(
  mode: 'standalone' | 'raft-cluster',
  leaders: number[] | undefined,
): { cluster: Cluster; setLeaders(l: number[]): void } {
  let current = leaders;
  const cluster = {
    nodeId: 1,
    topic: (name: string) =>
      name === '__consumer_offsets' && current !== undefined
        ? {
            name,
            topicId: 'x',
            internal: true,
            configs: {},
            partitions: current.map((leaderId, partition) => ({
              partition,
              leaderId,
              leaderEpoch: 0,
              replicas: [],
              isr: [],
              offlineReplicas: [],
            })),
          }
        : undefined,
    status: () => ({ mode }),
  } as unknown as Cluster;
  return { cluster, setLeaders: (l) => (current = l) };
}

const config = { ...DEFAULT_CONFIG, broker: { ...DEFAULT_CONFIG.broker, offsetsTopicNumPartitions: 3 } };

it('coordinates every partition in standalone before the topic exists, none in a cluster', () => {
  expect(partitionsToCoordinate(fakeCluster('standalone', undefined).cluster, 3)).toEqual([0, 1, 2]);
  expect(partitionsToCoordinate(fakeCluster('raft-cluster', undefined).cluster, 3)).toEqual([]);
  expect(partitionsToCoordinate(fakeCluster('raft-cluster', [1, 2, 1]).cluster, 3)).toEqual([0, 2]);
});

it('follows leadership: loads partitions it gains, unloads those it loses', async () => {
  const { cluster, setLeaders } = fakeCluster('raft-cluster', [1, 2, 1]);
  const clock = new ManualScheduler();
  const log = new InMemoryOffsetLog();
  const g = await startGroupServices({
    cluster,
    config,
    scheduler: clock,
    offsetLog: log,
    leadershipCheckIntervalMs: 1000,
  });
  expect(g.coordinator.ownedPartitions()).toEqual([0, 2]);
  setLeaders([2, 1, 1]);
  clock.advance(1000);
  await settle();
  expect(g.coordinator.ownedPartitions()).toEqual([1, 2]);
  expect(g.handlers).toHaveLength(10);
  g.close();
  expect(clock.pendingTimers).toBe(0);
});

it('a partition that cannot be read leaves only its groups without a coordinator, and is retried', async () => {
  const { cluster } = fakeCluster('standalone', [1, 1, 1]);
  const clock = new ManualScheduler();
  const log = new InMemoryOffsetLog();
  let broken = true;
  const flaky = {
    append: (p: number, r: readonly EncodedRecord[]) => log.append(p, r),
    truncateBefore: (p: number, o: bigint) => log.truncateBefore(p, o),
    readAll: (p: number): AsyncIterable<EncodedRecord> => {
      if (p === 1 && broken) throw new Error('disk says no');
      return log.readAll(p);
    },
  };
  const g = await startGroupServices({
    cluster,
    config,
    scheduler: clock,
    offsetLog: flaky,
    leadershipCheckIntervalMs: 1000,
  });
  expect(g.coordinator.ownedPartitions()).toEqual([0, 2]);
  broken = false;
  clock.advance(10_000);
  await settle();
  expect(g.coordinator.ownedPartitions()).toEqual([0, 2]); // not retried before 30 s
  for (let i = 0; i < 25; i++) {
    clock.advance(1000);
    await settle();
  }
  expect(g.coordinator.ownedPartitions()).toEqual([0, 1, 2]);
  g.close();
});
