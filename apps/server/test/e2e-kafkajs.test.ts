// End to end with kafkajs against a real chronik-server process; its consumers over transactional
// batches and markers written with raw requests (read_committed, its default, and read_uncommitted).
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';
import { consumeWithKcat } from './helpers/kcat.js';
import { NO_VERIFICATION, writeTransactions } from './helpers/raw-txn.js';

// Real processes and clients on a shared, loaded machine: generous per-test time.
jest.setTimeout(120_000);

process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

let server: ServerProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir();
  server = await startServer({ dataDir, args: NO_VERIFICATION });
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function client(s: ServerProcess): Kafka {
  return new Kafka({
    clientId: 'e2e',
    brokers: [s.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
}

describe('kafkajs against chronik-server', () => {
  test('admin: create, list, metadata, delete topics', async () => {
    const admin = client(server).admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }, { topic: 'admin-b' }] }),
      ).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }] })).toBe(false); // exists
      const topics = await admin.listTopics();
      expect(topics).toEqual(expect.arrayContaining(['admin-a', 'admin-b']));
      const md = await admin.fetchTopicMetadata({ topics: ['admin-a'] });
      expect(md.topics[0]?.partitions.map((p) => p.leader)).toEqual([1, 1, 1]);
      await expect(admin.createTopics({ topics: [{ topic: 'bad name!' }] })).rejects.toThrow();
      await admin.deleteTopics({ topics: ['admin-b'] });
      expect(await admin.listTopics()).not.toContain('admin-b');
    } finally {
      await admin.disconnect();
    }
  });

  test('produce (idempotent, acks=all) and consume; nothing lost across a restart', async () => {
    const kafka = client(server);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const messages = Array.from({ length: 5 }, (_, j) => ({
        key: `k${(i * 5 + j) % 7}`,
        value: `v${i * 5 + j}`,
      }));
      await producer.send({ topic: 'orders', acks: -1, messages });
      sent.push(...messages.map((m) => m.value));
    }
    await producer.disconnect();

    // kafkajs consumes only in a consumer group; read back with kcat (librdkafka, no group).
    const before = await consumeWithKcat(server.bootstrap, 'orders');
    expect(before.map((m) => m.value).sort()).toEqual([...sent].sort());

    await server.stop();
    server = await startServer({ dataDir, args: NO_VERIFICATION });
    const kafka2 = client(server);
    const after = await consumeWithKcat(server.bootstrap, 'orders');
    expect(after.map((m) => m.value).sort()).toEqual([...sent].sort());
    // offsets per partition are dense from 0
    for (const p of [0, 1]) {
      const offs = after
        .filter((m) => m.partition === p)
        .map((m) => Number(m.offset))
        .sort((a, b) => a - b);
      expect(offs).toEqual(offs.map((_, i) => i));
    }
    const admin2 = kafka2.admin();
    await admin2.connect();
    const offsets = await admin2.fetchTopicOffsets('orders');
    expect(offsets.reduce((s, o) => s + Number(o.high), 0)).toBe(sent.length);
    await admin2.disconnect();
  });

  test('admin: configs, partitions, delete records, offsets by timestamp', async () => {
    const kafka = client(server);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: 'cfg', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        ],
      });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: 'cfg' }],
      });
      const entries = described.resources[0]?.configEntries ?? [];
      expect(entries.find((e) => e.configName === 'retention.ms')?.configValue).toBe('3600000');
      expect(entries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('delete');
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: 2,
            name: 'cfg',
            configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
          },
        ],
      });
      const after = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: 'cfg', configNames: ['message.timestamp.type', 'retention.ms'] }],
      });
      const values = Object.fromEntries(
        (after.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
      );
      expect(values).toEqual({ 'message.timestamp.type': 'LogAppendTime', 'retention.ms': '604800000' }); // legacy AlterConfigs replaces
      await expect(
        admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: 2, name: 'cfg', configEntries: [{ name: 'retention.ms', value: 'soon' }] }],
        }),
      ).rejects.toThrow();
      await expect(
        admin.createTopics({
          topics: [{ topic: 'bad-policy', configEntries: [{ name: 'cleanup.policy', value: 'shred' }] }],
        }),
      ).rejects.toHaveProperty('errors.0.type', 'INVALID_CONFIG');

      await admin.createPartitions({ topicPartitions: [{ topic: 'cfg', count: 3 }] });
      const md = await admin.fetchTopicMetadata({ topics: ['cfg'] });
      expect(md.topics[0]?.partitions).toHaveLength(3);

      const producer = kafka.producer();
      await producer.connect();
      for (let i = 0; i < 5; i++)
        await producer.send({ topic: 'cfg', messages: [{ value: `d${i}`, partition: 0 }] });
      await producer.disconnect();
      await admin.deleteTopicRecords({ topic: 'cfg', partitions: [{ partition: 0, offset: '3' }] });
      const offsets = await admin.fetchTopicOffsets('cfg');
      expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '3', high: '5' });
      const byTime = await admin.fetchTopicOffsetsByTimestamp('cfg', 0);
      expect(byTime.find((o) => o.partition === 0)?.offset).toBe('3');
      const later = await admin.fetchTopicOffsetsByTimestamp('cfg', Date.now() + 3_600_000);
      expect(later.find((o) => o.partition === 0)?.offset).toBe('5'); // none that late: kafkajs answers the end
    } finally {
      await admin.disconnect();
    }
  });

  test('auto-creation on produce and metadata', async () => {
    const producer = client(server).producer();
    await producer.connect();
    const r = await producer.send({ topic: 'auto-created', messages: [{ value: 'a' }] });
    expect(r[0]?.errorCode).toBe(0);
    await producer.disconnect();
  });

  test('consumers skip control batches; read_committed drops aborted records and stops at the last stable offset', async () => {
    const topic = 'kafkajs-txn';
    const txns = await writeTransactions(server.kafkaPort, topic);
    const consume = async (groupId: string, readUncommitted: boolean) => {
      const consumer = client(server).consumer({ groupId, readUncommitted, maxWaitTimeInMs: 100 });
      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(`${message.offset}:${message.value?.toString() ?? ''}`);
        },
      });
      return { seen, stop: () => consumer.disconnect() };
    };
    const until = async (cond: () => boolean): Promise<void> => {
      const end = Date.now() + 60_000;
      while (!cond()) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const committed = await consume('txn-committed', false);
    const uncommitted = await consume('txn-uncommitted', true);
    try {
      await until(() => committed.seen.length >= 3 && uncommitted.seen.length >= 8);
      await new Promise((r) => setTimeout(r, 500)); // nothing more arrives while producer 3's transaction is open
      expect(committed.seen).toEqual(['0:p0', '3:b0', '6:p1']);
      expect(uncommitted.seen).toEqual(['0:p0', '1:a0', '2:a1', '3:b0', '4:a2', '6:p1', '8:c0', '9:p2']);
      await txns.commitOpen();
      await until(() => committed.seen.length >= 5);
      expect(committed.seen).toEqual(['0:p0', '3:b0', '6:p1', '8:c0', '9:p2']);
    } finally {
      txns.close();
      await committed.stop();
      await uncommitted.stop();
    }
  });
});
