// A 3-node raft-cluster (in one process, Raft over a MemoryNetwork) with --authorizer acl: the
// nodes reach each other on an SSL inter-broker listener with the node certificate, whose principal
// is a super user; clients come in on a SASL listener as users with ACLs. A kafkajs transaction over
// partitions led by every node commits and aborts (WriteTxnMarkers and the KIP-890 verification
// between nodes pass as the node principal), ACLs created on one node govern the others, and a
// client without a certificate on the inter-broker listener may not send a node's request.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { MemoryNetwork } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import tls from 'node:tls';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker.js';
import type { ServerConfig } from '../../src/config.js';
import type { Composed } from '../../src/modes/compose.js';
import { raftClusterMode } from '../../src/modes/raft-cluster.js';
import { DEFAULT_SASL } from '../../src/security/config.js';
import { makeTestCerts } from '../helpers/certs.js';
import type { TestCerts } from '../helpers/certs.js';
import { RawClient } from '../helpers/raw-client.js';
import { memoryClusterConfig } from './memory-cluster-config.js';

jest.setTimeout(90_000);

const IDS = [1, 2, 3];
const PASSWORD = 'cluster-acl-password';
/** The principal of the node certificate (subject CN=localhost,O=Chronik Tests) on the SSL listener. */
const NODE_PRINCIPAL = 'User:CN=localhost,O=Chronik Tests';

interface Node {
  id: number;
  broker: Broker;
  composed: Composed | undefined;
}

let root: string;
let certs: TestCerts;
let net: MemoryNetwork;
let nodes: Node[] = [];

function config(id: number, passwordFile: string): ServerConfig {
  const listener = (name: string, securityProtocol: 'SSL' | 'SASL_PLAINTEXT') => ({
    name,
    securityProtocol,
    host: '127.0.0.1',
    port: 0,
    advertisedHost: '127.0.0.1',
    advertisedPort: 0,
  });
  return {
    ...memoryClusterConfig(id, IDS, root),
    security: {
      listeners: [listener('INTERNAL', 'SSL'), listener('CLIENTS', 'SASL_PLAINTEXT')],
      interBrokerListenerName: 'INTERNAL',
      tls: {
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        caFile: certs.caFile,
        clientAuth: 'requested',
        handshakeTimeoutMs: 10_000,
      },
      sasl: {
        ...DEFAULT_SASL,
        mechanisms: ['PLAIN', 'SCRAM-SHA-512'],
        failedAuthenticationDelayMs: 0,
        bootstrapUser: { name: 'admin', passwordFile },
      },
      authorizer: { superUsers: ['User:admin', NODE_PRINCIPAL], allowEveryoneIfNoAclFound: false },
    },
  };
}

async function start(id: number): Promise<Node> {
  const passwordFile = path.join(root, 'admin-password');
  const node: Node = { id, broker: undefined as unknown as Broker, composed: undefined };
  // The bootstrap user's password file is read through the node's file system (simulated here).
  const disk = new MemFileSystem();
  await disk.mkdir(root);
  disk.writeFileNow(passwordFile, Buffer.from(PASSWORD));
  node.broker = new Broker(
    config(id, passwordFile),
    { randomId: () => `dir-${id}` },
    raftClusterMode({
      env: { fs: disk },
      transport: (o) => net.transport(o.nodeId, o.handler),
      groupConfig: { initialRebalanceDelayMs: 0 },
      onComposed: (c) => (node.composed = c),
    }),
  );
  await node.broker.start();
  return node;
}

const port = (n: Node, listener: string): number => n.broker.listenerPorts.get(listener) as number;

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function leaderOf(topic: string, partition: number): Node | undefined {
  return nodes.find((n) =>
    n.composed?.partitions
      .statuses()
      .some((s) => s.topic === topic && s.partition === partition && s.role === 'leader'),
  );
}

const kafka = (user: string) =>
  new Kafka({
    clientId: `acl-cluster-${user}`,
    brokers: nodes.map((n) => `127.0.0.1:${port(n, 'CLIENTS')}`),
    sasl: { mechanism: 'scram-sha-512', username: user, password: PASSWORD },
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-acl-cluster-'));
  certs = makeTestCerts(path.join(root, 'certs'));
  fs.writeFileSync(path.join(root, 'admin-password'), PASSWORD);
  net = new MemoryNetwork();
  nodes = await Promise.all(IDS.map((id) => start(id)));
  await until('brokers registered on every node', () =>
    nodes.every((n) => n.composed?.services.metadata.brokers().length === 3) ? true : undefined,
  );
  // The bootstrap user exists once some node committed it; then the admin makes alice and her ACLs.
  const admin = await until('the bootstrap user', () => true).then(async () => {
    for (let i = 0; i < 50; i++) {
      const c = await RawClient.connect(port(nodes[0] as Node, 'CLIENTS'));
      if ((await c.authenticatePlain('admin', PASSWORD)) === ErrorCode.NONE) return c;
      c.close();
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the bootstrap user never appeared');
  });
  const salt = randomBytes(16);
  const users = await admin.request(ApiKey.AlterUserScramCredentials, 0, {
    deletions: [],
    upsertions: [
      {
        name: 'alice',
        mechanism: 2,
        iterations: 4096,
        salt,
        saltedPassword: pbkdf2Sync(PASSWORD, salt, 4096, 64, 'sha512'),
      },
    ],
  });
  expect(users.results[0]?.errorCode).toBe(ErrorCode.NONE);
  const acl = (resourceType: number, resourceName: string, operation: number) => ({
    resourceType,
    resourceName,
    resourcePatternType: 3,
    principal: 'User:alice',
    host: '*',
    operation,
    permissionType: 3,
  });
  // alice: ALL on the topic, WRITE on her transactional id, READ on her group.
  const created = await admin.request(ApiKey.CreateAcls, 3, {
    creations: [acl(2, 'txn-acl', 2), acl(5, 'tx-alice', 4), acl(3, 'alice-reader', 3)],
  });
  expect(created.results.map((r) => r.errorCode)).toEqual([0, 0, 0]);
  admin.close();
});

afterAll(async () => {
  for (const n of nodes) await n.broker.stop().catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
});

test('ACLs committed on one node are enforced on every node', async () => {
  for (const n of nodes) {
    const c = await RawClient.connect(port(n, 'CLIENTS'));
    expect(await c.authenticatePlain('alice', PASSWORD)).toBe(ErrorCode.NONE);
    // FindCoordinator is answered by any node: DESCRIBE on the group (READ implies it).
    const codes = async (): Promise<number[]> =>
      (
        await c.request(ApiKey.FindCoordinator, 4, {
          key: '',
          keyType: 0,
          coordinatorKeys: ['alice-reader', 'bob'],
        })
      ).coordinators.map((x) => x.errorCode);
    for (let i = 0; (await codes())[0] === ErrorCode.GROUP_AUTHORIZATION_FAILED && i < 100; i++)
      await new Promise((r) => setTimeout(r, 50));
    const [alices, bobs] = await codes();
    expect(alices).not.toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    expect(bobs).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    c.close();
  }
});

test('a transaction over partitions led by every node commits and aborts with the authorizer on', async () => {
  const admin = kafka('admin').admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'txn-acl', numPartitions: 3, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  for (let p = 0; p < 3; p++) {
    const target = nodes[p] as Node;
    const leader = await until(`a leader of txn-acl-${p}`, () => leaderOf('txn-acl', p));
    if (leader !== target) {
      const r = [...(leader.composed?.partitions.replicas() ?? [])].find(
        (x) => x.topic === 'txn-acl' && x.partition === p,
      ) as unknown as { transferLeadership(to: number, windowMs: number): void };
      r.transferLeadership(target.id, 2000);
      await until(`txn-acl-${p} led by node ${target.id}`, () =>
        leaderOf('txn-acl', p) === target ? true : undefined,
      );
    }
  }
  const producer = kafka('alice').producer({
    transactionalId: 'tx-alice',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  for (const [tag, commit] of [
    ['c1', true],
    ['a1', false],
    ['c2', true],
  ] as const) {
    const t = await producer.transaction();
    for (let p = 0; p < 3; p++)
      await t.send({ topic: 'txn-acl', messages: [{ partition: p, value: `${tag}-${p}` }] });
    if (commit) await t.commit();
    else await t.abort();
  }
  await producer.disconnect();

  const consumer = kafka('alice').consumer({ groupId: 'alice-reader', readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: 'txn-acl', fromBeginning: true });
  const seen: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
  await until('the committed records read', () => (seen.length >= 6 ? true : undefined));
  await new Promise((r) => setTimeout(r, 300));
  await consumer.disconnect();
  expect(seen.sort()).toEqual(['c1-0', 'c1-1', 'c1-2', 'c2-0', 'c2-1', 'c2-2']);
});

test("a client without a certificate on the inter-broker listener is User:ANONYMOUS: a node's request is refused", async () => {
  const n = nodes[0] as Node;
  const socket = tls.connect({
    host: '127.0.0.1',
    port: port(n, 'INTERNAL'),
    ca: certs.caPem,
    servername: 'localhost',
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const c = RawClient.over(socket);
  const r = await c.request(ApiKey.WriteTxnMarkers, 1, {
    markers: [
      {
        producerId: 1n,
        producerEpoch: 0,
        transactionResult: false,
        topics: [{ name: 'txn-acl', partitionIndexes: [0] }],
        coordinatorEpoch: 0,
      },
    ],
  });
  expect(r.markers[0]?.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  c.close();
});
