// ElectLeaders (KIP-460) on three brokers in one process, with raw requests (@chronik/protocol;
// kafkajs 2.2.4 and confluent-kafka-python 1.7 have no electLeaders): the preferred replica takes
// the leadership on demand — asked on the leader's node or on another (forwarded between nodes) —
// ELECTION_NOT_NEEDED when it leads already, PREFERRED_LEADER_NOT_AVAILABLE when it is out of the
// ISR, UNCLEAN answered as Kafka does where no unclean election is needed, every partition at once
// leaving out those that need none, v0 (preferred only) too.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { RawClient } from '../helpers/raw-client.js';
import { InProcessCluster, until } from './in-process-cluster.js';

jest.setTimeout(120_000);

const cluster = new InProcessCluster({ ids: [1, 2, 3], replicaLagMaxMs: 2000 });

beforeAll(() => cluster.startAll());
afterAll(() => cluster.stop());

function partitionInfo(topic: string, partition = 0) {
  const up = cluster.nodes.find((n) => n.composed !== undefined);
  return up?.composed?.store.state.partition(topic, partition);
}

async function createTopic(topic: string, replicas: number[][]): Promise<void> {
  const admin = cluster.kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, replicaAssignment: replicas.map((r, partition) => ({ partition, replicas: r })) }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

async function elect(
  at: number,
  topicPartitions: Array<{ topic: string; partitions: number[] }> | null,
  electionType = 0,
  version = 2,
) {
  const raw = await RawClient.connect(cluster.node(at).broker.kafkaPort);
  try {
    const r = await raw.request(
      ApiKey.ElectLeaders,
      version,
      { electionType, topicPartitions, timeoutMs: 20_000 },
      30_000,
    );
    return r.replicaElectionResults.flatMap((t) =>
      t.partitionResult.map((p) => ({
        topic: t.topic,
        partition: p.partitionId,
        code: p.errorCode,
        message: p.errorMessage,
      })),
    );
  } finally {
    raw.close();
  }
}

/** Reorders the replicas (no data moves): the preferred replica becomes `replicas[0]`. */
async function reorder(
  topic: string,
  replicas: number[],
  running: readonly number[] = [1, 2, 3],
): Promise<void> {
  const raw = await RawClient.connect(cluster.node(1).broker.kafkaPort);
  try {
    const r = await raw.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas }] }],
    });
    expect(r.responses[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
  } finally {
    raw.close();
  }
  // Every running node's own metadata has the new order (each applies it in its own time).
  await until('the new order on every running node', () =>
    running.every(
      (id) => cluster.node(id).composed?.store.state.partition(topic, 0)?.replicas.join() === replicas.join(),
    )
      ? true
      : undefined,
  );
}

test('PREFERRED moves leadership to the preferred replica, asked on the leader or on another node', async () => {
  await createTopic('elect', [[1, 2, 3]]);
  const leader = await until('a leader', () => cluster.leaderOf('elect', 0)?.id);
  // Make another replica the preferred one, then ask a node that does not lead for the election.
  const preferred = leader === 2 ? 3 : 2;
  await reorder('elect', [preferred, ...[1, 2, 3].filter((b) => b !== preferred)]);
  const asked = [1, 2, 3].find((b) => b !== leader && b !== preferred) as number;
  const started = Date.now();
  expect(await elect(asked, [{ topic: 'elect', partitions: [0] }])).toEqual([
    { topic: 'elect', partition: 0, code: ErrorCode.NONE, message: null },
  ]);
  expect(cluster.leaderOf('elect', 0)?.id).toBe(preferred);
  // On demand: well before the supervisor would have handed it back by itself (10 s).
  expect(Date.now() - started).toBeLessThan(5000);
  // Again: nothing to do.
  const again = await elect(preferred, [{ topic: 'elect', partitions: [0] }]);
  expect(again[0]?.code).toBe(ErrorCode.ELECTION_NOT_NEEDED);
  // On the leader's own node, with v0 (preferred elections only).
  const next = preferred === 2 ? 3 : 2;
  await reorder('elect', [next, ...[1, 2, 3].filter((b) => b !== next)]);
  expect((await elect(preferred, [{ topic: 'elect', partitions: [0] }], 0, 0))[0]?.code).toBe(ErrorCode.NONE);
  expect(cluster.leaderOf('elect', 0)?.id).toBe(next);
});

test('UNCLEAN: ELECTION_NOT_NEEDED with a leader; unknown partitions; every partition at once leaves out those that need none', async () => {
  await createTopic('unclean', [
    [1, 2, 3],
    [2, 3, 1],
  ]);
  expect((await elect(1, [{ topic: 'unclean', partitions: [0] }], 1))[0]?.code).toBe(
    ErrorCode.ELECTION_NOT_NEEDED,
  );
  const unknown = await elect(1, [
    { topic: 'unclean', partitions: [7] },
    { topic: 'no-such-topic', partitions: [0] },
  ]);
  expect(unknown.map((r) => r.code)).toEqual([
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ]);
  // Every partition of every topic: only those that moved (or failed) are listed.
  await until('every preferred replica leads', () =>
    ['unclean', 'elect'].every((t) =>
      [0, 1].every((p) => {
        const info = partitionInfo(t, p);
        return info === undefined || cluster.leaderOf(t, p)?.id === info.replicas[0];
      }),
    )
      ? true
      : undefined,
  );
  const all = await elect(3, null);
  expect(all.filter((r) => r.code === ErrorCode.ELECTION_NOT_NEEDED)).toEqual([]);
});

test('PREFERRED_LEADER_NOT_AVAILABLE while the preferred replica is out of the ISR', async () => {
  await createTopic('away', [[1, 2, 3]]);
  const leader = await until('a leader', () => cluster.leaderOf('away', 0)?.id);
  const preferred = leader === 3 ? 2 : 3;
  const stopped = cluster.node(preferred);
  await stopped.broker.stop();
  await until('the stopped replica out of the ISR', () =>
    partitionInfo('away')?.isr.includes(preferred) === false ? true : undefined,
  );
  await reorder(
    'away',
    [preferred, ...[1, 2, 3].filter((b) => b !== preferred)],
    [1, 2, 3].filter((b) => b !== preferred),
  );
  // Ask the node leading now, once its own metadata has the new order and the ISR without the
  // stopped replica (a loaded machine applies them later on some nodes than on others).
  const asked = await until('a leader that sees the reorder and the ISR', () => {
    const id = cluster.leaderOf('away', 0)?.id;
    const info = id === undefined ? undefined : cluster.node(id).composed?.store.state.partition('away', 0);
    return info !== undefined && info.replicas[0] === preferred && !info.isr.includes(preferred)
      ? id
      : undefined;
  });
  const r = await elect(asked, [{ topic: 'away', partitions: [0] }]);
  expect(r[0]?.code).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  expect(r[0]?.message).toMatch(/not in the ISR/);
  await cluster.start(preferred, stopped.disk);
});
