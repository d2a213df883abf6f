// Client quotas set at run time (AlterClientQuotas, KIP-546) and enforced at once, at the wire
// level: producer_byte_rate throttles a client's Produce responses by the bytes of its requests,
// consumer_byte_rate bounds a fetch to what the quota allows over its window and answers a fetch
// that goes over it empty with the throttle time (Kafka's throttled fetch); other clients are not
// concerned; the quotas are kept in the metadata across a restart. Small sample windows (2 × 1 s)
// keep the numbers exact: a rate is measured over at least one second. kafkajs, metered by both
// byte rates, is throttled on Produce and Fetch and waits as the broker tells it.
import {
  ApiKey,
  ErrorCode,
  buildRecordBatch,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  defaultProduceRequest,
} from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

const ZERO = '00000000-0000-0000-0000-000000000000';
const KIB = 1024;

type Ctx = Awaited<ReturnType<typeof startBroker>>;

function start(dataDir?: string): Promise<Ctx> {
  return startBroker({
    clientQuotas: { windowNum: 2, windowSizeSeconds: 1 },
    // kafkajs's group joins at once (Kafka's 3 s initial rebalance delay would only add time).
    broker: { groupInitialRebalanceDelayMs: 0 },
    ...(dataDir ? { dataDir } : {}),
  });
}

async function connect(ctx: Ctx, clientId: string): Promise<RawClient> {
  const c = await RawClient.connect(ctx.broker.kafkaPort);
  c.clientId = clientId;
  return c;
}

async function setQuota(c: RawClient, clientId: string, key: string, value: number | null): Promise<void> {
  const r = await c.request(ApiKey.AlterClientQuotas, 1, {
    entries: [
      {
        entity: [{ entityType: 'client-id', entityName: clientId }],
        ops: [{ key, value: value ?? 0, remove: value === null }],
      },
    ],
    validateOnly: false,
  });
  expect(r.entries[0]?.errorCode).toBe(ErrorCode.NONE);
}

function produce(c: RawClient, topic: string, bytes: number) {
  return c.request(ApiKey.Produce, 9, {
    ...defaultProduceRequest(),
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      {
        name: topic,
        partitionData: [
          { index: 0, records: buildRecordBatch({ records: [{ value: Buffer.alloc(bytes, 1) }] }) },
        ],
      },
    ],
  });
}

function fetch(c: RawClient, topic: string, offset: bigint) {
  return c.request(ApiKey.Fetch, 12, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 50 * 1024 * 1024,
    topics: [
      {
        topic,
        topicId: ZERO,
        partitions: [
          {
            ...defaultFetchRequestFetchPartition(),
            partition: 0,
            fetchOffset: offset,
            partitionMaxBytes: 10 << 20,
          },
        ],
      },
    ],
  });
}

let ctx: Ctx;
beforeAll(async () => {
  ctx = await start();
  const admin = await connect(ctx, 'admin');
  await admin.request(ApiKey.CreateTopics, 7, {
    topics: ['p', 'f'].map((name) => ({
      name,
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 5000,
    validateOnly: false,
  });
  admin.close();
});
afterAll(async () => {
  await ctx.stop();
  removeDir(ctx.dataDir);
});

test('producer_byte_rate set at run time throttles that client id at once, and no other', async () => {
  const admin = await connect(ctx, 'admin');
  const slow = await connect(ctx, 'slow');
  const other = await connect(ctx, 'other');
  try {
    expect((await produce(slow, 'p', 300 * KIB)).throttleTimeMs).toBe(0);
    await setQuota(admin, 'slow', 'producer_byte_rate', 100 * KIB);
    // About 300 KiB over at least 1 s against 100 KiB/s: about 2 s of throttle (Kafka's formula).
    const r = await produce(slow, 'p', 300 * KIB);
    expect(r.responses[0]?.partitionResponses[0]?.errorCode).toBe(ErrorCode.NONE);
    expect(r.throttleTimeMs).toBeGreaterThan(1000);
    expect((await produce(other, 'p', 300 * KIB)).throttleTimeMs).toBe(0);
    await setQuota(admin, 'slow', 'producer_byte_rate', null);
  } finally {
    admin.close();
    slow.close();
    other.close();
  }
});

test('consumer_byte_rate bounds a fetch to the quota window, then answers an over-quota fetch empty with the throttle time', async () => {
  const admin = await connect(ctx, 'admin');
  const reader = await connect(ctx, 'reader');
  try {
    for (let i = 0; i < 6; i++) await produce(admin, 'f', 100 * KIB);
    await setQuota(admin, 'reader', 'consumer_byte_rate', 150 * KIB);
    // At most the quota over its window (150 KiB × 1 s): one 100 KiB batch, not all six.
    const first = await fetch(reader, 'f', 0n);
    const got = first.responses[0]?.partitions[0]?.records?.length ?? 0;
    expect(got).toBeGreaterThan(100 * KIB);
    expect(got).toBeLessThan(2 * 100 * KIB);
    expect(first.throttleTimeMs).toBe(0);
    // The next one takes the client over: empty, with the throttle time, and the bytes not counted.
    const second = await fetch(reader, 'f', 1n);
    expect(second.throttleTimeMs).toBeGreaterThan(0);
    expect(second.responses).toEqual([]);
  } finally {
    admin.close();
    reader.close();
  }
});

test('byte-rate quotas with kafkajs: the broker throttles its produce and fetch, the client waits as told (KIP-219)', async () => {
  const admin = await connect(ctx, 'admin');
  try {
    await setQuota(admin, 'metered-kjs', 'producer_byte_rate', 60_000);
    await setQuota(admin, 'metered-kjs', 'consumer_byte_rate', 60_000);
  } finally {
    admin.close();
  }
  // kafkajs logs each throttle_time_ms it honours: the broker answers, the client waits.
  const throttled: string[] = [];
  const metered = new Kafka({
    clientId: 'metered-kjs',
    brokers: [`127.0.0.1:${ctx.broker.kafkaPort}`],
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ namespace, log }) => {
        if (String(log.message).startsWith('Client side throttling')) throttled.push(namespace);
      },
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
  const kadmin = metered.admin();
  await kadmin.connect();
  await kadmin.createTopics({ topics: [{ topic: 'quota-kjs', numPartitions: 1 }] });
  await kadmin.disconnect();
  const producer = metered.producer();
  await producer.connect();
  // 120 KB: over 60 KB/s in the 2 × 1 s quota window (throttles of about a second).
  for (let i = 0; i < 4; i++)
    await producer.send({ topic: 'quota-kjs', acks: -1, messages: [{ value: Buffer.alloc(30_000, i) }] });
  await producer.disconnect();
  const produced = throttled.length;
  expect(produced).toBeGreaterThan(0);

  const consumer = metered.consumer({
    groupId: 'quota-kjs-readers',
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: 'quota-kjs', fromBeginning: true });
  let read = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async () => {
        if (++read === 4) resolve();
      },
    });
  });
  await consumer.disconnect();
  expect(read).toBe(4);
  // The fetch of 120 KB at 60 KB/s was throttled too (answered empty, then served).
  expect(throttled.length).toBeGreaterThan(produced);
});

test('quotas are kept in the metadata across a restart; DescribeClientQuotas filters as Kafka', async () => {
  const dir = ctx.dataDir;
  const admin = await connect(ctx, 'admin');
  await setQuota(admin, 'kept', 'request_percentage', 12.5);
  const bad = await admin.request(ApiKey.DescribeClientQuotas, 1, {
    components: [{ entityType: 'client-id', matchType: 0, match: null }],
    strict: false,
  });
  expect(bad.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  admin.close();
  await ctx.stop();
  ctx = await start(dir);
  const again = await connect(ctx, 'admin');
  try {
    const r = await again.request(ApiKey.DescribeClientQuotas, 1, {
      components: [{ entityType: 'client-id', matchType: 0, match: 'kept' }],
      strict: true,
    });
    expect(r.entries).toEqual([
      expect.objectContaining({
        entity: [expect.objectContaining({ entityType: 'client-id', entityName: 'kept' })],
        values: [expect.objectContaining({ key: 'request_percentage', value: 12.5 })],
      }),
    ]);
  } finally {
    again.close();
  }
});
