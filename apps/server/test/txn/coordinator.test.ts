// The transaction coordinator's state machine under a fake clock, a fake log and a scripted
// MarkerWriter: InitProducerId (new ids, epoch bumps, KIP-360, epoch exhaustion, fencing an ongoing
// transaction), AddPartitionsToTxn and its verify_only form, EndTxn's two phases, markers and their
// retries, timeouts, expiration, and every error an answer may carry (Kafka's
// TransactionCoordinator, case by case).
import { KafkaError } from '../../src/errors.js';
import { InMemoryTxnLog, TxnError, decodeTxnRecord, encodeTxnRecord } from '../../src/txn/index.js';
import type { StoredTxn, TransactionCoordinator } from '../../src/txn/index.js';
import { FakeMarkerWriter, harness, settle, takeViolations, tp } from './helpers.js';
import { seededRandom } from '../helpers/prng.js';

afterEach(() => {
  expect(takeViolations()).toEqual([]);
});

const init = (
  c: TransactionCoordinator,
  id: string,
  timeoutMs = 60_000,
  producerId = -1n,
  producerEpoch = -1,
) => c.initProducerId({ transactionalId: id, transactionTimeoutMs: timeoutMs, producerId, producerEpoch });

async function ongoing(c: TransactionCoordinator, id: string, partitions = [tp('t', 0), tp('t', 1)]) {
  const p = await init(c, id);
  expect(p.errorCode).toBe('NONE');
  const producer = { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch };
  expect(await c.addPartitions({ ...producer, partitions })).toBe('NONE');
  return producer;
}

/** The states written for `id`, in log order. */
function written(log: InMemoryTxnLog, c: TransactionCoordinator, id: string): string[] {
  return log
    .records(c.partitionFor(id))
    .map((r) => decodeTxnRecord(r.key, r.value))
    .filter((r) => r.transactionalId === id)
    .map((r) => (r.value === null ? 'tombstone' : `${r.value.state}@${r.value.producerEpoch}`));
}

describe('InitProducerId', () => {
  it('a new id gets a new producer id at epoch 0, written before the answer; a known one the next epoch', async () => {
    const { coordinator: c, log } = await harness();
    expect(await init(c, 'a')).toEqual({ errorCode: 'NONE', producerId: 1000n, producerEpoch: 0 });
    expect(await init(c, 'b')).toEqual({ errorCode: 'NONE', producerId: 1001n, producerEpoch: 0 });
    expect(await init(c, 'a', 5000)).toEqual({ errorCode: 'NONE', producerId: 1000n, producerEpoch: 1 });
    expect(written(log, c, 'a')).toEqual(['Empty@0', 'Empty@1']);
    expect(c.inspect('a')?.timeoutMs).toBe(5000);
  });

  it('refuses empty ids, bad timeouts, half a KIP-360 producer, and ids it does not coordinate', async () => {
    const { coordinator: c } = await harness({ maxTimeoutMs: 10_000 });
    expect((await init(c, '')).errorCode).toBe('INVALID_REQUEST');
    expect((await init(c, 'x'.repeat(5000))).errorCode).toBe('INVALID_REQUEST');
    expect((await init(c, 'a', 0)).errorCode).toBe('INVALID_TRANSACTION_TIMEOUT');
    expect((await init(c, 'a', 10_001)).errorCode).toBe('INVALID_TRANSACTION_TIMEOUT');
    expect((await init(c, 'a', 1000, 5n, -1)).errorCode).toBe('INVALID_REQUEST');
    expect((await init(c, 'a', 1000, -1n, 3)).errorCode).toBe('INVALID_REQUEST');
    c.unloadPartition(c.partitionFor('a'));
    expect(await init(c, 'a', 1000)).toEqual({
      errorCode: 'NOT_COORDINATOR',
      producerId: -1n,
      producerEpoch: -1,
    });
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while its partition loads', async () => {
    const { coordinator: c, log } = await harness({}, { load: false });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = {
      append: log.append.bind(log),
      truncateBefore: log.truncateBefore.bind(log),
      async *readAll(p: number) {
        await gate;
        yield* log.readAll(p);
      },
    };
    (c as unknown as { log: typeof slow }).log = slow;
    const loading = c.loadPartition(c.partitionFor('a'), 1);
    expect((await init(c, 'a')).errorCode).toBe('COORDINATOR_LOAD_IN_PROGRESS');
    expect(
      c.listTransactions({ stateFilters: [], producerIdFilters: [], durationFilterMs: -1 }).errorCode,
    ).toBe('COORDINATOR_LOAD_IN_PROGRESS');
    release();
    await loading;
    expect((await init(c, 'a')).errorCode).toBe('NONE');
  });

  it('KIP-360: the current producer bumps, a retry of the last bump gets it again, anyone else is fenced', async () => {
    const { coordinator: c, log } = await harness();
    const first = await init(c, 'a');
    const bumped = await init(c, 'a', 60_000, first.producerId, 0);
    expect(bumped).toEqual({ errorCode: 'NONE', producerId: 1000n, producerEpoch: 1 });
    // The answer was lost; the producer retries with what it had: the same epoch, not bumped again.
    expect(await init(c, 'a', 60_000, first.producerId, 0)).toEqual(bumped);
    expect(c.inspect('a')?.lastProducerEpoch).toBe(0);
    expect((await init(c, 'a', 60_000, 999n, 1)).errorCode).toBe('PRODUCER_FENCED');
    // A new producer (no id) bumps and forgets the last epoch: the old one is fenced from then on.
    expect((await init(c, 'a')).producerEpoch).toBe(2);
    expect((await init(c, 'a', 60_000, 1000n, 1)).errorCode).toBe('PRODUCER_FENCED');
    expect(written(log, c, 'a')).toEqual(['Empty@0', 'Empty@1', 'Empty@1', 'Empty@2']);
  });

  it('an exhausted epoch rotates to a new producer id at epoch 0 (the old one is remembered for KIP-360)', async () => {
    const log = new InMemoryTxnLog();
    const state: StoredTxn = {
      producerId: 7n,
      lastProducerId: -1n,
      producerEpoch: 32766,
      lastProducerEpoch: -1,
      timeoutMs: 1000,
      state: 'CompleteCommit',
      partitions: [],
      lastUpdateMs: 1,
      startMs: 1,
    };
    const probe = await harness({}, { load: false });
    log.inject(probe.coordinator.partitionFor('a'), encodeTxnRecord({ transactionalId: 'a', value: state }));
    const { coordinator: c } = await harness({}, { log });
    expect(await init(c, 'a', 1000, 7n, 32766)).toEqual({
      errorCode: 'NONE',
      producerId: 1000n,
      producerEpoch: 0,
    });
    expect(c.inspect('a')).toMatchObject({ lastProducerId: 7n, lastProducerEpoch: 32766 });
    // The producer retries with its old id and exhausted epoch (the answer was lost): valid, same result.
    expect(await init(c, 'a', 1000, 7n, 32766)).toEqual({
      errorCode: 'NONE',
      producerId: 1000n,
      producerEpoch: 0,
    });
  });

  it('an ongoing transaction is aborted with the epoch bumped first (CONCURRENT_TRANSACTIONS meanwhile)', async () => {
    const { coordinator: c, log, markers } = await harness();
    const old = await ongoing(c, 'a');
    markers.hold();
    expect((await init(c, 'a')).errorCode).toBe('CONCURRENT_TRANSACTIONS');
    expect(c.inspect('a')).toMatchObject({
      state: 'PrepareAbort',
      producerEpoch: 1,
      pending: 'CompleteAbort',
    });
    expect((await init(c, 'a')).errorCode).toBe('CONCURRENT_TRANSACTIONS'); // markers being written
    markers.release();
    await settle();
    expect(markers.calls).toEqual([
      {
        marker: { producerId: 1000n, producerEpoch: 1, commit: false, coordinatorEpoch: 1 },
        partitions: ['t-0', 't-1'],
      },
    ]);
    expect(await init(c, 'a')).toEqual({ errorCode: 'NONE', producerId: 1000n, producerEpoch: 2 });
    expect(written(log, c, 'a')).toEqual([
      'Empty@0',
      'Ongoing@0',
      'PrepareAbort@1',
      'CompleteAbort@1',
      'Empty@2',
    ]);
    // The zombie (epoch 0) is fenced everywhere.
    expect(await c.endTxn({ ...old, commit: true })).toBe('PRODUCER_FENCED');
    expect(await c.addPartitions({ ...old, partitions: [tp('t', 2)] })).toBe('PRODUCER_FENCED');
  });

  it('a transaction being completed answers CONCURRENT_TRANSACTIONS', async () => {
    const { coordinator: c, markers } = await harness();
    const p = await ongoing(c, 'a');
    markers.hold();
    expect(await c.endTxn({ ...p, commit: true })).toBe('NONE');
    expect((await init(c, 'a')).errorCode).toBe('CONCURRENT_TRANSACTIONS');
    markers.release();
    await settle();
    expect((await init(c, 'a')).errorCode).toBe('NONE');
  });
});

describe('AddPartitionsToTxn, verification, EndTxn', () => {
  it("holds the next transaction's AddPartitionsToTxn while the last one's markers are written (then NONE), and answers CONCURRENT_TRANSACTIONS past the hold", async () => {
    const { coordinator: c, markers, clock } = await harness({ completionHoldMs: 200 });
    const p = await ongoing(c, 'h', [tp('t', 0)]);
    markers.hold();
    expect(await c.endTxn({ ...p, commit: true })).toBe('NONE');
    let answer: string | undefined;
    void c.addPartitions({ ...p, partitions: [tp('t', 1)] }).then((a) => (answer = a));
    await settle();
    expect(answer).toBeUndefined(); // held, not CONCURRENT_TRANSACTIONS at once
    markers.release();
    await settle();
    expect(answer).toBe('NONE');
    expect(c.inspect('h')).toMatchObject({ state: 'Ongoing', partitions: [tp('t', 1)] });
    // Markers that take longer than the hold: the answer the client retries.
    markers.hold();
    expect(await c.endTxn({ ...p, commit: false })).toBe('NONE');
    answer = undefined;
    void c.addPartitions({ ...p, partitions: [tp('t', 2)] }).then((a) => (answer = a));
    await settle();
    clock.advance(200);
    await settle();
    expect(answer).toBe('CONCURRENT_TRANSACTIONS');
    markers.release();
    await settle();
  });

  it('commits in two phases: Prepare* answered, markers to every partition, then Complete*', async () => {
    const { coordinator: c, log, markers } = await harness({}, { coordinatorEpoch: 7 });
    const p = await ongoing(c, 'a', [tp('t', 0)]);
    expect(await c.addPartitions({ ...p, partitions: [tp('t', 0), tp('u', 3)] })).toBe('NONE');
    expect(await c.addPartitions({ ...p, partitions: [tp('u', 3)] })).toBe('NONE'); // already in: nothing written
    expect(c.inspect('a')).toMatchObject({ state: 'Ongoing', partitions: [tp('t', 0), tp('u', 3)] });
    markers.hold();
    expect(await c.endTxn({ ...p, commit: true })).toBe('NONE');
    expect(c.inspect('a')).toMatchObject({ state: 'PrepareCommit', pending: 'CompleteCommit' });
    expect(await c.endTxn({ ...p, commit: true })).toBe('CONCURRENT_TRANSACTIONS');
    expect(await c.endTxn({ ...p, commit: false })).toBe('CONCURRENT_TRANSACTIONS');
    expect(await c.addPartitions({ ...p, partitions: [tp('v', 0)] })).toBe('CONCURRENT_TRANSACTIONS');
    expect(c.describeTransactions(['a'])[0]).toMatchObject({
      state: 'PrepareCommit',
      partitions: [tp('t', 0), tp('u', 3)],
    });
    markers.release();
    await settle();
    expect(markers.calls).toEqual([
      {
        marker: { producerId: 1000n, producerEpoch: 0, commit: true, coordinatorEpoch: 7 },
        partitions: ['t-0', 'u-3'],
      },
    ]);
    expect(written(log, c, 'a')).toEqual([
      'Empty@0',
      'Ongoing@0',
      'Ongoing@0',
      'PrepareCommit@0',
      'CompleteCommit@0',
    ]);
    expect(c.inspect('a')).toMatchObject({ state: 'CompleteCommit', partitions: [], pending: undefined });
    // Retries answer as the first did; the other outcome is refused.
    expect(await c.endTxn({ ...p, commit: true })).toBe('NONE');
    expect(await c.endTxn({ ...p, commit: false })).toBe('INVALID_TXN_STATE');
    // The next transaction starts from CompleteCommit.
    expect(await c.addPartitions({ ...p, partitions: [tp('t', 1)] })).toBe('NONE');
    expect(await c.endTxn({ ...p, commit: false })).toBe('NONE');
    await settle();
    expect(c.inspect('a')?.state).toBe('CompleteAbort');
    expect(await c.endTxn({ ...p, commit: false })).toBe('NONE');
    expect(await c.endTxn({ ...p, commit: true })).toBe('INVALID_TXN_STATE');
  });

  it('answers the errors of an unknown id, another producer, an older epoch, an empty transaction', async () => {
    const { coordinator: c } = await harness();
    const none = { transactionalId: 'a', producerId: 1000n, producerEpoch: 0 };
    expect(await c.addPartitions({ ...none, partitions: [tp('t', 0)] })).toBe('INVALID_PRODUCER_ID_MAPPING');
    expect(await c.endTxn({ ...none, commit: true })).toBe('INVALID_PRODUCER_ID_MAPPING');
    await init(c, 'a');
    await init(c, 'a');
    expect(await c.endTxn({ ...none, producerEpoch: 1, commit: true })).toBe('INVALID_TXN_STATE'); // Empty
    expect(await c.addPartitions({ ...none, producerId: 5n, partitions: [tp('t', 0)] })).toBe(
      'INVALID_PRODUCER_ID_MAPPING',
    );
    expect(await c.addPartitions({ ...none, partitions: [tp('t', 0)] })).toBe('PRODUCER_FENCED');
    expect(await c.addPartitions({ ...none, transactionalId: '', partitions: [] })).toBe('INVALID_REQUEST');
    expect(await c.endTxn({ ...none, transactionalId: '', commit: true })).toBe('INVALID_REQUEST');
  });

  it('verify_only answers whether each partition is in the ongoing transaction, changing nothing', async () => {
    const { coordinator: c, log, markers } = await harness();
    const p = await ongoing(c, 'a', [tp('t', 0)]);
    const records = log.records(c.partitionFor('a')).length;
    const verify = (over: Partial<typeof p>, partitions = [tp('t', 0), tp('t', 1)]) =>
      Object.fromEntries(c.verifyPartitions({ ...p, ...over, partitions }));
    expect(verify({})).toEqual({ 't-0': 'NONE', 't-1': 'INVALID_TXN_STATE' });
    expect(verify({ producerEpoch: 1 })).toEqual({ 't-0': 'PRODUCER_FENCED', 't-1': 'PRODUCER_FENCED' });
    expect(verify({ producerId: 1n })).toEqual({
      't-0': 'INVALID_PRODUCER_ID_MAPPING',
      't-1': 'INVALID_PRODUCER_ID_MAPPING',
    });
    expect(verify({ transactionalId: 'zz' })).toEqual({
      't-0': 'INVALID_PRODUCER_ID_MAPPING',
      't-1': 'INVALID_PRODUCER_ID_MAPPING',
    });
    expect(log.records(c.partitionFor('a')).length).toBe(records);
    // The TxnVerifier form: rejects with a KafkaError (an older epoch is INVALID_PRODUCER_EPOCH).
    const req = { ...p, topic: 't', partition: 0 };
    await expect(c.verify(req)).resolves.toBeUndefined();
    await expect(c.verify({ ...req, partition: 1 })).rejects.toMatchObject({ code: 'INVALID_TXN_STATE' });
    await expect(c.verify({ ...req, producerEpoch: 1 })).rejects.toMatchObject({
      code: 'INVALID_PRODUCER_EPOCH',
    });
    await expect(c.verify({ ...req, transactionalId: 'zz' })).rejects.toBeInstanceOf(KafkaError);
    markers.hold();
    await c.endTxn({ ...p, commit: true });
    expect(verify({})).toEqual({ 't-0': 'CONCURRENT_TRANSACTIONS', 't-1': 'CONCURRENT_TRANSACTIONS' });
    markers.release();
    await settle();
    expect(verify({})).toEqual({ 't-0': 'INVALID_TXN_STATE', 't-1': 'INVALID_TXN_STATE' }); // completed
    c.unloadPartition(c.partitionFor('a'));
    await expect(c.verify(req)).rejects.toMatchObject({ code: 'NOT_COORDINATOR' });
  });
});

describe('markers', () => {
  it('retries the partitions that failed (with backoff), not the others; a throwing writer retries all', async () => {
    const { coordinator: c, clock, markers } = await harness({ markerRetryBackoffMs: 100 });
    const p = await ongoing(c, 'a', [tp('t', 0), tp('t', 1), tp('t', 2)]);
    markers.answer = (x, call) =>
      call === 0 && x.partition === 1
        ? 'NOT_LEADER_OR_FOLLOWER'
        : call === 0 && x.partition === 2
          ? 'REQUEST_TIMED_OUT'
          : 'NONE';
    expect(await c.endTxn({ ...p, commit: true })).toBe('NONE');
    await settle();
    expect(markers.calls.map((x) => x.partitions)).toEqual([['t-0', 't-1', 't-2']]);
    expect(c.inspect('a')?.markersPending).toEqual(['t-1', 't-2']);
    expect(c.describeTransactions(['a'])[0]?.partitions).toEqual([tp('t', 1), tp('t', 2)]);
    clock.advance(99);
    await settle();
    expect(markers.calls.length).toBe(1);
    markers.throwNext = true;
    clock.advance(1);
    await settle();
    expect(markers.calls.map((x) => x.partitions)).toEqual([
      ['t-0', 't-1', 't-2'],
      ['t-1', 't-2'],
    ]);
    clock.advance(200); // doubled
    await settle();
    expect(markers.calls.map((x) => x.partitions)).toEqual([
      ['t-0', 't-1', 't-2'],
      ['t-1', 't-2'],
      ['t-1', 't-2'],
    ]);
    expect(c.inspect('a')?.state).toBe('CompleteCommit');
  });

  it('a deleted partition, or one that cannot hold markers, is not waited for', async () => {
    const { coordinator: c, markers, gone } = await harness();
    const p = await ongoing(c, 'a', [tp('t', 0), tp('gone', 0), tp('old', 0)]);
    gone.add('gone-0');
    markers.answer = (x) => (x.topic === 'old' ? 'UNSUPPORTED_VERSION' : 'NONE');
    expect(await c.endTxn({ ...p, commit: false })).toBe('NONE');
    await settle();
    expect(markers.calls.map((x) => x.partitions)).toEqual([['t-0', 'old-0']]);
    expect(c.inspect('a')?.state).toBe('CompleteAbort');
  });

  it('a partition fenced by a newer coordinator stops the completion (as Kafka)', async () => {
    const { coordinator: c, clock, markers } = await harness();
    const p = await ongoing(c, 'a');
    markers.answer = () => 'TRANSACTION_COORDINATOR_FENCED';
    expect(await c.endTxn({ ...p, commit: true })).toBe('NONE');
    await settle();
    clock.advance(60_000);
    await settle();
    expect(markers.calls.length).toBe(1);
    expect(c.inspect('a')).toMatchObject({ state: 'PrepareCommit', pending: 'CompleteCommit' });
  });

  it('at most maxConcurrentMarkerWrites writes are in flight; the others wait their turn', async () => {
    const { coordinator: c, markers } = await harness({ maxConcurrentMarkerWrites: 1 });
    const a = await ongoing(c, 'a');
    const b = await ongoing(c, 'b');
    markers.hold();
    await c.endTxn({ ...a, commit: true });
    await c.endTxn({ ...b, commit: true });
    await settle();
    expect(markers.calls.length).toBe(1);
    markers.release();
    markers.hold();
    await settle();
    expect(markers.calls.length).toBe(2);
    markers.release();
    await settle();
    expect(c.inspect('a')?.state).toBe('CompleteCommit');
    expect(c.inspect('b')?.state).toBe('CompleteCommit');
  });

  it('a Complete* that cannot be written is retried', async () => {
    const { coordinator: c, clock, log } = await harness();
    const p = await ongoing(c, 'a');
    expect(await c.endTxn({ ...p, commit: true })).toBe('NONE');
    log.failNext(); // the CompleteCommit append (markers are written at once)
    await settle();
    expect(c.inspect('a')).toMatchObject({ state: 'PrepareCommit', pending: 'CompleteCommit' });
    clock.advance(100);
    await settle();
    expect(c.inspect('a')).toMatchObject({ state: 'CompleteCommit', pending: undefined });
    expect(written(log, c, 'a').filter((s) => s.startsWith('CompleteCommit')).length).toBe(1);
  });
});

describe('the transaction log', () => {
  it('a failed append changes nothing and answers as Kafka maps it; a new id is forgotten', async () => {
    const { coordinator: c, log } = await harness();
    log.failNext(new KafkaError('NOT_LEADER_OR_FOLLOWER'));
    expect((await init(c, 'a')).errorCode).toBe('NOT_COORDINATOR');
    expect(c.inspect('a')).toBeUndefined();
    expect(c.transactionalIdCount()).toBe(0);
    const p = await ongoing(c, 'a');
    log.failNext(new KafkaError('REQUEST_TIMED_OUT'));
    expect(await c.endTxn({ ...p, commit: true })).toBe('COORDINATOR_NOT_AVAILABLE');
    expect(c.inspect('a')).toMatchObject({ state: 'Ongoing', pending: undefined });
    log.failNext(new KafkaError('MESSAGE_TOO_LARGE'));
    expect(await c.addPartitions({ ...p, partitions: [tp('x', 0)] })).toBe('UNKNOWN_SERVER_ERROR');
    log.failNext(new Error('disk on fire'));
    expect((await init(c, 'a')).errorCode).toBe('UNKNOWN_SERVER_ERROR');
    expect(c.inspect('a')).toMatchObject({ state: 'Ongoing', producerEpoch: 0 });
  });

  it('answers only once the record is durable; writes queued behind one append share the next', async () => {
    const { coordinator: c, log } = await harness({}, {});
    log.hold();
    const a = init(c, 'a');
    const b = init(c, 'b');
    await settle();
    let answered = false;
    void a.then(() => (answered = true));
    await settle();
    expect(answered).toBe(false);
    const appends = log.appendCount;
    log.release();
    await a;
    await b;
    expect(answered).toBe(true);
    expect(log.appendCount - appends).toBeLessThanOrEqual(2);
  });

  it('a load replays to the state the live coordinator had; a corrupt record refuses the load', async () => {
    const { coordinator: c, log, markers } = await harness();
    await ongoing(c, 'a');
    const b = await ongoing(c, 'b');
    await c.endTxn({ ...b, commit: true });
    await settle();
    await init(c, 'c');
    markers.hold();
    const d = await ongoing(c, 'd');
    await c.endTxn({ ...d, commit: false });
    const live = ['a', 'b', 'c', 'd'].map((id) => ({
      ...c.inspect(id),
      pending: undefined,
      markersPending: undefined,
    }));
    const { coordinator: again } = await harness({}, { log, markers: new FakeMarkerWriter() });
    await settle();
    const replayed = ['a', 'b', 'c', 'd'].map((id) => ({
      ...again.inspect(id),
      pending: undefined,
      markersPending: undefined,
    }));
    // d was in PrepareAbort: the new coordinator completed it.
    expect(replayed.slice(0, 3)).toEqual(live.slice(0, 3));
    expect(again.inspect('d')?.state).toBe('CompleteAbort');
    log.inject(c.partitionFor('a'), { key: new Uint8Array([0, 3]), value: null });
    const third = await harness({}, { log, load: false });
    await expect(third.coordinator.loadPartition(c.partitionFor('a'), 1)).rejects.toBeInstanceOf(TxnError);
    expect(third.coordinator.ownedPartitions()).toEqual([]);
  });

  it('compaction re-states the live ids and drops the prefix; a reload sees the same', async () => {
    const { coordinator: c, log } = await harness({ compactionMinRecords: 20, numPartitions: 1 });
    for (let i = 0; i < 30; i++) {
      const p = await ongoing(c, `id${i % 3}`);
      expect(await c.endTxn({ ...p, commit: i % 2 === 0 })).toBe('NONE');
      await settle();
    }
    expect(log.records(0).length).toBeLessThan(40);
    const { coordinator: again } = await harness({ numPartitions: 1 }, { log });
    for (const id of ['id0', 'id1', 'id2']) expect(again.inspect(id)).toEqual(c.inspect(id));
  });
});

describe('failover', () => {
  it('a Prepare* found on load is completed by the new coordinator, exactly once; the old one stops', async () => {
    const log = new InMemoryTxnLog();
    const oldMarkers = new FakeMarkerWriter();
    const next = { n: 1000n };
    const a = await harness({}, { log, markers: oldMarkers, nextProducerId: next, coordinatorEpoch: 1 });
    const p = await ongoing(a.coordinator, 'x');
    oldMarkers.hold();
    expect(await a.coordinator.endTxn({ ...p, commit: true })).toBe('NONE');
    await settle();
    // Leadership moves: the old coordinator unloads, a new one (epoch 2) loads the same log.
    const partition = a.coordinator.partitionFor('x');
    a.coordinator.unloadPartition(partition);
    const newMarkers = new FakeMarkerWriter();
    const b = await harness({}, { log, markers: newMarkers, nextProducerId: next, coordinatorEpoch: 2 });
    await settle();
    expect(newMarkers.calls).toEqual([
      {
        marker: { producerId: 1000n, producerEpoch: 0, commit: true, coordinatorEpoch: 2 },
        partitions: ['t-0', 't-1'],
      },
    ]);
    expect(b.coordinator.inspect('x')?.state).toBe('CompleteCommit');
    oldMarkers.release(); // the old coordinator's markers come back: it does nothing more
    await settle();
    expect(written(log, b.coordinator, 'x')).toEqual([
      'Empty@0',
      'Ongoing@0',
      'PrepareCommit@0',
      'CompleteCommit@0',
    ]);
    expect(await b.coordinator.endTxn({ ...p, commit: true })).toBe('NONE');
    expect(await a.coordinator.endTxn({ ...p, commit: true })).toBe('NOT_COORDINATOR');
  });

  it('a write in flight when the partition moves is answered NOT_COORDINATOR', async () => {
    const { coordinator: c, log } = await harness();
    await init(c, 'a');
    log.hold();
    const pending = init(c, 'a');
    await settle();
    c.unloadPartition(c.partitionFor('a'));
    log.release();
    expect((await pending).errorCode).toBe('NOT_COORDINATOR');
  });
});

describe('timeouts and expiration', () => {
  it('an ongoing transaction older than its timeout is aborted with the epoch bumped; the producer is fenced', async () => {
    const { coordinator: c, clock, log, markers } = await harness({ abortTimedOutIntervalMs: 10_000 });
    const r = await init(c, 'a', 15_000);
    const p = { transactionalId: 'a', producerId: r.producerId, producerEpoch: r.producerEpoch };
    await c.addPartitions({ ...p, partitions: [tp('t', 0)] });
    clock.advance(10_000);
    await settle();
    expect(c.inspect('a')?.state).toBe('Ongoing'); // 10 s < 15 s
    clock.advance(10_000);
    await settle();
    expect(markers.calls[0]?.marker).toEqual({
      producerId: 1000n,
      producerEpoch: 1,
      commit: false,
      coordinatorEpoch: 1,
    });
    expect(c.inspect('a')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 });
    expect(written(log, c, 'a')).toEqual(['Empty@0', 'Ongoing@0', 'PrepareAbort@1', 'CompleteAbort@1']);
    expect(await c.endTxn({ ...p, commit: true })).toBe('PRODUCER_FENCED');
    expect(await c.addPartitions({ ...p, partitions: [tp('t', 0)] })).toBe('PRODUCER_FENCED');
    expect(c.abortTimedOutTransactions()).toBe(0);
  });

  it('an id idle for transactional.id.expiration.ms is removed by a tombstone; an active one is kept', async () => {
    const {
      coordinator: c,
      clock,
      log,
    } = await harness({
      transactionalIdExpirationMs: 100_000,
      removeExpiredIntervalMs: 60_000,
      abortTimedOutIntervalMs: 1_000_000,
    });
    await init(c, 'idle');
    await ongoing(c, 'busy');
    clock.advance(60_000);
    await settle();
    expect(c.inspect('idle')).toBeDefined();
    clock.advance(60_000);
    await settle();
    expect(c.inspect('idle')).toBeUndefined();
    expect(c.describeTransactions(['idle'])[0]?.errorCode).toBe('TRANSACTIONAL_ID_NOT_FOUND');
    expect(written(log, c, 'idle')).toEqual(['Empty@0', 'tombstone']);
    expect(c.inspect('busy')?.state).toBe('Ongoing');
    const { coordinator: again } = await harness({}, { log });
    expect(again.inspect('idle')).toBeUndefined();
    expect((await init(again, 'idle')).producerEpoch).toBe(0); // a new id again
  });
});

describe('limits', () => {
  it('bounds ids and partitions per transaction', async () => {
    const { coordinator: c } = await harness({ maxTransactionalIds: 2, maxPartitionsPerTransaction: 3 });
    await init(c, 'a');
    await init(c, 'b');
    expect((await init(c, 'c')).errorCode).toBe('COORDINATOR_NOT_AVAILABLE');
    const p = { transactionalId: 'a', producerId: 1000n, producerEpoch: 0 };
    expect(
      await c.addPartitions({ ...p, partitions: [tp('t', 0), tp('t', 1), tp('t', 2), tp('t', 3)] }),
    ).toBe('INVALID_REQUEST');
    expect(await c.addPartitions({ ...p, partitions: [tp('t', 0), tp('t', 1), tp('t', 2)] })).toBe('NONE');
  });

  it('bounds the writes waiting per partition', async () => {
    const { coordinator: c, log } = await harness({ maxQueuedWritesPerPartition: 1, numPartitions: 1 });
    for (const id of ['a', 'b', 'c']) await init(c, id);
    log.hold();
    const inFlight = init(c, 'a');
    await settle();
    const queued = init(c, 'b');
    expect((await init(c, 'c')).errorCode).toBe('COORDINATOR_NOT_AVAILABLE');
    log.release();
    expect((await inFlight).errorCode).toBe('NONE');
    expect((await queued).errorCode).toBe('NONE');
  });

  it('a write that waits too long in the queue is dropped (never written)', async () => {
    const { coordinator: c, clock, log } = await harness({ numPartitions: 1, queuedWriteTimeoutMs: 5000 });
    await init(c, 'a');
    log.hold();
    const first = init(c, 'a');
    await settle();
    const second = init(c, 'b');
    await settle();
    clock.advance(5000);
    expect((await second).errorCode).toBe('COORDINATOR_NOT_AVAILABLE');
    expect(c.inspect('b')).toBeUndefined();
    log.release();
    expect((await first).errorCode).toBe('NONE');
    expect(written(log, c, 'b')).toEqual([]);
  });
});

describe('DescribeTransactions, ListTransactions', () => {
  it('describes and lists from the loaded state, with Kafka filters', async () => {
    const { coordinator: c, clock } = await harness();
    await init(c, 'idle');
    clock.advance(1000);
    const p = await ongoing(c, 'busy', [tp('t', 0), tp('u', 1)]);
    clock.advance(5000);
    expect(c.describeTransactions(['busy', 'nope', ''])).toEqual([
      {
        transactionalId: 'busy',
        errorCode: 'NONE',
        state: 'Ongoing',
        timeoutMs: 60_000,
        startTimeMs: clock.now() - 5000,
        producerId: p.producerId,
        producerEpoch: 0,
        partitions: [tp('t', 0), tp('u', 1)],
      },
      expect.objectContaining({ transactionalId: 'nope', errorCode: 'TRANSACTIONAL_ID_NOT_FOUND' }),
      expect.objectContaining({ transactionalId: '', errorCode: 'INVALID_REQUEST' }),
    ]);
    const list = (stateFilters: string[], producerIdFilters: bigint[] = [], durationFilterMs = -1) =>
      c.listTransactions({ stateFilters, producerIdFilters, durationFilterMs });
    expect(list([]).transactions.map((t) => t.transactionalId)).toEqual(['busy', 'idle']);
    expect(list(['Ongoing', 'Bogus'])).toEqual({
      errorCode: 'NONE',
      unknownStateFilters: ['Bogus'],
      transactions: [{ transactionalId: 'busy', producerId: p.producerId, state: 'Ongoing' }],
    });
    expect(list([], [1000n]).transactions.map((t) => t.transactionalId)).toEqual(['idle']);
    expect(list(['Ongoing'], [], 4999).transactions.length).toBe(1);
    expect(list(['Ongoing'], [], 5000).transactions.length).toBe(0);
  });
});

describe('replay equals live', () => {
  it.each([1, 2, 3, 4, 5])('seed %i: random requests, failures and timeouts, then a reload', async (seed) => {
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const {
      coordinator: c,
      clock,
      log,
      markers,
    } = await harness({
      numPartitions: 2,
      compactionMinRecords: 25,
      abortTimedOutIntervalMs: 1000,
      markerRetryBackoffMs: 10,
    });
    markers.answer = () => pick(['NONE', 'NONE', 'NONE', 'NOT_LEADER_OR_FOLLOWER', 'REQUEST_TIMED_OUT']);
    const ids = ['a', 'b', 'c', 'd'];
    const producers = new Map<string, { producerId: bigint; producerEpoch: number }>();
    for (let i = 0; i < 300; i++) {
      const id = pick(ids);
      const known = producers.get(id) ?? { producerId: 1000n, producerEpoch: 0 };
      const p = { transactionalId: id, ...known };
      if (rnd() < 0.1) log.failNext(new KafkaError(pick(['REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS'])));
      switch (pick(['init', 'add', 'add', 'end', 'time'] as const)) {
        case 'init': {
          const r = await init(c, id, 3000);
          if (r.errorCode === 'NONE')
            producers.set(id, { producerId: r.producerId, producerEpoch: r.producerEpoch });
          break;
        }
        case 'add':
          await c.addPartitions({ ...p, partitions: [tp('t', Math.floor(rnd() * 3))] });
          break;
        case 'end':
          await c.endTxn({ ...p, commit: rnd() < 0.5 });
          break;
        case 'time':
          clock.advance(Math.floor(rnd() * 2000));
          break;
      }
      await settle();
      expect(c.invariantViolations()).toEqual([]);
    }
    // Let every transaction complete, then load the log into a new coordinator.
    markers.answer = () => 'NONE';
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      await settle();
    }
    const { coordinator: again } = await harness({ numPartitions: 2 }, { log });
    for (const id of ids) expect([id, again.inspect(id)]).toEqual([id, c.inspect(id)]);
  });
});
