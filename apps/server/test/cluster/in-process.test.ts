// A 3-node raft-cluster inside one process: three Brokers in raft-cluster mode whose Raft traffic
// goes over an in-memory network (@chronik/raft-host's MemoryNetwork) and whose Raft logs live on
// simulated disks (@chronik/wal's MemFileSystem) — the infrastructure injected through the mode's
// options, nothing else changed. kafkajs creates a replicated topic, produces with acks=all, consumes
// in a group through the handlers, and keeps producing when the partition leader's node stops; the
// node then restarts from what its simulated disk kept. A CreateTopics forwarded to the metadata
// leader whose answer is lost is retried and answered as created, not TOPIC_ALREADY_EXISTS; a
// created topic is answered once its partitions have leaders. A consumer-protocol group (KIP-848)
// survives the stop of its coordinator's node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryNetwork } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker.js';
import type { ServerConfig } from '../../src/config.js';
import type { ClusterStatus, Composed } from '../../src/modes/compose.js';
import { partitionGroupId } from '../../src/cluster/group-ids.js';
import { raftClusterMode } from '../../src/modes/raft-cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKey, buildRecordBatch, defaultProduceRequest } from '@chronik/protocol';
import { memoryClusterConfig } from './memory-cluster-config.js';

jest.setTimeout(60_000);

const IDS = [1, 2, 3];

interface Node {
  id: number;
  broker: Broker;
  disk: MemFileSystem;
  composed: Composed | undefined;
}

let root: string;
let net: MemoryNetwork;
let nodes: Node[] = [];

function config(id: number): ServerConfig {
  const c = memoryClusterConfig(id, IDS, root);
  // Quota windows of 2 × 1 s (Kafka's 11 × 1 s would make a throttled consumer wait ~10 s).
  return { ...c, clientQuotas: { ...c.clientQuotas, windowNum: 2, windowSizeSeconds: 1 } };
}

/** Starts node `id` on `disk` (a restarted node gets the disk it had). */
async function start(id: number, disk = new MemFileSystem()): Promise<Node> {
  const node: Node = { id, broker: undefined as unknown as Broker, disk, composed: undefined };
  node.broker = new Broker(
    config(id),
    { randomId: () => `dir-${id}` },
    raftClusterMode({
      env: { fs: node.disk },
      transport: (o) => net.transport(o.nodeId, o.handler),
      groupConfig: { initialRebalanceDelayMs: 0 },
      onComposed: (c) => (node.composed = c),
    }),
  );
  await node.broker.start();
  return node;
}

function kafka(): Kafka {
  return new Kafka({
    clientId: 'in-process',
    brokers: nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The node whose replica leads `topic`-`partition`. */
function leaderOf(topic: string, partition: number): Node | undefined {
  return nodes.find((n) =>
    n.composed?.partitions
      .statuses()
      .some((s) => s.topic === topic && s.partition === partition && s.role === 'leader'),
  );
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-in-process-'));
  net = new MemoryNetwork();
  nodes = await Promise.all(IDS.map((id) => start(id)));
  await until('brokers registered on every node', () =>
    nodes.every((n) => n.composed?.services.metadata.brokers().length === 3) ? true : undefined,
  );
});

afterAll(async () => {
  for (const n of nodes) await n.broker.stop().catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
});

test('create a replicated topic, produce with acks=all and consume in a group through the handlers', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'orders', numPartitions: 2, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  const meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
  expect(meta.topics[0]?.partitions.map((p) => p.replicas.length)).toEqual([3, 3]);
  await admin.disconnect();

  const producer = kafka().producer({ idempotent: true });
  await producer.connect();
  for (let i = 0; i < 20; i++)
    await producer.send({ topic: 'orders', acks: -1, messages: [{ key: `k${i % 4}`, value: `v${i}` }] });
  await producer.disconnect();

  // Every replica holds every record: acks=all waited for a majority, the third catches up.
  await until('every replica at the high watermark', () => {
    const hws = nodes.flatMap(
      (n) => n.composed?.partitions.statuses().filter((s) => s.topic === 'orders') ?? [],
    );
    const sum = [0, 1].map((p) => hws.filter((s) => s.partition === p).map((s) => Number(s.highWatermark)));
    return sum.every((l) => l.length === 3 && l.every((x) => x === l[0])) &&
      sum.reduce((n, l) => n + (l[0] ?? 0), 0) === 20
      ? true
      : undefined;
  });

  const consumer = kafka().consumer({ groupId: 'readers', sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
        if (seen.length === 20) resolve();
      },
    });
  });
  await consumer.disconnect();
  expect(seen.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
});

test('a consumer-protocol group (KIP-848) goes on when its coordinator stops: members, epochs, assignment and offsets survive', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'kip848', numPartitions: 3, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  const partitionCount = (await admin.fetchTopicMetadata({ topics: ['kip848'] })).topics[0]?.partitions
    .length;
  expect(partitionCount).toBe(3);
  await admin.disconnect();
  const group = 'kip848-group';

  /** A raw client on the group's coordinator, once one serves the group. */
  const coordinator = async (exclude?: number): Promise<{ node: Node; c: RawClient }> =>
    until(
      'a coordinator of the group',
      () => nodes.find((x) => x.id !== exclude && x.composed?.services.groups.isCoordinatorFor(group)),
      30_000,
    ).then(async (node) => ({ node, c: await RawClient.connect(node.broker.kafkaPort) }));
  // FindCoordinator creates __consumer_offsets; then the leader of the group's partition serves it.
  const any = await RawClient.connect(nodes[0]?.broker.kafkaPort ?? 0);
  for (let i = 0; i < 50; i++) {
    const f = await any.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [group] });
    if (f.coordinators[0]?.errorCode === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  any.close();
  const found = await coordinator();
  const first = found.node;
  let c = found.c;

  interface Member {
    id: string;
    epoch: number;
    owned: Array<{ topicId: string; partitions: number[] }>;
  }
  const members: Member[] = [];
  const beat = async (m: Member, join = false) => {
    const r = await c.request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: group,
      memberId: m.id,
      memberEpoch: join ? 0 : m.epoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ['kip848'],
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: join ? [] : m.owned,
    });
    if (r.errorCode === 0) {
      m.epoch = r.memberEpoch;
      if (r.assignment !== null)
        m.owned = r.assignment.topicPartitions.map((t) => ({
          topicId: t.topicId,
          partitions: [...t.partitions],
        }));
    }
    return r;
  };
  const settleGroup = async () => {
    for (let round = 0; round < 20; round++) {
      for (const m of members) expect((await beat(m)).errorCode).toBe(0);
      const d = await c.request(ApiKey.ConsumerGroupDescribe, 0, {
        groupIds: [group],
        includeAuthorizedOperations: false,
      });
      if (
        d.groups[0]?.groupState === 'Stable' &&
        members.every((m) => m.epoch === d.groups[0]?.assignmentEpoch)
      )
        return d.groups[0];
    }
    throw new Error('the group did not settle');
  };
  const owners = () => {
    const seen: number[] = [];
    for (const m of members) for (const t of m.owned) seen.push(...t.partitions);
    return seen.sort();
  };
  for (const id of ['m1', 'm2']) {
    const m: Member = { id, epoch: 0, owned: [] };
    members.push(m);
    expect((await beat(m, true)).errorCode).toBe(0);
  }
  const before = await settleGroup();
  expect(owners()).toEqual([0, 1, 2]);
  const m1 = members[0] as Member;
  const committed = await c.request(ApiKey.OffsetCommit, 9, {
    groupId: group,
    generationIdOrMemberEpoch: m1.epoch,
    memberId: 'm1',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: 'kip848',
        partitions: [
          {
            partitionIndex: m1.owned[0]?.partitions[0] ?? 0,
            committedOffset: 11n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: null,
          },
        ],
      },
    ],
  });
  expect(committed.topics[0]?.partitions[0]?.errorCode).toBe(0);
  c.close();

  // The coordinator's node stops; the leader of the group's __consumer_offsets partition moves.
  await first.broker.stop();
  first.composed = undefined;
  try {
    ({ c } = await coordinator(first.id));
    // The members carry on at their epochs, with what they own.
    for (let i = 0; ; i++) {
      const r = await beat(m1);
      if (r.errorCode === 0) break;
      expect([14, 15, 16]).toContain(r.errorCode); // loading / not available / not coordinator, for a moment
      if (i > 100) throw new Error('the new coordinator never answered');
      await new Promise((res) => setTimeout(res, 100));
    }
    const d = await c.request(ApiKey.ConsumerGroupDescribe, 0, {
      groupIds: [group],
      includeAuthorizedOperations: false,
    });
    expect(d.groups[0]).toMatchObject({
      errorCode: 0,
      groupEpoch: before?.groupEpoch,
      assignmentEpoch: before?.assignmentEpoch,
    });
    expect(d.groups[0]?.members.map((m) => m.memberId).sort()).toEqual(['m1', 'm2']);
    const fetched = await c.request(ApiKey.OffsetFetch, 9, {
      groupId: '',
      topics: [],
      groups: [{ groupId: group, memberId: 'm1', memberEpoch: m1.epoch, topics: null }],
      requireStable: true,
    });
    expect(fetched.groups[0]?.errorCode).toBe(0);
    expect(fetched.groups[0]?.topics[0]?.partitions[0]?.committedOffset).toBe(11n);
    // A third member joins through the new coordinator; the three share the partitions.
    const m3: Member = { id: 'm3', epoch: 0, owned: [] };
    members.push(m3);
    expect((await beat(m3, true)).errorCode).toBe(0);
    await settleGroup();
    expect(owners()).toEqual([0, 1, 2]);
    for (const m of members) expect(m.owned.flatMap((t) => t.partitions)).toHaveLength(1);
    for (const m of members) await beat({ ...m, epoch: -1 });
  } finally {
    c.close();
    const restarted = await start(first.id, first.disk);
    nodes[nodes.indexOf(first)] = restarted;
    await registeredEverywhere(restarted);
  }
});

test('the partition leader stops: another replica leads, acks=all produce goes on, and the node restarts from its simulated disk', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'failover', numPartitions: 1, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka().producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: 'failover', acks: -1, messages: [{ value: 'before' }] });
  const old = await until('a leader', () => leaderOf('failover', 0));
  await old.broker.stop();
  old.composed = undefined;
  try {
    const next = await until('a new leader', () => leaderOf('failover', 0));
    expect(next.id).not.toBe(old.id);
    await producer.send({ topic: 'failover', acks: -1, messages: [{ value: 'after' }] });
    const hw = next.composed?.partitions.statuses().find((s) => s.topic === 'failover')?.highWatermark;
    expect(hw).toBe(2n);
  } finally {
    await producer.disconnect();
  }
  // The node comes back from what its disk kept, and catches up.
  const restarted = await start(old.id, old.disk);
  nodes[nodes.indexOf(old)] = restarted;
  await until('the restarted node caught up on every partition', () => {
    const mine = restarted.composed?.partitions.statuses() ?? [];
    const leaders = nodes.flatMap(
      (n) => n.composed?.partitions.statuses().filter((s) => s.role === 'leader') ?? [],
    );
    return mine.length > 0 &&
      mine.every((s) =>
        leaders.some(
          (l) => l.topic === s.topic && l.partition === s.partition && l.highWatermark === s.highWatermark,
        ),
      )
      ? true
      : undefined;
  });
  // It listens on a new port: every node's metadata names it before the next test's clients look.
  await registeredEverywhere(restarted);
});

test('CreateTopics whose forward to the metadata leader commits but loses its answer is retried and answered as created', async () => {
  const leaderId = await until('a metadata leader', () => {
    const status = nodes[0]?.composed?.broker.admin.cluster() as ClusterStatus | undefined;
    const l = status?.metadataGroup.leaderId;
    return l !== undefined && l > 0 ? l : undefined;
  });
  const follower = nodes.find((n) => n.id !== leaderId) as Node;
  const admin = new Kafka({
    clientId: 'in-process',
    brokers: [`127.0.0.1:${follower.broker.kafkaPort}`],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    // The forward commits the topic on the leader; its answer is lost; the follower proposes the
    // same request again, which the metadata state machine answers with the first outcome.
    net.loseForwardAnswers(leaderId);
    const created = await admin.createTopics({
      topics: [{ topic: 'answer-lost', numPartitions: 1, replicationFactor: 3 }],
    });
    expect(created).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: ['answer-lost'] });
    expect(meta.topics[0]?.partitions).toHaveLength(1);
  } finally {
    await admin.disconnect();
  }
});

test('CreateTopics answers once every new partition has a leader: an immediate Metadata request has no partition errors', async () => {
  const c = await RawClient.connect((nodes[1] as Node).broker.kafkaPort);
  try {
    const created = await c.request(ApiKey.CreateTopics, 7, {
      topics: [
        { name: 'leaders-first', numPartitions: 6, replicationFactor: 3, assignments: [], configs: [] },
      ],
      timeoutMs: 15_000,
      validateOnly: false,
    });
    expect(created.topics[0]?.errorCode).toBe(0);
    const m = await c.request(ApiKey.Metadata, 12, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'leaders-first' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const partitions = m.topics[0]?.partitions ?? [];
    expect(partitions).toHaveLength(6);
    for (const p of partitions) {
      expect(p.errorCode).toBe(0);
      expect(IDS).toContain(p.leaderId);
    }
  } finally {
    c.close();
  }
});

test('kafkajs deleteTopicRecords across leaders on different nodes: records deleted, an offset past the end is its partition error', async () => {
  const k = kafka();
  const admin = k.admin();
  const producer = k.producer();
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: 'delete-records', numPartitions: 3, replicationFactor: 3 }],
    });
    for (let i = 0; i < 30; i++)
      await producer.send({
        topic: 'delete-records',
        acks: -1,
        messages: [{ value: `v${i}`, partition: i % 3 }],
      });
    await admin.fetchTopicMetadata({ topics: ['delete-records'] });
    await admin.deleteTopicRecords({
      topic: 'delete-records',
      partitions: [
        { partition: 0, offset: '5' },
        { partition: 1, offset: '3' },
        { partition: 2, offset: '-1' },
      ],
    });
    const offsets = await admin.fetchTopicOffsets('delete-records');
    expect(offsets.map((o) => [o.partition, o.low, o.high]).sort()).toEqual([
      [0, '5', '10'],
      [1, '3', '10'],
      [2, '10', '10'],
    ]);
    const err = await admin
      .deleteTopicRecords({ topic: 'delete-records', partitions: [{ partition: 0, offset: '500' }] })
      .then(
        () => undefined,
        (e: unknown) =>
          e as { cause?: { partitions?: Array<{ partition: number; error: { type: string } }> } },
      );
    expect(err?.cause?.partitions?.map((p) => [p.partition, p.error.type])).toEqual([
      [0, 'OFFSET_OUT_OF_RANGE'],
    ]);
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('a client quota set through one node is enforced by the others (the replicated metadata)', async () => {
  const admin = await RawClient.connect((nodes[1] as Node).broker.kafkaPort);
  try {
    await admin.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'quota-topic', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
      timeoutMs: 15_000,
      validateOnly: false,
    });
    const set = await admin.request(ApiKey.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'metered' }],
          ops: [{ key: 'producer_byte_rate', value: 10_000, remove: false }],
        },
      ],
      validateOnly: false,
    });
    expect(set.entries[0]?.errorCode).toBe(0);
    const leader = await until('a leader of quota-topic', () => leaderOf('quota-topic', 0));
    await until('the quota applied on the leader', () =>
      (leader.composed?.services.topics.quotas.describe([], false).length ?? 0) > 0 ? true : undefined,
    );
    const c = await RawClient.connect(leader.broker.kafkaPort);
    c.clientId = 'metered';
    try {
      const r = await c.request(ApiKey.Produce, 9, {
        ...defaultProduceRequest(),
        acks: -1,
        timeoutMs: 10_000,
        topicData: [
          {
            name: 'quota-topic',
            partitionData: [
              { index: 0, records: buildRecordBatch({ records: [{ value: Buffer.alloc(300_000, 1) }] }) },
            ],
          },
        ],
      });
      expect(r.responses[0]?.partitionResponses[0]?.errorCode).toBe(0);
      expect(r.throttleTimeMs).toBeGreaterThan(0);
    } finally {
      c.close();
    }
  } finally {
    admin.close();
  }
});

test('byte-rate quotas with kafkajs on the cluster: the partition leader throttles its produce and fetch, the client waits as told', async () => {
  const admin = await RawClient.connect((nodes[2] as Node).broker.kafkaPort);
  try {
    const set = await admin.request(ApiKey.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'metered-kjs' }],
          ops: [
            { key: 'producer_byte_rate', value: 60_000, remove: false },
            { key: 'consumer_byte_rate', value: 60_000, remove: false },
          ],
        },
      ],
      validateOnly: false,
    });
    expect(set.entries[0]?.errorCode).toBe(0);
  } finally {
    admin.close();
  }
  await until('the quota applied on every node', () =>
    nodes.every((n) =>
      n.composed?.services.topics.quotas
        .describe([], false)
        .some((q) => q.entity.some((e) => e.name === 'metered-kjs')),
    )
      ? true
      : undefined,
  );
  // kafkajs logs each throttle_time_ms it honours (KIP-219: the broker answers, the client waits).
  const throttled: string[] = [];
  const metered = new Kafka({
    clientId: 'metered-kjs',
    brokers: nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`),
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ namespace, log }) => {
        if (String(log.message).startsWith('Client side throttling')) throttled.push(namespace);
      },
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
  const kadmin = kafka().admin();
  await kadmin.connect();
  await kadmin.createTopics({
    topics: [{ topic: 'quota-kjs', numPartitions: 1, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await kadmin.disconnect();
  const producer = metered.producer();
  await producer.connect();
  // 120 KB: over 60 KB/s in the file's 2 × 1 s quota window (throttles of about a second).
  for (let i = 0; i < 4; i++)
    await producer.send({
      topic: 'quota-kjs',
      acks: -1,
      messages: [{ value: Buffer.alloc(30_000, i) }],
    });
  await producer.disconnect();
  const produced = throttled.length;
  expect(produced).toBeGreaterThan(0);

  const consumer = metered.consumer({
    groupId: 'quota-kjs-readers',
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: 'quota-kjs', fromBeginning: true });
  let read = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async () => {
        if (++read === 4) resolve();
      },
    });
  });
  await consumer.disconnect();
  expect(read).toBe(4);
  // The fetch of 120 KB at 60 KB/s was throttled too (answered empty, then served).
  expect(throttled.length).toBeGreaterThan(produced);
});

test('every node names itself as the controller (it forwards admin requests to the metadata leader)', async () => {
  for (const n of nodes) {
    const c = await RawClient.connect(n.broker.kafkaPort);
    try {
      const m = await c.request(ApiKey.Metadata, 12, {
        topics: [],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      expect(m.controllerId).toBe(n.id);
      expect(m.brokers.map((b) => b.nodeId).sort()).toEqual(IDS);
    } finally {
      c.close();
    }
  }
});

test('a transactional id is coordinated by the leader of its __transaction_state partition', async () => {
  const first = nodes[0];
  if (first === undefined) throw new Error('no node');
  const c = await RawClient.connect(first.broker.kafkaPort);
  const clients: RawClient[] = [c];
  try {
    // FindCoordinator creates __transaction_state; its partitions elect leaders, then the answer names one.
    let coordinator = -1;
    for (let i = 0; i < 200 && coordinator < 0; i++) {
      const r = await c.request(ApiKey.FindCoordinator, 4, {
        key: '',
        keyType: 1,
        coordinatorKeys: ['tx-cluster'],
      });
      const found = r.coordinators[0];
      if (found?.errorCode === 0) coordinator = found.nodeId;
      else await new Promise((res) => setTimeout(res, 50));
    }
    const node = nodes.find((n) => n.id === coordinator);
    if (node === undefined) throw new Error(`no coordinator named (${coordinator})`);
    const at = await RawClient.connect(node.broker.kafkaPort);
    clients.push(at);
    const init = (client: RawClient) =>
      client.request(ApiKey.InitProducerId, 4, {
        transactionalId: 'tx-cluster',
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      });
    let r = await init(at);
    for (let i = 0; i < 200 && r.errorCode !== 0; i++) {
      // The coordinator loads its partition once its replica leads with a complete view.
      await new Promise((res) => setTimeout(res, 50));
      r = await init(at);
    }
    expect(r).toMatchObject({ errorCode: 0, producerEpoch: 0 });
    const other = nodes.find((n) => n.id !== coordinator);
    if (other === undefined) throw new Error('one node only');
    const elsewhere = await RawClient.connect(other.broker.kafkaPort);
    clients.push(elsewhere);
    expect((await init(elsewhere)).errorCode).toBe(16); // NOT_COORDINATOR: the client looks it up again
    const d = await at.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['tx-cluster'] });
    expect(d.transactionStates[0]).toMatchObject({
      errorCode: 0,
      transactionState: 'Empty',
      producerId: r.producerId,
    });
  } finally {
    for (const x of clients) x.close();
  }
});

test('a transaction over partitions led by different nodes: markers and KIP-890 verification between nodes, read_committed sees commits only', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'txn-cluster', numPartitions: 6, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  // The six partitions' leaders spread over the three nodes (moved there when an election left
  // them elsewhere), so that markers and verifications cross nodes whichever node coordinates.
  for (let p = 0; p < 6; p++) {
    const target = nodes[p % nodes.length] as Node;
    const leader = await until(`a leader of txn-cluster-${p}`, () => leaderOf('txn-cluster', p));
    if (leader !== target) {
      const r = [...(leader.composed?.partitions.replicas() ?? [])].find(
        (x) => x.topic === 'txn-cluster' && x.partition === p,
      ) as unknown as { transferLeadership(to: number, windowMs: number): void };
      r.transferLeadership(target.id, 2000);
      await until(`txn-cluster-${p} led by node ${target.id}`, () =>
        leaderOf('txn-cluster', p) === target ? true : undefined,
      );
    }
  }

  const producer = kafka().producer({
    transactionalId: 'tx-spread',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const send = async (commit: boolean, tag: string): Promise<void> => {
    const t = await producer.transaction();
    for (let p = 0; p < 6; p++)
      await t.send({ topic: 'txn-cluster', messages: [{ partition: p, value: `${tag}-${p}` }] });
    if (commit) await t.commit();
    else await t.abort();
  };
  await send(true, 'c1');
  await send(false, 'a1');
  await send(true, 'c2');
  await producer.disconnect();

  const consumer = kafka().consumer({ groupId: 'txn-cluster-reader', readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: 'txn-cluster', fromBeginning: true });
  const seen: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
  await until('the committed records read', () => (seen.length >= 12 ? true : undefined), 30_000);
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  expect(seen.sort()).toEqual(
    ['c1', 'c2'].flatMap((tag) => [0, 1, 2, 3, 4, 5].map((p) => `${tag}-${p}`)).sort(),
  );
});

test('a replica whose Raft log is corrupt on disk is reported (not-opened, the file named), then rebuilt from the others: a learner, then a voter with every record', async () => {
  const { victim, groupDir } = await stopAFollower('corrupt-replica', 5);

  // A bit flip in the payload of the group's first log record (valid records follow: corruption).
  const logDir = path.join(groupDir, 'log');
  const segment = (await victim.disk.readdir(logDir)).find((f) => f.endsWith('.log')) as string;
  const bytes = Buffer.from(victim.disk.readFileNow(path.join(logDir, segment)));
  bytes[40 + 32 + 1] = bytes[40 + 32 + 1]! ^ 0x01;
  victim.disk.writeFileNow(path.join(logDir, segment), bytes);

  const restarted = await start(victim.id, victim.disk);
  nodes[nodes.indexOf(victim)] = restarted;
  const status = await until('the damaged replica reported', () =>
    restarted.composed?.partitions
      .statuses()
      .find((s) => s.topic === 'corrupt-replica' && s.state !== 'online'),
  );
  expect(status).toMatchObject({ role: 'none', state: 'not-opened' });
  expect(status.error).toContain(segment);
  // The partition goes on with the other two replicas meanwhile.
  await sendAfterRestart(restarted, 'corrupt-replica');
  await repaired(restarted, 'corrupt-replica', 6);
  await readBackFrom(restarted, 'corrupt-replica', ['v0', 'v1', 'v2', 'v3', 'v4', 'after']);
});

test('a replica whose group folder was deleted does not come back as an empty voter: REPLICA_STATE_LOST, then rebuilt as a learner and promoted', async () => {
  const { victim, groupDir } = await stopAFollower('lost-folder', 1);
  await victim.disk.removeTree(groupDir);

  const restarted = await start(victim.id, victim.disk);
  nodes[nodes.indexOf(victim)] = restarted;
  const status = await until('the lost replica reported', () =>
    restarted.composed?.partitions.statuses().find((s) => s.topic === 'lost-folder' && s.state !== 'online'),
  );
  expect(status).toMatchObject({ role: 'none', state: 'not-opened' });
  expect(status.error).toContain('is gone');
  await sendAfterRestart(restarted, 'lost-folder');
  await repaired(restarted, 'lost-folder', 2);
  // The rebuild's mark is gone once the replica opens normally (after a restart).
  const raftDir = path.dirname(groupDir);
  await restarted.broker.stop();
  const again = await start(restarted.id, restarted.disk);
  nodes[nodes.indexOf(restarted)] = again;
  await until('the rebuilt replica online after a restart', () =>
    again.composed?.partitions.statuses().find((s) => s.topic === 'lost-folder' && s.state === 'online'),
  );
  expect((await again.disk.readdir(raftDir)).filter((n) => n.includes('.rebuild-'))).toEqual([]);
  await readBackFrom(again, 'lost-folder', ['v0', 'after']);
});

/**
 * Waits until `node`'s replica of `topic`-0 is repaired: online, a voter of its group again, no
 * repair left in the metadata, and holding `records` records like the leader.
 */
async function repaired(node: Node, topic: string, records: number): Promise<void> {
  await until(
    `${topic} rebuilt on node ${node.id}`,
    () => {
      const s = node.composed?.partitions.statuses().find((x) => x.topic === topic);
      const leader = leaderOf(topic, 0);
      const voters =
        leader?.composed?.partitions.statuses().find((x) => x.topic === topic) && groupVoters(leader, topic);
      return s?.state === 'online' &&
        s.repair === undefined &&
        s.highWatermark === BigInt(records) &&
        voters?.includes(node.id)
        ? true
        : undefined;
    },
    30_000,
  );
}

/** The voters of `topic`-0's group as `node` (its leader) sees them. */
function groupVoters(node: Node, topic: string): readonly number[] | undefined {
  for (const r of node.composed?.partitions.replicas() ?? [])
    if (r.topic === topic && 'group' in r)
      return (r as unknown as { group: { status(): { voters: readonly number[] } } }).group.status().voters;
  return undefined;
}

/** Moves the leadership of `topic`-0 to `node` and reads the partition from the start through it. */
async function readBackFrom(node: Node, topic: string, values: string[]): Promise<void> {
  const leader = await until('a leader', () => leaderOf(topic, 0));
  if (leader !== node) {
    const r = [...(leader.composed?.partitions.replicas() ?? [])].find(
      (x) => x.topic === topic,
    ) as unknown as {
      transferLeadership(to: number, windowMs: number): void;
    };
    r.transferLeadership(node.id, 2000);
    await until('the rebuilt replica leads', () => (leaderOf(topic, 0) === node ? true : undefined));
  }
  const consumer = kafka().consumer({ groupId: `read-back-${topic}` });
  await consumer.connect();
  const seen: string[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
  await until('every record read back', () => (seen.length >= values.length ? true : undefined));
  await consumer.disconnect();
  expect(seen).toEqual(values);
}

/**
 * Creates `topic` (one partition, RF 3), produces `records` with acks=all, waits until a follower
 * holds them all, and stops that follower; returns it and its group folder.
 */
async function stopAFollower(topic: string, records: number): Promise<{ victim: Node; groupDir: string }> {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka().producer({ idempotent: true });
  await producer.connect();
  for (let i = 0; i < records; i++) await producer.send({ topic, acks: -1, messages: [{ value: `v${i}` }] });
  await producer.disconnect();
  const leader = await until('a leader', () => leaderOf(topic, 0));
  const victim = nodes.find((n) => n !== leader && n.composed !== undefined) as Node;
  const topicId = victim.composed?.services.metadata.topic(topic)?.topicId as string;
  await until('the follower holds every record', () =>
    victim.composed?.partitions.statuses().find((s) => s.topic === topic)?.highWatermark === BigInt(records)
      ? true
      : undefined,
  );
  await victim.broker.stop();
  victim.composed = undefined;
  return {
    victim,
    groupDir: path.join(config(victim.id).dataDir, 'raft', `group-${partitionGroupId(topicId, 0)}`),
  };
}

/** Waits until every node's metadata names `restarted` at its new port. */
async function registeredEverywhere(restarted: Node): Promise<void> {
  await until('the restarted node registered at its new port everywhere', () =>
    nodes.every((n) =>
      n.composed?.services.metadata
        .brokers()
        .some((b) => b.nodeId === restarted.id && b.port === restarted.broker.kafkaPort),
    )
      ? true
      : undefined,
  );
}

/** Once every node names `restarted` at its new port, an acks=all send to `topic` succeeds. */
async function sendAfterRestart(restarted: Node, topic: string): Promise<void> {
  await registeredEverywhere(restarted);
  const producer = kafka().producer({ idempotent: true });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: 'after' }] });
  } finally {
    await producer.disconnect();
  }
}
