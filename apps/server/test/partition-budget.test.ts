// A node holds only the partition replicas it can: --max-partitions-per-node (their files go
// through a bounded pool of descriptors, so the open-file limit sizes the pool, not the count; a
// node with a pool of 64 holds 200 written partitions on fewer descriptors than partitions). CreateTopics and CreatePartitions beyond are refused with POLICY_VIOLATION and a message
// naming the budget (a real standalone process and kafkajs), and shutdown stays quick with many
// partitions open.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_CONFIG } from '../src/config.js';
import { descriptorBudget } from '../src/modes/compose.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';

jest.setTimeout(60_000);

describe('descriptorBudget', () => {
  const config = (max: number, dataFiles = 1024) => ({
    ...DEFAULT_CONFIG,
    broker: { ...DEFAULT_CONFIG.broker, maxPartitionsPerNode: max },
    limits: { ...DEFAULT_CONFIG.limits, maxOpenDataFiles: dataFiles },
  });

  it('holds the configured replicas whatever the open-file limit; the data-file pool gets what is left', () => {
    expect(descriptorBudget(config(4000), 1_048_576)).toEqual({ replicas: 4000, dataFiles: 1024 });
    expect(descriptorBudget(config(20_000), 1024)).toEqual({ replicas: 20_000, dataFiles: 256 });
    // 2048 descriptors: half for connections, 256 reserved, the rest (768) for the pool.
    expect(descriptorBudget(config(50, 4096), 2048)).toEqual({ replicas: 50, dataFiles: 768 });
    // Never fewer than 64 pooled descriptors, and the configured count when the limit is unknown.
    expect(descriptorBudget(config(4000), 300).dataFiles).toBe(64);
    expect(descriptorBudget(config(4000, 10), 1_048_576).dataFiles).toBe(10);
    expect(descriptorBudget(config(4000), undefined)).toEqual({ replicas: 4000, dataFiles: 1024 });
  });
});

describe('a standalone node with --max-partitions-per-node 60', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({
      args: ['--max-partitions-per-node', '60', '--offsets-topic-partitions', '4'],
    });
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('refuses topics and partitions beyond the budget, takes what fits, and stops quickly', async () => {
    const admin = new Kafka({
      clientId: 'budget',
      brokers: [server.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    await admin.connect();
    try {
      const refused = await admin.createTopics({ topics: [{ topic: 'huge', numPartitions: 100_000 }] }).then(
        () => 'created',
        (e: unknown) => e,
      );
      expect(String((refused as { errors?: Array<{ type?: string }> }).errors?.[0]?.type ?? refused)).toMatch(
        /POLICY_VIOLATION/,
      );
      expect(await admin.createTopics({ topics: [{ topic: 'fits', numPartitions: 50 }] })).toBe(true);
      const more = await admin.createPartitions({ topicPartitions: [{ topic: 'fits', count: 61 }] }).then(
        () => 'created',
        (e: unknown) => e,
      );
      expect(JSON.stringify(more)).toMatch(/POLICY_VIOLATION|policy/i);
      const names = await admin.listTopics();
      expect(names).not.toContain('huge');
    } finally {
      await admin.disconnect();
    }
    const t0 = Date.now();
    expect(await server.stop()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe('a standalone node with --max-open-data-files 64', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({
      args: ['--max-open-data-files', '64', '--offsets-topic-partitions', '4'],
    });
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('holds 200 written partitions on fewer descriptors than partitions, and reads them all back', async () => {
    const kafka = new Kafka({ clientId: 'pool', brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: 'pool-readers' });
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    try {
      const partitions = 200;
      expect(await admin.createTopics({ topics: [{ topic: 'pooled', numPartitions: partitions }] })).toBe(
        true,
      );
      // Every partition's log gets an active segment, which used to stay open for good.
      await producer.send({
        topic: 'pooled',
        acks: -1,
        messages: Array.from({ length: partitions }, (_, p) => ({ partition: p, value: `v${p}` })),
      });
      const pid = server.proc.pid as number;
      const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
      expect(fds).toBeLessThan(partitions);
      const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
      expect(metrics).toMatch(/chronik_file_pool_descriptors\{state="max"\} 64/);
      const files = Number(/chronik_file_pool_files (\d+)/.exec(metrics)?.[1]);
      expect(files).toBeGreaterThanOrEqual(partitions);
      // Reading them reopens what the pool closed.
      const seen = new Set<string>();
      await consumer.subscribe({ topic: 'pooled', fromBeginning: true });
      const all = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            expect(message.value?.toString()).toBe(`v${partition}`);
            seen.add(String(partition));
            if (seen.size === partitions) resolve();
          },
        });
      });
      await all;
      expect(fs.readdirSync(`/proc/${pid}/fd`).length).toBeLessThan(partitions);
      const after = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
      expect(Number(/chronik_file_pool_reopens_total (\d+)/.exec(after)?.[1])).toBeGreaterThan(0);
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect(), consumer.disconnect()]);
    }
  });
});
