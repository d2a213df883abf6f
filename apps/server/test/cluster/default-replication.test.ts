// raft-cluster mode without --default-replication-factor: auto-created topics and CreateTopics with
// replication factor -1 get min(3, live brokers) replicas (3 here), on every node's view.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { RawClient } from '../helpers/raw-client.js';
import { TestCluster, waitFor } from './cluster-helper.js';

jest.setTimeout(120_000);

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.started(3);
});

afterAll(async () => {
  await cluster?.destroy();
});

async function replicasEverywhere(topic: string, partitions: number): Promise<number[][]> {
  return cluster.withLogs(() =>
    waitFor(`${topic} on every node`, async () => {
      const all = (await Promise.all([1, 2, 3].map((id) => cluster.partitions(id, topic)))).flat();
      return all.length === 3 * partitions ? all.map((p) => [...p.replicas].sort()) : undefined;
    }),
  );
}

describe('raft cluster default replication factor', () => {
  test('an auto-created topic (Metadata on a follower) gets 3 replicas', async () => {
    const c = await RawClient.connect(cluster.node(2).kafkaPort);
    try {
      await waitFor('auto-created topic with a leader', async () => {
        const r = await c.request(ApiKey.Metadata, 12, {
          topics: [{ topicId: ZERO_UUID, name: 'auto-rf' }],
          allowAutoTopicCreation: true,
          includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false,
        });
        const t = r.topics[0];
        const p = t?.partitions[0];
        return t?.errorCode === ErrorCode.NONE && p !== undefined && p.leaderId >= 0 ? p : undefined;
      }).then((p) => expect(p.replicaNodes).toHaveLength(3));
    } finally {
      c.close();
    }
    for (const r of await replicasEverywhere('auto-rf', 1)) expect(r).toEqual([1, 2, 3]);
  });

  test('CreateTopics with replication factor -1 gets 3; an explicit factor is kept', async () => {
    const c = await RawClient.connect(cluster.node(3).kafkaPort);
    try {
      const res = await c.request(ApiKey.CreateTopics, 7, {
        topics: [
          { name: 'rf-default', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] },
          { name: 'rf-one', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        ],
        timeoutMs: 10_000,
        validateOnly: false,
      });
      const byName = new Map(res.topics.map((t) => [t.name, t]));
      expect(byName.get('rf-default')).toMatchObject({ errorCode: ErrorCode.NONE, replicationFactor: 3 });
      expect(byName.get('rf-one')).toMatchObject({ errorCode: ErrorCode.NONE, replicationFactor: 1 });
    } finally {
      c.close();
    }
    for (const r of await replicasEverywhere('rf-default', 2)) expect(r).toEqual([1, 2, 3]);
  });
});
