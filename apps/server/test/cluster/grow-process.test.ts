// Growing a running cluster of chronik-server processes: while a kafkajs idempotent acks=all
// producer writes to a 3-partition RF 3 topic, a fourth process started with --join (node 1's Raft
// address) joins the metadata group as a learner, becomes a voter and registers; `chronik
// partitions move` puts a partition on it; `chronik cluster members` lists it; a node started for
// another cluster (--cluster-id) is refused and exits; every acknowledged record is read back
// exactly once. The time from the start of the new process to its being a voter is printed.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { TestCluster, waitFor } from './cluster-helper.js';

const run = promisify(execFile);
const CLI = path.resolve(__dirname, '..', '..', '..', '..', 'tools', 'cli', 'bin', 'chronik');

jest.setTimeout(180_000);

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.started(3);
});

afterAll(async () => {
  await cluster?.destroy();
});

function kafka(): Kafka {
  return new Kafka({
    clientId: 'grow-process',
    brokers: cluster.brokers([1, 2, 3]),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30 },
  });
}

async function chronik(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, '-b', cluster.brokers([1, 2, 3]).join(','), ...args], {
    timeout: 5 * 60_000,
  });
  return stdout;
}

interface Members {
  voters: number[];
  learners: number[];
  brokers: Array<{ nodeId: number; role: string }>;
}

test('a node joins a running cluster with --join while an acks=all producer writes; every acknowledged record once', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'grow', numPartitions: 3, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked: string[] = [];
  let producing = true;
  let next = 0;
  const load = (async () => {
    while (producing) {
      // Partitions named (not by key): a record counts only when the answer names its partition
      // (kafkajs#1303: a retried send across brokers may resolve without a partition it skipped).
      const batch = Array.from({ length: 10 }, () => ({
        key: `k${next % 7}`,
        partition: (next % 7) % 3,
        value: String(next++),
      }));
      try {
        const meta = await producer.send({ topic: 'grow', acks: -1, messages: batch });
        const answered = new Set(meta.filter((r) => r.errorCode === 0).map((r) => r.partition));
        for (const m of batch) if (answered.has(m.partition)) acked.push(m.value);
      } catch {
        // Outcome unknown after kafkajs' retries: not counted as acknowledged.
      }
    }
  })();
  await waitFor('some records', () => (acked.length > 200 ? true : undefined), 60_000);

  const started = Date.now();
  await cluster.addNode(4, 1);
  cluster.start(4);
  await cluster.withLogs(() =>
    waitFor(
      'node 4 a voter and registered',
      async () => {
        const m = await cluster.admin<Members>(1, '/v1/cluster/members');
        return m.voters.includes(4) && m.brokers.some((b) => b.nodeId === 4) ? true : undefined;
      },
      60_000,
    ),
  );
  const joinedMs = Date.now() - started;
  const members = await chronik(
    'cluster',
    'members',
    '--admin',
    `http://127.0.0.1:${cluster.node(2).adminPort}`,
  );
  expect(members).toMatch(/Voters: 1, 2, 3, 4/);

  // It takes a replica (reassignment), with the records written so far and since.
  await chronik('partitions', 'move', 'grow', '0', '--replicas', '4,1,2', '--wait');
  await waitFor('node 1.. 3 metadata with grow-0 on [4, 1, 2]', async () => {
    const [p] = (await cluster.partitions(4, 'grow')).filter((x) => x.partition === 0);
    return p !== undefined && p.replicas.join() === '4,1,2' ? true : undefined;
  });

  // A node meant for another cluster is refused and exits.
  const stranger = await cluster.addNode(5, 2, ['--cluster-id', 'not-this-cluster']);
  cluster.start(5);
  await stranger.exited;
  expect(stranger.logs.join('\n')).toMatch(/INCONSISTENT_CLUSTER_ID/);
  stranger.proc = undefined;
  cluster.nodes.splice(cluster.nodes.indexOf(stranger), 1);

  await new Promise((r) => setTimeout(r, 500));
  producing = false;
  await load;
  await producer.disconnect();
  console.log(
    `node 4 was a voter and registered ${joinedMs} ms after its process started; ${acked.length} records acknowledged during the test`,
  );

  // Every acknowledged record, exactly once.
  const consumer = kafka().consumer({ groupId: 'grow-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'grow', fromBeginning: true });
  const seen: string[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value?.toString() ?? '');
    },
  });
  await waitFor('every record read', () => (seen.length >= acked.length ? true : undefined), 120_000);
  await new Promise((r) => setTimeout(r, 1000));
  await consumer.disconnect();
  expect(new Set(seen).size).toBe(seen.length);
  const got = new Set(seen);
  expect(acked.filter((v) => !got.has(v))).toEqual([]);
});
