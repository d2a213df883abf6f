// startGroupService: the coordinator follows the leadership events of the partition manager (the
// same source in both modes) — it loads the `__consumer_offsets` partitions led here, unloads those
// that move away, and a partition that cannot be loaded leaves only its own groups without a
// coordinator and is retried while it is still led here.
import type { GroupPartitions } from '../../src/groups/service.js';
import { startGroupService } from '../../src/groups/service.js';
import { InMemoryOffsetLog } from '../../src/groups/index.js';
import type {
  EncodedRecord,
  OffsetLog,
  OffsetLogEntry,
  TransactionalAppend,
} from '../../src/groups/index.js';
import { ManualScheduler } from '@chronik/env';
import { silentLogger } from '../../src/logger.js';
import type { LeadershipListener } from '../../src/services/partition-manager.js';
import { settle } from './helpers.js';

/** Partitions whose leadership the test moves by hand (only onLeadership is used). */
function fakePartitions(initial: number[]) {
  const listeners = new Set<LeadershipListener>();
  const markerListeners = new Set<Parameters<GroupPartitions['onTxnMarker']>[0]>();
  const leaders = new Set(initial);
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  const partitions: GroupPartitions = {
    append: unused,
    read: unused,
    listOffset: unused,
    deleteRecords: unused,
    onLeadership(l) {
      listeners.add(l);
      for (const p of leaders) l('__consumer_offsets', p, true);
      return () => listeners.delete(l);
    },
    onTxnMarker(l) {
      markerListeners.add(l);
      return () => markerListeners.delete(l);
    },
  };
  const emit = (topic: string, p: number, leader: boolean): void => {
    if (leader) leaders.add(p);
    else leaders.delete(p);
    for (const l of listeners) l(topic, p, leader);
  };
  return { partitions, emit, listeners, markerListeners };
}

function start(partitions: GroupPartitions, clock: ManualScheduler, offsetLog: OffsetLog) {
  return startGroupService({
    partitions,
    ensureOffsetsTopic: () => Promise.resolve(),
    numPartitions: 3,
    clock,
    scheduler: clock,
    newUuid: () => 'uuid',
    logger: silentLogger,
    offsetLog,
  });
}

it('loads the partitions led here at start, follows leadership, ignores other topics', async () => {
  const { partitions, emit, listeners, markerListeners } = fakePartitions([0, 2]);
  const clock = new ManualScheduler();
  const g = await start(partitions, clock, new InMemoryOffsetLog());
  expect(g.coordinator.ownedPartitions()).toEqual([0, 2]);
  emit('__consumer_offsets', 0, false);
  emit('__consumer_offsets', 1, true);
  emit('orders', 1, false);
  emit('__consumer_offsets', 7, true); // beyond offsets.topic.num.partitions
  await settle();
  expect(g.coordinator.ownedPartitions()).toEqual([1, 2]);
  g.close();
  expect(listeners.size).toBe(0);
  expect(markerListeners.size).toBe(0);
  expect(clock.pendingTimers).toBe(0);
});

it('a partition that cannot be read leaves only its groups without a coordinator, and is retried while led here', async () => {
  const { partitions, emit } = fakePartitions([0, 1, 2]);
  const clock = new ManualScheduler();
  const log = new InMemoryOffsetLog();
  let broken = true;
  const flaky: OffsetLog = {
    append: (p: number, r: readonly EncodedRecord[]) => log.append(p, r),
    appendTransactional: (p: number, r: readonly EncodedRecord[], txn: TransactionalAppend) =>
      log.appendTransactional(p, r, txn),
    truncateBefore: (p: number, o: bigint) => log.truncateBefore(p, o),
    readAll: (p: number): AsyncIterable<OffsetLogEntry> => {
      if (p === 1 && broken) throw new Error('disk says no');
      return log.readAll(p);
    },
  };
  const g = await start(partitions, clock, flaky);
  expect(g.coordinator.ownedPartitions()).toEqual([0, 2]);
  broken = false;
  clock.advance(10_000);
  await settle();
  expect(g.coordinator.ownedPartitions()).toEqual([0, 2]); // not retried before 30 s
  clock.advance(20_000);
  await settle();
  expect(g.coordinator.ownedPartitions()).toEqual([0, 1, 2]);
  // A failed partition that moved away meanwhile is not retried.
  const timers = clock.pendingTimers;
  broken = true;
  emit('__consumer_offsets', 1, false);
  emit('__consumer_offsets', 1, true);
  await settle();
  expect(clock.pendingTimers).toBe(timers + 1); // the retry
  emit('__consumer_offsets', 1, false);
  expect(clock.pendingTimers).toBe(timers);
  g.close();
});
