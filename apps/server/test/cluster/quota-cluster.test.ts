// The quotas of KIP-599 and KIP-612 on a 3-node cluster (in one process): set through one node
// (AlterClientQuotas, replicated metadata), enforced by the others. controller_mutation_rate: a
// strict CreateTopics sent to another node refuses the topic met over the quota with
// THROTTLING_QUOTA_EXCEEDED, and kafkajs's admin (permissive CreateTopics v3) is slowed by the
// throttle; connection_creation_rate: another node holds and closes a connection over the ip's rate.
// Each node enforces what it serves (its own requests and connections), as Kafka's brokers do.
import net from 'node:net';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { RawClient } from '../helpers/raw-client.js';
import { InProcessCluster } from './in-process-cluster.js';

jest.setTimeout(120_000);

const cluster = new InProcessCluster({
  ids: [1, 2, 3],
  clientQuotas: { windowNum: 2, windowSizeSeconds: 1 },
  raft: { electionTicks: 50, partitionElectionTicks: 50 },
});
beforeAll(() => cluster.startAll());
afterAll(() => cluster.stop());

async function connect(id: number, clientId: string, localAddress?: string): Promise<RawClient> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(
      {
        port: cluster.node(id).broker.kafkaPort,
        host: '127.0.0.1',
        ...(localAddress ? { localAddress } : {}),
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  const c = RawClient.over(socket);
  c.clientId = clientId;
  return c;
}

async function alter(
  entity: Array<{ entityType: string; entityName: string | null }>,
  key: string,
  value: number | null,
): Promise<void> {
  const admin = await connect(1, 'quota-admin');
  try {
    const r = await admin.request(ApiKey.AlterClientQuotas, 1, {
      entries: [{ entity, ops: [{ key, value: value ?? 0, remove: value === null }] }],
      validateOnly: false,
    });
    expect(r.entries[0]?.errorCode).toBe(ErrorCode.NONE);
  } finally {
    admin.close();
  }
}

/** Until every node's metadata has the quota (it is applied on each node from the Raft log). */
async function settled(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the quota did not reach every node');
}

test('controller_mutation_rate set on one node throttles CreateTopics on the others', async () => {
  await alter([{ entityType: 'client-id', entityName: 'mutator' }], 'controller_mutation_rate', 1);
  const c = await connect(2, 'mutator');
  try {
    let r = await c.request(ApiKey.CreateTopics, 7, {
      topics: [
        { name: 'cq-a', numPartitions: 4, replicationFactor: 3, assignments: [], configs: [] },
        { name: 'cq-b', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] },
      ],
      timeoutMs: 15_000,
      validateOnly: false,
    });
    // Until node 2 has applied the quota, both may pass: then try again with new names.
    await settled(async () => {
      if (r.topics[1]?.errorCode === ErrorCode.THROTTLING_QUOTA_EXCEEDED) return true;
      const n = Date.now();
      r = await c.request(ApiKey.CreateTopics, 7, {
        topics: [
          { name: `cq-a${n}`, numPartitions: 4, replicationFactor: 3, assignments: [], configs: [] },
          { name: `cq-b${n}`, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] },
        ],
        timeoutMs: 15_000,
        validateOnly: false,
      });
      return r.topics[1]?.errorCode === ErrorCode.THROTTLING_QUOTA_EXCEEDED;
    });
    expect(r.topics[0]?.errorCode).toBe(ErrorCode.NONE);
    expect(r.topics[1]?.errorMessage).toBe('The throttling quota has been exceeded.');
    expect(r.throttleTimeMs).toBeGreaterThan(0);
  } finally {
    c.close();
  }
  // kafkajs's admin on node 3 (CreateTopics v3: served, slowed by the throttle).
  const kafka = new Kafka({
    clientId: 'mutator',
    brokers: [`127.0.0.1:${cluster.node(3).broker.kafkaPort}`],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const started = Date.now();
    for (const name of ['cq-k1', 'cq-k2'])
      await admin.createTopics({ topics: [{ topic: name, numPartitions: 3, replicationFactor: 3 }] });
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(['cq-k1', 'cq-k2']));
  } finally {
    await admin.disconnect();
    await alter([{ entityType: 'client-id', entityName: 'mutator' }], 'controller_mutation_rate', null);
  }
});

test('connection_creation_rate set on one node: another node holds and closes the connection over the rate', async () => {
  await alter([{ entityType: 'ip', entityName: '127.0.0.7' }], 'connection_creation_rate', 1);
  /** Whether a new connection to node 3 from 127.0.0.7 is answered. */
  const answered = async (): Promise<boolean> => {
    const c = await connect(3, 'conn-rate', '127.0.0.7');
    const closed = new Promise<boolean>((resolve) => c.socket.once('close', () => resolve(false)));
    const ok = await Promise.race([
      c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }).then(
        () => true,
        () => false,
      ),
      closed,
    ]);
    c.close();
    return ok;
  };
  try {
    // 1 per second over at least 1 s: once node 3 has the quota, a second connection at once is over it.
    await settled(async () => (await answered()) && !(await answered()));
    // Another address is not concerned.
    const other = await connect(3, 'conn-rate', '127.0.0.8');
    await other.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    other.close();
  } finally {
    await alter([{ entityType: 'ip', entityName: '127.0.0.7' }], 'connection_creation_rate', null);
  }
});
