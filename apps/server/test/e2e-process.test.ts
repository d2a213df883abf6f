// The chronik-server process: startup errors are clear, SIGTERM stops it cleanly, and kill -9
// loses nothing that was acknowledged with acks=all.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey, defaultFetchRequest, defaultFetchRequestFetchPartition } from '@chronik/protocol';
import { consumeWithKcat, kcat } from './helpers/kcat.js';
import { RawClient } from './helpers/raw-client.js';
import { BIN, startServer, tempDir } from './helpers/server.js';

// Real processes and clients on a shared, loaded machine: generous per-test time.
jest.setTimeout(120_000);

process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

function runBin(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('chronik-server process', () => {
  test('--help and bad values', () => {
    const help = runBin(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--kafka-port');
    const bad = runBin(['--node-id', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--node-id: "x" is not an integer');
    const raft = runBin(['raft-cluster', '--peers', '2@localhost:9193']);
    expect(raft.code).toBe(2);
    expect(raft.stderr).toContain('raft-cluster needs --raft-addr');
  });

  test('a data directory in use, one of another node id, and a taken port are refused clearly', async () => {
    const dir = tempDir();
    const s = await startServer({ dataDir: dir });
    try {
      const locked = runBin(['--kafka-port', '0', '--admin-port', '-1', '--data-dir', dir]);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toContain('is in use by another chronik-server process');
      const taken = runBin([
        '--kafka-port',
        String(s.kafkaPort),
        '--listen-addr',
        '127.0.0.1',
        '--admin-port',
        '-1',
        '--data-dir',
        tempDir(),
      ]);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(/Kafka port 127\.0\.0\.1:\d+ is already in use/);
    } finally {
      expect(await s.stop()).toBe(0);
    }
    const other = runBin(['--node-id', '2', '--kafka-port', '0', '--admin-port', '-1', '--data-dir', dir]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('belongs to node 1, not node 2');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('broker 0 (--node-id 0) coordinates its consumer groups (FindCoordinator names node 0)', async () => {
    const dir = tempDir();
    const s = await startServer({ dataDir: dir, args: ['--node-id', '0'] });
    try {
      const c = await RawClient.connect(s.kafkaPort);
      try {
        const found = await c.request(ApiKey.FindCoordinator, 4, {
          key: '',
          keyType: 0,
          coordinatorKeys: ['g'],
        });
        expect(found.coordinators[0]).toMatchObject({ errorCode: 0, nodeId: 0 });
      } finally {
        c.close();
      }
    } finally {
      await s.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGTERM with a long poll in flight stops within a few seconds and releases the lock', async () => {
    const s = await startServer();
    await kcat(['-b', s.bootstrap, '-P', '-t', 'lp'], 'x\n');
    const c = await RawClient.connect(s.kafkaPort);
    const poll = c.request(ApiKey.Fetch, 12, {
      ...defaultFetchRequest(),
      maxWaitMs: 30_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [
        {
          topic: 'lp',
          topicId: '00000000-0000-0000-0000-000000000000',
          partitions: [
            {
              ...defaultFetchRequestFetchPartition(),
              partition: 0,
              fetchOffset: 1n,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
    });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    expect(await s.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    // the long poll was answered (empty) before the connection closed
    expect((await poll).responses[0]?.partitions[0]?.highWatermark).toBe(1n);
    expect(fs.existsSync(path.join(s.dataDir, '.lock'))).toBe(false);
    c.close();
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  test('kill -9 loses nothing acknowledged with acks=all', async () => {
    const dir = tempDir();
    let s = await startServer({ dataDir: dir });
    const kafka = new Kafka({ brokers: [s.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acked: string[] = [];
    for (let i = 0; i < 50; i++) {
      const messages = Array.from({ length: 20 }, (_, j) => ({ value: `r${i * 20 + j}` }));
      await producer.send({ topic: 'durable', acks: -1, messages });
      acked.push(...messages.map((m) => m.value));
    }
    await s.kill();
    await producer.disconnect().catch(() => undefined);
    s = await startServer({ dataDir: dir });
    const got = await consumeWithKcat(s.bootstrap, 'durable');
    expect(got.map((m) => m.value)).toEqual(acked);
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
