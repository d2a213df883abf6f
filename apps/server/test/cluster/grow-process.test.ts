// Growing a running cluster of chronik-server processes: while a kafkajs idempotent acks=all
// producer writes to a 3-partition RF 3 topic, a fourth process started with --join (node 1's Raft
// address) joins the metadata group as a learner, becomes a voter and registers; `chronik
// partitions move` puts a partition on it; `chronik cluster members` lists it; a node started for
// another cluster (--cluster-id) is refused and exits; every acknowledged record is read back
// exactly once. The time from the start of the new process to its being a voter is printed.
// Then the operator's side of membership, all through the tool's bin (issue 25): `chronik cluster
// add-node` admits a node before it starts (a second one at once is refused: exit 1), the node
// (whose admin API asks for a bearer token) starts and becomes a voter; a partition it leads is
// moved onto a frozen node, `chronik partitions status --admin --admin-token-file` shows the move's
// progress from its leader (none without the token), `chronik partitions cancel` ends it;
// `chronik cluster remove-node` is refused while the node holds a replica (exit 1), then removes it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

/** The tool's exit code, stdout and stderr (it does not throw on a failure). */
async function chronikExit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [CLI, '-b', cluster.brokers([1, 2, 3]).join(','), ...args],
      { timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof x.code !== 'number') throw e;
    return { code: x.code, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
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

test('add-node, partitions status --admin with a token, partitions cancel and remove-node through the tool', async () => {
  const tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-token-')), 'token');
  fs.writeFileSync(tokenFile, 'grow-process-admin-token-0123456789\n', { mode: 0o600 });
  const admin1 = `http://127.0.0.1:${cluster.node(1).adminPort}`;
  const members = (): Promise<Members> => cluster.admin<Members>(1, '/v1/cluster/members');

  // Node 6 is admitted before it starts; its admin API asks for the token.
  const n6 = await cluster.addNode(6, 1, ['--admin-token-file', tokenFile]);
  const added = await chronikExit(
    'cluster',
    'add-node',
    '6',
    '--raft-addr',
    `127.0.0.1:${n6.raftPort}`,
    '--admin',
    admin1,
  );
  expect(added).toMatchObject({ code: 0, stdout: 'node 6: admitted (in progress)\n' });
  // The change is recorded; it ends when node 6 has caught up.
  expect(await chronik('cluster', 'members', '--admin', admin1)).toMatch(/In progress: adding node 6/);
  // One membership change at a time: a second one is refused with the cluster's reason.
  const second = await chronikExit(
    'cluster',
    'add-node',
    '7',
    '--raft-addr',
    '127.0.0.1:1',
    '--admin',
    admin1,
  );
  expect(second.code).toBe(1);
  expect(second.stderr).toMatch(
    /INVALID_REQUEST: Another membership change is in progress \(adding node 6\)/,
  );
  cluster.start(6);
  await cluster.withLogs(() =>
    waitFor(
      'node 6 a voter and registered',
      async () => {
        const m = await members();
        return m.voters.includes(6) && m.brokers.some((b) => b.nodeId === 6) ? true : undefined;
      },
      60_000,
    ),
  );

  // A partition node 6 leads, moved onto node 4 while node 4 is frozen: the move waits for it.
  const kafkaAdmin = kafka().admin();
  await kafkaAdmin.connect();
  await kafkaAdmin.createTopics({
    topics: [{ topic: 'ops', replicaAssignment: [{ partition: 0, replicas: [6, 1, 2] }] }],
    waitForLeaders: true,
  });
  await kafkaAdmin.disconnect();
  await waitFor('node 6 leading ops-0', async () => {
    await chronikExit('partitions', 'elect', 'ops', '0');
    const [p] = await cluster.partitions(1, 'ops');
    return p?.leader === 6 ? true : undefined;
  });
  cluster.pause(4);
  try {
    await chronik('partitions', 'move', 'ops', '0', '--replicas', '6,1,2,4');
    const admin6 = `http://127.0.0.1:${n6.adminPort}`;
    type Status = {
      reassignments: Array<{
        topic: string;
        target: number[];
        progress?: { step?: string; learners?: unknown[] };
      }>;
    };
    const moving = await waitFor('the move of ops-0 reported by its leader', async () => {
      const s = JSON.parse(
        await chronik(
          'partitions',
          'status',
          'ops',
          '--admin',
          admin6,
          '--admin-token-file',
          tokenFile,
          '--format',
          'json',
        ),
      ) as Status;
      return s.reassignments[0]?.progress?.learners !== undefined ? s : undefined;
    });
    expect(moving.reassignments).toHaveLength(1);
    expect(moving.reassignments[0]).toMatchObject({ topic: 'ops', target: [6, 1, 2, 4] });
    expect(typeof moving.reassignments[0]?.progress?.step).toBe('string');
    // Without the token the leader's admin API answers 401: the move is listed, its progress is not.
    const blind = JSON.parse(
      await chronik('partitions', 'status', 'ops', '--admin', admin6, '--format', 'json'),
    ) as Status;
    expect(blind.reassignments).toHaveLength(1);
    expect(blind.reassignments[0]?.progress).toBeUndefined();
    const table = await chronik(
      'partitions',
      'status',
      'ops',
      '--admin',
      admin6,
      '--admin-token-file',
      tokenFile,
    );
    expect(table).toMatch(/ops +0 +6,1,2,4 +6,1,2,4 +4 /);

    // Node 6 holds a replica: remove-node is refused, exit 1.
    const refused = await chronikExit('cluster', 'remove-node', '6', '--admin', admin1);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/INVALID_REQUEST: Node 6 still holds 1 partition replica\(s\) \(ops-0\)/);

    const cancelled = await chronikExit('partitions', 'cancel', 'ops', '0');
    expect(cancelled).toMatchObject({ code: 0, stdout: 'ops-0: cancelled (the data moves back)\n' });
    await waitFor('no reassignment of ops', async () =>
      (await chronik('partitions', 'status', 'ops')) === 'no reassignment in progress\n' ? true : undefined,
    );
    const [p] = await cluster.partitions(1, 'ops');
    expect(p?.replicas).toEqual([6, 1, 2]);
  } finally {
    cluster.resume(4);
  }

  // Its replica gone (the topic deleted), node 6 is removed: it leaves the group and stops.
  const kafkaAdmin2 = kafka().admin();
  await kafkaAdmin2.connect();
  await kafkaAdmin2.deleteTopics({ topics: ['ops'] });
  await kafkaAdmin2.disconnect();
  const removed = await waitFor('node 6 removed', async () => {
    const r = await chronikExit('cluster', 'remove-node', '6', '--admin', admin1);
    return r.code === 0 ? r : undefined;
  });
  expect(removed.stdout).toBe('node 6: removed\n');
  await n6.exited;
  n6.proc = undefined;
  expect(n6.logs.join('\n')).toMatch(/was removed from the cluster/);
  const m = await members();
  expect(m.voters).toEqual([1, 2, 3, 4]);
  expect(m.brokers.map((b) => b.nodeId)).not.toContain(6);
});
