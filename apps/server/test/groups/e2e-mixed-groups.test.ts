// Kafka 4's mixed groups (KIP-848 online upgrade) with real clients, on one node and on a 3-node
// cluster: kafkajs starts a classic group, @platformatic/kafka joins it with the consumer protocol
// (the running classic group is upgraded), confluent-kafka-python and a second kafkajs consumer join
// the consumer group with the classic protocol, then the first kafkajs and the platformatic
// consumer leave: the group is classic again (the downgrade) and the two classic members rebalance
// it and go on. Every record is consumed exactly once across the four (each commits every record
// it processes), every client consumed, and the committed offsets reach the end of every
// partition. The clients run in a child process (scripts/mixed-group.mjs; the python member in
// scripts/classic_member.py).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ServerProcess } from '../helpers/server.js';
import { startServer } from '../helpers/server.js';
import { InProcessCluster } from '../cluster/in-process-cluster.js';

jest.setTimeout(240_000);

function run(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(__dirname, 'scripts', 'mixed-group.mjs'), ...args], {
      cwd: path.join(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 200_000);
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

function expectMixedRun(r: Record<string, unknown>): void {
  if (r['ok'] !== true || r['duplicates'] !== 0) process.stderr.write(`mixed run: ${JSON.stringify(r)}\n`);
  expect(r['error']).toBeUndefined();
  expect(r['errors']).toEqual([]);
  expect(r).toMatchObject({
    ok: true,
    produced: 600,
    consumedUnique: 600,
    duplicates: 0,
    listedAsConsumer: true,
    listedAsClassic: true,
  });
  expect(r['committed']).toEqual([100, 100, 100, 100, 100, 100]);
  expect(r['consumedAfterDowngrade']).toBeGreaterThan(0);
  const consumers = r['consumers'] as Record<string, { consumed: number }>;
  // Every member — two kafkajs, python (classic) and platformatic (consumer protocol) — consumed.
  expect(Object.keys(consumers).sort()).toEqual(['kafkajs-1', 'kafkajs-2', 'platformatic', 'python']);
  for (const c of Object.values(consumers)) expect(c.consumed).toBeGreaterThan(0);
}

describe('one node', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({ args: ['--group-consumer-heartbeat-interval-ms', '500'] });
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  test('kafkajs and python (classic) with platformatic (consumer protocol) in one group: each record once, offsets committed', async () => {
    const r = await run([server.bootstrap, 'mixed-1', 'mixed-group-1', '6', '600', '1']);
    if (r['listedAsClassic'] !== true)
      process.stderr.write(
        server.logs
          .filter((l) => /group|downgrad|member/i.test(l))
          .slice(-60)
          .join('\n'),
      );
    expectMixedRun(r);
  });
});

describe('three nodes', () => {
  // Election timeouts of 1 s (not the helper's 140 ms): a loaded machine must not move leaders
  // under the clients (@platformatic/kafka 1.35 gives a consumer up on NOT_LEADER_OR_FOLLOWER).
  const cluster = new InProcessCluster({
    ids: [1, 2, 3],
    broker: { groupConsumerHeartbeatIntervalMs: 500 },
    raft: { electionTicks: 50, partitionElectionTicks: 50 },
  });
  beforeAll(() => cluster.startAll());
  afterAll(() => cluster.stop());

  test('the same mixed group on a 3-node cluster (replicated topic and __consumer_offsets)', async () => {
    const bootstrap = cluster.nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`).join(',');
    expectMixedRun(await run([bootstrap, 'mixed-3', 'mixed-group-3', '6', '600', '3']));
  });
});
