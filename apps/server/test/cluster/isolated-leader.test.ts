// A partition leader cut off from its followers steps down (check-quorum); from then on its
// Metadata answers must not keep naming it leader, or clients that refresh metadata from it come
// straight back and loop on NOT_LEADER_OR_FOLLOWER until the cut heals (chaos finding 1). The
// followers are paused with SIGSTOP, which cuts the leader off while its Kafka port stays reachable.
import {
  ApiKey,
  ErrorCode,
  buildRecordBatch,
  defaultMetadataRequest,
  defaultMetadataRequestTopic,
  defaultProduceRequest,
} from '@chronik/protocol';
import { coordinatorPartition } from '@chronik/metadata';
import { Kafka, logLevel } from 'kafkajs';
import { RawClient } from '../helpers/raw-client.js';
import { TestCluster, waitFor } from './cluster-helper.js';

jest.setTimeout(120_000);

let cluster: TestCluster;
const paused: number[] = [];

/** Partition 0 of `cut` in a Metadata (v12) answer. */
async function partitionMetadata(client: RawClient) {
  const res = await client.request(ApiKey.Metadata, 12, {
    ...defaultMetadataRequest(),
    allowAutoTopicCreation: false,
    topics: [{ ...defaultMetadataRequestTopic(), name: 'cut' }],
  });
  const p = res.topics[0]?.partitions[0];
  if (p === undefined) throw new Error('no partition 0 in the Metadata answer');
  return p;
}

async function leaderNamedBy(id: number): Promise<number> {
  const c = await RawClient.connect(cluster.node(id).kafkaPort);
  try {
    return (await partitionMetadata(c)).leaderId;
  } finally {
    c.close();
  }
}

beforeAll(async () => {
  cluster = await TestCluster.started(3);
});

afterAll(async () => {
  for (const id of paused) cluster.node(id).proc?.kill('SIGCONT');
  await cluster?.destroy();
});

test('a leader cut off from its followers stops naming itself leader in Metadata', async () => {
  const admin = new Kafka({
    clientId: 'isolated-leader-test',
    brokers: cluster.brokers(),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 20 },
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'cut', numPartitions: 1, replicationFactor: 3 }] });
  } finally {
    await admin.disconnect();
  }
  const leader = await cluster.waitForLeader('cut', 0);
  const client = await RawClient.connect(cluster.node(leader).kafkaPort);
  const metadata = () => partitionMetadata(client);
  const coordinator = async (key: string) =>
    client.request(ApiKey.FindCoordinator, 3, { key, keyType: 0, coordinatorKeys: [] });
  // A group whose coordinator partition the node to be cut off leads.
  // The first lookup creates __consumer_offsets; answers come once its leaders are elected.
  await waitFor('__consumer_offsets', async () =>
    (await coordinator('probe')).errorCode === ErrorCode.NONE ? true : undefined,
  );
  const offsetsLeaders = await Promise.all(
    [0, 1, 2].map((p) => cluster.waitForLeader('__consumer_offsets', p)),
  );
  const group = Array.from({ length: 200 }, (_, i) => `group-${i}`).find(
    (g) => offsetsLeaders[coordinatorPartition(g, 3)] === leader,
  );
  if (group === undefined) throw new Error(`node ${leader} leads no __consumer_offsets partition`);
  await waitFor('FindCoordinator names the leader', async () =>
    (await coordinator(group)).nodeId === leader ? true : undefined,
  );
  try {
    // Before the cut, the leader names itself, in Metadata as in the admin API.
    await waitFor(
      'Metadata names the leader',
      async () => ((await metadata()).leaderId === leader ? true : undefined),
      30_000,
    );

    for (const id of [1, 2, 3].filter((i) => i !== leader)) {
      cluster.node(id).proc?.kill('SIGSTOP');
      paused.push(id);
    }
    // An acks=all produce sent now cannot commit; once the leader steps down it is answered
    // NOT_LEADER_OR_FOLLOWER (within RawClient's 5 s), not held for as long as the cut lasts.
    const produced = await client.request(ApiKey.Produce, 9, {
      ...defaultProduceRequest(),
      acks: -1,
      timeoutMs: 30_000,
      topicData: [
        {
          name: 'cut',
          partitionData: [
            {
              index: 0,
              records: buildRecordBatch({
                records: [{ value: Buffer.from('cut-off') }],
                timestampMs: BigInt(Date.now()),
              }),
            },
          ],
        },
      ],
    });
    expect(produced.responses[0]?.partitionResponses[0]?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // Check-quorum makes the replica step down within an election timeout or two; Metadata must
    // follow: no leader (LEADER_NOT_AVAILABLE), never this node again while it is cut off.
    const stale = await waitFor(
      'the cut-off node stops naming itself leader',
      async () => {
        const role = (await cluster.partitions(leader, 'cut'))[0]?.role;
        if (role === 'leader') return undefined;
        return metadata();
      },
      30_000,
      200,
    );
    expect(stale.leaderId).not.toBe(leader);
    expect(stale.leaderId).toBe(-1);
    expect(stale.errorCode).toBe(ErrorCode.LEADER_NOT_AVAILABLE);
    // FindCoordinator likewise, once the coordinator partition's replica here has stepped down.
    const found = await waitFor(
      'the cut-off node stops naming itself coordinator',
      async () => {
        const r = await coordinator(group);
        return r.nodeId === leader ? undefined : r;
      },
      30_000,
      200,
    );
    expect(found.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    // And it stays that way while the cut lasts.
    for (let i = 0; i < 5; i++) {
      expect((await metadata()).leaderId).not.toBe(leader);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    for (const id of paused.splice(0)) cluster.node(id).proc?.kill('SIGCONT');
    client.close();
  }
  // Healed: a leader is elected again and every node's Metadata names it.
  const after = await cluster.waitForLeader('cut', 0);
  await waitFor(
    'every node names the new leader',
    async () => {
      const named = await Promise.all([1, 2, 3].map(leaderNamedBy));
      return named.every((n) => n === after) ? true : undefined;
    },
    30_000,
    200,
  );
});
