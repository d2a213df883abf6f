// The transaction handlers over the wire (a raw client against an in-process broker), version by
// version: ApiVersions, FindCoordinator key type 1, InitProducerId with a transactional id,
// AddPartitionsToTxn (v0–v3 and the v4+ batched, verify_only form), AddOffsetsToTxn, TxnOffsetCommit
// with OffsetFetch require_stable, EndTxn, DescribeTransactions, ListTransactions.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

jest.setTimeout(30_000);

let stop: () => Promise<void>;
let dataDir: string;
let c: RawClient;

beforeAll(async () => {
  const b = await startBroker({
    broker: { transactionStateNumPartitions: 3, transactionMaxTimeoutMs: 120_000 },
  });
  stop = b.stop;
  dataDir = b.dataDir;
  c = await RawClient.connect(b.broker.kafkaPort);
  const created = await c.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: 'tt', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics[0]?.errorCode).toBe(0);
  const found = await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['g'] });
  expect(found.coordinators[0]?.errorCode).toBe(0);
});
afterAll(async () => {
  c.close();
  await stop();
  removeDir(dataDir);
});

function init(
  version: number,
  transactionalId: string | null,
  producerId = -1n,
  producerEpoch = -1,
  timeoutMs = 60_000,
) {
  return c.request(ApiKey.InitProducerId, version, {
    transactionalId,
    transactionTimeoutMs: timeoutMs,
    producerId,
    producerEpoch,
  });
}

function addV3(
  version: number,
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
  topics: Array<{ name: string; partitions: number[] }>,
) {
  return c.request(ApiKey.AddPartitionsToTxn, version, {
    transactions: [],
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: producerId,
    v3AndBelowProducerEpoch: producerEpoch,
    v3AndBelowTopics: topics,
  });
}

const codesOf = (r: {
  resultsByTopicV3AndBelow: Array<{
    name: string;
    resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }>;
  }>;
}) =>
  Object.fromEntries(
    r.resultsByTopicV3AndBelow.flatMap((t) =>
      t.resultsByPartition.map((p) => [`${t.name}-${p.partitionIndex}`, p.partitionErrorCode]),
    ),
  );

async function describe1(id: string) {
  const r = await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] });
  return r.transactionStates[0];
}

async function until(f: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached');
}

it('ApiVersions advertises the transaction APIs', async () => {
  const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
  const range = (k: number) => r.apiKeys.find((x) => x.apiKey === k);
  expect(range(ApiKey.InitProducerId)).toMatchObject({ minVersion: 0, maxVersion: 5 });
  expect(range(ApiKey.AddPartitionsToTxn)).toMatchObject({ minVersion: 0, maxVersion: 5 });
  expect(range(ApiKey.AddOffsetsToTxn)).toMatchObject({ minVersion: 0, maxVersion: 4 });
  expect(range(ApiKey.EndTxn)).toMatchObject({ minVersion: 0, maxVersion: 4 });
  expect(range(ApiKey.TxnOffsetCommit)).toMatchObject({ minVersion: 0, maxVersion: 4 });
  expect(range(ApiKey.DescribeTransactions)).toMatchObject({ minVersion: 0, maxVersion: 0 });
  expect(range(ApiKey.ListTransactions)).toMatchObject({ minVersion: 0, maxVersion: 1 });
});

it('FindCoordinator key type 1 creates __transaction_state and names its partition leader', async () => {
  const v1 = await c.request(ApiKey.FindCoordinator, 1, { key: 'tx-find', keyType: 1, coordinatorKeys: [] });
  expect(v1.errorCode).toBe(0);
  expect(v1.nodeId).toBe(1);
  const v4 = await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: ['a', 'b'] });
  expect(v4.coordinators.map((x) => [x.key, x.errorCode, x.nodeId])).toEqual([
    ['a', 0, 1],
    ['b', 0, 1],
  ]);
  const md = await c.request(ApiKey.Metadata, 9, {
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: '__transaction_state' }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  expect(md.topics[0]).toMatchObject({ errorCode: 0, isInternal: true });
  expect(md.topics[0]?.partitions.length).toBe(3);
});

it('InitProducerId with a transactional id: a producer id at epoch 0, then bumps; every version', async () => {
  const a = await init(0, 'tx-init');
  expect(a.errorCode).toBe(0);
  expect(a.producerEpoch).toBe(0);
  const b = await init(4, 'tx-init', a.producerId, 0);
  expect(b).toMatchObject({ errorCode: 0, producerId: a.producerId, producerEpoch: 1 });
  expect((await init(5, 'tx-init', 999n, 1)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  expect((await init(3, 'tx-init', 999n, 1)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH); // before v4
  expect((await init(4, 'tx-init', 5n, -1)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  expect((await init(2, 'tx-init', -1n, -1, 200_000)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  // Without a transactional id: the idempotent path, as before.
  expect(await init(4, null)).toMatchObject({ errorCode: 0, producerEpoch: 0 });
});

it('AddPartitionsToTxn v0–v3: added and recorded; unknown partitions stop the request; fencing by version', async () => {
  const p = await init(3, 'tx-add');
  expect(codesOf(await addV3(3, 'tx-add', p.producerId, 0, [{ name: 'tt', partitions: [0, 1, 1] }]))).toEqual(
    {
      'tt-0': 0,
      'tt-1': 0,
    },
  );
  expect(
    codesOf(
      await addV3(1, 'tx-add', p.producerId, 0, [
        { name: 'tt', partitions: [2] },
        { name: 'nope', partitions: [0] },
      ]),
    ),
  ).toEqual({
    'tt-2': ErrorCode.OPERATION_NOT_ATTEMPTED,
    'nope-0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  });
  expect(codesOf(await addV3(0, 'tx-add', p.producerId, 0, [{ name: 'tt', partitions: [9] }]))).toEqual({
    'tt-9': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  });
  expect(codesOf(await addV3(3, 'tx-add', p.producerId, 7, [{ name: 'tt', partitions: [2] }]))).toEqual({
    'tt-2': ErrorCode.PRODUCER_FENCED,
  });
  expect(codesOf(await addV3(1, 'tx-add', p.producerId, 7, [{ name: 'tt', partitions: [2] }]))).toEqual({
    'tt-2': ErrorCode.INVALID_PRODUCER_EPOCH,
  });
  expect(codesOf(await addV3(2, 'tx-none', 1n, 0, [{ name: 'tt', partitions: [2] }]))).toEqual({
    'tt-2': ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  });
  expect(await describe1('tx-add')).toMatchObject({
    errorCode: 0,
    transactionState: 'Ongoing',
    producerId: p.producerId,
    topics: [{ topic: 'tt', partitions: [0, 1] }],
  });
});

it('AddPartitionsToTxn v4+: several transactions, verify_only answers without adding', async () => {
  const p = await init(4, 'tx-verify');
  const q = await init(4, 'tx-verify2');
  const r = await c.request(ApiKey.AddPartitionsToTxn, 5, {
    transactions: [
      {
        transactionalId: 'tx-verify',
        producerId: p.producerId,
        producerEpoch: 0,
        verifyOnly: false,
        topics: [{ name: 'tt', partitions: [0] }],
      },
      {
        transactionalId: 'tx-verify2',
        producerId: q.producerId,
        producerEpoch: 0,
        verifyOnly: true,
        topics: [{ name: 'tt', partitions: [0] }],
      },
    ],
    v3AndBelowTransactionalId: '',
    v3AndBelowProducerId: 0n,
    v3AndBelowProducerEpoch: 0,
    v3AndBelowTopics: [],
  });
  expect(r.errorCode).toBe(0);
  expect(
    r.resultsByTransaction.map((t) => [
      t.transactionalId,
      t.topicResults[0]?.resultsByPartition[0]?.partitionErrorCode,
    ]),
  ).toEqual([
    ['tx-verify', 0],
    ['tx-verify2', ErrorCode.INVALID_TXN_STATE],
  ]);
  const v = await c.request(ApiKey.AddPartitionsToTxn, 4, {
    transactions: [
      {
        transactionalId: 'tx-verify',
        producerId: p.producerId,
        producerEpoch: 0,
        verifyOnly: true,
        topics: [{ name: 'tt', partitions: [0, 1] }],
      },
    ],
    v3AndBelowTransactionalId: '',
    v3AndBelowProducerId: 0n,
    v3AndBelowProducerEpoch: 0,
    v3AndBelowTopics: [],
  });
  expect(v.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition).toEqual([
    { partitionIndex: 0, partitionErrorCode: 0 },
    { partitionIndex: 1, partitionErrorCode: ErrorCode.INVALID_TXN_STATE },
  ]);
  expect((await describe1('tx-verify2'))?.transactionState).toBe('Empty');
});

it('AddOffsetsToTxn and TxnOffsetCommit: pending offsets answer require_stable with UNSTABLE_OFFSET_COMMIT', async () => {
  const p = await init(4, 'tx-offsets');
  expect(
    (
      await c.request(ApiKey.AddOffsetsToTxn, 3, {
        transactionalId: 'tx-offsets',
        producerId: p.producerId,
        producerEpoch: 0,
        groupId: 'tg',
      })
    ).errorCode,
  ).toBe(0);
  expect(
    (
      await c.request(ApiKey.AddOffsetsToTxn, 1, {
        transactionalId: 'tx-offsets',
        producerId: p.producerId,
        producerEpoch: 9,
        groupId: 'tg',
      })
    ).errorCode,
  ).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  const d = await describe1('tx-offsets');
  expect(d?.topics.map((t) => t.topic)).toEqual(['__consumer_offsets']);
  const commit = (version: number, offset: bigint, topic = 'tt') =>
    c.request(ApiKey.TxnOffsetCommit, version, {
      transactionalId: 'tx-offsets',
      groupId: 'tg',
      producerId: p.producerId,
      producerEpoch: 0,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: topic,
          partitions: [
            { partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
  expect((await commit(3, 5n)).topics[0]?.partitions[0]?.errorCode).toBe(0);
  expect((await commit(0, 6n)).topics[0]?.partitions[0]?.errorCode).toBe(0); // the next batch of the producer
  expect((await commit(4, 7n, 'nope')).topics[0]?.partitions[0]?.errorCode).toBe(
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  );
  const fetch = (requireStable: boolean) =>
    c.request(ApiKey.OffsetFetch, 7, {
      groupId: 'tg',
      topics: [{ name: 'tt', partitionIndexes: [0] }],
      requireStable,
      groups: [],
    });
  expect((await fetch(true)).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
  expect((await fetch(false)).topics[0]?.partitions[0]).toMatchObject({ errorCode: 0, committedOffset: -1n });
});

it('EndTxn: Prepare* answered, completed in the background; retries and the other outcome', async () => {
  const p = await init(3, 'tx-end');
  const end = (version: number, committed: boolean, producerEpoch = 0) =>
    c.request(ApiKey.EndTxn, version, {
      transactionalId: 'tx-end',
      producerId: p.producerId,
      producerEpoch,
      committed,
    });
  expect((await end(3, true)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE); // nothing added
  expect(codesOf(await addV3(3, 'tx-end', p.producerId, 0, [{ name: 'tt', partitions: [0] }]))).toEqual({
    'tt-0': 0,
  });
  expect((await end(1, true, 3)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  expect((await end(4, true, 3)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  expect((await end(4, true)).errorCode).toBe(0);
  await until(async () => (await describe1('tx-end'))?.transactionState === 'CompleteCommit');
  expect((await end(0, true)).errorCode).toBe(0);
  expect((await end(2, false)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
});

it('DescribeTransactions and ListTransactions', async () => {
  expect(await describe1('tx-unknown')).toMatchObject({ errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND });
  const p = await init(4, 'tx-list');
  await addV3(3, 'tx-list', p.producerId, 0, [{ name: 'tt', partitions: [2] }]);
  const all = await c.request(ApiKey.ListTransactions, 1, {
    stateFilters: [],
    producerIdFilters: [],
    durationFilter: -1n,
  });
  expect(all.errorCode).toBe(0);
  expect(all.transactionStates.map((t) => t.transactionalId)).toEqual(
    expect.arrayContaining(['tx-list', 'tx-end', 'tx-init']),
  );
  const ongoing = await c.request(ApiKey.ListTransactions, 0, {
    stateFilters: ['Ongoing', 'Nope'],
    producerIdFilters: [p.producerId],
    durationFilter: -1n,
  });
  expect(ongoing.unknownStateFilters).toEqual(['Nope']);
  expect(ongoing.transactionStates).toEqual([
    { transactionalId: 'tx-list', producerId: p.producerId, transactionState: 'Ongoing' },
  ]);
  const old = await c.request(ApiKey.ListTransactions, 1, {
    stateFilters: ['Ongoing'],
    producerIdFilters: [],
    durationFilter: 3_600_000n,
  });
  expect(old.transactionStates).toEqual([]);
});
