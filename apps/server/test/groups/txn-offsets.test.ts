// Transactional offset commits (TxnOffsetCommit): written as a transaction's batch, pending until
// the marker (commit: they become the group's offsets; abort: dropped), require_stable answering
// UNSTABLE_OFFSET_COMMIT meanwhile, Kafka's rule for newer commits, markers that land while a write
// is in flight or while the partition loads, and a reload that replays to the same state.
import { GroupError, GroupErrorCode, InMemoryOffsetLog } from '../../src/groups/index.js';
import type {
  OffsetLog,
  OffsetLogEntry,
  OffsetFetchResult,
  TransactionalAppend,
  TxnOffsetCommitRequest,
} from '../../src/groups/index.js';
import type { EncodedRecord } from '../../src/groups/index.js';
import { harness, joinReq, settle, takeViolations } from './helpers.js';
import type { Harness } from './helpers.js';

afterEach(() => {
  expect(takeViolations()).toEqual([]);
});

const P1 = 5000n;
const P2 = 6000n;

function txnCommit(
  groupId: string,
  producerId: bigint,
  offsets: Array<[string, number, bigint]>,
  over: Partial<TxnOffsetCommitRequest> = {},
): TxnOffsetCommitRequest {
  const topics = new Map<
    string,
    Array<{
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      committedMetadata: string | null;
    }>
  >();
  for (const [t, p, o] of offsets) {
    const list = topics.get(t) ?? [];
    list.push({
      partitionIndex: p,
      committedOffset: o,
      committedLeaderEpoch: -1,
      committedMetadata: `m${o}`,
    });
    topics.set(t, list);
  }
  return {
    transactionalId: `tx-${producerId}`,
    groupId,
    producerId,
    producerEpoch: 0,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
    ...over,
  };
}

const errors = (r: { topics: Array<{ partitions: Array<{ errorCode: string }> }> }) =>
  r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));

/** topic-partition → "offset" or the error, for the partitions asked. */
function fetch(h: Harness, groupId: string, requireStable: boolean, parts: Array<[string, number]>) {
  const topics = new Map<string, number[]>();
  for (const [t, p] of parts) topics.set(t, [...(topics.get(t) ?? []), p]);
  const r: OffsetFetchResult = h.coordinator.fetchOffsets({
    groupId,
    topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    requireStable,
  });
  const out: Record<string, string> = {};
  for (const t of r.topics)
    for (const p of t.partitions)
      out[`${t.name}-${p.partitionIndex}`] = p.errorCode === 'NONE' ? String(p.committedOffset) : p.errorCode;
  return out;
}

/** The partition layer writes a marker and tells the coordinator, as PartitionManager.onTxnMarker does. */
function marker(h: Harness, groupId: string, producerId: bigint, commit: boolean): bigint {
  const p = h.coordinator.partitionFor(groupId);
  const offset = h.log.writeMarker(p, producerId, commit);
  h.coordinator.onTxnMarker(p, producerId, commit, offset);
  return offset;
}

async function plainCommit(h: Harness, groupId: string, topic: string, partition: number, offset: bigint) {
  const r = await h.coordinator.commitOffsets({
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: topic,
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
  });
  expect(errors(r)).toEqual(['NONE']);
}

/** A new coordinator on the same log: what a failover or restart sees. */
async function reload(h: Harness): Promise<Harness> {
  return harness({}, h.log, h.clock);
}

it('pending until the commit marker: invisible, require_stable is UNSTABLE_OFFSET_COMMIT; then committed', async () => {
  const h = await harness();
  await plainCommit(h, 'g', 't', 1, 3n);
  const r = await h.coordinator.commitTxnOffsets(
    txnCommit('g', P1, [
      ['t', 0, 10n],
      ['t', 1, 11n],
    ]),
  );
  expect(errors(r)).toEqual(['NONE', 'NONE']);
  // Written as one transactional batch of the producer.
  const entries: OffsetLogEntry[] = [];
  for await (const e of h.log.readAll(h.coordinator.partitionFor('g'))) entries.push(e);
  expect(entries.filter((e) => e.kind === 'record' && e.producerId === P1).length).toBe(2);
  expect(
    fetch(h, 'g', false, [
      ['t', 0],
      ['t', 1],
      ['t', 2],
    ]),
  ).toEqual({ 't-0': '-1', 't-1': '3', 't-2': '-1' });
  expect(
    fetch(h, 'g', true, [
      ['t', 0],
      ['t', 1],
      ['t', 2],
    ]),
  ).toEqual({
    't-0': 'UNSTABLE_OFFSET_COMMIT',
    't-1': 'UNSTABLE_OFFSET_COMMIT',
    't-2': '-1',
  });
  marker(h, 'g', P2, true); // another producer's marker changes nothing here
  expect(fetch(h, 'g', true, [['t', 0]])).toEqual({ 't-0': 'UNSTABLE_OFFSET_COMMIT' });
  marker(h, 'g', P1, true);
  expect(
    fetch(h, 'g', true, [
      ['t', 0],
      ['t', 1],
    ]),
  ).toEqual({ 't-0': '10', 't-1': '11' });
  expect(
    h.coordinator
      .fetchOffsets({ groupId: 'g', topics: null, requireStable: true })
      .topics[0]?.partitions.map((p) => p.metadata),
  ).toEqual(['m10', 'm11']);
});

it('the abort marker drops them; the committed offsets stay', async () => {
  const h = await harness();
  await plainCommit(h, 'g', 't', 0, 3n);
  await h.coordinator.commitTxnOffsets(txnCommit('g', P1, [['t', 0, 10n]]));
  marker(h, 'g', P1, false);
  expect(fetch(h, 'g', true, [['t', 0]])).toEqual({ 't-0': '3' });
  // A TxnOffsetCommit creates a group that did not exist; an abort leaves it without offsets.
  await h.coordinator.commitTxnOffsets(txnCommit('fresh', P1, [['t', 0, 1n]]));
  expect(h.coordinator.inspect('fresh')?.state).toBe('Empty');
  marker(h, 'fresh', P1, false);
  expect(fetch(h, 'fresh', true, [['t', 0]])).toEqual({ 't-0': '-1' });
});

it("a newer commit wins (Kafka's rule): a plain commit after the transactional one, or another transaction's newer one", async () => {
  const h = await harness();
  await h.coordinator.commitTxnOffsets(
    txnCommit('g', P1, [
      ['t', 0, 10n],
      ['t', 1, 10n],
    ]),
  );
  await plainCommit(h, 'g', 't', 0, 20n); // written after P1's: P1's offset for t-0 must not overwrite it
  marker(h, 'g', P1, true);
  expect(
    fetch(h, 'g', true, [
      ['t', 0],
      ['t', 1],
    ]),
  ).toEqual({ 't-0': '20', 't-1': '10' });
  // Two transactions on t-2: P1 writes first, P2 second; P2 commits first, then P1 — P2's stays.
  await h.coordinator.commitTxnOffsets(txnCommit('g', P1, [['t', 2, 100n]]));
  await h.coordinator.commitTxnOffsets(txnCommit('g', P2, [['t', 2, 200n]]));
  marker(h, 'g', P2, true);
  expect(fetch(h, 'g', true, [['t', 2]])).toEqual({ 't-2': 'UNSTABLE_OFFSET_COMMIT' }); // P1 still pending
  marker(h, 'g', P1, true);
  expect(fetch(h, 'g', true, [['t', 2]])).toEqual({ 't-2': '200' });
  // The same replayed.
  const again = await reload(h);
  expect(
    fetch(again, 'g', true, [
      ['t', 0],
      ['t', 1],
      ['t', 2],
    ]),
  ).toEqual({ 't-0': '20', 't-1': '10', 't-2': '200' });
});

it('a load replays transactional batches and markers: pending stays pending, committed is committed', async () => {
  const h = await harness();
  await h.coordinator.commitTxnOffsets(txnCommit('g', P1, [['t', 0, 10n]]));
  await h.coordinator.commitTxnOffsets(txnCommit('g', P2, [['t', 1, 20n]]));
  await h.coordinator.commitTxnOffsets(txnCommit('h', P2, [['t', 0, 30n]]));
  marker(h, 'g', P2, true);
  await plainCommit(h, 'g', 't', 5, 50n);
  const again = await reload(h);
  const parts: Array<[string, number]> = [
    ['t', 0],
    ['t', 1],
    ['t', 5],
  ];
  expect(fetch(again, 'g', true, parts)).toEqual(fetch(h, 'g', true, parts));
  expect(fetch(again, 'g', true, parts)).toEqual({
    't-0': 'UNSTABLE_OFFSET_COMMIT',
    't-1': '20',
    't-5': '50',
  });
  // The reloaded coordinator completes the rest as markers arrive.
  marker(again, 'g', P1, false);
  expect(fetch(again, 'g', true, [['t', 0]])).toEqual({ 't-0': '-1' });
  if (again.coordinator.partitionFor('h') !== again.coordinator.partitionFor('g'))
    marker(again, 'h', P2, true);
  expect(fetch(again, 'h', true, [['t', 0]])).toEqual({ 't-0': '30' });
});

it("a marker that lands while the producer's write is in flight completes it if the write came first in the log", async () => {
  // The log assigns the offset at once but answers later (a replicated append that is slow to commit).
  const mem = new InMemoryOffsetLog();
  let release: Array<() => void> = [];
  const slow: OffsetLog = {
    append: (p: number, r: readonly EncodedRecord[]) => mem.append(p, r),
    appendTransactional: async (p: number, r: readonly EncodedRecord[], txn: TransactionalAppend) => {
      const base = await mem.appendTransactional(p, r, txn);
      await new Promise<void>((resolve) => release.push(resolve));
      return base;
    },
    readAll: (p: number) => mem.readAll(p),
    truncateBefore: (p: number, o: bigint) => mem.truncateBefore(p, o),
  };
  const h = { ...(await harness({}, mem)), log: mem };
  (h.coordinator as unknown as { log: OffsetLog }).log = slow;
  const pending = h.coordinator.commitTxnOffsets(txnCommit('g', P1, [['t', 0, 10n]]));
  await settle();
  marker(h, 'g', P1, true); // after the record in the log, before its answer
  for (const r of release) r();
  release = [];
  expect(errors(await pending)).toEqual(['NONE']);
  expect(fetch(h, 'g', true, [['t', 0]])).toEqual({ 't-0': '10' });
  // A write that reaches the log after the marker belongs to the next transaction: it stays pending.
  const p2 = h.coordinator.commitTxnOffsets(txnCommit('g', P1, [['t', 0, 11n]]));
  await settle();
  for (const r of release) r();
  await p2;
  expect(fetch(h, 'g', true, [['t', 0]])).toEqual({ 't-0': 'UNSTABLE_OFFSET_COMMIT' });
  const again = await reload(h);
  expect(fetch(again, 'g', true, [['t', 0]])).toEqual({ 't-0': 'UNSTABLE_OFFSET_COMMIT' });
});

it('markers written while the partition loads are applied once it is loaded', async () => {
  const h = await harness();
  await h.coordinator.commitTxnOffsets(txnCommit('g', P1, [['t', 0, 10n]]));
  const p = h.coordinator.partitionFor('g');
  const next = await harness({}, h.log, h.clock);
  next.coordinator.unloadPartition(p);
  const loading = next.coordinator.loadPartition(p); // reads the log asynchronously
  const offset = h.log.writeMarker(p, P1, true);
  next.coordinator.onTxnMarker(p, P1, true, offset);
  await loading;
  expect(fetch(next, 'g', true, [['t', 0]])).toEqual({ 't-0': '10' });
});

it('checks the member as Kafka does, and answers what the partition refused', async () => {
  const h = await harness();
  const j = await h.coordinator.joinGroup(joinReq('g'));
  expect(j.errorCode).toBe('NONE');
  const one = (over: Partial<TxnOffsetCommitRequest>) =>
    h.coordinator.commitTxnOffsets(txnCommit('g', P1, [['t', 0, 1n]], over)).then(errors);
  expect(await one({ memberId: 'nobody', generationId: j.generationId })).toEqual(['UNKNOWN_MEMBER_ID']);
  expect(await one({ memberId: j.memberId, generationId: j.generationId + 1 })).toEqual([
    'ILLEGAL_GENERATION',
  ]);
  const s = await h.coordinator.joinGroup(joinReq('gs', { groupInstanceId: 'i1' }));
  expect(s.errorCode).toBe('NONE');
  const inGs = (over: Partial<TxnOffsetCommitRequest>) =>
    h.coordinator.commitTxnOffsets(txnCommit('gs', P1, [['t', 0, 1n]], over)).then(errors);
  expect(await inGs({ groupInstanceId: 'i1', memberId: 'other', generationId: s.generationId })).toEqual([
    'FENCED_INSTANCE_ID',
  ]);
  expect(await inGs({ groupInstanceId: 'i1', memberId: s.memberId, generationId: s.generationId })).toEqual([
    'NONE',
  ]);
  expect(await one({ memberId: j.memberId, generationId: j.generationId })).toEqual(['NONE']);
  // Without a member (generation -1), a transaction may commit even while the group has members.
  expect(await one({})).toEqual(['NONE']);
  expect(await one({ groupId: '' })).toEqual(['INVALID_GROUP_ID']);
  expect(await one({ transactionalId: '' })).toEqual(['INVALID_REQUEST']);
  const big = txnCommit('g', P1, [['t', 0, 1n]]);
  const [topic] = big.topics;
  if (topic === undefined) throw new Error('no topic');
  expect(
    errors(
      await h.coordinator.commitTxnOffsets({
        ...big,
        topics: [
          { name: 't', partitions: [{ ...topic.partitions[0]!, committedMetadata: 'x'.repeat(5000) }] },
        ],
      }),
    ),
  ).toEqual(['OFFSET_METADATA_TOO_LARGE']);
  h.log.failNext(
    new GroupError(GroupErrorCode.OFFSET_LOG_REFUSED, 'fenced', { kafkaError: 'INVALID_PRODUCER_EPOCH' }),
  );
  expect(await one({})).toEqual(['INVALID_PRODUCER_EPOCH']);
  h.coordinator.unloadPartition(h.coordinator.partitionFor('g'));
  expect(await one({})).toEqual(['NOT_COORDINATOR']);
});

it('compaction waits while transactional offsets are pending, then runs', async () => {
  const h = await harness({ compactionMinRecords: 10, numPartitions: 1 });
  await h.coordinator.commitTxnOffsets(txnCommit('g', P1, [['t', 0, 1n]]));
  for (let i = 0; i < 30; i++) await plainCommit(h, 'g', 't', 1, BigInt(i));
  await settle();
  expect(h.log.recordCount(0)).toBeGreaterThan(30); // nothing dropped: the pending record must stay
  marker(h, 'g', P1, true);
  await settle();
  await plainCommit(h, 'g', 't', 1, 99n);
  await settle();
  expect(h.log.recordCount(0)).toBeLessThan(10);
  const again = await reload(h);
  expect(
    fetch(again, 'g', true, [
      ['t', 0],
      ['t', 1],
    ]),
  ).toEqual({ 't-0': '1', 't-1': '99' });
});

it('DeleteGroups drops the pending offsets; expiry leaves a group with pending offsets alone', async () => {
  const h = await harness({ offsetsRetentionMs: 1000, offsetsRetentionCheckIntervalMs: 500 });
  await h.coordinator.commitTxnOffsets(txnCommit('d', P1, [['t', 0, 1n]]));
  expect(await h.coordinator.deleteGroups(['d'])).toEqual([{ groupId: 'd', errorCode: 'NONE' }]);
  marker(h, 'd', P1, true);
  expect(fetch(h, 'd', true, [['t', 0]])).toEqual({ 't-0': '-1' });
  await h.coordinator.commitTxnOffsets(txnCommit('e', P2, [['t', 0, 1n]]));
  h.clock.advance(5000);
  await settle();
  expect(h.coordinator.inspect('e')).toBeDefined();
  const again = await reload(h);
  expect(fetch(again, 'd', true, [['t', 0]])).toEqual({ 't-0': '-1' });
  expect(fetch(again, 'e', true, [['t', 0]])).toEqual({ 't-0': 'UNSTABLE_OFFSET_COMMIT' });
});
