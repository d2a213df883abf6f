// Consumer groups end to end with kafkajs against a real chronik-server process: two members
// share a topic's partitions, a rebalance when the second joins and when one leaves, and
// committed offsets survive a server restart (the consumer resumes where it committed).
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, EachMessagePayload } from 'kafkajs';
import type { ServerProcess } from '../helpers/server.js';
import { startServer } from '../helpers/server.js';

process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';
jest.setTimeout(120_000);

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

function kafka(): Kafka {
  return new Kafka({
    clientId: 'groups-e2e',
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 },
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function produce(topic: string, from: number, count: number, partitions: number): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  const messages = [];
  for (let i = from; i < from + count; i++)
    messages.push({ key: `k${i}`, value: `v${i}`, partition: i % partitions });
  await producer.send({ topic, messages, acks: -1 });
  await producer.disconnect();
}

interface Member {
  consumer: Consumer;
  assigned: () => number[];
  seen: string[];
}

async function member(
  groupId: string,
  topic: string,
  seenBy: Map<string, string>,
  name: string,
): Promise<Member> {
  const consumer = kafka().consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    rebalanceTimeout: 20_000,
    maxWaitTimeInMs: 200,
  });
  let assignment: number[] = [];
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    assignment = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }: EachMessagePayload) => {
      const v = message.value?.toString() ?? '';
      seen.push(v);
      seenBy.set(v, name);
    },
  });
  return { consumer, assigned: () => assignment, seen };
}

test('two members share the partitions; rebalances when the second joins and when one leaves', async () => {
  const topic = 'grp-two-members';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const seenBy = new Map<string, string>();
  await produce(topic, 0, 40, 4);

  const a = await member('g-two', topic, seenBy, 'a');
  await waitFor(
    'a to own all partitions and read the first batch',
    () => a.assigned().length === 4 && seenBy.size === 40,
  );

  const b = await member('g-two', topic, seenBy, 'b');
  await waitFor(
    'the rebalance to split the partitions',
    () => a.assigned().length === 2 && b.assigned().length === 2,
  );
  expect([...a.assigned(), ...b.assigned()].sort()).toEqual([0, 1, 2, 3]);
  let described = await admin.describeGroups(['g-two']);
  expect(described.groups[0]).toMatchObject({ groupId: 'g-two', state: 'Stable', protocolType: 'consumer' });
  expect(described.groups[0]?.members).toHaveLength(2);

  await produce(topic, 40, 40, 4);
  await waitFor('both members to read the second batch', () => seenBy.size === 80);
  const secondBatch = [...seenBy].filter(([v]) => Number(v.slice(1)) >= 40);
  expect(new Set(secondBatch.map(([, who]) => who))).toEqual(new Set(['a', 'b']));

  await b.consumer.disconnect(); // LeaveGroup: a takes everything over
  await waitFor('a to own all partitions again', () => a.assigned().length === 4);
  await produce(topic, 80, 20, 4);
  await waitFor(
    'a to read the third batch',
    () =>
      seenBy.size === 100 &&
      [...seenBy].filter(([v]) => Number(v.slice(1)) >= 80).every(([, who]) => who === 'a'),
  );
  // nothing was read twice by the group: every value appears once overall
  expect(a.seen.length + b.seen.length).toBe(100);
  described = await admin.describeGroups(['g-two']);
  expect(described.groups[0]?.members).toHaveLength(1);
  await a.consumer.disconnect();
  const listed = await admin.listGroups();
  expect(listed.groups).toEqual(expect.arrayContaining([{ groupId: 'g-two', protocolType: 'consumer' }]));
  await admin.disconnect();
});

test('committed offsets survive a server restart: the consumer resumes where it committed', async () => {
  const topic = 'grp-resume';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  await admin.disconnect();
  await produce(topic, 0, 30, 2);
  const first = new Map<string, string>();
  const m1 = await member('g-resume', topic, first, 'one');
  await waitFor('the first 30 records', () => first.size === 30);
  await m1.consumer.disconnect(); // commits on the way out
  const before = await (async () => {
    const ad = kafka().admin();
    await ad.connect();
    const o = await ad.fetchOffsets({ groupId: 'g-resume', topics: [topic] });
    await ad.disconnect();
    return o[0]?.partitions.map((p) => [p.partition, p.offset]).sort();
  })();
  expect(before).toEqual([
    [0, '15'],
    [1, '15'],
  ]);

  await server.stop();
  server = await startServer({ dataDir: server.dataDir });

  const ad = kafka().admin();
  await ad.connect();
  const after = await ad.fetchOffsets({ groupId: 'g-resume', topics: [topic] });
  expect(after[0]?.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual(before);
  await ad.disconnect();

  await produce(topic, 30, 10, 2);
  const second = new Map<string, string>();
  const m2 = await member('g-resume', topic, second, 'two');
  await waitFor('the 10 new records', () => second.size === 10);
  await new Promise((r) => setTimeout(r, 1000));
  expect([...second.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `v${30 + i}`).sort());
  await m2.consumer.disconnect();
});

test('admin: describe, offsets of an empty group, delete it', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'grp-admin', numPartitions: 1 }] });
  await admin.setOffsets({
    groupId: 'g-admin',
    topic: 'grp-admin',
    partitions: [{ partition: 0, offset: '7' }],
  });
  const o = await admin.fetchOffsets({ groupId: 'g-admin', topics: ['grp-admin'] });
  expect(o[0]?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '7' })]);
  const d = await admin.describeGroups(['g-admin']);
  expect(d.groups[0]).toMatchObject({ state: 'Empty', members: [] });
  await admin.deleteGroups(['g-admin']);
  const d2 = await admin.describeGroups(['g-admin']);
  expect(d2.groups[0]?.state).toBe('Dead');
  await admin.disconnect();
  const noRetry = new Kafka({
    clientId: 'groups-e2e',
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  await noRetry.connect();
  await expect(noRetry.deleteGroups(['g-admin'])).rejects.toThrow(); // GROUP_ID_NOT_FOUND
  await noRetry.disconnect();
});
