// Committed offsets: commits by members and by standalone consumers, fetch (all, some,
// require_stable), OffsetDelete, durability through the OffsetLog (answered only when written,
// reloaded on a new coordinator), failed writes, and retention.
import { GroupError, GroupErrorCode, InMemoryOffsetLog } from '../../src/groups/index.js';
import type { OffsetCommitRequest } from '../../src/groups/index.js';
import {
  assign,
  harness,
  joinReq,
  settle,
  subscription,
  track,
  takeViolations,
  leaveNow,
} from './helpers.js';

afterEach(() => {
  expect(takeViolations()).toEqual([]);
});

function commit(
  groupId: string,
  offsets: Array<[string, number, bigint]>,
  over: Partial<OffsetCommitRequest> = {},
): OffsetCommitRequest {
  const topics = new Map<string, OffsetCommitRequest['topics'][number]['partitions'][number][]>();
  for (const [t, p, o] of offsets) {
    const list = topics.get(t) ?? [];
    list.push({
      partitionIndex: p,
      committedOffset: o,
      committedLeaderEpoch: 3,
      commitTimestampMs: -1,
      committedMetadata: `m${o}`,
    });
    topics.set(t, list);
  }
  return {
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
    ...over,
  };
}

const errors = (r: { topics: Array<{ partitions: Array<{ errorCode: string }> }> }) =>
  r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));

async function stableOne(h: Awaited<ReturnType<typeof harness>>, groupId = 'g', topics = ['t1']) {
  const j = await h.coordinator.joinGroup(
    joinReq(groupId, { protocols: [{ name: 'range', metadata: subscription(topics) }] }),
  );
  await h.coordinator.syncGroup({
    groupId,
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: assign(j.members),
  });
  await settle();
  return j;
}

describe('OffsetCommit / OffsetFetch', () => {
  it('a standalone consumer (generation -1) commits to a new group and fetches back', async () => {
    const h = await harness();
    const r = await h.coordinator.commitOffsets(
      commit('simple', [
        ['t', 0, 10n],
        ['t', 1, 20n],
        ['u', 0, 5n],
      ]),
    );
    expect(errors(r)).toEqual(['NONE', 'NONE', 'NONE']);
    const f = h.coordinator.fetchOffsets({
      groupId: 'simple',
      topics: [{ name: 't', partitionIndexes: [0, 1, 2] }],
      requireStable: false,
    });
    expect(f.errorCode).toBe('NONE');
    expect(f.topics[0]?.partitions).toEqual([
      {
        partitionIndex: 0,
        committedOffset: 10n,
        committedLeaderEpoch: 3,
        metadata: 'm10',
        errorCode: 'NONE',
      },
      {
        partitionIndex: 1,
        committedOffset: 20n,
        committedLeaderEpoch: 3,
        metadata: 'm20',
        errorCode: 'NONE',
      },
      { partitionIndex: 2, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 'NONE' },
    ]);
    const all = h.coordinator.fetchOffsets({ groupId: 'simple', topics: null, requireStable: false });
    expect(all.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)])).toEqual([
      ['t', [10n, 20n]],
      ['u', [5n]],
    ]);
    expect(
      h.coordinator.fetchOffsets({ groupId: 'unknown', topics: null, requireStable: false }).topics,
    ).toEqual([]);
  });

  it('checks generation and member of group commits', async () => {
    const h = await harness();
    const j = await stableOne(h);
    const ok = await h.coordinator.commitOffsets(
      commit('g', [['t1', 0, 7n]], { generationId: j.generationId, memberId: j.memberId }),
    );
    expect(errors(ok)).toEqual(['NONE']);
    expect(
      errors(
        await h.coordinator.commitOffsets(
          commit('g', [['t1', 0, 8n]], { generationId: j.generationId + 1, memberId: j.memberId }),
        ),
      ),
    ).toEqual(['ILLEGAL_GENERATION']);
    expect(
      errors(
        await h.coordinator.commitOffsets(
          commit('g', [['t1', 0, 8n]], { generationId: j.generationId, memberId: 'ghost' }),
        ),
      ),
    ).toEqual(['UNKNOWN_MEMBER_ID']);
    // a group with members accepts no anonymous commits
    expect(errors(await h.coordinator.commitOffsets(commit('g', [['t1', 0, 8n]])))).toEqual([
      'UNKNOWN_MEMBER_ID',
    ]);
    // a commit with a generation to a group that does not exist
    expect(
      errors(
        await h.coordinator.commitOffsets(
          commit('nope', [['t1', 0, 8n]], { generationId: 1, memberId: 'x' }),
        ),
      ),
    ).toEqual(['ILLEGAL_GENERATION']);
    expect(
      h.coordinator.fetchOffsets({ groupId: 'g', topics: null, requireStable: false }).topics[0]
        ?.partitions[0]?.committedOffset,
    ).toBe(7n);
  });

  it('answers REBALANCE_IN_PROGRESS while the leader assigns, and accepts commits during PreparingRebalance', async () => {
    const h = await harness();
    const j = await stableOne(h);
    const j2 = await h.coordinator.joinGroup(
      joinReq('g', {
        memberId: j.memberId,
        protocols: [{ name: 'range', metadata: subscription(['t1', 't2']) }],
      }),
    );
    expect(h.coordinator.groupState('g')).toBe('CompletingRebalance');
    expect(
      errors(
        await h.coordinator.commitOffsets(
          commit('g', [['t1', 0, 9n]], { generationId: j2.generationId, memberId: j.memberId }),
        ),
      ),
    ).toEqual(['REBALANCE_IN_PROGRESS']);
    const other = track(h.coordinator.joinGroup(joinReq('g', { clientId: 'other' })));
    expect(h.coordinator.groupState('g')).toBe('PreparingRebalance');
    expect(
      errors(
        await h.coordinator.commitOffsets(
          commit('g', [['t1', 0, 9n]], { generationId: j2.generationId, memberId: j.memberId }),
        ),
      ),
    ).toEqual(['NONE']);
    void other;
  });

  it('refuses metadata over offset.metadata.max.bytes and offsets beyond the per-group limit', async () => {
    const h = await harness({ maxOffsetMetadataBytes: 5, maxOffsetsPerGroup: 2 });
    const big = commit('s', [['t', 0, 1n]]);
    const p = big.topics[0]?.partitions[0];
    if (p) p.committedMetadata = '123456';
    expect(errors(await h.coordinator.commitOffsets(big))).toEqual(['OFFSET_METADATA_TOO_LARGE']);
    expect(
      errors(
        await h.coordinator.commitOffsets(
          commit('s', [
            ['t', 0, 1n],
            ['t', 1, 1n],
            ['t', 2, 1n],
          ]),
        ),
      ),
    ).toEqual(['NONE', 'NONE', 'INVALID_COMMIT_OFFSET_SIZE']);
    expect(errors(await h.coordinator.commitOffsets(commit('s', [['t', 1, 2n]])))).toEqual(['NONE']); // existing key: fine
  });

  it('answers only once the record is written; require_stable sees the write in flight', async () => {
    const h = await harness();
    h.log.hold();
    const c = track(h.coordinator.commitOffsets(commit('s', [['t', 0, 42n]])));
    await settle();
    expect(c.done).toBe(false);
    expect(
      h.coordinator.fetchOffsets({
        groupId: 's',
        topics: [{ name: 't', partitionIndexes: [0] }],
        requireStable: true,
      }).topics[0]?.partitions[0]?.errorCode,
    ).toBe('UNSTABLE_OFFSET_COMMIT');
    expect(
      h.coordinator.fetchOffsets({
        groupId: 's',
        topics: [{ name: 't', partitionIndexes: [0] }],
        requireStable: false,
      }).topics[0]?.partitions[0]?.committedOffset,
    ).toBe(-1n);
    h.log.release();
    await settle();
    expect(c.done).toBe(true);
    expect(
      h.coordinator.fetchOffsets({
        groupId: 's',
        topics: [{ name: 't', partitionIndexes: [0] }],
        requireStable: true,
      }).topics[0]?.partitions[0],
    ).toMatchObject({ committedOffset: 42n, errorCode: 'NONE' });
  });

  it('a failed write is reported and changes nothing', async () => {
    const h = await harness();
    await h.coordinator.commitOffsets(commit('s', [['t', 0, 1n]]));
    h.log.failNext();
    expect(errors(await h.coordinator.commitOffsets(commit('s', [['t', 0, 2n]])))).toEqual([
      'COORDINATOR_NOT_AVAILABLE',
    ]);
    h.log.failNext(new GroupError(GroupErrorCode.OFFSET_LOG_NOT_LEADER, 'moved'));
    expect(errors(await h.coordinator.commitOffsets(commit('s', [['t', 0, 3n]])))).toEqual([
      'NOT_COORDINATOR',
    ]);
    h.log.failNext(new GroupError(GroupErrorCode.OFFSET_LOG_TOO_LARGE, 'big'));
    expect(errors(await h.coordinator.commitOffsets(commit('s', [['t', 0, 4n]])))).toEqual([
      'INVALID_COMMIT_OFFSET_SIZE',
    ]);
    expect(
      h.coordinator.fetchOffsets({ groupId: 's', topics: null, requireStable: false }).topics[0]
        ?.partitions[0]?.committedOffset,
    ).toBe(1n);
  });
});

describe('durability: reload from __consumer_offsets', () => {
  it('a new coordinator on the same log has the offsets, the stable group and its members, who expire unless they heartbeat', async () => {
    const h = await harness();
    const j = await stableOne(h);
    await h.coordinator.commitOffsets(
      commit(
        'g',
        [
          ['t1', 0, 100n],
          ['t1', 1, 200n],
        ],
        { generationId: j.generationId, memberId: j.memberId },
      ),
    );
    await h.coordinator.commitOffsets(
      commit('g', [['t1', 0, 150n]], { generationId: j.generationId, memberId: j.memberId }),
    );
    await h.coordinator.commitOffsets(commit('s', [['x', 0, 5n]]));
    await h.coordinator.deleteOffsets({ groupId: 's', topics: [{ name: 'x', partitionIndexes: [0] }] });
    await h.coordinator.commitOffsets(commit('s2', [['x', 0, 6n]], { retentionTimeMs: 60_000 }));
    h.coordinator.close();

    const h2 = await harness({}, h.log, h.clock);
    expect(h2.coordinator.inspect('g')).toMatchObject({
      state: 'Stable',
      generationId: j.generationId,
      protocolName: 'range',
      leaderId: j.memberId,
      members: [j.memberId],
    });
    const f = h2.coordinator.fetchOffsets({ groupId: 'g', topics: null, requireStable: true });
    expect(f.topics[0]?.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata])).toEqual([
      [0, 150n, 'm150'],
      [1, 200n, 'm200'],
    ]);
    expect(h2.coordinator.fetchOffsets({ groupId: 's', topics: null, requireStable: false }).topics).toEqual(
      [],
    );
    expect(
      h2.coordinator.fetchOffsets({ groupId: 's2', topics: null, requireStable: false }).topics[0]
        ?.partitions[0]?.committedOffset,
    ).toBe(6n);
    // the member resumes with its generation...
    expect(
      h2.coordinator.heartbeat({
        groupId: 'g',
        generationId: j.generationId,
        memberId: j.memberId,
        groupInstanceId: null,
      }),
    ).toBe('NONE');
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
    // ...or, if it is gone, its session expires and the group empties, keeping its offsets
    h2.clock.advance(10_000);
    await settle();
    expect(h2.coordinator.inspect('g')).toMatchObject({ state: 'Empty', members: [], offsets: 2 });
    const h3 = await harness({}, h.log, h.clock);
    expect(h3.coordinator.inspect('g')).toMatchObject({
      state: 'Empty',
      generationId: j.generationId + 1,
      offsets: 2,
    });
  });

  it("loads only the partition of the group and ignores other partitions' records", async () => {
    const h = await harness();
    await h.coordinator.commitOffsets(commit('a', [['t', 0, 1n]]));
    await h.coordinator.commitOffsets(commit('b', [['t', 0, 2n]]));
    const pa = h.coordinator.partitionFor('a');
    const pb = h.coordinator.partitionFor('b');
    expect(h.log.recordCount(pa)).toBeGreaterThan(0);
    h.coordinator.unloadPartition(pa);
    expect(h.coordinator.fetchOffsets({ groupId: 'a', topics: null, requireStable: false }).errorCode).toBe(
      'NOT_COORDINATOR',
    );
    if (pa !== pb)
      expect(
        h.coordinator.fetchOffsets({ groupId: 'b', topics: null, requireStable: false }).topics,
      ).toHaveLength(1);
    await h.coordinator.loadPartition(pa);
    expect(
      h.coordinator.fetchOffsets({ groupId: 'a', topics: null, requireStable: false }).topics[0]
        ?.partitions[0]?.committedOffset,
    ).toBe(1n);
  });

  it('a corrupt record stops the load with CORRUPT_RECORD and leaves the partition unowned', async () => {
    const log = new InMemoryOffsetLog();
    const h = await harness({}, log);
    await h.coordinator.commitOffsets(commit('a', [['t', 0, 1n]]));
    const p = h.coordinator.partitionFor('a');
    log.inject(p, { key: new Uint8Array([0, 9, 0, 0]), value: null });
    h.coordinator.unloadPartition(p);
    await expect(h.coordinator.loadPartition(p)).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    expect(h.coordinator.fetchOffsets({ groupId: 'a', topics: null, requireStable: false }).errorCode).toBe(
      'NOT_COORDINATOR',
    );
  });
});

describe('OffsetDelete', () => {
  it('deletes offsets of an empty group, refuses subscribed topics of an active consumer group', async () => {
    const h = await harness();
    const j = await stableOne(h, 'g', ['t1']);
    await h.coordinator.commitOffsets(
      commit(
        'g',
        [
          ['t1', 0, 1n],
          ['old', 0, 2n],
        ],
        { generationId: j.generationId, memberId: j.memberId },
      ),
    );
    const r = await h.coordinator.deleteOffsets({
      groupId: 'g',
      topics: [
        { name: 't1', partitionIndexes: [0] },
        { name: 'old', partitionIndexes: [0] },
      ],
    });
    expect(r).toEqual({
      errorCode: 'NONE',
      topics: [
        { name: 't1', partitions: [{ partitionIndex: 0, errorCode: 'GROUP_SUBSCRIBED_TO_TOPIC' }] },
        { name: 'old', partitions: [{ partitionIndex: 0, errorCode: 'NONE' }] },
      ],
    });
    expect(
      h.coordinator
        .fetchOffsets({ groupId: 'g', topics: null, requireStable: false })
        .topics.map((t) => t.name),
    ).toEqual(['t1']);
    expect((await h.coordinator.deleteOffsets({ groupId: 'missing', topics: [] })).errorCode).toBe(
      'GROUP_ID_NOT_FOUND',
    );
    leaveNow(h.coordinator, { groupId: 'g', members: [{ memberId: j.memberId, groupInstanceId: null }] });
    await settle();
    const r2 = await h.coordinator.deleteOffsets({
      groupId: 'g',
      topics: [{ name: 't1', partitionIndexes: [0] }],
    });
    expect(r2.topics[0]?.partitions[0]?.errorCode).toBe('NONE');
    expect(h.coordinator.fetchOffsets({ groupId: 'g', topics: null, requireStable: false }).topics).toEqual(
      [],
    );
  });

  it('a non-consumer group with members answers NON_EMPTY_GROUP', async () => {
    const h = await harness();
    const j = await h.coordinator.joinGroup(
      joinReq('c', {
        protocolType: 'connect',
        protocols: [{ name: 'default', metadata: new Uint8Array([1]) }],
      }),
    );
    expect(j.errorCode).toBe('NONE');
    expect(
      (await h.coordinator.deleteOffsets({ groupId: 'c', topics: [{ name: 't', partitionIndexes: [0] }] }))
        .errorCode,
    ).toBe('NON_EMPTY_GROUP');
  });
});

describe('offset retention', () => {
  it('expires offsets of a standalone group after their commit, and of an empty consumer group after it emptied', async () => {
    const h = await harness({ offsetsRetentionMs: 100_000, offsetsRetentionCheckIntervalMs: 10_000 });
    await h.coordinator.commitOffsets(commit('s', [['t', 0, 1n]]));
    const j = await stableOne(h);
    await h.coordinator.commitOffsets(
      commit('g', [['t1', 0, 1n]], { generationId: j.generationId, memberId: j.memberId }),
    );
    const step = async (ms: number) => {
      h.clock.advance(ms);
      h.coordinator.heartbeat({
        groupId: 'g',
        generationId: j.generationId,
        memberId: j.memberId,
        groupInstanceId: null,
      });
      await settle();
    };
    for (let i = 0; i < 19; i++) await step(5_000);
    expect(h.coordinator.inspect('s')?.offsets).toBe(1);
    await step(5_000); // t = 100 s: the standalone offset expires, the consumer group's does not (it has members)
    expect(h.coordinator.groupState('s')).toBeUndefined();
    expect(h.coordinator.inspect('g')?.offsets).toBe(1);
    leaveNow(h.coordinator, { groupId: 'g', members: [{ memberId: j.memberId, groupInstanceId: null }] });
    await settle();
    for (let i = 0; i < 9; i++) {
      h.clock.advance(10_000);
      await settle();
    }
    expect(h.coordinator.inspect('g')?.offsets).toBe(1);
    h.clock.advance(10_000);
    await settle();
    expect(h.coordinator.groupState('g')).toBeUndefined();
    // and a reload agrees
    const h2 = await harness({}, h.log, h.clock);
    expect(h2.coordinator.groupCount()).toBe(0);
  });

  it('honours an explicit retention time (OffsetCommit v2–v4)', async () => {
    const h = await harness({ offsetsRetentionMs: 1_000_000, offsetsRetentionCheckIntervalMs: 1_000 });
    await h.coordinator.commitOffsets(commit('s', [['t', 0, 1n]], { retentionTimeMs: 5_000 }));
    h.clock.advance(4_000);
    await settle();
    expect(h.coordinator.inspect('s')?.offsets).toBe(1);
    h.clock.advance(1_000);
    await settle();
    expect(h.coordinator.groupState('s')).toBeUndefined();
  });
});
