// compareReplicaLogs on Raft logs written with RaftLogStorage (@chronik/raft-host): identical
// committed prefixes pass (an uncommitted tail may differ); a committed entry with other bytes or
// term is reported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RaftLogStorage } from '@chronik/raft-host';
import { compareReplicaLogs } from '../src/replica-logs.js';

let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-replica-logs-'));
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

async function writeLog(
  node: number,
  group: string,
  entries: Array<[term: number, data: string]>,
  commit: number,
): Promise<void> {
  const s = await RaftLogStorage.open({
    dir: path.join(root, `node${node}`, 'raft', group),
    syncPolicy: { kind: 'unsafe-none' },
  });
  s.append(entries.map(([term, data], i) => ({ term, index: i + 1, type: 0, data: Buffer.from(data) })));
  s.setHardState({ term: Math.max(...entries.map(([t]) => t)), vote: 0, commit });
  await s.sync();
  await s.close();
}

const dirs = (): Map<number, string> => new Map([1, 2, 3].map((n) => [n, path.join(root, `node${n}`)]));

test('identical committed prefixes; different uncommitted tails are fine', async () => {
  await writeLog(
    1,
    'group-7',
    [
      [1, 'a'],
      [1, 'b'],
      [2, 'c'],
    ],
    3,
  );
  await writeLog(
    2,
    'group-7',
    [
      [1, 'a'],
      [1, 'b'],
      [2, 'c'],
      [3, 'x'],
    ],
    3,
  );
  await writeLog(
    3,
    'group-7',
    [
      [1, 'a'],
      [1, 'b'],
      [2, 'y'],
    ],
    2,
  );
  await writeLog(1, 'group-9', [[1, 'only here']], 1);
  const scratch = fs.mkdtempSync(path.join(root, 'scratch-'));
  const r = await compareReplicaLogs(dirs(), scratch);
  expect(r).toEqual({ groups: 1, entriesCompared: 2, mismatches: [], mismatchCount: 0, errors: [] });
});

test('a committed entry that differs is reported', async () => {
  await writeLog(
    1,
    'group-7',
    [
      [1, 'a'],
      [1, 'b'],
      [2, 'c'],
    ],
    3,
  );
  await writeLog(
    2,
    'group-7',
    [
      [1, 'a'],
      [1, 'B'],
      [2, 'c'],
    ],
    3,
  );
  await writeLog(
    3,
    'group-7',
    [
      [1, 'a'],
      [1, 'b'],
      [3, 'c'],
    ],
    3,
  );
  const r = await compareReplicaLogs(dirs(), fs.mkdtempSync(path.join(root, 'scratch-')));
  expect(r.mismatchCount).toBe(2);
  expect(r.mismatches.join('\n')).toMatch(/group-7 index 2: node 1 has term 1 .* node 2 term 1/);
  expect(r.mismatches.join('\n')).toMatch(/group-7 index 3: .* node 3 term 3/);
});

test("a node's directory from before it left is compared with the others, under its label", async () => {
  // Node 3 left (its old log kept aside under a label) and joined anew: its new log holds nothing yet.
  for (const n of [1, 2])
    await writeLog(
      n,
      'group-1',
      [
        [1, 'a'],
        [1, 'b'],
        [2, 'c'],
      ],
      3,
    );
  await writeLog(
    4,
    'group-1',
    [
      [1, 'a'],
      [1, 'B'],
    ],
    2,
  );
  const r = await compareReplicaLogs(
    new Map<number | string, string>([
      [1, path.join(root, 'node1')],
      [2, path.join(root, 'node2')],
      ['3 (before leaving, #1)', path.join(root, 'node4')],
    ]),
    fs.mkdtempSync(path.join(root, 'scratch-')),
  );
  // Nodes 1 and 2 over their 3 committed entries (not narrowed to the old log's 2), then the old log
  // against node 1 over 2.
  expect(r.entriesCompared).toBe(3 + 2);
  expect(r.mismatches).toEqual([
    'group-1 index 2: node 1 has term 1 (1 bytes), node 3 (before leaving, #1) term 1 (1 bytes)',
  ]);
});
