// Consumer groups end to end with confluent-kafka-python (librdkafka) under /usr/bin/python3:
// commit and resume after a server restart, static membership (group.instance.id), and two
// members with the cooperative-sticky assignor (the coordinator passes the protocol through).
import fs from 'node:fs';
import path from 'node:path';
import type { ServerProcess } from '../helpers/server.js';
import { startServer } from '../helpers/server.js';
import { runPython } from '../helpers/python.js';

jest.setTimeout(180_000);
const SCRIPT = path.join(__dirname, 'scripts', 'confluent_groups.py');

function python(args: string[], timeoutMs = 90_000): Promise<Record<string, unknown>> {
  return runPython(SCRIPT, [server.bootstrap, ...args], timeoutMs);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => `v${from + i}`).sort();

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer();
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

  expect(await python(['produce', 'py-grp', '20', '6', '2'])).toMatchObject({ errors: [], remaining: 0 });
  const second = await python(['consume', 'py-grp', 'py-g1', '6']);
  expect(second['errors']).toEqual([]);
  expect((second['values'] as string[]).sort()).toEqual(range(20, 6));
  expect(second['committed']).toEqual([
    [0, 13],
    [1, 13],
  ]);
});

test('a static member (group.instance.id) restarting resumes with its committed offsets', async () => {
  expect(await python(['produce', 'py-static', '0', '8', '1'])).toMatchObject({ errors: [] });
  const first = await python(['consume', 'py-static', 'py-g-static', '8', 'range', 'instance-1']);
  expect((first['values'] as string[]).sort()).toEqual(range(0, 8));
  expect(await python(['produce', 'py-static', '8', '4', '1'])).toMatchObject({ errors: [] });
  // same instance id again: the coordinator hands the old member's place to the new process
  const second = await python(['consume', 'py-static', 'py-g-static', '4', 'range', 'instance-1']);
  expect(second['errors']).toEqual([]);
  expect((second['values'] as string[]).sort()).toEqual(range(8, 4));
  expect(second['assignment']).toEqual([0]);
});

test('two members with cooperative-sticky split the partitions and read every record', async () => {
  expect(await python(['produce', 'py-coop', '0', '40', '4'])).toMatchObject({ errors: [] });
  const r = await python(['two-members', 'py-coop', 'py-g-coop', '40', 'cooperative-sticky']);
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
});
