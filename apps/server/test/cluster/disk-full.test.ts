// A cluster node whose disk fills (its data directory on a small tmpfs) stops whole, loudly — it
// exits non-zero with a message naming the failed write — instead of staying up as a zombie that
// names itself leader and never answers; the other two nodes go on taking acks=all writes, and the
// node, restarted once space is back, catches up. Skipped (with the reason printed) where a tmpfs
// cannot be mounted (not root).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { TestCluster, waitFor } from './cluster-helper.js';

jest.setTimeout(180_000);

let cluster: TestCluster;
let mounted: string | undefined;
const FULL_NODE = 3;

function mountTmpfs(dir: string, size: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (e) {
    process.stdout.write(`disk-full test skipped: cannot mount a tmpfs (${String(e).split('\n')[0]})\n`);
    return false;
  }
}

beforeAll(async () => {
  cluster = await TestCluster.create(3);
  const dir = cluster.node(FULL_NODE).dataDir;
  if (mountTmpfs(dir, '24m')) mounted = dir;
  for (const n of cluster.nodes) cluster.start(n.id);
  await cluster.waitForMetadata(3);
});

afterAll(async () => {
  await cluster?.destroy().catch(() => undefined);
  if (mounted !== undefined) execFileSync('umount', ['-l', mounted]);
});

test('the node whose disk fills exits with a clear message; the others go on; it restarts once space is back', async () => {
  if (mounted === undefined) return;
  const kafka = new Kafka({
    clientId: 'disk-full',
    brokers: cluster.brokers([1, 2]),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'fill', numPartitions: 1, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const value = 'x'.repeat(100_000);
  let acked = 0;
  const node = cluster.node(FULL_NODE);
  try {
    // ~24 MB fill the node's disk; the node must stop, and writes go on with the other two.
    for (let i = 0; i < 600 && acked < 400; i++) {
      await producer.send({ topic: 'fill', acks: -1, messages: [{ value }] });
      acked++;
    }
  } finally {
    await producer.disconnect();
  }
  expect(acked).toBe(400);
  const code = await waitFor(
    'the full node to exit',
    () => (node.proc === undefined || node.proc.exitCode !== null ? true : undefined),
    60_000,
  );
  expect(code).toBe(true);
  const logs = node.logs.join('\n');
  expect(logs).toMatch(/ENOSPC|no space left/i);
  process.stdout.write(
    `disk full: node ${FULL_NODE} exited ${node.proc?.exitCode}: ${node.logs
      .filter((l) => /ENOSPC|no space/i.test(l))
      .slice(-1)[0]
      ?.slice(0, 300)}\n`,
  );
  expect(node.proc?.exitCode ?? 0).not.toBe(0);
  // Space comes back (the tmpfs grows), the node restarts and catches up.
  execFileSync('mount', ['-o', 'remount,size=256m', mounted]);
  await cluster.kill(FULL_NODE);
  cluster.start(FULL_NODE);
  await cluster.withLogs(() =>
    waitFor(
      'the restarted node caught up',
      async () => {
        const p = (await cluster.partitions(FULL_NODE, 'fill')).find((x) => x.partition === 0);
        return p !== undefined && Number(p.highWatermark) >= 400 ? true : undefined;
      },
      60_000,
    ),
  );
  // No offset hole on any partition, through the full disk and the restart.
  expect(await cluster.offsetHoles()).toEqual([]);
});
