// raft-cluster mode with real processes and real clients: formation in any start order, the same
// assignment and one leader per node on every node, routing (NOT_LEADER_OR_FOLLOWER with the right
// leader on a follower), consumers bootstrapped from any node, and the admin API.
import { ApiKey, ErrorCode, buildRecordBatch, defaultProduceRequest } from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { RawClient } from '../helpers/raw-client.js';
import type { ClusterJson, PartitionJson } from './cluster-helper.js';
import { TestCluster, sleep, waitFor } from './cluster-helper.js';

jest.setTimeout(120_000);

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.create(3);
  // Any order, with delays: listeners open first and peers are dialed lazily.
  cluster.start(3);
  await sleep(700);
  cluster.start(1);
  await sleep(300);
  cluster.start(2);
  await cluster.waitForMetadata(3);
});

afterAll(async () => {
  await cluster?.destroy();
});

function kafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'cluster-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 20 },
  });
}

function batch(values: string[]): Buffer {
  return buildRecordBatch({
    records: values.map((v) => ({ value: Buffer.from(v) })),
    timestampMs: BigInt(Date.now()),
  });
}

describe('raft cluster', () => {
  test('admin /v1/cluster: one metadata leader, voters, applied state on every node', async () => {
    const views = await Promise.all(
      [1, 2, 3].map((id) => cluster.admin<ClusterJson & { mode: string }>(id, '/v1/cluster')),
    );
    for (const [i, v] of views.entries()) {
      expect(v.nodeId).toBe(i + 1);
      expect(v.mode).toBe('raft-cluster');
      expect(v.metadataGroup.voters).toEqual([1, 2, 3]);
      expect(v.metadataGroup.term).toBeGreaterThan(0);
      expect(v.metadataGroup.appliedIndex).toBeGreaterThan(0);
      expect(v.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    }
    expect(new Set(views.map((v) => v.metadataGroup.leaderId)).size).toBe(1);
  });

  test('assignment: 3 partitions x RF 3 — the same replicas and leaders on every node, one leader per node', async () => {
    const admin = kafka(cluster.brokers([2])).admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({
          topics: [{ topic: 'assign', numPartitions: 3, replicationFactor: 3 }],
          waitForLeaders: true,
        }),
      ).toBe(true);
    } finally {
      await admin.disconnect();
    }
    for (let p = 0; p < 3; p++) await cluster.waitForLeader('assign', p);
    // Metadata (Kafka protocol) from each node converges to the same answer.
    const answers = await waitFor(
      'converged metadata on all nodes',
      async () => {
        const out: string[] = [];
        for (const id of [1, 2, 3]) {
          const a = kafka(cluster.brokers([id])).admin();
          await a.connect();
          try {
            const md = await a.fetchTopicMetadata({ topics: ['assign'] });
            const parts = (md.topics[0]?.partitions ?? [])
              .map((p) => ({
                p: p.partitionId,
                leader: p.leader,
                replicas: p.replicas,
                isr: [...p.isr].sort(),
              }))
              .sort((x, y) => x.p - y.p);
            if (parts.some((p) => p.leader < 0 || p.isr.length !== 3)) return undefined;
            out.push(JSON.stringify(parts));
          } finally {
            await a.disconnect();
          }
        }
        if (new Set(out).size !== 1) return undefined;
        // Leaders start on the preferred replicas (and move back there if an election went elsewhere).
        const leaders = (JSON.parse(out[0] as string) as Array<{ leader: number }>).map((p) => p.leader);
        return new Set(leaders).size === 3 ? out : undefined;
      },
      45_000,
      300,
    );
    const parts = JSON.parse(answers[0] as string) as Array<{
      p: number;
      leader: number;
      replicas: number[];
      isr: number[];
    }>;
    expect(parts).toHaveLength(3);
    for (const p of parts) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect(p.isr).toEqual([1, 2, 3]);
    }
    expect(new Set(parts.map((p) => p.leader)).size).toBe(3);
    // The admin API agrees: every node holds a replica of each partition, one leader each.
    const statuses = (await Promise.all([1, 2, 3].map((id) => cluster.partitions(id, 'assign')))).flat();
    expect(statuses).toHaveLength(9);
    for (const s of statuses) {
      expect(s.replicas).toHaveLength(3);
      expect(s.leaderEpoch).toBeGreaterThan(0);
    }
    expect(
      statuses
        .filter((s) => s.role === 'leader')
        .map((s) => s.partition)
        .sort(),
    ).toEqual([0, 1, 2]);
  });

  test('routing: produce on the leader succeeds; on a follower NOT_LEADER_OR_FOLLOWER names the leader (KIP-951)', async () => {
    const leader = await cluster.waitForLeader('assign', 0);
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const produce = (records: Buffer) => ({
      ...defaultProduceRequest(),
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'assign', partitionData: [{ index: 0, records }] }],
    });
    const onLeader = await RawClient.connect(cluster.node(leader).kafkaPort);
    const onFollower = await RawClient.connect(cluster.node(follower).kafkaPort);
    try {
      const ok = await onLeader.request(ApiKey.Produce, 10, produce(batch(['routed-1', 'routed-2'])));
      const okPart = ok.responses[0]?.partitionResponses[0];
      expect(okPart?.errorCode).toBe(ErrorCode.NONE);
      expect(okPart?.baseOffset).toBeGreaterThanOrEqual(0n);
      const bad = await onFollower.request(ApiKey.Produce, 10, produce(batch(['nope'])));
      const badPart = bad.responses[0]?.partitionResponses[0];
      expect(badPart?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      expect(badPart?.currentLeader.leaderId).toBe(leader);
      expect(badPart?.currentLeader.leaderEpoch).toBeGreaterThan(0);
      expect(bad.nodeEndpoints.map((e) => e.nodeId)).toEqual([leader]);
      expect(bad.nodeEndpoints[0]?.port).toBe(cluster.node(leader).kafkaPort);
      // Older versions: the error alone.
      const old = await onFollower.request(ApiKey.Produce, 7, produce(batch(['nope'])));
      expect(old.responses[0]?.partitionResponses[0]?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      onLeader.close();
      onFollower.close();
    }
  });

  test('consumers bootstrapped from any node read everything produced with acks=all', async () => {
    const k = kafka(cluster.brokers([3]));
    const producer = k.producer({ idempotent: true });
    await producer.connect();
    const sent: string[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const messages = Array.from({ length: 50 }, (_, j) => ({
          key: `k${(i * 50 + j) % 7}`,
          value: `v${i * 50 + j}`,
        }));
        await producer.send({ topic: 'assign', acks: -1, messages });
        sent.push(...messages.map((m) => m.value));
      }
    } finally {
      await producer.disconnect();
    }
    for (const id of [1, 2, 3]) {
      const consumer = kafka(cluster.brokers([id])).consumer({
        groupId: `readers-${id}`,
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
      });
      await consumer.connect();
      const seen = new Set<string>();
      try {
        await consumer.subscribe({ topic: 'assign', fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(
            () =>
              reject(new Error(`node ${id}: read ${seen.size} of ${sent.length}\n${cluster.dumpLogs(10)}`)),
            60_000,
          );
          void consumer.run({
            eachMessage: async ({ message }) => {
              const v = message.value?.toString() ?? '';
              if (v.startsWith('v')) seen.add(v);
              if (sent.every((s) => seen.has(s))) {
                clearTimeout(t);
                resolve();
              }
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      expect(sent.filter((s) => !seen.has(s))).toEqual([]);
    }
  });

  test('metadata changes on any node: CreatePartitions, AlterConfigs, DeleteTopics', async () => {
    const on = async <T>(id: number, f: (a: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> => {
      const a = kafka(cluster.brokers([id])).admin();
      await a.connect();
      try {
        return await f(a);
      } finally {
        await a.disconnect();
      }
    };
    await on(1, (a) =>
      a.createTopics({
        topics: [{ topic: 'meta', numPartitions: 1, replicationFactor: 3 }],
        waitForLeaders: true,
      }),
    );
    await on(2, (a) => a.createPartitions({ topicPartitions: [{ topic: 'meta', count: 2 }] }));
    await cluster.waitForLeader('meta', 1);
    for (const id of [1, 2, 3])
      expect((await cluster.partitions(id, 'meta')).map((p) => p.partition)).toEqual([0, 1]);
    await on(3, (a) =>
      a.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, name: 'meta', configEntries: [{ name: 'retention.ms', value: '123456' }] }],
      }),
    );
    for (const id of [1, 2, 3]) {
      const described = await waitFor(`retention.ms on node ${id}`, () =>
        on(id, async (a) => {
          const r = await a.describeConfigs({
            includeSynonyms: false,
            resources: [{ type: 2, name: 'meta', configNames: ['retention.ms'] }],
          });
          const v = r.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
          return v === '123456' ? v : undefined;
        }),
      );
      expect(described).toBe('123456');
    }
    await on(2, (a) => a.deleteTopics({ topics: ['meta'] }));
    await waitFor('meta gone from every node', async () => {
      const left = (await Promise.all([1, 2, 3].map((id) => cluster.partitions(id, 'meta')))).flat();
      return left.length === 0 ? true : undefined;
    });
  });

  test('admin /v1/partitions: high watermark and log end offset agree across replicas once replicated', async () => {
    await waitFor('replicas caught up', async () => {
      const all = (
        await Promise.all([1, 2, 3].map((id) => cluster.admin<PartitionJson[]>(id, '/v1/partitions')))
      )
        .flat()
        .filter((p) => p.topic === 'assign');
      for (let p = 0; p < 3; p++) {
        const hws = new Set(all.filter((x) => x.partition === p).map((x) => String(x.highWatermark)));
        if (hws.size !== 1) return undefined;
      }
      return true;
    });
    const leaderView = (await Promise.all([1, 2, 3].map((id) => cluster.partitions(id, 'assign'))))
      .flat()
      .filter((p) => p.role === 'leader');
    const total = leaderView.reduce((s, p) => s + Number(p.highWatermark), 0);
    expect(total).toBe(302); // 300 from kafkajs + 2 raw
    for (const p of leaderView)
      expect(Number(p.logEndOffset)).toBeGreaterThanOrEqual(Number(p.highWatermark));
  });
});
