// Fetch's size limits as Kafka applies them (KIP-74, ReplicaManager.readFromLog), with raw frames
// against an in-process broker: partitions are read in request order from one budget, max_bytes;
// each gets at most min(partition_max_bytes, the budget left), and only the first partition that
// returns bytes may return its first batch whole beyond those limits. Also on a long poll's re-reads.
import {
  ApiKey,
  ErrorCode,
  buildRecordBatch,
  defaultFetchRequest,
  defaultProduceRequest,
} from '@chronik/protocol';
import type { FetchRequest, FetchResponse } from '@chronik/protocol';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

const TOPIC = 'limits';
const PARTITIONS = 3;
const BATCHES_PER_PARTITION = 4;
const VALUE_BYTES = 1000;

let ctx: Awaited<ReturnType<typeof startBroker>>;
let c: RawClient;
/** Size of each stored batch (they are all the same size). */
let batchBytes: number;

function batch(tag: string): Buffer {
  return buildRecordBatch({
    records: [{ value: Buffer.from(tag.padEnd(VALUE_BYTES, 'x')) }],
    timestampMs: 1_700_000_000_000n,
  });
}

async function produce(client: RawClient, topic: string, partition: number, records: Buffer): Promise<void> {
  const r = await client.request(ApiKey.Produce, 9, {
    ...defaultProduceRequest(),
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  expect(r.responses[0]?.partitionResponses[0]?.errorCode).toBe(0);
}

async function createTopic(name: string): Promise<void> {
  const r = await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(r.topics[0]?.errorCode).toBe(0);
}

function fetchRequest(
  topic: string,
  opts: {
    maxBytes: number;
    partitionMaxBytes: number;
    offsets?: bigint[];
    minBytes?: number;
    maxWaitMs?: number;
  },
): FetchRequest {
  const offsets = opts.offsets ?? Array.from({ length: PARTITIONS }, () => 0n);
  return {
    ...defaultFetchRequest(),
    replicaId: -1,
    maxWaitMs: opts.maxWaitMs ?? 0,
    minBytes: opts.minBytes ?? 1,
    maxBytes: opts.maxBytes,
    topics: [
      {
        topic,
        topicId: '00000000-0000-0000-0000-000000000000',
        partitions: offsets.map((fetchOffset, partition) => ({
          partition,
          currentLeaderEpoch: -1,
          fetchOffset,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: opts.partitionMaxBytes,
          replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
        })),
      },
    ],
  };
}

/** Record bytes per partition, in request order; every partition answered without error. */
function bytesPerPartition(r: FetchResponse): number[] {
  const parts = r.responses[0]?.partitions ?? [];
  expect(parts.map((p) => p.errorCode)).toEqual(parts.map(() => 0));
  return parts.map((p) => p.records?.length ?? 0);
}

beforeAll(async () => {
  ctx = await startBroker();
  c = await RawClient.connect(ctx.broker.kafkaPort);
  await createTopic(TOPIC);
  for (let p = 0; p < PARTITIONS; p++)
    for (let i = 0; i < BATCHES_PER_PARTITION; i++) await produce(c, TOPIC, p, batch(`p${p}-${i}`));
  batchBytes = batch('size').length;
});
afterAll(async () => {
  c.close();
  await ctx.stop();
  removeDir(ctx.dataDir);
});

test('partition_max_bytes above max_bytes: the response stays within max_bytes', async () => {
  const maxBytes = 2 * batchBytes + batchBytes / 2;
  const r = await c.request(ApiKey.Fetch, 11, fetchRequest(TOPIC, { maxBytes, partitionMaxBytes: 1 << 20 }));
  // p0 takes the two batches that fit; what is left is less than a batch, so p1 and p2 get none.
  expect(bytesPerPartition(r)).toEqual([2 * batchBytes, 0, 0]);
  expect(r.responses[0]?.partitions.map((p) => p.highWatermark)).toEqual([4n, 4n, 4n]);
});

test('the budget left carries over to the next partitions', async () => {
  const maxBytes = 5 * batchBytes + batchBytes / 2;
  const r = await c.request(ApiKey.Fetch, 11, fetchRequest(TOPIC, { maxBytes, partitionMaxBytes: 1 << 20 }));
  expect(bytesPerPartition(r)).toEqual([4 * batchBytes, batchBytes, 0]);
});

test('max_bytes below one batch: the first batch of the first partition with data, whole, and nothing else', async () => {
  for (const maxBytes of [0, 1, batchBytes - 1]) {
    const r = await c.request(
      ApiKey.Fetch,
      11,
      fetchRequest(TOPIC, { maxBytes, partitionMaxBytes: 1 << 20 }),
    );
    expect(bytesPerPartition(r)).toEqual([batchBytes, 0, 0]);
  }
  // The first partition has nothing from its fetch offset: the exception passes to the next one.
  const r = await c.request(
    ApiKey.Fetch,
    11,
    fetchRequest(TOPIC, { maxBytes: 1, partitionMaxBytes: 1 << 20, offsets: [4n, 0n, 0n] }),
  );
  expect(bytesPerPartition(r)).toEqual([0, batchBytes, 0]);
});

test('partition_max_bytes below max_bytes bounds each partition; only the first may exceed it by its first batch', async () => {
  const each = await c.request(
    ApiKey.Fetch,
    11,
    fetchRequest(TOPIC, { maxBytes: 1 << 20, partitionMaxBytes: 2 * batchBytes - 1 }),
  );
  expect(bytesPerPartition(each)).toEqual([batchBytes, batchBytes, batchBytes]);
  const small = await c.request(
    ApiKey.Fetch,
    11,
    fetchRequest(TOPIC, { maxBytes: 1 << 20, partitionMaxBytes: batchBytes - 1 }),
  );
  expect(bytesPerPartition(small)).toEqual([batchBytes, 0, 0]);
});

test('a long poll re-reads within the same budget', async () => {
  const topic = 'limits-poll';
  await createTopic(topic);
  const maxBytes = 2 * batchBytes + batchBytes / 2;
  const poller = await RawClient.connect(ctx.broker.kafkaPort);
  // min_bytes is never reached: the request waits out max_wait_ms, re-reading at each append.
  const fetching = poller.request(
    ApiKey.Fetch,
    11,
    fetchRequest(topic, { maxBytes, partitionMaxBytes: 1 << 20, minBytes: 1 << 20, maxWaitMs: 1500 }),
  );
  for (let p = 0; p < PARTITIONS; p++)
    for (let i = 0; i < 3; i++) await produce(c, topic, p, batch(`poll-p${p}-${i}`));
  const r = await fetching;
  expect(r.responses[0]?.partitions.map((p) => p.highWatermark)).toEqual([3n, 3n, 3n]);
  expect(bytesPerPartition(r)).toEqual([2 * batchBytes, 0, 0]);
  poller.close();
});

test('a negative max_bytes fails the first partition read (INVALID_REQUEST); the rest read from a budget of 0', async () => {
  const r = await c.request(
    ApiKey.Fetch,
    11,
    fetchRequest(TOPIC, { maxBytes: -1, partitionMaxBytes: 1 << 20 }),
  );
  // As in Kafka: the first partition read fails, after which the budget is 0 and the rule is minOneMessage.
  expect(r.responses[0]?.partitions.map((p) => p.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, 0, 0]);
  expect(r.responses[0]?.partitions.map((p) => p.records?.length ?? 0)).toEqual([0, batchBytes, 0]);
});
