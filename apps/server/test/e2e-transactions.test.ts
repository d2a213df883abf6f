// End to end with kafkajs' transactional producer against a real chronik-server process:
// zombie fencing and a hanging transaction aborted at its timeout (the coordinator alone), then
// send / sendOffsets / commit / abort seen by a read_committed consumer (the partition layer's
// transactional batches and markers, docs/design/transactions.md section 1), and the same with
// confluent-kafka-python.
import fs from 'node:fs';
import path from 'node:path';
import { ApiKey } from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { RawClient } from './helpers/raw-client.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';
import { runPython } from './helpers/python.js';

// Real processes and clients on a shared, loaded machine: generous per-test time.
jest.setTimeout(120_000);

process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

const SCRIPT = path.join(__dirname, 'scripts', 'confluent_client.py');

let server: ServerProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir();
  // Timed-out transactions are looked for every 500 ms (Kafka: 10 s), so the timeout test is short.
  server = await startServer({ dataDir, args: ['--transaction-abort-interval-ms', '500'] });
  const admin = client().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'tx-in', numPartitions: 2 },
      { topic: 'tx-out', numPartitions: 2 },
    ],
  });
  await admin.disconnect();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function client(): Kafka {
  return new Kafka({
    clientId: 'e2e-txn',
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 },
  });
}

function transactional(transactionalId: string, transactionTimeout = 60_000): Producer {
  return client().producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout });
}

async function describeTxn(transactionalId: string) {
  const raw = await RawClient.connect(server.kafkaPort);
  try {
    await raw.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: [transactionalId] });
    const r = await raw.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [transactionalId] });
    return r.transactionStates[0];
  } finally {
    raw.close();
  }
}

const offsets = (offset: string) => [{ topic: 'tx-in', partitions: [{ partition: 0, offset }] }];

describe('kafkajs transactions: the coordinator', () => {
  test("zombie fencing: a second producer with the same transactional id aborts the first one's transaction and fences it", async () => {
    const zombie = transactional('tx-zombie');
    await zombie.connect();
    const old = await zombie.transaction();
    await old.sendOffsets({ consumerGroupId: 'tx-zombie-group', topics: offsets('5') });
    expect((await describeTxn('tx-zombie'))?.transactionState).toBe('Ongoing');
    const fresh = transactional('tx-zombie');
    await fresh.connect();
    // kafkajs initializes a transactional producer at its first transaction: InitProducerId answers
    // CONCURRENT_TRANSACTIONS while the old transaction is aborted (epoch 1), then epoch 2.
    const next = await fresh.transaction();
    expect(await describeTxn('tx-zombie')).toMatchObject({ transactionState: 'Empty', producerEpoch: 2 });
    await expect(old.commit()).rejects.toThrow();
    await next.sendOffsets({ consumerGroupId: 'tx-zombie-group', topics: offsets('7') });
    await next.commit();
    expect((await describeTxn('tx-zombie'))?.transactionState).toMatch(/Commit/);
    await zombie.disconnect().catch(() => undefined);
    await fresh.disconnect();
  });

  test('a transaction left open past its timeout is aborted with the epoch bumped: its producer is fenced', async () => {
    const p = transactional('tx-hang', 2000);
    await p.connect();
    const t = await p.transaction();
    await t.sendOffsets({ consumerGroupId: 'tx-hang-group', topics: offsets('1') });
    const deadline = Date.now() + 20_000;
    let state = await describeTxn('tx-hang');
    while (state?.transactionState !== 'CompleteAbort' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      state = await describeTxn('tx-hang');
    }
    expect(state).toMatchObject({ transactionState: 'CompleteAbort', producerEpoch: 1 });
    await expect(t.commit()).rejects.toThrow();
    await p.disconnect().catch(() => undefined);
  });
});

// Transactional produce, markers, the last stable offset and read_committed (the partition layer).
describe('kafkajs transactions: records and offsets', () => {
  async function readCommitted(groupId: string, topic: string, expected: number): Promise<string[]> {
    const consumer = client().consumer({ groupId, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 15_000);
      consumer
        .run({
          eachMessage: ({ message }) => {
            seen.push(message.value?.toString() ?? '');
            if (seen.length >= expected) {
              clearTimeout(timer);
              setTimeout(resolve, 1000); // anything aborted would arrive too
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    return seen;
  }

  test('send, commit and abort: a read_committed consumer sees the committed records only', async () => {
    const p = transactional('tx-send');
    await p.connect();
    const committed = await p.transaction();
    await committed.send({ topic: 'tx-out', messages: [{ value: 'c1' }, { value: 'c2' }] });
    await committed.commit();
    const aborted = await p.transaction();
    await aborted.send({ topic: 'tx-out', messages: [{ value: 'a1' }, { value: 'a2' }] });
    await aborted.abort();
    const last = await p.transaction();
    await last.send({ topic: 'tx-out', messages: [{ value: 'c3' }] });
    await last.commit();
    await p.disconnect();
    expect((await readCommitted('tx-send-reader', 'tx-out', 3)).sort()).toEqual(['c1', 'c2', 'c3']);
  });

  // Found by the chaos suite's transactional workload: Kafka (and Chronik before) answers a
  // read_committed Fetch's aborted transactions in the order of their markers, and kafkajs 2.2.4
  // walks that list expecting it sorted by first offset, so it delivered the records of a
  // transaction aborted after one that began later.
  test('transactions aborted in the other order than they began: a kafkajs read_committed consumer drops both', async () => {
    const admin = client().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'tx-interleaved', numPartitions: 1 }] });
    await admin.disconnect();
    const first = transactional('tx-interleaved-1');
    const second = transactional('tx-interleaved-2');
    const third = transactional('tx-interleaved-3');
    for (const p of [first, second, third]) await p.connect();
    const send = (value: string) => ({
      topic: 'tx-interleaved',
      acks: -1,
      messages: [{ partition: 0, value }],
    });
    const t1 = await first.transaction();
    await t1.send(send('aborted-first')); // offset 0
    const t2 = await second.transaction();
    await t2.send(send('aborted-second')); // 1
    await t2.abort(); // marker 2
    await t1.abort(); // marker 3
    const t3 = await third.transaction();
    await t3.send(send('committed')); // 4
    await t3.commit();
    for (const p of [first, second, third]) await p.disconnect();
    expect(await readCommitted('tx-interleaved-reader', 'tx-interleaved', 1)).toEqual(['committed']);
  });

  test("consume-transform-produce: offsets sent in the transaction become the group's on commit only", async () => {
    const producer = client().producer();
    await producer.connect();
    await producer.send({
      topic: 'tx-in',
      messages: [0, 1, 2, 3].map((i) => ({ value: `in${i}`, partition: 0 })),
    });
    await producer.disconnect();
    const p = transactional('tx-ctp');
    await p.connect();
    const t1 = await p.transaction();
    await t1.send({ topic: 'tx-out', messages: [{ value: 'out0' }, { value: 'out1' }] });
    await t1.sendOffsets({ consumerGroupId: 'tx-ctp-group', topics: offsets('2') });
    await t1.commit();
    const t2 = await p.transaction();
    await t2.send({ topic: 'tx-out', messages: [{ value: 'lost' }] });
    await t2.sendOffsets({ consumerGroupId: 'tx-ctp-group', topics: offsets('4') });
    await t2.abort();
    await p.disconnect();
    const admin = client().admin();
    await admin.connect();
    const fetched = await admin.fetchOffsets({ groupId: 'tx-ctp-group', topics: ['tx-in'] });
    await admin.disconnect();
    expect(fetched[0]?.partitions.find((x) => x.partition === 0)?.offset).toBe('2');
  });
});

function python(args: string[], timeoutMs = 90_000): Promise<Record<string, unknown>> {
  return runPython(SCRIPT, args, timeoutMs);
}

describe('confluent-kafka-python transactions', () => {
  test('init, begin, produce, send_offsets_to_transaction, commit / abort: read_committed sees the committed records only', async () => {
    const r = await python([server.bootstrap, 'transactions', 'tx-py-out', 'tx-in', 'tx-py-group']);
    expect(r).toEqual({
      read_committed: ['py-c0', 'py-c1', 'py-c2'],
      committed_offset: 3,
      errors: [],
    });
  });
});
