// Group coordinator behaviours of issue 26 that hang on broker flags, on a 3-node cluster (in one
// process) started with `--group-consumer-migration-policy disabled` and a short
// `offsets.retention.minutes` (2 s here; the flag's unit is minutes), with real clients:
// - a consumer-protocol member (@platformatic/kafka, KIP-848) may not upgrade a running kafkajs
//   classic group;
// - DescribeGroups (kafkajs) of a consumer-protocol group answers Dead without an error, as Kafka
//   up to v5;
// - static membership under the consumer protocol: a live instance id is not given to a second
//   member, its successor takes it once it left; and, wire-level since no client here sends it,
//   after a temporary leave (epoch -2) the successor keeps the epoch and the partitions;
// - the committed offsets of an empty kafkajs group expire and the group is deleted, durably: a
//   new coordinator does not bring them back.
// Their one-node versions are in groups/mixed-groups.test.ts, groups/consumer-handlers.test.ts,
// groups/consumer-coordinator.test.ts and groups/offsets.test.ts.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { ApiKey } from '@chronik/protocol';
import type { Kafka } from 'kafkajs';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from './cluster-helper.js';
import { InProcessCluster, until } from './in-process-cluster.js';

jest.setTimeout(120_000);
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

const RETENTION_MS = 2000;

const cluster = new InProcessCluster({
  ids: [1, 2, 3],
  // Election timeouts of 1 s: a loaded machine must not move leaders under the clients.
  raft: { electionTicks: 50, partitionElectionTicks: 50 },
  broker: {
    groupConsumerMigrationPolicy: 'disabled',
    groupConsumerHeartbeatIntervalMs: 500,
    offsetsRetentionMs: RETENTION_MS,
  },
  // offsets.retention.check.interval.ms (no flag): Kafka's 10 minutes would outlast the test.
  groupConfig: { offsetsRetentionCheckIntervalMs: 200 },
});
beforeAll(() => cluster.startAll());
afterAll(() => cluster.stop());

let kafka: Kafka;
beforeAll(() => {
  kafka = cluster.kafka();
});

type Event = Record<string, unknown> & { name: string; event: string };

/**
 * The @platformatic/kafka consumer-protocol members of this file, in one child process
 * (scripts/platformatic-member.mjs), started with the cluster so its start-up costs no test time.
 */
const driver = spawn(
  process.execPath,
  [path.join(__dirname, '..', 'groups', 'scripts', 'platformatic-member.mjs')],
  {
    cwd: path.join(__dirname, '..', '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const events: Event[] = [];
readline.createInterface({ input: driver.stdout }).on('line', (line) => {
  try {
    events.push(JSON.parse(line) as Event);
  } catch {
    // not an event
  }
});
const driverExited = new Promise<void>((resolve) => driver.on('close', () => resolve()));
afterAll(async () => {
  driver.stdin.write('exit\n');
  const timer = setTimeout(() => driver.kill('SIGKILL'), 15_000);
  await driverExited;
  clearTimeout(timer);
});

let members = 0;

/** A consumer-protocol member of `group` consuming `topic`, static with `instanceId`. */
class PlatformaticMember {
  readonly name = `m${++members}`;

  constructor(group: string, topic: string, instanceId?: string) {
    const bootstrap = cluster.nodes.map((n) => `127.0.0.1:${n.broker.kafkaPort}`).join(',');
    driver.stdin.write(`start ${this.name} ${bootstrap} ${group} ${topic} ${instanceId ?? ''}\n`);
  }

  /** The member's first event (by now or later) that `match` accepts. */
  next(what: string, match: (e: Event) => boolean, timeoutMs = 30_000): Promise<Event> {
    return until(what, () => events.find((e) => e.name === this.name && match(e)), timeoutMs);
  }

  assigned(partitions: number[]): Promise<Event> {
    return this.next(`assigned ${JSON.stringify(partitions)}`, (e) => {
      return e.event === 'assigned' && JSON.stringify(e['partitions']) === JSON.stringify(partitions);
    });
  }

  /** Leaves the group (a ConsumerGroupHeartbeat with epoch -1) and closes (if it did not already). */
  async close(): Promise<void> {
    driver.stdin.write(`close ${this.name}\n`);
    await this.next(`${this.name} closed`, (e) => e.event === 'closed', 15_000);
  }
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
}

test('group.consumer.migration.policy=disabled: a consumer-protocol member may not upgrade a running classic group', async () => {
  await createTopic('mig', 2);
  const admin = kafka.admin();
  await admin.connect();
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: 4, name: '2', configNames: ['group.consumer.migration.policy'] }],
  });
  expect(configs.resources[0]?.configEntries[0]).toMatchObject({
    configName: 'group.consumer.migration.policy',
    configValue: 'disabled',
  });
  const classic = kafka.consumer({
    groupId: 'mig-group',
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  let joined = false;
  classic.on(classic.events.GROUP_JOIN, () => (joined = true));
  await classic.connect();
  await classic.subscribe({ topic: 'mig', fromBeginning: true });
  await classic.run({ eachMessage: async () => undefined });
  await until('the classic group formed', () => (joined ? true : undefined));

  const plt = new PlatformaticMember('mig-group', 'mig');
  try {
    const refused = await plt.next('the consumer-protocol member refused', (e) => e.event === 'error');
    expect(refused).toMatchObject({
      code: 'GROUP_ID_NOT_FOUND',
      message: 'Cannot upgrade classic group mig-group to consumer group because online upgrade is disabled.',
    });
  } finally {
    await plt.close();
  }
  // The classic group goes on, untouched.
  const described = await admin.describeGroups(['mig-group']);
  expect(described.groups[0]).toMatchObject({ errorCode: 0, state: 'Stable', protocolType: 'consumer' });
  expect(described.groups[0]?.members).toHaveLength(1);
  await classic.disconnect();
  await admin.disconnect();
});

test('a consumer-protocol group with a static member: DescribeGroups answers Dead; its instance id is not given to a second member while it lives, and is to its successor', async () => {
  await createTopic('cp', 2);
  const first = new PlatformaticMember('cp-group', 'cp', 'instance-1');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const assigned = await first.assigned([0, 1]);
    // DescribeGroups up to v5 (kafkajs) knows only classic groups: Dead, no error, as Kafka answers.
    const described = await admin.describeGroups(['cp-group']);
    expect(described.groups[0]).toMatchObject({
      groupId: 'cp-group',
      errorCode: 0,
      state: 'Dead',
      members: [],
    });
    // ConsumerGroupDescribe (no client here sends it) shows the static member.
    expect(await describeMembers('cp-group')).toEqual([
      { memberId: assigned['memberId'], instanceId: 'instance-1' },
    ]);

    const second = new PlatformaticMember('cp-group', 'cp', 'instance-1');
    try {
      const refused = await second.next('the second instance-1 refused', (e) => e.event === 'error');
      expect(refused['code']).toBe('UNRELEASED_INSTANCE_ID');
    } finally {
      await second.close();
    }
    expect((await describeMembers('cp-group')).map((m) => m.memberId)).toEqual([assigned['memberId']]);
  } finally {
    await first.close();
  }
  const successor = new PlatformaticMember('cp-group', 'cp', 'instance-1');
  try {
    const taken = await successor.assigned([0, 1]);
    expect(taken['memberId']).not.toBe(undefined);
    expect(await describeMembers('cp-group')).toEqual([
      { memberId: taken['memberId'], instanceId: 'instance-1' },
    ]);
  } finally {
    await successor.close();
    await admin.disconnect();
  }
});

/** The node coordinating `group` (FindCoordinator, retried while __consumer_offsets is created). */
async function coordinatorOf(group: string): Promise<number> {
  const any = await RawClient.connect(cluster.node(1).broker.kafkaPort);
  try {
    return await waitFor(`the coordinator of ${group}`, async () => {
      const f = await any.request(ApiKey.FindCoordinator, 4, {
        key: '',
        keyType: 0,
        coordinatorKeys: [group],
      });
      return f.coordinators[0]?.errorCode === 0 ? f.coordinators[0].nodeId : undefined;
    });
  } finally {
    any.close();
  }
}

/** ConsumerGroupDescribe of `group` asked of its coordinator (no client here sends it). */
async function consumerGroupDescribe(group: string) {
  const c = await RawClient.connect(cluster.node(await coordinatorOf(group)).broker.kafkaPort);
  try {
    const d = await c.request(ApiKey.ConsumerGroupDescribe, 0, {
      groupIds: [group],
      includeAuthorizedOperations: false,
    });
    expect(d.groups[0]?.errorCode).toBe(0);
    return d.groups[0];
  } finally {
    c.close();
  }
}

/** The members of a consumer-protocol group: their ids and instance ids. */
async function describeMembers(
  group: string,
): Promise<Array<{ memberId: string; instanceId: string | null }>> {
  const g = await consumerGroupDescribe(group);
  return (g?.members ?? []).map((m) => ({ memberId: m.memberId, instanceId: m.instanceId }));
}

test("a static member's temporary leave (epoch -2, which no client here sends): its successor takes its epoch and partitions, no new group epoch", async () => {
  const group = 'cp-static-raw';
  const c = await RawClient.connect(cluster.node(await coordinatorOf(group)).broker.kafkaPort);
  try {
    const heartbeat = (
      memberId: string,
      memberEpoch: number,
      owned: Array<{ topicId: string; partitions: number[] }>,
    ) =>
      c.request(ApiKey.ConsumerGroupHeartbeat, 1, {
        groupId: group,
        memberId,
        memberEpoch,
        instanceId: 'instance-r',
        rackId: null,
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: ['cp'],
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: owned,
      });
    const owned = (r: Awaited<ReturnType<typeof heartbeat>>) =>
      (r.assignment?.topicPartitions ?? []).map((t) => ({
        topicId: t.topicId,
        partitions: [...t.partitions].sort(),
      }));
    const joined = await heartbeat('member-a', 0, []);
    expect(joined.errorCode).toBe(0);
    expect(owned(joined)[0]?.partitions).toEqual([0, 1]);
    expect((await heartbeat('member-a', joined.memberEpoch, owned(joined))).errorCode).toBe(0);
    const before = await consumerGroupDescribe(group);
    const left = await heartbeat('member-a', -2, owned(joined));
    expect(left).toMatchObject({ errorCode: 0, memberEpoch: -2 });
    const successor = await heartbeat('member-b', 0, []);
    expect(successor).toMatchObject({ errorCode: 0, memberId: 'member-b', memberEpoch: joined.memberEpoch });
    expect(owned(successor)).toEqual(owned(joined));
    const after = await consumerGroupDescribe(group);
    expect(after?.groupEpoch).toBe(before?.groupEpoch);
    expect(after?.members.map((m) => [m.memberId, m.instanceId])).toEqual([['member-b', 'instance-r']]);
    expect((await heartbeat('member-b', -1, [])).errorCode).toBe(0);
  } finally {
    c.close();
  }
});

test('offsets.retention.minutes: the offsets of an empty kafkajs group expire and the group is deleted; a new coordinator does not bring them back', async () => {
  await createTopic('ret', 1);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'ret', acks: -1, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({
    groupId: 'ret-group',
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: 'ret', fromBeginning: true });
  let read = 0;
  await consumer.run({ eachMessage: async () => void read++ });
  await until('the group read the topic', () => (read === 3 ? true : undefined));
  // kafkajs commits what it consumed as it stops; the group is Empty from now on.
  await consumer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const committed = async () =>
    (await admin.fetchOffsets({ groupId: 'ret-group', topics: ['ret'] }))[0]?.partitions[0]?.offset;
  const listed = async () => (await admin.listGroups()).groups.map((g) => g.groupId).includes('ret-group');
  expect(await committed()).toBe('3');
  const emptied = Date.now();
  await waitFor(
    'the offsets expired',
    async () => ((await committed()) === '-1' && !(await listed()) ? true : undefined),
    15_000,
    50,
  );
  expect(Date.now() - emptied).toBeGreaterThanOrEqual(RETENTION_MS - 500);

  // The expiry is in __consumer_offsets (tombstones): the partition's next leader loads it so.
  const offsetsPartition = cluster.node(1).composed?.services.groups.partitionFor('ret-group') as number;
  const leader = await until('the leader of the group partition', () =>
    cluster.leaderOf('__consumer_offsets', offsetsPartition),
  );
  const replica = [...(leader.composed?.partitions.replicas() ?? [])].find(
    (r) => r.topic === '__consumer_offsets' && r.partition === offsetsPartition,
  ) as unknown as { transferLeadership(to: number, windowMs: number): void };
  replica.transferLeadership(leader.id === 1 ? 2 : 1, 2000);
  const next = await until('a new leader of the group partition', () => {
    const l = cluster.leaderOf('__consumer_offsets', offsetsPartition);
    return l !== undefined && l !== leader ? l : undefined;
  });
  expect(next.id).not.toBe(leader.id);
  expect(await waitFor('the new coordinator answers', committed)).toBe('-1');
  expect(await listed()).toBe(false);
  await admin.disconnect();
});
