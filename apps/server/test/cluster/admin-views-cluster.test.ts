// The web console's admin routes in a 3-node raft-cluster inside one process (in-memory Raft
// network, simulated disks, real Kafka listeners): any node answers for the whole cluster — a
// partition's offsets and records come from its leader and a group from its coordinator, on
// whichever node they are (Kafka requests between the nodes); /v1/raft lists the node's Raft groups
// with each follower's lag on the leader, /v1/leader-changes the leaders the metadata recorded.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiKey } from '@chronik/protocol';
import { MemoryNetwork } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker.js';
import type { ServerConfig } from '../../src/config.js';
import { raftClusterMode } from '../../src/modes/raft-cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { memoryClusterConfig } from './memory-cluster-config.js';

jest.setTimeout(90_000);

const IDS = [1, 2, 3];
const TOPIC = 'spread';

type Json = Record<string, unknown>;

let root: string;
let net: MemoryNetwork;
let brokers: Broker[] = [];

function config(id: number): ServerConfig {
  return { ...memoryClusterConfig(id, IDS, root), adminHost: '127.0.0.1', adminPort: 0 };
}

async function get(id: number, p: string): Promise<{ status: number; body: Json }> {
  const b = brokers[id - 1] as Broker;
  const res = await fetch(`http://127.0.0.1:${b.adminPort}${p}`);
  return { status: res.status, body: (await res.json()) as Json };
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function kafka(): Kafka {
  return new Kafka({
    clientId: 'views-cluster',
    brokers: brokers.map((b) => `127.0.0.1:${b.kafkaPort}`),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-views-cluster-'));
  net = new MemoryNetwork();
  brokers = await Promise.all(
    IDS.map(async (id) => {
      const b = new Broker(
        config(id),
        { randomId: () => `dir-${id}` },
        raftClusterMode({
          env: { fs: new MemFileSystem() },
          transport: (o) => net.transport(o.nodeId, o.handler),
          groupConfig: { initialRebalanceDelayMs: 0 },
        }),
      );
      await b.start();
      return b;
    }),
  );
  await until('every node sees three brokers', async () => {
    for (const id of IDS) {
      const c = (await get(id, '/v1/cluster')).body as { brokers: unknown[] };
      if (c.brokers.length !== 3) return undefined;
    }
    return true;
  });
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka().producer({ idempotent: true });
  await producer.connect();
  for (let partition = 0; partition < 3; partition++)
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: 10 }, (_, i) => ({ partition, key: `p${partition}`, value: `v${i}` })),
    });
  await producer.disconnect();
});

afterAll(async () => {
  for (const b of brokers) await b.stop().catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
});

test('every node answers a topic with the offsets and size of each partition from its leader', async () => {
  for (const id of IDS) {
    const { status, body } = await get(id, `/v1/topics/${TOPIC}`);
    expect(status).toBe(200);
    const partitions = body.partitions as Json[];
    expect(partitions).toHaveLength(3);
    for (const p of partitions) {
      expect(p).toMatchObject({ highWatermark: '10', logStartOffset: '0' });
      expect((p.replicas as number[]).length).toBe(3);
      expect(p.sizeBytes).toEqual(expect.any(Number));
    }
  }
  // Each partition has one leader, so two of the three nodes answered for it by asking that leader.
});

test("every node reads any partition's records, from its leader", async () => {
  for (const id of IDS)
    for (let partition = 0; partition < 3; partition++) {
      const { status, body } = await get(id, `/v1/topics/${TOPIC}/partitions/${partition}/records?offset=0`);
      expect(status).toBe(200);
      const records = body.records as Array<{ offset: string; key: { base64: string } }>;
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
      expect(Buffer.from(records[0]?.key.base64 ?? '', 'base64').toString()).toBe(`p${partition}`);
    }
});

test("a group's members and lag from any node, asked of its coordinator", async () => {
  const consumer = kafka().consumer({ groupId: 'spread-readers', heartbeatInterval: 300 });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await consumer.run({ autoCommitInterval: 100, eachMessage: async () => undefined });
  try {
    const group = await until('the group consumed everything', async () => {
      const g = (await get(1, '/v1/groups/spread-readers')).body;
      const parts = g.partitions as Json[];
      return g.state === 'Stable' && parts.length === 3 && parts.every((p) => p.lag === '0') ? g : undefined;
    });
    expect((group.members as Json[]).length).toBe(1);
    for (const id of [2, 3]) {
      const g = (await get(id, '/v1/groups/spread-readers')).body;
      expect(g).toMatchObject({ coordinator: group.coordinator, state: 'Stable', totalLag: '0' });
      const list = (await get(id, '/v1/groups')).body;
      expect(list.groups).toEqual([
        expect.objectContaining({ groupId: 'spread-readers', coordinator: group.coordinator }),
      ]);
      expect(list.errors).toEqual([]);
    }
  } finally {
    await consumer.disconnect();
  }
});

test('a consumer-protocol group (KIP-848) from any node, asked of its coordinator', async () => {
  const coordinator = await until('a coordinator for the group', async () => {
    const c = await RawClient.connect((brokers[0] as Broker).kafkaPort);
    try {
      const found = await c.request(ApiKey.FindCoordinator, 4, {
        key: '',
        keyType: 0,
        coordinatorKeys: ['spread-848'],
      });
      const f = found.coordinators[0];
      return f !== undefined && f.errorCode === 0 ? f.nodeId : undefined;
    } finally {
      c.close();
    }
  });
  const c = await RawClient.connect((brokers[coordinator - 1] as Broker).kafkaPort);
  try {
    const joined = await c.request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: 'spread-848',
      memberId: 'm-1',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [TOPIC],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [],
    });
    expect(joined.errorCode).toBe(0);
    for (const id of IDS) {
      const g = (await get(id, '/v1/groups/spread-848')).body;
      expect(g).toMatchObject({ groupType: 'consumer', coordinator, state: 'Stable' });
      expect(((g.members as Json[])[0]?.assignment as Json[]).length).toBe(3);
    }
  } finally {
    c.close();
  }
});

test("/v1/raft: the node's metadata and partition groups, with followers' lag on the leader", async () => {
  const { body } = await get(1, '/v1/raft');
  expect(body).toMatchObject({ nodeId: 1, mode: 'raft-cluster' });
  const groups = body.groups as Array<Json & { name: string; role: string; followers: Json[] }>;
  const names = groups.map((g) => g.name);
  expect(names).toEqual(expect.arrayContaining(['metadata', `${TOPIC}-0`, `${TOPIC}-1`, `${TOPIC}-2`]));
  const led = groups.filter((g) => g.role === 'Leader' && g.name.startsWith(TOPIC));
  for (const g of led) {
    expect(g.followers.map((f) => f.nodeId).sort()).toEqual([2, 3]);
    for (const f of g.followers)
      expect(f).toMatchObject({ lag: expect.any(Number), match: expect.any(Number) });
  }
  expect(body.peers).toEqual([
    { nodeId: 2, connected: expect.any(Boolean) },
    { nodeId: 3, connected: expect.any(Boolean) },
  ]);
  const metrics = await (await fetch(`http://127.0.0.1:${brokers[0]?.adminPort}/metrics`)).text();
  expect(metrics).toMatch(/chronik_raft_groups\{role="Follower"\} \d+/);
  expect(metrics).toMatch(/chronik_partition_leader_changes_total \d+/);
  expect(metrics).toContain('chronik_partitions{state="offline"} 0');
  const changes = (await get(2, '/v1/leader-changes')).body.changes as Json[];
  expect(changes.filter((c) => c.topic === TOPIC).map((c) => c.partition)).toEqual(
    expect.arrayContaining([0, 1, 2]),
  );
});

/** The value of one series in a node's /metrics text (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

test('/metrics reports every layer: Raft, the WALs, group rebalances, connections (issue 25)', async () => {
  const texts = await Promise.all(
    brokers.map(async (b) => (await fetch(`http://127.0.0.1:${b.adminPort}/metrics`)).text()),
  );
  const sum = (series: string): number => texts.reduce((n, t) => n + sample(t, series), 0);
  // 30 records in 3 produce requests, one per partition, and the metadata commands before them.
  expect(sum('chronik_raft_proposals_total')).toBeGreaterThanOrEqual(3);
  // Every node learned a leader for the metadata group and each partition group.
  for (const t of texts) {
    expect(sample(t, 'chronik_raft_leader_changes_total')).toBeGreaterThanOrEqual(4);
    expect(sample(t, 'chronik_raft_cycles_total')).toBeGreaterThan(0);
    expect(sample(t, 'chronik_raft_cycle_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(t, 'chronik_wal_written_bytes_total')).toBeGreaterThan(0);
    expect(sample(t, 'chronik_wal_fsyncs_total')).toBeGreaterThan(0);
    expect(sample(t, 'chronik_wal_fsync_duration_seconds_count')).toBeGreaterThan(0);
    expect(t).toContain('chronik_wal_recovery_actions_total{action="tail_truncated"} 0');
    expect(sample(t, 'chronik_raft_groups_stopped_total')).toBe(0);
    // Leader loss (raft-host README): counted when a leader's node becomes unreachable.
    expect(t).toMatch(/^chronik_raft_leaders_forgotten_total \d+$/m);
    expect(t).toMatch(/^chronik_raft_leader_loss_campaigns_total \d+$/m);
    expect(sample(t, 'chronik_raft_metadata_term')).toBeGreaterThanOrEqual(1);
    expect(IDS).toContain(sample(t, 'chronik_raft_metadata_leader'));
    expect(sample(t, 'chronik_raft_commit_lag_entries_max')).toBeGreaterThanOrEqual(0);
  }
  // Each group won once by one node: at least the metadata group and the three partitions.
  expect(sum('chronik_raft_leaderships_won_total')).toBeGreaterThanOrEqual(4);
  // The consumer group of the test above rebalanced on its coordinator.
  expect(sum('chronik_consumer_group_rebalances_total')).toBeGreaterThanOrEqual(1);
  expect(
    texts.reduce(
      (n, t) => n + sample(t, 'chronik_connections_opened_total{listener="PLAINTEXT",outcome="accepted"}'),
      0,
    ),
  ).toBeGreaterThan(0);
});
