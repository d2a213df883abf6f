// /metrics of a standalone chronik-server process reports its lower layers (issue 25): the WAL of
// its partition logs (bytes written, fsyncs, the fsync latency histogram), consumer group
// rebalances, connections accepted — and, after a kill -9 that left a torn record at the end of a
// partition log, what recovery did on the next start (the tail cut, its .broken copy).
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { removeDir } from './helpers/broker.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';

jest.setTimeout(120_000);

const ARGS = ['--offsets-topic-partitions', '1', '--group-initial-rebalance-delay-ms', '0'];

async function metrics(s: ServerProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${s.adminPort}/metrics`)).text();
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

async function until(what: string, f: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file under `dir` with this extension. */
function filesUnder(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, ext));
    else if (e.name.endsWith(ext)) out.push(p);
  }
  return out;
}

let dataDir: string;
let server: ServerProcess | undefined;
beforeAll(() => {
  dataDir = tempDir('chronik-layer-metrics-');
});
afterAll(async () => {
  await server?.stop();
  removeDir(dataDir);
});

test('WAL, group and connection metrics; recovery of a torn tail is counted on the next start', async () => {
  server = await startServer({ dataDir, args: ARGS });
  const kafka = new Kafka({
    clientId: 'layer-metrics',
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'layers', numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < 5; i++)
    await producer.send({
      topic: 'layers',
      acks: -1,
      messages: Array.from({ length: 20 }, (_, k) => ({ value: `record ${i}-${k}` })),
    });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'layers-group' });
  await consumer.connect();
  await consumer.subscribe({ topics: ['layers'], fromBeginning: true });
  let seen = 0;
  await consumer.run({ eachMessage: async () => void seen++ });
  await until('the consumer read everything', () => Promise.resolve(seen >= 100));
  await consumer.disconnect();

  let text = '';
  // acks=all data is fsync'd by the flush interval (1 s) in standalone mode.
  await until('fsyncs reported', async () => {
    text = await metrics(server!);
    return sample(text, 'chronik_wal_fsyncs_total') > 0;
  });
  expect(sample(text, 'chronik_wal_written_bytes_total')).toBeGreaterThan(100 * 10);
  expect(sample(text, 'chronik_wal_fsync_duration_seconds_count')).toBeGreaterThan(0);
  expect(sample(text, 'chronik_wal_flush_failures_total')).toBe(0);
  expect(sample(text, 'chronik_consumer_group_rebalances_total')).toBeGreaterThanOrEqual(1);
  expect(
    sample(text, 'chronik_connections_opened_total{listener="PLAINTEXT",outcome="accepted"}'),
  ).toBeGreaterThanOrEqual(3);
  // No Raft in standalone mode: the series are there, at 0.
  expect(sample(text, 'chronik_raft_cycles_total')).toBe(0);
  expect(sample(text, 'chronik_wal_recovery_actions_total{action="tail_truncated"}')).toBe(0);

  // kill -9, then tear the last record of the topic's log, as a crash in mid-write would.
  await server.kill();
  server = undefined;
  // The largest log is the topic's (100 records; the offsets partition holds a few commits).
  const logs = filesUnder(path.join(dataDir, 'partitions'), '.log');
  const last = logs.reduce((a, b) => (fs.statSync(b).size > fs.statSync(a).size ? b : a));
  expect(fs.statSync(last).size).toBeGreaterThan(100 * 10);
  fs.truncateSync(last, fs.statSync(last).size - 7);

  server = await startServer({ dataDir, args: ARGS });
  text = await metrics(server);
  expect(sample(text, 'chronik_wal_recovery_actions_total{action="tail_truncated"}')).toBe(1);
  expect(sample(text, 'chronik_wal_recovery_actions_total{action="broken_copy"}')).toBe(1);
  expect(sample(text, 'chronik_wal_recovery_actions_total{action="corruption_truncated"}')).toBe(0);
});
