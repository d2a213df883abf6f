// The web console's admin routes on a single node (src/admin/routes.ts, views.ts): topics with
// partition counts, one topic's partitions, offsets, sizes and configs, records written by kafkajs
// (latest N, from an offset, from a time; keys, values, headers; bounds), consumer groups with
// members, assignments, committed offsets and lag; errors as JSON with a Kafka error name; the
// console's files at `/` with their security headers.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { recordsPolicy } from '../src/admin/views.js';
import { Broker } from '../src/broker.js';
import { parseCommandLine } from '../src/cli.js';
import type { ServerConfig } from '../src/config.js';
import { DEFAULT_BROKER, DEFAULT_CONFIG, DEFAULT_LIMITS } from '../src/config.js';
import { standaloneMode } from '../src/modes/standalone.js';
import { ApiKey } from '@chronik/protocol';
import { removeDir } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { tempDir } from './helpers/server.js';

jest.setTimeout(60_000);

type Json = Record<string, unknown>;

let broker: Broker;
let dataDir: string;
let consoleDir: string;
let base: string;
let kafka: Kafka;
let consumer: Consumer | undefined;
const written: number[] = [];

async function get(p: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${base}${p}`);
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

beforeAll(async () => {
  dataDir = tempDir();
  consoleDir = tempDir('chronik-console-');
  fs.writeFileSync(path.join(consoleDir, 'index.html'), '<!doctype html><title>console</title>');
  fs.mkdirSync(path.join(consoleDir, 'assets'));
  fs.writeFileSync(path.join(consoleDir, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(consoleDir, '.hidden.js'), 'secret');
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    kafkaPort: 0,
    advertisedPort: 0,
    advertisedHost: '127.0.0.1',
    listenHost: '127.0.0.1',
    adminHost: '127.0.0.1',
    adminPort: 0,
    dataDir,
    broker: { ...DEFAULT_BROKER, offsetsTopicNumPartitions: 3 },
    limits: DEFAULT_LIMITS,
    shutdownTimeoutMs: 2000,
  };
  broker = new Broker(
    config,
    { randomId: randomUUID, consoleDir },
    standaloneMode({ groupConfig: { initialRebalanceDelayMs: 0 } }),
  );
  await broker.start();
  base = `http://127.0.0.1:${broker.adminPort}`;
  kafka = new Kafka({
    clientId: 'views-test',
    brokers: [`127.0.0.1:${broker.kafkaPort}`],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'orders', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      { topic: 'other', numPartitions: 1 },
      { topic: 'big', numPartitions: 1 },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  // Partition 0: 30 records in three batches, the second one gzip'd; partition 1: 5 records.
  for (let b = 0; b < 3; b++) {
    written.push(Date.now());
    await producer.send({
      topic: 'orders',
      compression: b === 1 ? 1 : 0,
      messages: Array.from({ length: 10 }, (_, i) => ({
        partition: 0,
        key: `k${b * 10 + i}`,
        value: JSON.stringify({ n: b * 10 + i }),
        headers: { source: 'test', n: String(b * 10 + i) },
      })),
    });
    await new Promise((r) => setTimeout(r, 20));
  }
  await producer.send({
    topic: 'orders',
    messages: Array.from({ length: 5 }, (_, i) => ({
      partition: 1,
      key: null,
      value: Buffer.from([0, 1, 2, i]),
    })),
  });
  await producer.disconnect();
});

afterAll(async () => {
  await consumer?.disconnect().catch(() => undefined);
  await broker.stop();
  removeDir(dataDir);
  removeDir(consoleDir);
});

test('/v1/topics lists every topic with partition counts by state', async () => {
  const { status, body } = await get('/v1/topics');
  expect(status).toBe(200);
  const topics = body.topics as Json[];
  expect(topics.map((t) => t.name)).toEqual(expect.arrayContaining(['orders', 'other', 'big']));
  expect(topics.find((t) => t.name === 'orders')).toMatchObject({
    partitions: 2,
    replicationFactor: 1,
    underReplicated: 0,
    offline: 0,
    internal: false,
    configOverrides: 1,
  });
  expect(body.partitions).toMatchObject({ underReplicated: 0, offline: 0 });
  const totals = body.partitions as { total: number; online: number };
  expect(totals.online).toBe(totals.total);
});

test('/v1/topics/:name: partitions with leader, replicas, ISR, offsets as strings, size, and configs', async () => {
  const { status, body } = await get('/v1/topics/orders');
  expect(status).toBe(200);
  const partitions = body.partitions as Json[];
  expect(partitions).toHaveLength(2);
  expect(partitions[0]).toMatchObject({
    partition: 0,
    leader: 1,
    replicas: [1],
    isr: [1],
    logStartOffset: '0',
    highWatermark: '30',
    offline: false,
    underReplicated: false,
  });
  expect(partitions[0]?.sizeBytes).toEqual(expect.any(Number));
  expect(partitions[1]).toMatchObject({ partition: 1, highWatermark: '5' });
  const configs = body.configs as Json[];
  expect(configs.find((c) => c.name === 'retention.ms')).toMatchObject({
    value: '3600000',
    source: 'DYNAMIC_TOPIC_CONFIG',
    isDefault: false,
  });
  expect(configs.find((c) => c.name === 'cleanup.policy')).toMatchObject({ value: 'delete' });
});

interface RecordView {
  offset: string;
  timestampMs: string;
  key: { base64: string; size: number; truncated: boolean } | null;
  value: { base64: string; size: number; truncated: boolean } | null;
  headers: Array<{ key: string; value: { base64: string } | null }>;
}

function text(b: { base64: string } | null): string | null {
  return b === null ? null : Buffer.from(b.base64, 'base64').toString('utf8');
}

test('records: the latest N by default, across plain and compressed batches, with keys, values and headers', async () => {
  const { status, body } = await get('/v1/topics/orders/partitions/0/records?limit=15');
  expect(status).toBe(200);
  expect(body).toMatchObject({ highWatermark: '30', startOffset: '15', nextOffset: '30', leader: 1 });
  const records = body.records as RecordView[];
  expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 15 }, (_, i) => String(15 + i)));
  expect(text(records[0]?.key ?? null)).toBe('k15');
  expect(JSON.parse(text(records[0]?.value ?? null) ?? '')).toEqual({ n: 15 });
  expect(records[0]?.headers.map((h) => [h.key, text(h.value)])).toEqual([
    ['source', 'test'],
    ['n', '15'],
  ]);
  expect(Number(records[0]?.timestampMs)).toBeGreaterThan(0);
});

test('records: from an offset, a limit, and keys that are null', async () => {
  const from = await get('/v1/topics/orders/partitions/0/records?offset=8&limit=4');
  expect((from.body.records as RecordView[]).map((r) => r.offset)).toEqual(['8', '9', '10', '11']);
  expect(from.body.nextOffset).toBe('12');
  const p1 = await get('/v1/topics/orders/partitions/1/records?offset=0');
  const records = p1.body.records as RecordView[];
  expect(records).toHaveLength(5);
  expect(records[3]?.key).toBeNull();
  expect(Buffer.from(records[3]?.value?.base64 ?? '', 'base64')).toEqual(Buffer.from([0, 1, 2, 3]));
  // Past the end: nothing, and the next offset is the high watermark.
  const end = await get('/v1/topics/orders/partitions/1/records?offset=99');
  expect(end.body).toMatchObject({ records: [], nextOffset: '5', startOffset: '5' });
});

test('records: from a time (the first record at or after it)', async () => {
  const at = written[2] as number;
  const { body } = await get(`/v1/topics/orders/partitions/0/records?timestamp=${at}&limit=3`);
  const records = body.records as RecordView[];
  expect(records[0]?.offset).toBe('20');
  const future = await get(`/v1/topics/orders/partitions/0/records?timestamp=${Date.now() + 3_600_000}`);
  expect(future.body.records).toEqual([]);
});

test('records: long values are cut at 64 KiB, and an answer ends once it carries 8 MiB of them', async () => {
  const producer = kafka.producer();
  await producer.connect();
  // 150 values of 100 KiB, gzip'd into a small batch: decoding them is bounded, not the read.
  await producer.send({
    topic: 'big',
    compression: 1,
    messages: Array.from({ length: 150 }, (_, i) => ({ key: `b${i}`, value: 'a'.repeat(100 * 1024) })),
  });
  await producer.disconnect();
  const { body } = await get('/v1/topics/big/partitions/0/records?offset=0&limit=500');
  const records = body.records as RecordView[];
  expect(records[0]?.value).toMatchObject({ size: 100 * 1024, truncated: true });
  expect(Buffer.from(records[0]?.value?.base64 ?? '', 'base64').length).toBe(64 * 1024);
  expect(records[0]?.key).toMatchObject({ size: 2, truncated: false });
  // 64 KiB carried per record: 8 MiB is 128 records.
  expect(records).toHaveLength(128);
  expect(body.nextOffset).toBe('128');
});

test('records: bad parameters are 400, unknown topics and partitions 404, with Kafka error names', async () => {
  expect((await get('/v1/topics/orders/partitions/0/records?limit=0')).status).toBe(400);
  expect((await get('/v1/topics/orders/partitions/0/records?limit=501')).status).toBe(400);
  expect((await get('/v1/topics/orders/partitions/0/records?offset=-1')).status).toBe(400);
  expect((await get('/v1/topics/orders/partitions/0/records?offset=1&timestamp=1')).status).toBe(400);
  expect((await get('/v1/topics/orders/partitions/0/records?maxBytes=10')).status).toBe(400);
  const unknown = await get('/v1/topics/nope');
  expect(unknown).toMatchObject({ status: 404, body: { error: 'UNKNOWN_TOPIC_OR_PARTITION' } });
  expect((await get('/v1/topics/orders/partitions/7/records')).status).toBe(404);
  expect((await get('/v1/topics/orders/partitions/x/records')).status).toBe(400);
  expect((await get('/v1/topics/orders/nothing')).status).toBe(404);
});

test('groups: members, assignment, committed offsets and lag per partition', async () => {
  consumer = kafka.consumer({ groupId: 'readers', sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
  let seen = 0;
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async () => {
      seen++;
    },
  });
  const deadline = Date.now() + 20_000;
  let group: Json = {};
  while (Date.now() < deadline) {
    group = (await get('/v1/groups/readers')).body;
    const parts = (group.partitions ?? []) as Json[];
    if (seen >= 35 && group.state === 'Stable' && parts.length === 2 && parts.every((p) => p.lag === '0'))
      break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(group).toMatchObject({
    groupId: 'readers',
    coordinator: 1,
    state: 'Stable',
    protocolType: 'consumer',
  });
  const members = group.members as Json[];
  expect(members).toHaveLength(1);
  expect(members[0]?.clientId).toBe('views-test');
  expect(members[0]?.assignment).toEqual(
    expect.arrayContaining([
      { topic: 'orders', partition: 0 },
      { topic: 'orders', partition: 1 },
    ]),
  );
  expect(group.partitions).toEqual([
    expect.objectContaining({
      topic: 'orders',
      partition: 0,
      committedOffset: '30',
      highWatermark: '30',
      lag: '0',
    }),
    expect.objectContaining({
      topic: 'orders',
      partition: 1,
      committedOffset: '5',
      highWatermark: '5',
      lag: '0',
    }),
  ]);
  const list = await get('/v1/groups');
  expect(list.body.groups).toEqual([
    expect.objectContaining({ groupId: 'readers', state: 'Stable', coordinator: 1 }),
  ]);
  expect(list.body.errors).toEqual([]);

  await consumer.disconnect();
  consumer = undefined;
  // A group without members keeps its offsets; new records are its lag.
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'orders',
    messages: [
      { partition: 1, value: 'a' },
      { partition: 1, value: 'b' },
    ],
  });
  await producer.disconnect();
  const empty = (await get('/v1/groups/readers')).body;
  expect(empty).toMatchObject({ state: 'Empty', members: [], totalLag: '2' });
  expect((empty.partitions as Json[])[1]).toMatchObject({
    committedOffset: '5',
    highWatermark: '7',
    lag: '2',
  });
  expect((await get('/v1/groups/nobody')).body).toMatchObject({ state: 'Dead', members: [], partitions: [] });
});

test('a consumer-protocol group (KIP-848): its members and their partitions, committed offsets and lag', async () => {
  const c = await RawClient.connect(broker.kafkaPort);
  try {
    const joined = await c.request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: 'kip848',
      memberId: 'm-1',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ['orders'],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    });
    expect(joined.errorCode).toBe(0);
    const committed = await c.request(ApiKey.OffsetCommit, 9, {
      groupId: 'kip848',
      generationIdOrMemberEpoch: joined.memberEpoch,
      memberId: 'm-1',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 25n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            },
          ],
        },
      ],
    });
    expect(committed.topics[0]?.partitions[0]?.errorCode).toBe(0);
    const g = (await get('/v1/groups/kip848')).body;
    expect(g).toMatchObject({
      groupType: 'consumer',
      protocolType: 'consumer',
      state: 'Stable',
      coordinator: 1,
    });
    expect(g.members).toEqual([
      expect.objectContaining({
        memberId: 'm-1',
        assignment: [
          { topic: 'orders', partition: 0 },
          { topic: 'orders', partition: 1 },
        ],
      }),
    ]);
    expect((g.partitions as Json[])[0]).toMatchObject({
      partition: 0,
      committedOffset: '25',
      highWatermark: '30',
      lag: '5',
      memberId: 'm-1',
    });
    const list = (await get('/v1/groups')).body.groups as Json[];
    expect(list.find((x) => x.groupId === 'kip848')).toMatchObject({ groupType: 'consumer', coordinator: 1 });
  } finally {
    c.close();
  }
});

test('/metrics: partitions by state, high watermarks, sizes, and group lag sampled from the first scrape', async () => {
  const scrape = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
  const first = await scrape();
  // orders (2), other (1), big (1), __consumer_offsets (3).
  expect(first).toContain('chronik_partitions{state="in_sync"} 7');
  expect(first).toContain('chronik_partitions{state="offline"} 0');
  expect(first).toMatch(/chronik_partition_high_watermark\{topic="orders",partition="1"\} 7/);
  expect(first).toMatch(/chronik_partition_log_size_bytes\{topic="orders",partition="0"\} \d+/);
  expect(first).toMatch(/chronik_partition_under_replicated\{topic="orders",partition="0"\} 0/);
  // The first scrape started the lag sampler: the group's lag shows up at a later scrape.
  const deadline = Date.now() + 10_000;
  let text = first;
  while (!text.includes('chronik_consumer_group_lag_sum{group="readers"} 2') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    text = await scrape();
  }
  expect(text).toContain('chronik_consumer_group_lag_sum{group="readers"} 2');
  expect(text).toContain('chronik_consumer_group_lag{group="readers",topic="orders",partition="1"} 2');
  expect(text).toContain('chronik_consumer_group_members{group="readers"} 0');
});

test('/v1/raft and /v1/leader-changes on a single node: no Raft groups', async () => {
  expect((await get('/v1/raft')).body).toMatchObject({ nodeId: 1, mode: 'standalone', groups: [], total: 0 });
  expect((await get('/v1/leader-changes')).body).toMatchObject({ nodeId: 1 });
});

test('the console: index.html at /, files by name, security headers; only GET', async () => {
  const index = await fetch(`${base}/`);
  expect(index.status).toBe(200);
  expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
  expect(await index.text()).toContain('<title>console</title>');
  const js = await fetch(`${base}/assets/app.js`);
  expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect((await fetch(`${base}/.hidden.js`)).status).toBe(404);
  expect((await fetch(`${base}/../package.json`)).status).toBe(404);
  expect((await fetch(`${base}/assets/..%2f..%2fpackage.json`)).status).toBe(404);
  expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
  expect((await fetch(`${base}/v1/topics`, { method: 'DELETE' })).status).toBe(405);
  // The existing routes are unchanged.
  expect((await fetch(`${base}/health`)).status).toBe(200);
});

test('--admin-records: auto serves records unless a listener authenticates its clients; on and off as said', () => {
  const plain = [{ name: 'PLAINTEXT', authenticates: false }];
  const sasl = [...plain, { name: 'CLIENTS', authenticates: true }];
  expect(recordsPolicy('auto', plain)).toEqual({ allowed: true });
  const refused = recordsPolicy('auto', sasl);
  expect(refused.allowed).toBe(false);
  expect(!refused.allowed && refused.reason).toContain('CLIENTS');
  expect(recordsPolicy('on', sasl)).toEqual({ allowed: true });
  expect(recordsPolicy('off', plain).allowed).toBe(false);
  const parsed = parseCommandLine(['--admin-records', 'off']);
  expect(parsed.kind === 'run' && parsed.config.adminRecords).toBe('off');
  const bad = parseCommandLine(['--admin-records', 'maybe']);
  expect(bad.kind === 'exit' && bad.exitCode).toBe(2);
});

test('with --admin-records off, the records route is 403 and says why; the other views stay', async () => {
  const dir = tempDir();
  const off = new Broker(
    {
      ...DEFAULT_CONFIG,
      kafkaPort: 0,
      advertisedPort: 0,
      advertisedHost: '127.0.0.1',
      listenHost: '127.0.0.1',
      adminHost: '127.0.0.1',
      adminPort: 0,
      adminRecords: 'off',
      dataDir: dir,
      shutdownTimeoutMs: 2000,
    },
    { randomId: randomUUID },
    standaloneMode(),
  );
  await off.start();
  try {
    const res = await fetch(`http://127.0.0.1:${off.adminPort}/v1/topics/any/partitions/0/records`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      error: 'RECORDS_DISABLED',
      message: expect.stringContaining('--admin-records'),
    });
    expect((await fetch(`http://127.0.0.1:${off.adminPort}/v1/topics`)).status).toBe(200);
  } finally {
    await off.stop();
    removeDir(dir);
  }
});
