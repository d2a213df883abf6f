// Log compaction end to end against a real chronik-server process (docs/design/compaction.md):
// compacted topics written with updates and deletes by kcat and kafkajs read back, once the log
// cleaner ran, as their last value per key at their original offsets (gaps between them), by
// kcat and by a kafkajs consumer group; tombstones stay until delete.retention.ms, then go;
// cleanup.policy=compact set on an existing topic with AlterConfigs; keyless records refused; the
// compacted log is the same after a restart.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { consumeWithKcat, kcat } from './helpers/kcat.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';

jest.setTimeout(120_000);
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

let server: ServerProcess;
let dataDir: string;
const ARGS = ['--log-cleaner-backoff-ms', '100'];

beforeAll(async () => {
  dataDir = tempDir();
  server = await startServer({ dataDir, args: ARGS });
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function client(s: ServerProcess): Kafka {
  return new Kafka({
    clientId: 'e2e-compaction',
    brokers: [s.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
}

/** Topic configs that let the cleaner run at once: every batch but the newest is cleanable. */
const EAGER = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.ms', value: '100' },
  { name: 'min.cleanable.dirty.ratio', value: '0.01' },
];

type Row = { offset: number; key: string; value: string };

/**
 * The records a compacted log should hold: the last of each key (a tombstone as ''), in offset
 * order. (The newest batch is never cleaned: the tests make it a key of its own.)
 */
function lastPerKey(rows: readonly Row[]): Row[] {
  const last = new Map<string, Row>();
  for (const r of rows) last.set(r.key, r);
  return [...last.values()].sort((a, b) => a.offset - b.offset);
}

async function untilRead(topic: string, expected: Row[], timeoutMs = 30_000): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  let got: Row[] = [];
  while (Date.now() < deadline) {
    got = (await consumeWithKcat(server.bootstrap, topic)).map(({ offset, key, value }) => ({
      offset,
      key,
      value,
    }));
    if (JSON.stringify(got) === JSON.stringify(expected)) return got;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `${topic} never read as expected; last read:\n${JSON.stringify(got)}\nexpected:\n${JSON.stringify(expected)}`,
  );
}

test('kcat: updates and deletes read back as the last value per key at their offsets; the same after a restart', async () => {
  const admin = client(server).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'table', configEntries: EAGER }] });
  await admin.disconnect();
  const rows: Row[] = [];
  const lines: string[] = [];
  for (let round = 0; round < 5; round++)
    for (let k = 0; k < 10; k++) {
      lines.push(`k${k}:v${round}-${k}`);
      rows.push({ offset: rows.length, key: `k${k}`, value: `v${round}-${k}` });
    }
  for (const k of [3, 7]) {
    lines.push(`k${k}:`); // -Z: an empty value is sent as null, a tombstone
    rows.push({ offset: rows.length, key: `k${k}`, value: '' });
  }
  const p = await kcat(
    [
      '-b',
      server.bootstrap,
      '-P',
      '-t',
      'table',
      '-K',
      ':',
      '-Z',
      '-X',
      'acks=all',
      '-X',
      'batch.num.messages=7',
    ],
    `${lines.join('\n')}\n`,
  );
  expect(p.code).toBe(0);
  // The newest batch (a separate produce) is never cleaned.
  expect(
    (await kcat(['-b', server.bootstrap, '-P', '-t', 'table', '-K', ':', '-X', 'acks=all'], 'end:x\n')).code,
  ).toBe(0);
  rows.push({ offset: rows.length, key: 'end', value: 'x' });
  const expected = lastPerKey(rows);
  const got = await untilRead('table', expected);
  expect(got.map((r) => r.offset)).toEqual([40, 41, 42, 44, 45, 46, 48, 49, 50, 51, 52]);

  await server.stop();
  server = await startServer({ dataDir, args: ARGS });
  expect(
    (await consumeWithKcat(server.bootstrap, 'table')).map(({ offset, key, value }) => ({
      offset,
      key,
      value,
    })),
  ).toEqual(expected);
});

test('kafkajs: AlterConfigs turns compaction on for a topic; a group consumer reads the last value per key; keyless records are refused', async () => {
  const kafka = client(server);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'kjs-table' }] });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const rows: Row[] = [];
  const send = async (key: string, value: string | null): Promise<void> => {
    const [r] = await producer.send({ topic: 'kjs-table', acks: -1, messages: [{ key, value }] });
    rows.push({ offset: Number(r?.baseOffset), key, value: value ?? '' });
  };
  for (let i = 0; i < 30; i++) await send(`user-${i % 6}`, `profile-${i}`);
  // Keyless records are fine before compaction is on.
  await producer.send({ topic: 'kjs-table', messages: [{ value: 'no key' }] });
  rows.push({ offset: rows.length, key: '', value: 'no key' });
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: 2, name: 'kjs-table', configEntries: EAGER }],
  });
  // INVALID_RECORD, which kafkajs describes as such.
  await expect(producer.send({ topic: 'kjs-table', messages: [{ value: 'no key' }] })).rejects.toThrow(
    /failed the validation on broker/,
  );
  await send('user-2', null);
  await send('user-4', 'profile-final');
  await send('last', 'x');
  // The keyless record of before goes too, as Kafka's cleaner drops records without a key.
  const expected = lastPerKey(rows.filter((r) => r.key !== ''));
  await untilRead('kjs-table', expected);

  const consumer = kafka.consumer({ groupId: 'kjs-table-readers' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'kjs-table', fromBeginning: true });
  const seen: Row[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push({
        offset: Number(message.offset),
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
      });
    },
  });
  const deadline = Date.now() + 30_000;
  while (seen.length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
  expect(seen).toEqual(expected);
});

test('tombstones go once delete.retention.ms has passed (the pass after it)', async () => {
  const admin = client(server).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'expiring', configEntries: [...EAGER, { name: 'delete.retention.ms', value: '500' }] }],
  });
  await admin.disconnect();
  const produce = async (lines: string): Promise<void> => {
    const r = await kcat(
      ['-b', server.bootstrap, '-P', '-t', 'expiring', '-K', ':', '-Z', '-X', 'acks=all'],
      lines,
    );
    expect(r.code).toBe(0);
  };
  await produce('a:1\nb:1\n');
  await produce('a:\n'); // the tombstone of a (offset 2)
  await produce('c:1\n'); // newest
  await untilRead('expiring', [
    { offset: 1, key: 'b', value: '1' },
    { offset: 2, key: 'a', value: '' },
    { offset: 3, key: 'c', value: '1' },
  ]);
  await new Promise((r) => setTimeout(r, 600));
  await produce('d:1\n'); // something dirty, for the next pass
  await produce('e:1\n');
  await untilRead('expiring', [
    { offset: 1, key: 'b', value: '1' },
    { offset: 3, key: 'c', value: '1' },
    { offset: 4, key: 'd', value: '1' },
    { offset: 5, key: 'e', value: '1' },
  ]);
});

test("an idempotent producer's last batch, emptied by the cleaner but kept (its sequence), is read past by kcat and kafkajs", async () => {
  const kafka = client(server);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'emptied', configEntries: EAGER }] });
  await admin.disconnect();
  const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const plain = kafka.producer();
  await idem.connect();
  await plain.connect();
  await idem.send({ topic: 'emptied', acks: -1, messages: [{ key: 'k', value: 'from-idempotent' }] }); // 0
  await plain.send({ topic: 'emptied', acks: -1, messages: [{ key: 'k', value: 'newer' }] }); // 1
  await plain.send({ topic: 'emptied', acks: -1, messages: [{ key: 'end', value: 'x' }] }); // 2
  await untilRead('emptied', [
    { offset: 1, key: 'k', value: 'newer' },
    { offset: 2, key: 'end', value: 'x' },
  ]);
  // The idempotent producer goes on in sequence (its emptied batch kept the sequence state).
  await idem.send({ topic: 'emptied', acks: -1, messages: [{ key: 'k', value: 'again' }] });
  const consumer = kafka.consumer({ groupId: 'emptied-readers' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'emptied', fromBeginning: true });
  const seen: string[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(`${message.offset}:${message.key?.toString()}=${message.value?.toString()}`);
    },
  });
  const deadline = Date.now() + 30_000;
  while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  await idem.disconnect();
  await plain.disconnect();
  expect(seen).toEqual(['1:k=newer', '2:end=x', '3:k=again']);
});
