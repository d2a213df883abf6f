// Log compaction in a 3-node raft-cluster inside one process (in-memory network, simulated disks;
// docs/design/compaction.md): the leader cleans, every replica applies its relocation entries, and
// the three replicas hold byte-identical logs — before and after the leadership moves and the new
// leader cleans on from the same chain. kafkajs writes updates and deletes, kcat and a kafkajs
// group read the last value per key. `__consumer_offsets` is compacted by the same cleaner (the
// coordinator's own snapshots turned off) and a coordinator that loads the compacted partition
// finds the committed offsets, and a deleted group stays deleted. kafkajs's alterConfigs turns an
// existing topic to cleanup.policy=compact (every node applies it, the leader cleans it); kcat's
// tombstones stay for delete.retention.ms, then a later pass removes them on every replica; an
// idempotent producer's batch emptied by the cleaner keeps its sequence on every replica, so the
// producer goes on after the leadership moves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiKey } from '@chronik/protocol';
import { MemoryNetwork } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker.js';
import type { ServerConfig } from '../../src/config.js';
import type { Composed } from '../../src/modes/compose.js';
import { raftClusterMode } from '../../src/modes/raft-cluster.js';
import type { KafkaLog } from '../../src/partition/kafka-log.js';
import type { ReplicatedPartition } from '../../src/partition/replicated-partition.js';
import type { ManagedPartition } from '../../src/partition/types.js';
import { consumeWithKcat, kcat } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';
import { memoryClusterConfig } from './memory-cluster-config.js';

jest.setTimeout(120_000);
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

const IDS = [1, 2, 3];

interface Node {
  id: number;
  broker: Broker;
  composed: Composed | undefined;
}

let root: string;
let net: MemoryNetwork;
let nodes: Node[] = [];

function config(id: number): ServerConfig {
  return memoryClusterConfig(id, IDS, root, { logCleanerBackoffMs: 100 });
}

async function start(id: number): Promise<Node> {
  const node: Node = { id, broker: undefined as unknown as Broker, composed: undefined };
  node.broker = new Broker(
    config(id),
    { randomId: () => `dir-${id}` },
    raftClusterMode({
      env: { fs: new MemFileSystem() },
      transport: (o) => net.transport(o.nodeId, o.handler),
      // The coordinator's own compaction (snapshots + DeleteRecords) off: the cleaner does it.
      groupConfig: { initialRebalanceDelayMs: 0, compactionMinRecords: 1_000_000_000 },
      onComposed: (c) => (node.composed = c),
    }),
  );
  await node.broker.start();
  return node;
}

function kafka(): Kafka {
  return new Kafka({
    clientId: 'compaction',
    brokers: nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Each node's replica of `topic`-`partition`. */
function replicas(topic: string, partition: number): ManagedPartition[] {
  return nodes.flatMap((n) =>
    [...(n.composed?.partitions.replicas() ?? [])].filter(
      (p) => p.topic === topic && p.partition === partition,
    ),
  );
}
const logOf = (p: ManagedPartition): KafkaLog => (p as unknown as { kafka: KafkaLog }).kafka;

/** Every live batch a replica holds, as stored (read from its own log, leader or not). */
async function storedBytes(p: ManagedPartition): Promise<Buffer> {
  const log = logOf(p);
  return Buffer.concat(await log.readRows(0, log.batchIndex.length - 1, false));
}

/** Waits until the replicas applied the same entries (high watermark, relocation chain), then compares their bytes. */
async function replicasAgree(topic: string, partition: number): Promise<Buffer> {
  const rs = await until(`3 replicas of ${topic}-${partition} in step`, () => {
    const rs = replicas(topic, partition);
    if (rs.length !== 3) return undefined;
    const logs = rs.map(logOf);
    const first = logs[0] as KafkaLog;
    const same = logs.every(
      (l) =>
        l.highWatermark === first.highWatermark &&
        l.lastRelocationPosition === first.lastRelocationPosition &&
        l.logStartOffset === first.logStartOffset,
    );
    return same ? rs : undefined;
  });
  const bytes = await Promise.all(rs.map(storedBytes));
  for (const b of bytes.slice(1)) expect(b.equals(bytes[0] as Buffer)).toBe(true);
  return bytes[0] as Buffer;
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-compaction-'));
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

type Row = { offset: number; key: string; value: string };

function lastPerKey(rows: readonly Row[]): Row[] {
  const last = new Map<string, Row>();
  for (const r of rows) last.set(r.key, r);
  return [...last.values()].sort((a, b) => a.offset - b.offset);
}

async function kcatRows(topic: string): Promise<Row[]> {
  const bootstrap = nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`).join(',');
  return (await consumeWithKcat(bootstrap, topic)).map(({ offset, key, value }) => ({ offset, key, value }));
}

test('the leader cleans, the replicas apply its relocations: byte-identical logs, before and after the leadership moves', async () => {
  const k = kafka();
  const admin = k.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: 'ctable',
        replicationFactor: 3,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.ms', value: '100' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      },
    ],
  });
  const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const rows: Row[] = [];
  const send = async (key: string, value: string | null): Promise<void> => {
    const [r] = await producer.send({ topic: 'ctable', acks: -1, messages: [{ key, value }] });
    rows.push({ offset: Number(r?.baseOffset), key, value: value ?? '' });
  };
  for (let i = 0; i < 60; i++) await send(`k${i % 8}`, `v${i}`);
  await send('k3', null);
  await send('end-1', 'x');
  let expected = lastPerKey(rows);
  await until('the first pass', async () =>
    JSON.stringify(await kcatRows('ctable')) === JSON.stringify(expected) ? true : undefined,
  );
  const first = await replicasAgree('ctable', 0);

  // The leadership moves; the new leader cleans on from the same relocation chain.
  const leader = replicas('ctable', 0).find((p) => p.isLeader()) as ReplicatedPartition;
  const other = IDS.find((id) => !leader.isLeader() || id !== leaderNode(leader)) as number;
  leader.transferLeadership(other, 2000);
  await until('a new leader', () =>
    replicas('ctable', 0).some((p) => p !== leader && p.isLeaderReady()) ? true : undefined,
  );
  for (let i = 0; i < 40; i++) await send(`k${i % 8}`, `w${i}`);
  await send('end-2', 'x');
  expected = lastPerKey(rows);
  await until('the second pass', async () =>
    JSON.stringify(await kcatRows('ctable')) === JSON.stringify(expected) ? true : undefined,
  );
  const second = await replicasAgree('ctable', 0);
  expect(second.equals(first)).toBe(false);

  // A kafkajs group reads the same records.
  const consumer = k.consumer({ groupId: 'ctable-readers' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'ctable', fromBeginning: true });
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
  await until('the group read everything', () => (seen.length >= expected.length ? true : undefined));
  await consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
  expect(seen).toEqual(expected);
});

function leaderNode(p: ManagedPartition): number {
  return (nodes.find((n) => [...(n.composed?.partitions.replicas() ?? [])].includes(p)) as Node).id;
}

test('__consumer_offsets is compacted by the cleaner; a coordinator loading the compacted partition finds the offsets, a deleted group stays deleted', async () => {
  const k = kafka();
  const admin = k.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'src', numPartitions: 1, replicationFactor: 3 }] });
  // The cluster-wide defaults the internal topic takes (it sets only cleanup.policy, compression and segment.bytes).
  const anyNode = nodes[0] as Node;
  const raw = await RawClient.connect(anyNode.broker.kafkaPort);
  const alter = await raw.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [
      {
        resourceType: 4,
        resourceName: '',
        configs: [
          { name: 'log.roll.ms', configOperation: 0, value: '100' },
          { name: 'log.cleaner.min.cleanable.ratio', configOperation: 0, value: '0.01' },
        ],
      },
    ],
    validateOnly: false,
  });
  expect(alter.responses[0]?.errorCode).toBe(0);
  raw.close();
  // A standalone commit (generation -1) to the group's coordinator, retried while it moves.
  const commit = async (groupId: string, offset: number): Promise<void> => {
    await until(`commit ${groupId} ${offset}`, async () => {
      const c = await RawClient.connect(anyNode.broker.kafkaPort);
      try {
        const found = (
          await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [groupId] })
        ).coordinators[0];
        const node = nodes.find((n) => n.id === found?.nodeId);
        if (found?.errorCode !== 0 || node === undefined) return undefined;
        const cc = await RawClient.connect(node.broker.kafkaPort);
        try {
          const r = await cc.request(ApiKey.OffsetCommit, 8, {
            groupId,
            generationIdOrMemberEpoch: -1,
            memberId: '',
            groupInstanceId: null,
            retentionTimeMs: -1n,
            topics: [
              {
                name: 'src',
                partitions: [
                  {
                    partitionIndex: 0,
                    committedOffset: BigInt(offset),
                    committedLeaderEpoch: -1,
                    commitTimestamp: -1n,
                    committedMetadata: null,
                  },
                ],
              },
            ],
          });
          return r.topics[0]?.partitions[0]?.errorCode === 0 ? true : undefined;
        } finally {
          cc.close();
        }
      } finally {
        c.close();
      }
    });
  };
  for (let i = 1; i <= 40; i++) await commit('keeper', i);
  for (let i = 1; i <= 10; i++) await commit('gone', i);
  await admin.deleteGroups(['gone']);
  await commit('keeper', 41);
  await commit('late', 1); // the newest batch of the partition, most likely (never cleaned)

  // The partitions of __consumer_offsets holding these groups are cleaned: few batches stay.
  const groups = (nodes[0] as Node).composed?.services.groups;
  const parts = new Set(['keeper', 'gone'].map((g) => groups?.partitionFor(g) as number));
  for (const p of parts) {
    await until(`__consumer_offsets-${p} cleaned`, () => {
      const leader = replicas('__consumer_offsets', p).find((r) => r.isLeaderReady());
      return leader !== undefined && logOf(leader).firstDirtyOffset > 0n && logOf(leader).batchCount < 10
        ? true
        : undefined;
    });
    await replicasAgree('__consumer_offsets', p);
  }
  // Each such partition's leadership moves: the new coordinator loads the compacted log.
  for (const p of parts) {
    const leader = replicas('__consumer_offsets', p).find((r) => r.isLeaderReady()) as ReplicatedPartition;
    const to = IDS.find((id) => id !== leaderNode(leader)) as number;
    leader.transferLeadership(to, 2000);
    await until(`__consumer_offsets-${p} led elsewhere`, () =>
      replicas('__consumer_offsets', p).some((r) => r !== leader && r.isLeaderReady()) ? true : undefined,
    );
  }
  const fetched = await until('the keeper group loaded', async () => {
    try {
      return await admin.fetchOffsets({ groupId: 'keeper', topics: ['src'] });
    } catch {
      return undefined;
    }
  });
  expect(fetched[0]?.partitions).toEqual([{ partition: 0, offset: '41', metadata: null }]);
  const gone = await admin.fetchOffsets({ groupId: 'gone', topics: ['src'] });
  expect(gone[0]?.partitions[0]?.offset).toBe('-1');
  const listed = await admin.listGroups();
  expect(listed.groups.map((g) => g.groupId)).not.toContain('gone');
  await admin.disconnect();
});

/** Topic configs that let the cleaner run at once: every batch but the newest is cleanable. */
const EAGER = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.ms', value: '100' },
  { name: 'min.cleanable.dirty.ratio', value: '0.01' },
];

async function untilRows(topic: string, expected: Row[]): Promise<void> {
  let got: Row[] = [];
  await until(`${topic} read as the last value per key`, async () => {
    got = await kcatRows(topic);
    return JSON.stringify(got) === JSON.stringify(expected) ? true : undefined;
  }).catch((e: unknown) => {
    throw new Error(`${String(e)}; last read ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  });
}

test("kafkajs's alterConfigs turns an existing replicated topic to cleanup.policy=compact: every node takes it, the leader cleans, the replicas agree", async () => {
  const k = kafka();
  const admin = k.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'altered', replicationFactor: 3 }], waitForLeaders: true });
  const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const rows: Row[] = [];
  const send = async (key: string, value: string | null): Promise<void> => {
    const [r] = await producer.send({ topic: 'altered', acks: -1, messages: [{ key, value }] });
    rows.push({ offset: Number(r?.baseOffset), key, value: value ?? '' });
  };
  for (let i = 0; i < 24; i++) await send(`u${i % 4}`, `v${i}`);
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: 2, name: 'altered', configEntries: EAGER }],
  });
  // Each node answers DescribeConfigs from its own applied metadata: the change reached all three.
  for (const n of nodes) {
    const one = new Kafka({
      clientId: 'compaction-describe',
      brokers: [`127.0.0.1:${n.broker.kafkaPort}`],
      logLevel: logLevel.NOTHING,
    }).admin();
    await one.connect();
    const policy = await until(`node ${n.id} applied cleanup.policy=compact`, async () => {
      const d = await one.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: 'altered', configNames: ['cleanup.policy'] }],
      });
      const v = d.resources[0]?.configEntries[0]?.configValue;
      return v === 'compact' ? v : undefined;
    });
    expect(policy).toBe('compact');
    await one.disconnect();
  }
  await send('u1', null);
  await send('end', 'x');
  await untilRows('altered', lastPerKey(rows));
  await replicasAgree('altered', 0);
  await producer.disconnect();
  await admin.disconnect();
});

test('tombstones stay for delete.retention.ms, then a later pass of the leader removes them on every replica', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: 'expiring',
        replicationFactor: 3,
        configEntries: [...EAGER, { name: 'delete.retention.ms', value: '500' }],
      },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const bootstrap = nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`).join(',');
  const produce = async (lines: string): Promise<void> => {
    const r = await kcat(['-b', bootstrap, '-P', '-t', 'expiring', '-K', ':', '-Z', '-X', 'acks=all'], lines);
    expect(r.code).toBe(0);
  };
  await produce('a:1\nb:1\n');
  await produce('a:\n'); // the tombstone of a (offset 2)
  await produce('c:1\n'); // newest
  await untilRows('expiring', [
    { offset: 1, key: 'b', value: '1' },
    { offset: 2, key: 'a', value: '' },
    { offset: 3, key: 'c', value: '1' },
  ]);
  await replicasAgree('expiring', 0);
  await new Promise((r) => setTimeout(r, 600));
  await produce('d:1\n'); // something dirty, for the next pass
  await produce('e:1\n');
  await untilRows('expiring', [
    { offset: 1, key: 'b', value: '1' },
    { offset: 3, key: 'c', value: '1' },
    { offset: 4, key: 'd', value: '1' },
    { offset: 5, key: 'e', value: '1' },
  ]);
  await replicasAgree('expiring', 0);
});

test("an idempotent producer's batch emptied by the cleaner keeps its sequence on every replica: the producer goes on after the leadership moves", async () => {
  const k = kafka();
  const admin = k.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'emptied', replicationFactor: 3, configEntries: EAGER }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const idem = k.producer({ idempotent: true, maxInFlightRequests: 1 });
  const plain = k.producer();
  await idem.connect();
  await plain.connect();
  await idem.send({ topic: 'emptied', acks: -1, messages: [{ key: 'k', value: 'from-idempotent' }] }); // 0
  await plain.send({ topic: 'emptied', acks: -1, messages: [{ key: 'k', value: 'newer' }] }); // 1
  await plain.send({ topic: 'emptied', acks: -1, messages: [{ key: 'end', value: 'x' }] }); // 2
  await untilRows('emptied', [
    { offset: 1, key: 'k', value: 'newer' },
    { offset: 2, key: 'end', value: 'x' },
  ]);
  await replicasAgree('emptied', 0);
  // Another replica leads: it knows the producer's sequence from the emptied batch it kept.
  const leader = replicas('emptied', 0).find((p) => p.isLeader()) as ReplicatedPartition;
  leader.transferLeadership(IDS.find((id) => id !== leaderNode(leader)) as number, 2000);
  await until('a new leader of emptied-0', () =>
    replicas('emptied', 0).some((p) => p !== leader && p.isLeaderReady()) ? true : undefined,
  );
  const [again] = await idem.send({ topic: 'emptied', acks: -1, messages: [{ key: 'k', value: 'again' }] });
  expect(again?.baseOffset).toBe('3');
  await idem.disconnect();
  await plain.disconnect();
  // (The newest batch is never cleaned: k=newer stays beside it.)
  await untilRows('emptied', [
    { offset: 1, key: 'k', value: 'newer' },
    { offset: 2, key: 'end', value: 'x' },
    { offset: 3, key: 'k', value: 'again' },
  ]);
  await replicasAgree('emptied', 0);
});
