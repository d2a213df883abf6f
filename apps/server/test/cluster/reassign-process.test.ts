// Partition reassignment on four chronik-server processes, driven by the `chronik` command-line
// tool (tools/cli: `partitions move --wait`, `partitions status --admin`): a partition holding
// REASSIGN_MB (default 16) MB moves from [1, 2, 3] to [4, 2, 3] while a kafkajs idempotent acks=all
// producer keeps writing to it; every acknowledged record is read back exactly once, node 1 no
// longer holds it, and node 4 holds all of it (and leads it after `chronik partitions elect`). The time of the move is printed (the README's
// measurement; REASSIGN_MB=500 for a bigger one, REASSIGN_THROTTLE=bytes/s to throttle it).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { TestCluster, waitFor } from './cluster-helper.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '..', '..', '..', '..', 'tools', 'cli', 'bin', 'chronik');
const MB = Number(process.env['REASSIGN_MB'] ?? 16);
const THROTTLE = process.env['REASSIGN_THROTTLE'];

jest.setTimeout(Math.max(120_000, MB * 2000));

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.create(4);
  if (THROTTLE !== undefined) cluster.raftArgs = ['--replication-throttled-rate', THROTTLE];
  for (const n of cluster.nodes) cluster.start(n.id);
  await cluster.waitForMetadata(4, 60_000);
});

afterAll(async () => {
  await cluster?.destroy();
});

function kafka(): Kafka {
  return new Kafka({
    clientId: 'reassign-process',
    brokers: cluster.brokers(),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30 },
  });
}

async function chronik(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, '-b', cluster.brokers().join(','), ...args], {
    timeout: 10 * 60_000,
  });
  return stdout;
}

test('a partition with data moves to a new node while an acks=all producer writes: every acknowledged record once', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'moved', replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }],
    waitForLeaders: true,
  });
  await admin.disconnect();

  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked: string[] = [];
  const pad = 'p'.repeat(1000);
  let next = 0;
  const send = async (count: number): Promise<void> => {
    const batch = Array.from({ length: count }, () => ({ value: `${next++}-${pad}` }));
    await producer.send({ topic: 'moved', acks: -1, messages: batch });
    for (const m of batch) acked.push(m.value);
  };
  // The data to move: MB megabytes of 1 KB records.
  while (acked.length < MB * 1000) await send(500);

  // Producing throughout the move.
  let producing = true;
  const background = (async () => {
    while (producing) {
      try {
        await send(20);
      } catch {
        // Outcome unknown after kafkajs' retries: not acknowledged, not counted.
      }
    }
  })();

  const started = Date.now();
  const moving = chronik(
    'partitions',
    'move',
    'moved',
    '0',
    '--replicas',
    '4,2,3',
    '--wait',
    '--format',
    'json',
  );
  // While it moves, the status names the replica added and removed (and, from the leader's admin
  // API, how far node 4 is).
  const admins = cluster.nodes.map((n) => `http://127.0.0.1:${n.adminPort}`).join(',');
  const status = JSON.parse(
    await waitFor(
      'the move listed',
      async () => {
        const out = await chronik('partitions', 'status', 'moved', '--admin', admins, '--format', 'json');
        return (JSON.parse(out) as { reassignments: unknown[] }).reassignments.length > 0 ? out : undefined;
      },
      30_000,
      50,
    ).catch(() => '{"reassignments":[]}'),
  ) as {
    reassignments: Array<{
      addingReplicas: number[];
      removingReplicas: number[];
      progress?: { step: string };
    }>;
  };
  const result = JSON.parse(await moving) as { results: Array<{ error: unknown }> };
  const elapsedMs = Date.now() - started;
  expect(result.results[0]?.error).toBeNull();
  if (status.reassignments.length > 0)
    expect(status.reassignments[0]).toMatchObject({ addingReplicas: [4], removingReplicas: [1] });
  console.log(
    `moved a partition of ${MB} MB (${acked.length} records before the end) from [1,2,3] to [4,2,3] in ${elapsedMs} ms${
      THROTTLE !== undefined ? ` (throttled to ${THROTTLE} bytes/s)` : ''
    }; status during the move: ${JSON.stringify(status.reassignments[0]?.progress?.step ?? 'not seen')}`,
  );

  await new Promise((r) => setTimeout(r, 1000));
  producing = false;
  await background;
  await producer.disconnect();

  // Node 1 removed its copy; node 4 leads or follows it with everything.
  await waitFor('node 1 without the partition', async () =>
    (await cluster.partitions(1, 'moved')).length === 0 ? true : undefined,
  );
  const hw = await waitFor('node 4 caught up', async () => {
    const [p] = await cluster.partitions(4, 'moved');
    return p !== undefined && Number(p.highWatermark) >= acked.length ? Number(p.highWatermark) : undefined;
  });
  expect(hw).toBeGreaterThanOrEqual(acked.length);

  // The new node is the preferred replica now: `chronik partitions elect` hands it the leadership
  // (ElectLeaders), if the supervisor has not already.
  const elected = JSON.parse(await chronik('partitions', 'elect', 'moved', '0', '--format', 'json')) as {
    results: Array<{ error: { code: string } | null }>;
  };
  expect([null, 'ELECTION_NOT_NEEDED']).toContain(elected.results[0]?.error?.code ?? null);
  await waitFor('node 4 leads', async () =>
    (await cluster.partitions(4, 'moved'))[0]?.role === 'leader' ? true : undefined,
  );

  // Every acknowledged record, exactly once, in order.
  const consumer = kafka().consumer({ groupId: 'moved-reader', maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'moved', fromBeginning: true });
  const seen: number[] = [];
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) seen.push(Number((m.value?.toString() ?? '').split('-')[0]));
    },
  });
  await waitFor('every record read', () => (seen.length >= hw ? true : undefined), 120_000);
  await consumer.disconnect();
  expect(new Set(seen).size).toBe(seen.length);
  const got = new Set(seen);
  expect(acked.every((v) => got.has(Number(v.split('-')[0])))).toBe(true);
  expect([...seen].sort((a, b) => a - b)).toEqual(seen);
});
