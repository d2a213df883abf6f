// The admin surface of issue 26 with real clients (kafkajs, @platformatic/kafka) on one node (a
// server process) and on a 3-node cluster (in-process): CreateTopics with manual replica
// assignments, DeleteRecords and kafkajs's parse of a partition's error, DescribeConfigs defaults
// (DEFAULT_CONFIG, isDefault), a broker config changed at run time and followed by the topics,
// DescribeLogDirs sizes, ListOffsets max-timestamp (KIP-734), ListGroups state filters,
// authorized operations without an authorizer, OffsetDelete, and the ip / controller-mutation
// client quotas through AlterClientQuotas / DescribeClientQuotas. The clients run in a child
// process (scripts/admin-surface.mjs, one JSON line of each step's result).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { InProcessCluster } from './cluster/in-process-cluster.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';

jest.setTimeout(180_000);

function run(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(__dirname, 'scripts', 'admin-surface.mjs'), ...args], {
      cwd: path.join(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 150_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>);
      } catch {
        reject(new Error(`client exited ${code}: ${stdout}\n${stderr}`));
      }
    });
  });
}

function expectSurface(r: Record<string, unknown>, replicas: number): void {
  expect(r['error']).toBeUndefined();
  expect(r['ok']).toBe(true);
  const manual = r['manualAssignment'] as { asked: number[][]; got: number[][] };
  expect(manual.got).toEqual(manual.asked);
  expect(r['deleteRecords']).toEqual({
    low: 2,
    beyond: { type: 'KafkaJSDeleteTopicRecordsError', partitions: [[0, 'OFFSET_OUT_OF_RANGE']] },
  });
  expect(r['describeConfigsDefaults']).toEqual([
    ['retention.ms', true, 5],
    ['segment.bytes', true, 5],
  ]);
  // A broker's own value is DYNAMIC_BROKER_CONFIG (2), followed by a topic without its own retention.
  expect(r['brokerConfigAtRunTime']).toEqual({
    brokerValue: '86400000',
    brokerSource: 2,
    topicRetention: '86400000',
    topicSource: 2,
  });
  const logDirs = r['describeLogDirs'] as { brokers: number; sizes: Record<string, number> };
  expect(logDirs.brokers).toBe(replicas);
  // Partition 0 holds the records on every replica; 1 and 2 are empty.
  const p0 = Object.entries(logDirs.sizes).filter(([k]) => k.endsWith(':0'));
  expect(p0).toHaveLength(replicas);
  for (const [, size] of p0) expect(size).toBeGreaterThan(0);
  expect(r['listOffsetsMaxTimestamp']).toBe(5);
  const groups = r['groupsAndOffsetDelete'] as Record<string, unknown>;
  expect(groups).toMatchObject({ listedEmpty: true, listedStable: false, offsetsAfterDelete: [-1, 0, -1] });
  // Every group operation (READ, DESCRIBE, DELETE) without an authorizer.
  expect(groups['authorizedOperations']).toBe((1 << 3) | (1 << 6) | (1 << 8));
  expect(r['newQuotas']).toEqual({
    ip: [['connection_creation_rate', 20]],
    client: [['controller_mutation_rate', 5]],
  });
}

describe('one node', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  test('kafkajs and @platformatic/kafka admin calls', async () => {
    expectSurface(await run([server.bootstrap, 'surface-1', '1']), 1);
  });
});

describe('three nodes', () => {
  const cluster = new InProcessCluster({
    ids: [1, 2, 3],
    raft: { electionTicks: 50, partitionElectionTicks: 50 },
  });
  beforeAll(() => cluster.startAll());
  afterAll(() => cluster.stop());

  test('the same calls against a 3-node cluster (replication factor 3)', async () => {
    const bootstrap = cluster.nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`).join(',');
    expectSurface(await run([bootstrap, 'surface-3', '3']), 3);
  });
});
