// Several Kafka listeners on one broker (Kafka's listeners / advertised.listeners /
// listener.security.protocol.map): each client is told the endpoint of the listener it came in on,
// in Metadata (kcat -L, kafkajs), FindCoordinator (a kafkajs consumer group) and DescribeCluster.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { kcat } from './helpers/kcat.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';

jest.setTimeout(120_000);

let server: ServerProcess;
const endpoint = (name: string): { host: string; port: number } => {
  const l = server.listeners.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no listener ${name}`);
  return l;
};

beforeAll(async () => {
  server = await startServer({
    args: [
      '--listeners',
      'INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0',
      '--listener-security-protocol-map',
      'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT',
      // Advertised under another name for the same machine: what a client is told shows which one it got.
      '--advertised-listeners',
      'EXTERNAL://localhost:0',
    ],
  });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

test('both listeners are bound and advertised in order', () => {
  expect(server.listeners.map((l) => [l.name, l.securityProtocol, l.host])).toEqual([
    ['INTERNAL', 'PLAINTEXT', '127.0.0.1'],
    ['EXTERNAL', 'PLAINTEXT', 'localhost'],
  ]);
  expect(endpoint('INTERNAL').port).toBe(server.kafkaPort);
  expect(endpoint('EXTERNAL').port).not.toBe(server.kafkaPort);
});

test('kcat -L is told the endpoint of the listener it connected to', async () => {
  const internal = endpoint('INTERNAL');
  const external = endpoint('EXTERNAL');
  const a = await kcat(['-b', `127.0.0.1:${internal.port}`, '-L']);
  expect(a.code).toBe(0);
  expect(a.stdout).toContain(`broker 1 at 127.0.0.1:${internal.port}`);
  const b = await kcat(['-b', `127.0.0.1:${external.port}`, '-L']);
  expect(b.code).toBe(0);
  expect(b.stdout).toContain(`broker 1 at localhost:${external.port}`);
});

test('kafkajs through the other listener: produce, a consumer group (FindCoordinator), DescribeCluster', async () => {
  const external = endpoint('EXTERNAL');
  const kafka = new Kafka({
    clientId: 'listeners-test',
    brokers: [`127.0.0.1:${external.port}`],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  expect(cluster.brokers).toEqual([{ nodeId: 1, host: 'localhost', port: external.port }]);
  await admin.createTopics({ topics: [{ topic: 'via-external', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'via-external', messages: [{ value: 'one' }, { value: 'two' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'external-readers' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'via-external', fromBeginning: true });
  const got: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value?.toString() ?? '');
        if (got.length === 2) resolve();
      },
    });
  });
  await consumer.disconnect();
  expect(got).toEqual(['one', 'two']);
});
