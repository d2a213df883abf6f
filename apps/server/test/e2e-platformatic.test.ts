// End to end with @platformatic/kafka 1.35 (flexible versions only). It is ESM-only and jest runs
// CommonJS, so the client runs in a child `node` process (test/scripts/platformatic-client.mjs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { consumeWithKcat } from './helpers/kcat.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';

// Real processes and clients on a shared, loaded machine: generous per-test time.
jest.setTimeout(120_000);

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

function run(args: string[], script = 'platformatic-client.mjs'): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(__dirname, 'scripts', script), ...args], {
      cwd: path.join(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
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

test('@platformatic/kafka: admin, idempotent producer, list offsets, describe configs', async () => {
  const r = await run([server.bootstrap, 'plt-topic', '100']);
  expect(r['error']).toBeUndefined();
  expect(r).toMatchObject({ ok: true, partitions: 2, sent: 100, latest: [50, 50], retention: '604800000' });
  // the topic was deleted at the end of the script
  const md = await consumeWithKcat(server.bootstrap, 'plt-topic').catch((e: Error) => e.message);
  expect(md).not.toHaveLength(100);
});

test('@platformatic/kafka: client quotas altered, described with filters, removed', async () => {
  const r = await run([server.bootstrap], 'platformatic-quotas.mjs');
  expect(r['error']).toBeUndefined();
  expect(String(r['bad'])).toMatch(/AlterClientQuotas/);
  expect(r).toMatchObject({
    ok: true,
    set: [0, 0],
    all: [
      { entity: 'client-id=slow', values: { producer_byte_rate: 1048576 } },
      { entity: 'client-id=<default>,user=alice', values: { consumer_byte_rate: 2097152 } },
    ],
    slow: [{ entity: 'client-id=slow', values: { producer_byte_rate: 1048576 } }],
    users: [{ entity: 'client-id=<default>,user=alice', values: { consumer_byte_rate: 2097152 } }],
    after: [{ entity: 'client-id=<default>,user=alice', values: { consumer_byte_rate: 2097152 } }],
  });
});
