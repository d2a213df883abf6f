// The leader Metadata names for a partition: the metadata's, unless this node's replica knows
// better — a newer epoch (its leader once it serves, else none), or that this node, still named
// by the metadata, does not lead or does not serve yet. And the controller it names.
import type { PartitionInfo } from '@chronik/metadata';
import type { LocalLeadership } from '../../src/services/metadata-cache.js';
import { MetadataCache } from '../../src/services/metadata-cache.js';
import { systemScheduler } from '@chronik/env';
import { MemFileSystem } from '@chronik/wal';
import { silentLogger } from '../../src/logger.js';
import type { MetadataStore } from '../../src/services/metadata-store.js';
import { LocalMetadataStore, commitOk } from '../../src/services/metadata-store.js';
import { StateWatch } from '../../src/services/state-watch.js';

const TOPIC_ID = 'a3c1e5f0-8d2b-4c6e-9f10-2b3c4d5e6f70';
const NODE = 1;

function leaderOf(info: Partial<PartitionInfo>, local: LocalLeadership | undefined) {
  // leaderOf reads only the partition it is given and the local lookup, never the store.
  const cache = new MetadataCache({} as MetadataStore, NODE, () => local);
  const p: PartitionInfo = {
    partition: 0,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    leader: 2,
    leaderEpoch: 5,
    partitionEpoch: 0,
    repairs: [],
    addingReplicas: [],
    removingReplicas: [],
    ...info,
  };
  return cache.leaderOf(TOPIC_ID, p);
}

test('the metadata leader stands while this replica knows no newer epoch', () => {
  expect(leaderOf({}, undefined)).toEqual({ leaderId: 2, leaderEpoch: 5 });
  expect(leaderOf({}, { leaderId: 2, leaderEpoch: 5, isLeader: false })).toEqual({
    leaderId: 2,
    leaderEpoch: 5,
  });
});

test('a newer epoch known here names its leader once it serves, and none before', () => {
  expect(leaderOf({}, { leaderId: 3, leaderEpoch: 6, isLeader: false })).toEqual({
    leaderId: 3,
    leaderEpoch: 6,
  });
  // An election in epoch 6, or a leader whose first entry has not committed: the metadata's node 2
  // leads no more, and no one serves yet.
  expect(leaderOf({}, { leaderId: -1, leaderEpoch: 6, isLeader: false })).toEqual({
    leaderId: -1,
    leaderEpoch: 6,
  });
  expect(leaderOf({}, { leaderId: NODE, leaderEpoch: 6, isLeader: true })).toEqual({
    leaderId: NODE,
    leaderEpoch: 6,
  });
});

test('this node, named by the metadata, is not named while its replica does not lead or does not serve', () => {
  const named = { leader: NODE, leaderEpoch: 6 };
  expect(leaderOf(named, { leaderId: NODE, leaderEpoch: 6, isLeader: true })).toEqual({
    leaderId: NODE,
    leaderEpoch: 6,
  });
  expect(leaderOf(named, { leaderId: -1, leaderEpoch: 6, isLeader: false })).toEqual({
    leaderId: -1,
    leaderEpoch: 6,
  });
  expect(leaderOf(named, { leaderId: 3, leaderEpoch: 6, isLeader: false })).toEqual({
    leaderId: 3,
    leaderEpoch: 6,
  });
});

test('the controller named is this broker once registered; before, a live broker of the answer, or -1', () => {
  const controllerWith = (brokers: Array<{ brokerId: number; fenced: boolean }>) => {
    const state = {
      broker: (id: number) => brokers.find((b) => b.brokerId === id),
      liveBrokers: () => brokers.filter((b) => !b.fenced),
    };
    return new MetadataCache({ state } as unknown as MetadataStore, NODE, () => undefined).controllerId();
  };
  expect(controllerWith([{ brokerId: NODE, fenced: false }])).toBe(NODE);
  // A node just started, not registered yet (kafkajs looked for "broker 2" in the list and failed).
  expect(controllerWith([{ brokerId: 3, fenced: false }])).toBe(3);
  expect(
    controllerWith([
      { brokerId: NODE, fenced: true },
      { brokerId: 2, fenced: false },
    ]),
  ).toBe(2);
  expect(controllerWith([])).toBe(-1);
});

test("untilRegistered resolves once this broker's registration is applied, or false after the timeout", async () => {
  const store = await LocalMetadataStore.open({
    nodeId: NODE,
    fs: new MemFileSystem(),
    dir: '/metadata',
    logger: silentLogger,
  });
  await commitOk(store, { type: 'initCluster', clusterId: 'watch-test' });
  const cache = new MetadataCache(store, NODE, () => undefined, new StateWatch(store.state, systemScheduler));
  expect(cache.registered()).toBe(false);
  expect(await cache.untilRegistered(30)).toBe(false);
  const waiting = [cache.untilRegistered(5000), cache.untilRegistered(5000)];
  await commitOk(store, {
    type: 'registerBroker',
    brokerId: NODE,
    host: '127.0.0.1',
    port: 9092,
    rack: null,
    raftAddress: 'standalone',
    incarnation: 'a',
  });
  expect(await Promise.all(waiting)).toEqual([true, true]);
  expect(await cache.untilRegistered(0)).toBe(true);
  expect(cache.controllerId()).toBe(NODE);
});
