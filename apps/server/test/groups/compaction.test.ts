// The write path of __consumer_offsets: one append in flight per partition with the writes behind
// it merged, and compaction by snapshot (live records re-stated, the older prefix dropped) that a
// reload cannot tell from the full history.
import { InMemoryOffsetLog } from '../../src/groups/index.js';
import type { OffsetCommitRequest } from '../../src/groups/index.js';
import { assign, harness, joinReq, settle, track, takeViolations } from './helpers.js';

afterEach(() => {
  expect(takeViolations()).toEqual([]);
});

function commit(groupId: string, partition: number, offset: bigint): OffsetCommitRequest {
  return {
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: 't',
        partitions: [
          {
            partitionIndex: partition,
            committedOffset: offset,
            committedLeaderEpoch: -1,
            commitTimestampMs: -1,
            committedMetadata: null,
          },
        ],
      },
    ],
  };
}

it('merges the writes that queue behind an append in flight into one append, in order', async () => {
  const h = await harness({ numPartitions: 1 });
  h.log.hold();
  const first = track(h.coordinator.commitOffsets(commit('s', 0, 1n)));
  const rest = [2n, 3n, 4n, 5n].map((o) => track(h.coordinator.commitOffsets(commit('s', 0, o))));
  await settle();
  expect(h.log.appendCount).toBe(0);
  h.log.release(); // the first append completes; the four others go out as one
  h.log.hold();
  await settle();
  expect(first.done).toBe(true);
  expect(rest.every((r) => !r.done)).toBe(true);
  h.log.release();
  await settle();
  expect(rest.every((r) => r.done && r.result?.topics[0]?.partitions[0]?.errorCode === 'NONE')).toBe(true);
  expect(h.log.appendCount).toBe(2);
  expect(
    h.coordinator.fetchOffsets({ groupId: 's', topics: null, requireStable: false }).topics[0]?.partitions[0]
      ?.committedOffset,
  ).toBe(5n);
});

it('keeps the log bounded by snapshots, and a reload yields the same state', async () => {
  const log = new InMemoryOffsetLog();
  const h = await harness({ numPartitions: 1, compactionMinRecords: 20 }, log);
  const j = await h.coordinator.joinGroup(joinReq('g'));
  await h.coordinator.syncGroup({
    groupId: 'g',
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: assign(j.members),
  });
  await settle();
  let maxRecords = 0;
  for (let i = 1; i <= 300; i++) {
    await h.coordinator.commitOffsets(commit('s', i % 3, BigInt(i)));
    await h.coordinator.commitOffsets({
      ...commit('g', 0, BigInt(i)),
      generationId: j.generationId,
      memberId: j.memberId,
    });
    await settle();
    maxRecords = Math.max(maxRecords, log.recordCount(0));
  }
  await h.coordinator.commitOffsets(commit('gone', 0, 1n));
  await h.coordinator.deleteGroups(['gone']);
  await settle();
  expect(maxRecords).toBeLessThan(40);
  const h2 = await harness({ numPartitions: 1 }, log, h.clock);
  expect(h2.coordinator.inspect('g')).toMatchObject({
    state: 'Stable',
    generationId: j.generationId,
    members: [j.memberId],
    offsets: 1,
  });
  expect(
    h2.coordinator
      .fetchOffsets({ groupId: 's', topics: null, requireStable: false })
      .topics[0]?.partitions.map((p) => p.committedOffset),
  ).toEqual([300n, 298n, 299n]);
  expect(
    h2.coordinator.fetchOffsets({ groupId: 'g', topics: null, requireStable: false }).topics[0]?.partitions[0]
      ?.committedOffset,
  ).toBe(300n);
  expect(h2.coordinator.groupState('gone')).toBeUndefined();
  const s = await h2.coordinator.syncGroup({
    groupId: 'g',
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [],
  });
  expect(Buffer.from(s.assignment).toString()).toBe(`assignment-for-${j.memberId}`);
});

it('a partition with nothing live compacts to a single marker record', async () => {
  const log = new InMemoryOffsetLog();
  const h = await harness({ numPartitions: 1, compactionMinRecords: 10 }, log);
  for (let i = 0; i < 12; i++) await h.coordinator.commitOffsets(commit('tmp', 0, BigInt(i)));
  await h.coordinator.deleteGroups(['tmp']);
  await settle();
  // the snapshot ran after the 10th record; the rest and the tombstones came after it
  for (let i = 0; i < 10; i++) {
    await h.coordinator.commitOffsets(commit('tmp2', 0, BigInt(i)));
    await h.coordinator.deleteGroups(['tmp2']);
  }
  await settle();
  expect(log.recordCount(0)).toBeLessThan(25);
  const h2 = await harness({ numPartitions: 1 }, log, h.clock);
  expect(h2.coordinator.groupCount()).toBe(0);
});

it('an append that takes too long is answered COORDINATOR_NOT_AVAILABLE, and still takes effect when it lands', async () => {
  const h = await harness({ numPartitions: 1, appendTimeoutMs: 5_000 });
  h.log.hold();
  const c = track(h.coordinator.commitOffsets(commit('s', 0, 9n)));
  h.clock.advance(5_000);
  await settle();
  expect(c.result?.topics[0]?.partitions[0]?.errorCode).toBe('COORDINATOR_NOT_AVAILABLE');
  h.log.release();
  await settle();
  expect(
    h.coordinator.fetchOffsets({ groupId: 's', topics: null, requireStable: false }).topics[0]?.partitions[0]
      ?.committedOffset,
  ).toBe(9n);
});

it('bounds the writes waiting behind a slow append', async () => {
  const h = await harness({ numPartitions: 1, maxQueuedWritesPerPartition: 3 });
  h.log.hold();
  const all = [1n, 2n, 3n, 4n, 5n].map((o) => track(h.coordinator.commitOffsets(commit('s', 0, o))));
  await settle();
  // one in flight, three queued, the fifth refused at once
  expect(all.map((t) => t.result?.topics[0]?.partitions[0]?.errorCode)).toEqual([
    undefined,
    undefined,
    undefined,
    undefined,
    'COORDINATOR_NOT_AVAILABLE',
  ]);
  h.log.release();
  h.log.hold();
  await settle();
  h.log.release();
  await settle();
  expect(all.slice(0, 4).map((t) => t.result?.topics[0]?.partitions[0]?.errorCode)).toEqual([
    'NONE',
    'NONE',
    'NONE',
    'NONE',
  ]);
});
