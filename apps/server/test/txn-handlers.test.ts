// The transaction side of the data path through the codec, against an in-process broker: Produce with
// and without a transactional id, WriteTxnMarkers (v0 and v1, per-partition errors), read_committed
// Fetch (last stable offset, aborted transactions, never a batch at or past the LSO, a long poll woken
// when a marker moves the LSO), ListOffsets read_committed and DescribeProducers.
import {
  ApiKey,
  ErrorCode,
  buildRecordBatch,
  decodeRecordBatch,
  defaultFetchRequest,
  defaultListOffsetsRequest,
  defaultProduceRequest,
} from '@chronik/protocol';
import type { FetchRequest, FetchResponse } from '@chronik/protocol';
import { committedValues, txnBatch } from './partition/harness.js';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

jest.setTimeout(30_000);

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

let ctx: Awaited<ReturnType<typeof startBroker>>;
let c: RawClient;

beforeAll(async () => {
  // Transactions written here by hand, as a coordinator would write them: no coordinator to verify with.
  ctx = await startBroker({ broker: { transactionPartitionVerification: false } });
  c = await RawClient.connect(ctx.broker.kafkaPort);
});
afterAll(async () => {
  c.close();
  await ctx.stop();
  removeDir(ctx.dataDir);
});

async function createTopic(name: string, partitions = 1): Promise<void> {
  const r = await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(r.topics[0]?.errorCode).toBe(0);
}

/** Produces `records` to topic-partition; the partition's error code and base offset. */
async function produce(
  topic: string,
  partition: number,
  records: Buffer,
  transactionalId: string | null,
): Promise<{ errorCode: number; baseOffset: bigint }> {
  const r = await c.request(ApiKey.Produce, 9, {
    ...defaultProduceRequest(),
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  const p = r.responses[0]?.partitionResponses[0];
  return { errorCode: p?.errorCode ?? -1, baseOffset: p?.baseOffset ?? -1n };
}

function markers(
  version: number,
  producerId: bigint,
  commit: boolean,
  topics: Array<{ name: string; partitionIndexes: number[] }>,
  producerEpoch = 0,
) {
  return c.request(ApiKey.WriteTxnMarkers, version, {
    markers: [{ producerId, producerEpoch, transactionResult: commit, topics, coordinatorEpoch: 1 }],
  });
}

function fetchRequest(
  topic: string,
  fetchOffset: bigint,
  isolationLevel: number,
  maxWaitMs = 0,
): FetchRequest {
  return {
    ...defaultFetchRequest(),
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel,
    topics: [
      {
        topic,
        topicId: ZERO_UUID,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: 1 << 20,
            replicaDirectoryId: ZERO_UUID,
          },
        ],
      },
    ],
  };
}

function partitionOf(r: FetchResponse) {
  const p = r.responses[0]?.partitions[0];
  if (p === undefined) throw new Error('no partition in the fetch response');
  return p;
}

/** The base offsets of the batches in a fetch answer. */
function batchOffsets(records: Buffer | null): bigint[] {
  const out: bigint[] = [];
  let at = 0;
  while (records !== null && at < records.length) {
    out.push(records.readBigInt64BE(at));
    at += 12 + records.readInt32BE(at + 8);
  }
  return out;
}

function batchesOf(records: Buffer | null): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (records !== null && at < records.length) {
    const end = at + 12 + records.readInt32BE(at + 8);
    out.push(records.subarray(at, end));
    at = end;
  }
  return out;
}

async function latest(topic: string, isolationLevel: number): Promise<bigint> {
  const r = await c.request(ApiKey.ListOffsets, 7, {
    ...defaultListOffsetsRequest(),
    replicaId: -1,
    isolationLevel,
    topics: [
      {
        name: topic,
        partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
      },
    ],
  });
  return r.topics[0]?.partitions[0]?.offset ?? -2n;
}

test('ApiVersions advertises WriteTxnMarkers v0-v1', async () => {
  const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
  expect(r.apiKeys.find((k) => k.apiKey === ApiKey.WriteTxnMarkers)).toMatchObject({
    minVersion: 0,
    maxVersion: 1,
  });
});

test('Produce: transactional batches need the transactional id (the whole request is refused without it)', async () => {
  await createTopic('txn-produce', 2);
  const plain = buildRecordBatch({ records: [{ value: Buffer.from('p') }] });
  const r = await c.request(ApiKey.Produce, 9, {
    ...defaultProduceRequest(),
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      {
        name: 'txn-produce',
        partitionData: [
          { index: 0, records: txnBatch(1, { producerId: 3n, seq: 0 }) },
          { index: 1, records: plain },
        ],
      },
    ],
  });
  expect(r.responses[0]?.partitionResponses.map((p) => p.errorCode)).toEqual([
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ]);
  expect(await produce('txn-produce', 0, txnBatch(1, { producerId: 3n, seq: 0 }), 'tx-1')).toEqual({
    errorCode: 0,
    baseOffset: 0n,
  });
  expect((await produce('txn-produce', 1, plain, 'tx-1')).errorCode).toBe(0); // not transactional: fine
});

test('WriteTxnMarkers (v0 and v1): each partition answers; read_committed Fetch, ListOffsets and DescribeProducers follow the transactions', async () => {
  const topic = 'txn-read';
  await createTopic(topic);
  expect(
    (await produce(topic, 0, buildRecordBatch({ records: [{ value: Buffer.from('a') }] }), null)).baseOffset,
  ).toBe(0n);
  await produce(topic, 0, txnBatch(2, { producerId: 10n, seq: 0, prefix: 'x' }), 'tx-10'); // 1-2: aborted
  await produce(topic, 0, txnBatch(1, { producerId: 11n, seq: 0, prefix: 'k' }), 'tx-11'); // 3: committed
  await produce(topic, 0, buildRecordBatch({ records: [{ value: Buffer.from('b') }] }), null); // 4

  // Before any marker: read_committed stops at the first open transaction.
  const open = partitionOf(await c.request(ApiKey.Fetch, 12, fetchRequest(topic, 0n, 1)));
  expect(open).toMatchObject({ highWatermark: 5n, lastStableOffset: 1n, abortedTransactions: [] });
  expect(batchOffsets(open.records)).toEqual([0n]);
  const uncommitted = partitionOf(await c.request(ApiKey.Fetch, 12, fetchRequest(topic, 0n, 0)));
  expect(uncommitted).toMatchObject({ lastStableOffset: 1n, abortedTransactions: null });
  expect(batchOffsets(uncommitted.records)).toEqual([0n, 1n, 3n, 4n]);
  expect(await latest(topic, 1)).toBe(1n);
  expect(await latest(topic, 0)).toBe(5n);
  const described = await c.request(ApiKey.DescribeProducers, 0, {
    topics: [{ name: topic, partitionIndexes: [0] }],
  });
  expect(described.topics[0]?.partitions[0]?.activeProducers).toEqual([
    expect.objectContaining({ producerId: 10n, currentTxnStartOffset: 1n, coordinatorEpoch: -1 }),
    expect.objectContaining({ producerId: 11n, currentTxnStartOffset: 3n, coordinatorEpoch: -1 }),
  ]);

  const aborted = await markers(0, 10n, false, [
    { name: topic, partitionIndexes: [0, 5] },
    { name: 'no-such-topic', partitionIndexes: [0] },
  ]);
  expect(aborted.markers).toEqual([
    {
      producerId: 10n,
      topics: [
        {
          name: topic,
          partitions: [
            { partitionIndex: 0, errorCode: ErrorCode.NONE },
            { partitionIndex: 5, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
          ],
        },
        {
          name: 'no-such-topic',
          partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }],
        },
      ],
    },
  ]); // the abort marker is at 5
  const committed = await markers(1, 11n, true, [{ name: topic, partitionIndexes: [0] }]); // at 6
  expect(committed.markers[0]?.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
  const fenced = await markers(1, 11n, true, [{ name: topic, partitionIndexes: [0] }], -1);
  expect(fenced.markers[0]?.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);

  for (const v of [4, 11, 12]) {
    const r = partitionOf(await c.request(ApiKey.Fetch, v, fetchRequest(topic, 0n, 1)));
    expect(r).toMatchObject({
      highWatermark: 7n,
      lastStableOffset: 7n,
      abortedTransactions: [{ producerId: 10n, firstOffset: 1n }],
    });
    expect(batchOffsets(r.records)).toEqual([0n, 1n, 3n, 4n, 5n, 6n]);
    const batches = batchesOf(r.records);
    expect(
      committedValues({
        highWatermark: r.highWatermark,
        lastStableOffset: r.lastStableOffset,
        logStartOffset: r.logStartOffset,
        abortedTransactions: r.abortedTransactions ?? [],
        chunks: batches,
        bytes: r.records?.length ?? 0,
        leaderEpoch: 0,
      }),
    ).toEqual(['a', 'k0', 'b']);
    expect(batches.filter((b) => decodeRecordBatch(b).header.isControl)).toHaveLength(2);
  }
  // A read past the aborted transaction's marker does not name it.
  expect(
    partitionOf(await c.request(ApiKey.Fetch, 12, fetchRequest(topic, 6n, 1))).abortedTransactions,
  ).toEqual([]);
  expect(await latest(topic, 1)).toBe(7n);
  const after = await c.request(ApiKey.DescribeProducers, 0, {
    topics: [{ name: topic, partitionIndexes: [0] }],
  });
  expect(after.topics[0]?.partitions[0]?.activeProducers).toEqual([
    expect.objectContaining({ producerId: 10n, currentTxnStartOffset: -1n, coordinatorEpoch: 1 }),
    expect.objectContaining({ producerId: 11n, currentTxnStartOffset: -1n, coordinatorEpoch: 1 }),
  ]);
});

test('a read_committed fetch held back by an open transaction waits, and is woken when the marker moves the LSO', async () => {
  const topic = 'txn-wait';
  await createTopic(topic);
  await produce(topic, 0, txnBatch(1, { producerId: 20n, seq: 0, prefix: 'w' }), 'tx-20'); // 0
  await produce(topic, 0, buildRecordBatch({ records: [{ value: Buffer.from('after') }] }), null); // 1
  const waiter = await RawClient.connect(ctx.broker.kafkaPort);
  try {
    const started = Date.now();
    const pending = waiter.request(ApiKey.Fetch, 12, fetchRequest(topic, 0n, 1, 10_000), 15_000);
    await new Promise((r) => setTimeout(r, 300));
    await markers(1, 20n, true, [{ name: topic, partitionIndexes: [0] }]); // at 2
    const r = partitionOf(await pending);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r).toMatchObject({ lastStableOffset: 3n, highWatermark: 3n });
    expect(batchOffsets(r.records)).toEqual([0n, 1n, 2n]);
  } finally {
    waiter.close();
  }
});
