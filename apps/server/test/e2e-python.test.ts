// End to end with confluent-kafka-python (librdkafka) under /usr/bin/python3: admin create/delete
// topics, the idempotent producer with acks=all, and reading everything back after a restart.
import fs from 'node:fs';
import path from 'node:path';
import { ApiKey } from '@chronik/protocol';
import { RawClient } from './helpers/raw-client.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';
import { runPython } from './helpers/python.js';

// Real processes and clients on a shared, loaded machine: generous per-test time.
jest.setTimeout(120_000);

const SCRIPT = path.join(__dirname, 'scripts', 'confluent_client.py');

function python(args: string[], timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return runPython(SCRIPT, args, timeoutMs);
}

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

describe('confluent-kafka-python against chronik-server', () => {
  test('admin: create, duplicate, list, delete', async () => {
    const r = await python([server.bootstrap, 'admin', 'py-admin']);
    expect(r).toEqual({
      created: 'py-admin',
      duplicate: 'TOPIC_ALREADY_EXISTS',
      partitions: 3,
      after_delete: false,
    });
  });

  test('idempotent producer (acks=all, lz4), then a restart, then everything is read back', async () => {
    const count = 3000;
    const produced = await python([server.bootstrap, 'produce', 'py-idem', String(count)]);
    expect(produced['errors']).toEqual([]);
    expect(produced['delivered']).toBe(count);
    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    const consumed = await python([server.bootstrap, 'consume', 'py-idem', '1']);
    const values = consumed['values'] as string[];
    expect(values).toHaveLength(count);
    expect(new Set(values).size).toBe(count);
  });

  test('idempotent producer across an epoch bump (a message timed out in flight) keeps producing', async () => {
    const topic = 'py-bump';
    const r = await python([server.bootstrap, 'produce-stall', topic, String(server.proc.pid)]);
    expect(r['remaining']).toBe(0);
    const results = r['results'] as Array<[string, string | null, number]>;
    // The stalled message timed out on the client (the broker may still have written it).
    expect(results.map(([value, error]) => [value, error])).toEqual([
      ['before', null],
      ['stalled', '_MSG_TIMED_OUT'],
      ['after-1', null],
      ['after-2', null],
    ]);
    // librdkafka bumped its epoch itself: the broker holds the same producer id at epoch 1.
    const c = await RawClient.connect(server.kafkaPort);
    const dp = await c.request(ApiKey.DescribeProducers, 0, {
      topics: [{ name: topic, partitionIndexes: [0] }],
    });
    c.close();
    expect(dp.topics[0]?.partitions[0]?.activeProducers).toEqual([
      expect.objectContaining({ producerEpoch: 1, lastSequence: 1 }),
    ]);
    const consumed = await python([server.bootstrap, 'consume', topic, '1']);
    expect((consumed['values'] as string[]).filter((v) => v !== 'stalled')).toEqual([
      'before',
      'after-1',
      'after-2',
    ]);
  });
});
