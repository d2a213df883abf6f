// @platformatic/kafka 1.35 consuming in a group against a real chronik-server: JoinGroup,
// SyncGroup, heartbeats, per-message commits and OffsetFetch, and a second consumer resuming from
// the committed offsets. The client is ESM-only and jest runs CommonJS, so it runs in a child
// `node` process (scripts/platformatic-group.mjs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ServerProcess } from '../helpers/server.js';
import { startServer } from '../helpers/server.js';

jest.setTimeout(120_000);

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

function run(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(__dirname, 'scripts', 'platformatic-group.mjs'), ...args], {
      cwd: path.join(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
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

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => `v${from + i}`).sort();

test('@platformatic/kafka consumes in a group, commits, and a new consumer resumes after the commits', async () => {
  const r = await run([server.bootstrap, 'plt-grp', 'plt-group']);
  expect(r['error']).toBeUndefined();
  const first = r['first'] as {
    values: string[];
    joined: { isLeader: boolean; assignments: unknown };
    committed: number[];
  };
  const second = r['second'] as { values: string[]; committed: number[] };
  expect([...first.values].sort()).toEqual(range(0, 20));
  expect(first.joined).toMatchObject({ isLeader: true, assignments: [['plt-grp', [0, 1]]] });
  expect(first.committed).toEqual([10, 10]);
  expect([...second.values].sort()).toEqual(range(20, 6));
  expect(second.committed).toEqual([13, 13]);
  expect(String(r['state']).toLowerCase()).toBe('empty'); // the client upper-cases state names
});
