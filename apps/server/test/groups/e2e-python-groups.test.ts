// Consumer groups end to end with confluent-kafka-python (librdkafka) under /usr/bin/python3:
// commit and resume after a server restart, static membership (group.instance.id), and two
// members with the cooperative-sticky assignor (the coordinator passes the protocol through);
// static membership and cooperative-sticky also on a 3-node cluster (in one process).
import fs from 'node:fs';
import path from 'node:path';
import type { ServerProcess } from '../helpers/server.js';
import { startServer } from '../helpers/server.js';
import { runPython } from '../helpers/python.js';
import { InProcessCluster } from '../cluster/in-process-cluster.js';

jest.setTimeout(180_000);
const SCRIPT = path.join(__dirname, 'scripts', 'confluent_groups.py');

let bootstrap = '';
function python(args: string[], timeoutMs = 90_000): Promise<Record<string, unknown>> {
  return runPython(SCRIPT, [bootstrap, ...args], timeoutMs);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => `v${from + i}`).sort();

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer();
  bootstrap = server.bootstrap;
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

test('a group commits, the server restarts, the group resumes after its commit', async () => {
  expect(await python(['produce', 'py-grp', '0', '20', '2'])).toMatchObject({ errors: [], remaining: 0 });
  const first = await python(['consume', 'py-grp', 'py-g1', '20']);
  expect(first['errors']).toEqual([]);
  expect((first['values'] as string[]).sort()).toEqual(range(0, 20));
  expect(first['committed']).toEqual([
    [0, 10],
    [1, 10],
  ]);

  await server.stop();
  server = await startServer({ dataDir: server.dataDir });
  bootstrap = server.bootstrap;

  expect(await python(['produce', 'py-grp', '20', '6', '2'])).toMatchObject({ errors: [], remaining: 0 });
  const second = await python(['consume', 'py-grp', 'py-g1', '6']);
  expect(second['errors']).toEqual([]);
  expect((second['values'] as string[]).sort()).toEqual(range(20, 6));
  expect(second['committed']).toEqual([
    [0, 13],
    [1, 13],
  ]);
});

async function staticMember(prefix: string): Promise<void> {
  expect(await python(['produce', `${prefix}py-static`, '0', '8', '1'])).toMatchObject({ errors: [] });
  const first = await python([
    'consume',
    `${prefix}py-static`,
    `${prefix}py-g-static`,
    '8',
    'range',
    'instance-1',
  ]);
  expect((first['values'] as string[]).sort()).toEqual(range(0, 8));
  expect(await python(['produce', `${prefix}py-static`, '8', '4', '1'])).toMatchObject({ errors: [] });
  // same instance id again: the coordinator hands the old member's place to the new process
  const second = await python([
    'consume',
    `${prefix}py-static`,
    `${prefix}py-g-static`,
    '4',
    'range',
    'instance-1',
  ]);
  expect(second['errors']).toEqual([]);
  expect((second['values'] as string[]).sort()).toEqual(range(8, 4));
  expect(second['assignment']).toEqual([0]);
}

async function cooperativeSticky(prefix: string): Promise<void> {
  expect(await python(['produce', `${prefix}py-coop`, '0', '40', '4'])).toMatchObject({ errors: [] });
  const r = await python([
    'two-members',
    `${prefix}py-coop`,
    `${prefix}py-g-coop`,
    '40',
    'cooperative-sticky',
  ]);
  expect(r['errors']).toEqual([]);
  expect(r['first_a']).toEqual([0, 1, 2, 3]);
  const a = r['a'] as number[];
  const b = r['b'] as number[];
  expect(a.length).toBe(2);
  expect(b.length).toBe(2);
  expect([...a, ...b].sort()).toEqual([0, 1, 2, 3]);
  // Every record was read; re-reads of a partition that moved before anything was committed are
  // allowed (at-least-once), a record never read is not.
  expect(r['values']).toEqual(range(0, 40));
  expect(r['reads']).toBeGreaterThanOrEqual(40);
}

test('a static member (group.instance.id) restarting resumes with its committed offsets', () =>
  staticMember(''));

test('two members with cooperative-sticky split the partitions and read every record', () =>
  cooperativeSticky(''));

describe('three nodes', () => {
  const cluster = new InProcessCluster({
    ids: [1, 2, 3],
    raft: { electionTicks: 50, partitionElectionTicks: 50 },
  });
  let single = '';
  beforeAll(async () => {
    await cluster.startAll();
    single = bootstrap;
    bootstrap = cluster.nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`).join(',');
  });
  afterAll(async () => {
    bootstrap = single;
    await cluster.stop();
  });

  test('a static member restarting resumes with its committed offsets', () => staticMember('c3-'));

  test('two members with cooperative-sticky split the partitions', () => cooperativeSticky('c3-'));
});
