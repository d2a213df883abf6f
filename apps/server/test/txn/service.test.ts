// The transaction coordinator in the broker: it follows the partition manager's leadership of
// __transaction_state (the leader epoch is the coordinator epoch; a failed load is retried while led
// here), the broker's MarkerWriter routes each partition to its leader (this node, another node
// through the inter-broker hook, or not at all without it), and the partition manager's verifier
// asks this node's coordinator or the one elsewhere.
import { KafkaError } from '../../src/errors.js';
import { ManualScheduler } from '@chronik/env';
import { silentLogger } from '../../src/logger.js';
import type { LeadershipListener } from '../../src/services/partition-manager.js';
import { InMemoryTxnLog } from '../../src/txn/index.js';
import type { TxnLog, TxnMarker } from '../../src/txn/index.js';
import { BrokerMarkerWriter, RoutedTxnVerifier, startTxnService } from '../../src/txn/service.js';
import type { TxnPartitions } from '../../src/txn/service.js';
import { FakeMarkerWriter, settle, tp } from './helpers.js';

function fakePartitions(initial: Array<[number, number]>) {
  const listeners = new Set<LeadershipListener>();
  const epochs = new Map(initial);
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  const partitions: TxnPartitions = {
    append: unused,
    read: unused,
    listOffset: unused,
    deleteRecords: unused,
    leader(x) {
      const leaderEpoch = epochs.get(x.partition);
      if (leaderEpoch === undefined) throw new KafkaError('NOT_LEADER_OR_FOLLOWER');
      return { leaderEpoch };
    },
    onLeadership(l) {
      listeners.add(l);
      for (const p of epochs.keys()) l('__transaction_state', p, true);
      return () => listeners.delete(l);
    },
  };
  const lead = (p: number, epoch: number | undefined): void => {
    if (epoch === undefined) epochs.delete(p);
    else epochs.set(p, epoch);
    for (const l of listeners) l('__transaction_state', p, epoch !== undefined);
  };
  return { partitions, lead, listeners };
}

function start(
  partitions: TxnPartitions,
  clock: ManualScheduler,
  txnLog: TxnLog,
  markers = new FakeMarkerWriter(),
) {
  let n = 100n;
  return startTxnService({
    partitions,
    ensureTopic: () => Promise.resolve(),
    numPartitions: 3,
    clock,
    scheduler: clock,
    logger: silentLogger,
    newProducerId: () => Promise.resolve(n++),
    markers,
    txnLog,
  });
}

it('loads the partitions led here with their leader epoch, follows leadership, retries a failed load', async () => {
  const { partitions, lead, listeners } = fakePartitions([
    [0, 4],
    [2, 9],
  ]);
  const clock = new ManualScheduler();
  const log = new InMemoryTxnLog();
  let broken = false;
  const flaky: TxnLog = {
    append: (p, r) => log.append(p, r),
    truncateBefore: (p, o) => log.truncateBefore(p, o),
    readAll: (p) => {
      if (broken) throw new Error('disk says no');
      return log.readAll(p);
    },
  };
  const markers = new FakeMarkerWriter();
  const s = await start(partitions, clock, flaky, markers);
  expect(s.coordinator.ownedPartitions()).toEqual([0, 2]);
  // Markers carry the partition's leader epoch.
  const id = ['a', 'b', 'c', 'd', 'e'].find((x) => s.coordinator.partitionFor(x) === 2) ?? '';
  const r = await s.coordinator.initProducerId({
    transactionalId: id,
    transactionTimeoutMs: 1000,
    producerId: -1n,
    producerEpoch: -1,
  });
  const p = { transactionalId: id, producerId: r.producerId, producerEpoch: r.producerEpoch };
  await s.coordinator.addPartitions({ ...p, partitions: [tp('t', 0)] });
  await s.coordinator.endTxn({ ...p, commit: true });
  await settle();
  expect(markers.calls[0]?.marker.coordinatorEpoch).toBe(9);
  broken = true;
  lead(1, 3);
  await settle();
  expect(s.coordinator.ownedPartitions()).toEqual([0, 2]);
  broken = false;
  clock.advance(30_000);
  await settle();
  expect(s.coordinator.ownedPartitions()).toEqual([0, 1, 2]);
  lead(0, undefined);
  expect(s.coordinator.ownedPartitions()).toEqual([1, 2]);
  s.close();
  expect(listeners.size).toBe(0);
});

describe('BrokerMarkerWriter', () => {
  const marker: TxnMarker = { producerId: 5n, producerEpoch: 1, commit: true, coordinatorEpoch: 2 };
  const leaders: Record<string, number> = { 'a-0': 1, 'a-1': 2, 'b-0': 2, 'c-0': 3, 'd-0': -1, 'e-0': 1 };

  it('writes on this node, asks the leader elsewhere, and says which partitions failed', async () => {
    const remote: Array<[number, string[]]> = [];
    const w = new BrokerMarkerWriter({
      nodeId: 1,
      leaderOf: (x) => leaders[`${x.topic}-${x.partition}`] ?? -1,
      writeLocal: (x) =>
        x.topic === 'e' ? Promise.reject(new KafkaError('NOT_LEADER_OR_FOLLOWER')) : Promise.resolve(10n),
      remote: (nodeId, m, tps) => {
        expect(m).toEqual(marker);
        remote.push([nodeId, tps.map((x) => `${x.topic}-${x.partition}`)]);
        if (nodeId === 3) return Promise.reject(new Error('unreachable'));
        return Promise.resolve(
          new Map([
            ['a-1', 'NONE'],
            ['b-0', 'NOT_ENOUGH_REPLICAS'],
          ]),
        );
      },
    });
    const out = await w.write(
      marker,
      [tp('a', 0), tp('a', 1), tp('b', 0), tp('c', 0), tp('d', 0), tp('e', 0)],
      1000,
    );
    expect(Object.fromEntries(out)).toEqual({
      'a-0': 'NONE',
      'a-1': 'NONE',
      'b-0': 'NOT_ENOUGH_REPLICAS',
      'd-0': 'LEADER_NOT_AVAILABLE',
      'e-0': 'NOT_LEADER_OR_FOLLOWER',
    }); // c-0 missing: its node did not answer, it is retried
    expect(remote).toEqual([
      [2, ['a-1', 'b-0']],
      [3, ['c-0']],
    ]);
  });

  it('without the inter-broker hook, a partition led elsewhere is NOT_LEADER_OR_FOLLOWER', async () => {
    const w = new BrokerMarkerWriter({ nodeId: 1, leaderOf: () => 2, writeLocal: () => Promise.resolve(0n) });
    expect(Object.fromEntries(await w.write(marker, [tp('a', 0)], 1000))).toEqual({
      'a-0': 'NOT_LEADER_OR_FOLLOWER',
    });
  });
});

describe('RoutedTxnVerifier', () => {
  const req = { transactionalId: 'x', producerId: 1n, producerEpoch: 0, topic: 't', partition: 0 };

  it('asks this node when it coordinates the id, the coordinator elsewhere otherwise, and accepts without the hook', async () => {
    const asked: number[] = [];
    const local = {
      owns: (id: string) => id === 'x',
      verify: () => Promise.reject(new KafkaError('INVALID_TXN_STATE')),
    };
    const routed = (coordinator: number, remote?: (n: number) => Promise<void>) =>
      new RoutedTxnVerifier({
        nodeId: 1,
        local: () => local as never,
        coordinatorOf: () => coordinator,
        ...(remote !== undefined ? { remote } : {}),
      });
    await expect(routed(1).verify(req)).rejects.toMatchObject({ code: 'INVALID_TXN_STATE' });
    const other = { ...req, transactionalId: 'y' };
    await expect(routed(2).verify(other)).resolves.toBeUndefined(); // no hook: not verified
    await expect(
      routed(2, (n) => {
        asked.push(n);
        return Promise.reject(new KafkaError('INVALID_PRODUCER_EPOCH'));
      }).verify(other),
    ).rejects.toMatchObject({ code: 'INVALID_PRODUCER_EPOCH' });
    expect(asked).toEqual([2]);
    await expect(routed(-1).verify(other)).rejects.toMatchObject({ code: 'COORDINATOR_NOT_AVAILABLE' });
    await expect(routed(1).verify(other)).rejects.toMatchObject({ code: 'INVALID_TXN_STATE' }); // named here, not loaded
  });
});
