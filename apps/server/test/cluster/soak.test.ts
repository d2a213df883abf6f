// Crash loop (off by default; the default run covers one crash of each kind in crash.test.ts):
//
//   SOAK_ITERATIONS=20 pnpm --filter @chronik/server exec jest test/cluster/soak.test.ts
//
// Three nodes, a 3-partition RF 3 topic, an idempotent acks=all producer running all the time; each
// iteration kill -9s a node (the leader of a random partition, or a random node), keeps producing,
// restarts it and waits until every replica has caught up. At the end every acknowledged record is
// read back exactly once, and per partition in the order it was acknowledged.
import { Kafka, logLevel } from 'kafkajs';
import { TestCluster, sleep, waitFor } from './cluster-helper.js';

const ITERATIONS = Number(process.env['SOAK_ITERATIONS'] ?? '0');
const run = ITERATIONS > 0 ? describe : describe.skip;

jest.setTimeout(Math.max(60_000, ITERATIONS * 60_000));

run('raft cluster crash loop', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.started(3);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  test(`${ITERATIONS} crashes under continuous produce`, async () => {
    const k = new Kafka({
      clientId: 'soak',
      brokers: cluster.brokers(),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 5000,
      retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
    });
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'soak', numPartitions: 3, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    for (let p = 0; p < 3; p++) await cluster.waitForLeader('soak', p);
    const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acked = new Map<number, string[]>([
      [0, []],
      [1, []],
      [2, []],
    ]);
    let stop = false;
    let seq = 0;
    const producing = (async () => {
      while (!stop) {
        const partition = seq % 3;
        const value = `s-${seq++}`;
        try {
          await producer.send({ topic: 'soak', acks: -1, timeout: 5000, messages: [{ partition, value }] });
          acked.get(partition)?.push(value);
        } catch {
          await sleep(50);
        }
      }
    })();
    for (let i = 0; i < ITERATIONS; i++) {
      const p = i % 3;
      const victim = i % 2 === 0 ? await cluster.waitForLeader('soak', p) : 1 + Math.floor(Math.random() * 3);
      await cluster.kill(victim);
      await sleep(2000 + Math.random() * 2000);
      cluster.start(victim);
      await cluster.withLogs(() =>
        waitFor(
          'replicas caught up',
          async () => {
            const views = (await Promise.all([1, 2, 3].map((id) => cluster.partitions(id, 'soak')))).flat();
            for (let q = 0; q < 3; q++)
              if (
                new Set(views.filter((v) => v.partition === q).map((v) => String(v.highWatermark))).size !== 1
              )
                return undefined;
            return views.length === 9 ? true : undefined;
          },
          60_000,
        ),
      );
    }
    stop = true;
    await producing;
    await producer.disconnect();
    const total = [...acked.values()].reduce((s, l) => s + l.length, 0);
    const consumer = k.consumer({ groupId: 'soak-readers' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'soak', fromBeginning: true });
    const read = new Map<number, string[]>();
    let count = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const l = read.get(partition) ?? [];
          l.push(message.value?.toString() ?? '');
          read.set(partition, l);
          if (++count >= total) resolve();
        },
      });
    });
    await sleep(1000);
    await consumer.disconnect();
    for (const [p, list] of acked) {
      const got = read.get(p) ?? [];
      expect(new Set(got).size).toBe(got.length);
      const pos = new Map(got.map((v, i) => [v, i]));
      expect(list.filter((v) => !pos.has(v))).toEqual([]);
      const order = list.map((v) => pos.get(v) as number);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });
});
