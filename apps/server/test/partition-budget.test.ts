// A node holds only the partition replicas it can: --max-partitions-per-node, within its open-file
// limit. CreateTopics and CreatePartitions beyond are refused with POLICY_VIOLATION and a message
// naming the budget (a real standalone process and kafkajs), and shutdown stays quick with many
// partitions open.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_CONFIG } from '../src/config.js';
import { replicaBudget } from '../src/modes/compose.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';

jest.setTimeout(60_000);

describe('replicaBudget', () => {
  const config = (max: number) => ({
    ...DEFAULT_CONFIG,
    broker: { ...DEFAULT_CONFIG.broker, maxPartitionsPerNode: max },
  });

  it('is the configured maximum when descriptors allow it, or what they allow', () => {
    expect(replicaBudget(config(4000), 1_048_576)).toBe(4000);
    // 1024 descriptors: half for connections, 256 reserved, 2 per replica.
    expect(replicaBudget(config(4000), 1024)).toBe(128);
    expect(replicaBudget(config(50), 1024)).toBe(50);
    expect(replicaBudget(config(4000), undefined)).toBe(4000);
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
