// @platformatic/kafka 1.35 with `groupProtocol: 'consumer'` (KIP-848: ConsumerGroupHeartbeat and
// server-side assignment) against a real chronik-server: three consumers join one group one after
// the other while a producer writes, one leaves; every record is consumed and committed
// (OffsetCommit v9 with the member epoch), the committed offsets reach the end of every partition,
// and no two open consumers are ever seen assigned the same partition. The client is ESM-only, so
// it runs in a child `node` process (scripts/platformatic-consumer-protocol.mjs).
// (librdkafka implements group.protocol=consumer from 2.4; this machine's 2.0.2 does not.)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ServerProcess } from '../helpers/server.js';
import { startServer } from '../helpers/server.js';

jest.setTimeout(150_000);

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer({ args: ['--group-consumer-heartbeat-interval-ms', '500'] });
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

function run(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [path.join(__dirname, 'scripts', 'platformatic-consumer-protocol.mjs'), ...args],
      { cwd: path.join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
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

test('three consumers of the consumer protocol share the partitions while a producer writes; every record is consumed and committed', async () => {
  const r = await run([server.bootstrap, 'plt-848', 'plt-848-group', '4', '400']);
  expect(r['error']).toBeUndefined();
  expect(r['errors']).toBeUndefined();
  expect(r).toMatchObject({ ok: true, produced: 400, consumedUnique: 400, overlaps: 0 });
  expect(r['committed']).toEqual([100, 100, 100, 100]);
  const consumers = r['consumers'] as Record<string, { consumed: number }>;
  const total = Object.values(consumers).reduce((n, c) => n + c.consumed, 0);
  expect(total).toBeGreaterThanOrEqual(400);
  // The load was shared: more than one consumer consumed.
  expect(Object.values(consumers).filter((c) => c.consumed > 0).length).toBeGreaterThanOrEqual(2);
});
