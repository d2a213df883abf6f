// ACLs at the wire: an in-process broker with --authorizer acl (super user User:admin) on a
// SASL_PLAINTEXT listener and a PLAINTEXT one (User:ANONYMOUS). Raw requests of users with chosen
// ACLs check every API's authorization error code and response shape against Kafka's KafkaApis:
// which operation on which resource, and which *_AUTHORIZATION_FAILED where. CreateAcls,
// DescribeAcls and DeleteAcls themselves (validation, filters, MATCH, the cluster's ALTER /
// DESCRIBE), ACLs kept across a restart, and SECURITY_DISABLED without an authorizer.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import {
  ApiKey,
  ErrorCode,
  buildRecordBatch,
  defaultFetchRequest,
  defaultJoinGroupRequest,
  defaultMetadataRequest,
  defaultProduceRequest,
} from '@chronik/protocol';
import { Broker } from '../src/broker.js';
import type { ServerConfig } from '../src/config.js';
import { DEFAULT_BROKER, DEFAULT_CONFIG, DEFAULT_LIMITS } from '../src/config.js';
import { DEFAULT_SASL } from '../src/security/config.js';
import { standaloneMode } from '../src/modes/standalone.js';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { tempDir } from './helpers/server.js';

jest.setTimeout(60_000);

// Kafka's ACL enum codes.
const TOPIC = 2;
const GROUP = 3;
const CLUSTER = 4;
const TXN = 5;
const ANY = 1;
const MATCH = 2;
const LITERAL = 3;
const PREFIXED = 4;
const ALL = 2;
const READ = 3;
const WRITE = 4;
const CREATE = 5;
const DESCRIBE = 8;
const DENY = 2;
const ALLOW = 3;

const PASSWORD = 'secret-password';
let dir: string;
let broker: Broker;
const clients: RawClient[] = [];

function config(dataDir: string, passwordFile: string): ServerConfig {
  const listener = (name: string, securityProtocol: 'PLAINTEXT' | 'SASL_PLAINTEXT') => ({
    name,
    securityProtocol,
    host: '127.0.0.1',
    port: 0,
    advertisedHost: '127.0.0.1',
    advertisedPort: 0,
  });
  return {
    ...DEFAULT_CONFIG,
    kafkaPort: 0,
    advertisedPort: 0,
    advertisedHost: '127.0.0.1',
    listenHost: '127.0.0.1',
    adminPort: -1,
    dataDir,
    broker: { ...DEFAULT_BROKER, offsetsTopicNumPartitions: 1, transactionStateNumPartitions: 1 },
    limits: DEFAULT_LIMITS,
    shutdownTimeoutMs: 2000,
    security: {
      listeners: [listener('PLAINTEXT', 'PLAINTEXT'), listener('SASL_PLAINTEXT', 'SASL_PLAINTEXT')],
      interBrokerListenerName: 'PLAINTEXT',
      tls: undefined,
      sasl: {
        ...DEFAULT_SASL,
        mechanisms: ['PLAIN', 'SCRAM-SHA-512'],
        failedAuthenticationDelayMs: 0,
        bootstrapUser: { name: 'admin', passwordFile },
      },
      authorizer: { superUsers: ['User:admin'], allowEveryoneIfNoAclFound: false },
    },
  };
}

async function start(): Promise<void> {
  const passwordFile = path.join(dir, 'admin-password');
  fs.writeFileSync(passwordFile, `${PASSWORD}\n`);
  broker = new Broker(
    config(path.join(dir, 'data'), passwordFile),
    { randomId: randomUUID },
    standaloneMode(),
  );
  await broker.start();
}

/** A raw client authenticated (SASL PLAIN) as `user`, or anonymous on the PLAINTEXT listener. */
async function as(user: string | 'ANONYMOUS'): Promise<RawClient> {
  const listener = user === 'ANONYMOUS' ? 'PLAINTEXT' : 'SASL_PLAINTEXT';
  const c = await RawClient.connect(broker.listenerPorts.get(listener) as number);
  clients.push(c);
  if (user !== 'ANONYMOUS') expect(await c.authenticatePlain(user, PASSWORD)).toBe(ErrorCode.NONE);
  return c;
}

async function createUsers(admin: RawClient, users: string[]): Promise<void> {
  const r = await admin.request(ApiKey.AlterUserScramCredentials, 0, {
    deletions: [],
    upsertions: users.map((name) => {
      const salt = randomBytes(16);
      return {
        name,
        mechanism: 2,
        iterations: 4096,
        salt,
        saltedPassword: pbkdf2Sync(PASSWORD, salt, 4096, 64, 'sha512'),
      };
    }),
  });
  expect(r.results.map((x) => x.errorCode)).toEqual(users.map(() => ErrorCode.NONE));
}

interface Acl {
  resourceType: number;
  resourceName: string;
  resourcePatternType?: number;
  principal: string;
  operation: number;
  permissionType?: number;
  host?: string;
}

async function allow(admin: RawClient, acls: Acl[]): Promise<void> {
  const r = await admin.request(ApiKey.CreateAcls, 3, {
    creations: acls.map((a) => ({
      resourcePatternType: LITERAL,
      permissionType: ALLOW,
      host: '*',
      ...a,
    })),
  });
  expect(r.results.map((x) => x.errorCode)).toEqual(acls.map(() => ErrorCode.NONE));
}

const records = (value: string, txn?: { producerId: bigint }): Buffer =>
  buildRecordBatch({
    records: [{ value: Buffer.from(value) }],
    ...(txn ? { isTransactional: true, producerId: txn.producerId, producerEpoch: 0, baseSequence: 0 } : {}),
  });

async function produce(c: RawClient, topic: string, transactionalId: string | null = null): Promise<number> {
  const r = await c.request(ApiKey.Produce, 9, {
    ...defaultProduceRequest(),
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      {
        name: topic,
        partitionData: [
          { index: 0, records: records('v', transactionalId === null ? undefined : { producerId: 77n }) },
        ],
      },
    ],
  });
  return r.responses[0]?.partitionResponses[0]?.errorCode ?? -2;
}

async function fetchError(c: RawClient, topic: string): Promise<number> {
  const r = await c.request(ApiKey.Fetch, 12, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [
      {
        topic,
        topicId: '00000000-0000-0000-0000-000000000000',
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0n,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: 1 << 20,
            replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
          },
        ],
      },
    ],
  });
  return r.responses[0]?.partitions[0]?.errorCode ?? -2;
}

const metadata = (c: RawClient, topics: string[] | null, allowAutoTopicCreation = false) =>
  c.request(ApiKey.Metadata, 12, {
    ...defaultMetadataRequest(),
    topics:
      topics === null
        ? null
        : topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
    allowAutoTopicCreation,
    includeTopicAuthorizedOperations: true,
  });

let admin: RawClient;
let alice: RawClient; // producer: WRITE on orders, CREATE on topics auto-*, WRITE on transactional id tx-a
let bob: RawClient; // consumer: READ on topics ord*, READ on groups bob-*; DENY READ on orders-secret*
let carol: RawClient; // no ACL at all

beforeAll(async () => {
  dir = tempDir('chronik-acl-');
  await start();
  admin = await as('admin');
  await createUsers(admin, ['alice', 'bob', 'carol']);
  const created = await admin.request(ApiKey.CreateTopics, 7, {
    topics: ['orders', 'payments', 'orders-secret'].map((name) => ({
      name,
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics.map((t) => t.errorCode)).toEqual([0, 0, 0]);
  await allow(admin, [
    { resourceType: TOPIC, resourceName: 'orders', principal: 'User:alice', operation: WRITE },
    {
      resourceType: TOPIC,
      resourceName: 'auto-',
      resourcePatternType: PREFIXED,
      principal: 'User:alice',
      operation: CREATE,
    },
    { resourceType: TXN, resourceName: 'tx-a', principal: 'User:alice', operation: WRITE },
    {
      resourceType: TOPIC,
      resourceName: 'ord',
      resourcePatternType: PREFIXED,
      principal: 'User:bob',
      operation: READ,
    },
    {
      resourceType: GROUP,
      resourceName: 'bob-',
      resourcePatternType: PREFIXED,
      principal: 'User:bob',
      operation: READ,
    },
    {
      resourceType: TOPIC,
      resourceName: 'orders-secret',
      resourcePatternType: PREFIXED,
      principal: 'User:bob',
      operation: READ,
      permissionType: DENY,
    },
  ]);
  // The coordinators' topics are created on first use (as FindCoordinator makes them).
  for (const keyType of [0, 1]) {
    for (let i = 0; i < 100; i++) {
      const fc = await admin.request(ApiKey.FindCoordinator, 3, {
        key: 'warm-up',
        keyType,
        coordinatorKeys: [],
      });
      if (fc.errorCode === ErrorCode.NONE) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  alice = await as('alice');
  bob = await as('bob');
  carol = await as('carol');
  expect(await produce(admin, 'orders')).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await broker.stop();
  removeDir(dir);
});

describe('CreateAcls, DescribeAcls, DeleteAcls', () => {
  test('only a principal with ALTER / DESCRIBE on the cluster may use them', async () => {
    const c = await carol.request(ApiKey.CreateAcls, 3, {
      creations: [
        {
          resourceType: TOPIC,
          resourceName: 'x',
          resourcePatternType: LITERAL,
          principal: 'User:carol',
          host: '*',
          operation: ALL,
          permissionType: ALLOW,
        },
      ],
    });
    expect(c.results[0]?.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const d = await carol.request(ApiKey.DescribeAcls, 3, {
      resourceTypeFilter: ANY,
      resourceNameFilter: null,
      patternTypeFilter: ANY,
      principalFilter: null,
      hostFilter: null,
      operation: ANY,
      permissionType: ANY,
    });
    expect(d.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const x = await carol.request(ApiKey.DeleteAcls, 3, {
      filters: [
        {
          resourceTypeFilter: ANY,
          resourceNameFilter: null,
          patternTypeFilter: ANY,
          principalFilter: null,
          hostFilter: null,
          operation: ANY,
          permissionType: ANY,
        },
      ],
    });
    expect(x.filterResults[0]?.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  });

  test('invalid creations are INVALID_REQUEST with Kafka message; the valid ones of the request are created', async () => {
    const base = {
      resourcePatternType: LITERAL,
      principal: 'User:dave',
      host: '*',
      operation: READ,
      permissionType: ALLOW,
    };
    const r = await admin.request(ApiKey.CreateAcls, 3, {
      creations: [
        { ...base, resourceType: TOPIC, resourceName: 'dave-topic' },
        { ...base, resourceType: ANY, resourceName: 'x' },
        { ...base, resourceType: CLUSTER, resourceName: 'not-kafka-cluster' },
        { ...base, resourceType: TOPIC, resourceName: '' },
        { ...base, resourceType: TOPIC, resourceName: 'x', principal: 'dave' },
        { ...base, resourceType: TOPIC, resourceName: 'x', resourcePatternType: MATCH },
        { ...base, resourceType: TOPIC, resourceName: 'x', operation: ANY },
      ],
    });
    expect(r.results.map((x) => x.errorCode)).toEqual([0, 42, 42, 42, 42, 42, 42]);
    expect(r.results.map((x) => x.errorMessage)).toEqual([
      null,
      'Invalid resourceType ANY',
      'The only valid name for the CLUSTER resource is kafka-cluster',
      'Resource name should not be empty',
      expect.stringContaining('Invalid principal'),
      'Invalid patternType MATCH',
      'Invalid operation ANY',
    ]);
  });

  test('DescribeAcls: ANY, a principal, and MATCH (the patterns that apply to a name), grouped by pattern', async () => {
    const all = await admin.request(ApiKey.DescribeAcls, 3, {
      resourceTypeFilter: ANY,
      resourceNameFilter: null,
      patternTypeFilter: ANY,
      principalFilter: 'User:bob',
      hostFilter: null,
      operation: ANY,
      permissionType: ANY,
    });
    expect(all.errorCode).toBe(ErrorCode.NONE);
    expect(all.resources.map((r) => [r.resourceType, r.resourceName, r.patternType, r.acls.length])).toEqual([
      [GROUP, 'bob-', PREFIXED, 1],
      [TOPIC, 'ord', PREFIXED, 1],
      [TOPIC, 'orders-secret', PREFIXED, 1],
    ]);
    const matching = await admin.request(ApiKey.DescribeAcls, 3, {
      resourceTypeFilter: TOPIC,
      resourceNameFilter: 'orders',
      patternTypeFilter: MATCH,
      principalFilter: null,
      hostFilter: null,
      operation: ANY,
      permissionType: ANY,
    });
    expect(matching.resources.map((r) => [r.resourceName, r.patternType])).toEqual([
      ['orders', LITERAL],
      ['ord', PREFIXED],
    ]);
    expect(matching.resources[0]?.acls).toEqual([
      { principal: 'User:alice', host: '*', operation: WRITE, permissionType: ALLOW },
    ]);
    // v0 filters LITERAL patterns only.
    const v0 = await admin.request(ApiKey.DescribeAcls, 0, {
      resourceTypeFilter: TOPIC,
      resourceNameFilter: null,
      patternTypeFilter: LITERAL,
      principalFilter: null,
      hostFilter: null,
      operation: ANY,
      permissionType: ANY,
    });
    expect(v0.resources.map((r) => r.resourceName)).toEqual(['dave-topic', 'orders']);
  });

  test('DeleteAcls: each filter answers what it removed; an unknown code is INVALID_REQUEST', async () => {
    const r = await admin.request(ApiKey.DeleteAcls, 3, {
      filters: [
        {
          resourceTypeFilter: ANY,
          resourceNameFilter: null,
          patternTypeFilter: ANY,
          principalFilter: 'User:dave',
          hostFilter: null,
          operation: ANY,
          permissionType: ANY,
        },
        {
          resourceTypeFilter: 0,
          resourceNameFilter: null,
          patternTypeFilter: ANY,
          principalFilter: null,
          hostFilter: null,
          operation: ANY,
          permissionType: ANY,
        },
      ],
    });
    expect(r.filterResults[0]?.errorCode).toBe(ErrorCode.NONE);
    expect(r.filterResults[0]?.matchingAcls).toEqual([
      {
        errorCode: 0,
        errorMessage: null,
        resourceType: TOPIC,
        resourceName: 'dave-topic',
        patternType: LITERAL,
        principal: 'User:dave',
        host: '*',
        operation: READ,
        permissionType: ALLOW,
      },
    ]);
    expect(r.filterResults[1]?.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('topics', () => {
  test('Produce: WRITE on the topic; without it TOPIC_AUTHORIZATION_FAILED, existing or not', async () => {
    expect(await produce(alice, 'orders')).toBe(ErrorCode.NONE);
    expect(await produce(alice, 'payments')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(await produce(alice, 'ghost')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(await produce(bob, 'orders')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(await produce(await as('ANONYMOUS'), 'orders')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });

  test('Produce of transactional batches: WRITE on the transactional id, else the whole request is refused', async () => {
    expect(await produce(alice, 'orders', 'tx-b')).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  });

  test('auto-creation (Produce, Metadata) needs CREATE on the cluster or the topic', async () => {
    expect(await produce(alice, 'auto-1')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED); // no WRITE
    const m = await metadata(alice, ['auto-2', 'other-new'], true);
    // auto-2: CREATE allowed (and DESCRIBE? no: alice may not DESCRIBE it) -> TOPIC_AUTHORIZATION_FAILED
    expect(m.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['auto-2', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
      ['other-new', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    ]);
    await allow(admin, [
      {
        resourceType: TOPIC,
        resourceName: 'auto-',
        resourcePatternType: PREFIXED,
        principal: 'User:alice',
        operation: WRITE,
      },
    ]);
    expect(await produce(alice, 'auto-3')).toBe(ErrorCode.NONE);
    const after = await metadata(alice, ['auto-4', 'ord-new'], true);
    expect(after.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['auto-4', ErrorCode.NONE],
      ['ord-new', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    ]);
    // bob may DESCRIBE ord-new (READ on ord*) but not CREATE it.
    const byBob = await metadata(bob, ['ord-new'], true);
    expect(byBob.topics[0]).toMatchObject({
      name: 'ord-new',
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    });
    expect((await metadata(admin, ['ord-new'])).topics[0]?.errorCode).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  });

  test('Metadata: every topic lists only the described ones; one asked by name without DESCRIBE is TOPIC_AUTHORIZATION_FAILED', async () => {
    expect((await metadata(carol, null)).topics).toEqual([]);
    expect((await metadata(await as('ANONYMOUS'), null)).topics).toEqual([]);
    const byBob = await metadata(bob, null);
    expect(byBob.topics.map((t) => t.name).sort()).toEqual(['orders', 'orders-secret']);
    const named = await metadata(carol, ['orders']);
    expect(named.topics[0]).toMatchObject({
      name: 'orders',
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      topicId: '00000000-0000-0000-0000-000000000000',
      partitions: [],
    });
    // Authorized operations: READ (3) and the DESCRIBE (8) it implies.
    expect((await metadata(bob, ['orders'])).topics[0]?.topicAuthorizedOperations).toBe((1 << 3) | (1 << 8));
    // Metadata v8's cluster operations: 0 without DESCRIBE on the cluster.
    const v8 = await bob.request(ApiKey.Metadata, 8, {
      ...defaultMetadataRequest(),
      topics: [],
      includeClusterAuthorizedOperations: true,
    });
    expect(v8.clusterAuthorizedOperations).toBe(0);
  });

  test('Fetch: READ on the topic; deny over allow (bob may read ord*, not orders-secret*)', async () => {
    expect(await fetchError(bob, 'orders')).toBe(ErrorCode.NONE);
    expect(await fetchError(alice, 'orders')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(await fetchError(bob, 'orders-secret')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(await fetchError(bob, 'payments')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });

  test('ListOffsets, OffsetForLeaderEpoch and DescribeProducers: DESCRIBE / READ on the topic', async () => {
    const lo = (c: RawClient) =>
      c.request(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        timeoutMs: 0,
        topics: [
          {
            name: 'orders',
            partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
          },
        ],
      });
    expect((await lo(bob)).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
    expect((await lo(alice)).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE); // WRITE implies DESCRIBE
    expect((await lo(carol)).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const ofle = await carol.request(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
    });
    expect(ofle.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const dp = await alice.request(ApiKey.DescribeProducers, 0, {
      topics: [{ name: 'orders', partitionIndexes: [0] }],
    });
    expect(dp.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const dpBob = await bob.request(ApiKey.DescribeProducers, 0, {
      topics: [{ name: 'orders', partitionIndexes: [0] }],
    });
    expect(dpBob.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
  });

  test('CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords: CREATE / DELETE / ALTER / DELETE', async () => {
    const ct = await bob.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'ord-x', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(ct.topics[0]).toMatchObject({
      name: 'ord-x',
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      errorMessage: 'Authorization failed.',
    });
    // alice may create auto-*, not describe their configs: topic_config_error_code, no configs.
    const mine = await alice.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'auto-ct', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(mine.topics[0]).toMatchObject({
      errorCode: ErrorCode.NONE,
      topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      numPartitions: -1,
      configs: [],
    });
    const dt = await bob.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: 'orders', topicId: '00000000-0000-0000-0000-000000000000' }],
      topicNames: [],
      timeoutMs: 5000,
    });
    expect(dt.responses[0]).toMatchObject({
      name: 'orders',
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    });
    // By id without DESCRIBE: the name is not disclosed.
    const paymentsId = (await metadata(admin, ['payments'])).topics[0]?.topicId as string;
    const byId = await bob.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: null, topicId: paymentsId }],
      topicNames: [],
      timeoutMs: 5000,
    });
    expect(byId.responses[0]).toMatchObject({
      name: null,
      topicId: paymentsId,
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    });
    const cp = await bob.request(ApiKey.CreatePartitions, 3, {
      topics: [{ name: 'orders', count: 2, assignments: null }],
      timeoutMs: 5000,
      validateOnly: true,
    });
    expect(cp.results[0]?.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const dr = await bob.request(ApiKey.DeleteRecords, 2, {
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 0n }] }],
      timeoutMs: 5000,
    });
    expect(dr.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });

  test('configs: DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, or the cluster for a broker', async () => {
    const dc = await bob.request(ApiKey.DescribeConfigs, 4, {
      resources: [
        { resourceType: 2, resourceName: 'orders', configurationKeys: null },
        { resourceType: 4, resourceName: '1', configurationKeys: null },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    expect(dc.results.map((r) => r.errorCode)).toEqual([
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    ]);
    const ia = await bob.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }],
        },
      ],
      validateOnly: true,
    });
    expect(ia.responses[0]?.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const adminDc = await admin.request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    expect(adminDc.results[0]?.errorCode).toBe(ErrorCode.NONE);
  });
});

describe('groups', () => {
  const join = (c: RawClient, groupId: string) =>
    c.request(ApiKey.JoinGroup, 5, {
      ...defaultJoinGroupRequest(),
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });

  test('JoinGroup, Heartbeat, SyncGroup, LeaveGroup: READ on the group', async () => {
    expect((await join(bob, 'other')).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    expect((await join(bob, 'bob-1')).errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const hb = await bob.request(ApiKey.Heartbeat, 4, {
      groupId: 'other',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
    });
    expect(hb.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const sg = await bob.request(ApiKey.SyncGroup, 5, {
      groupId: 'other',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
    });
    expect(sg.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const lg = await bob.request(ApiKey.LeaveGroup, 5, {
      groupId: 'other',
      memberId: '',
      members: [{ memberId: 'm', groupInstanceId: null, reason: null }],
    });
    expect(lg.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  });

  test('OffsetCommit: READ on the group, then READ on each topic; OffsetFetch: DESCRIBE', async () => {
    const commit = (c: RawClient, groupId: string) =>
      c.request(ApiKey.OffsetCommit, 8, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: ['orders', 'payments'].map((name) => ({
          name,
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            },
          ],
        })),
      });
    const denied = await commit(bob, 'other');
    expect(denied.topics.map((t) => t.partitions[0]?.errorCode)).toEqual([
      ErrorCode.GROUP_AUTHORIZATION_FAILED,
      ErrorCode.GROUP_AUTHORIZATION_FAILED,
    ]);
    const mixed = await commit(bob, 'bob-commits');
    expect(mixed.topics.map((t) => t.partitions[0]?.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    ]);
    expect((await commit(admin, 'bob-commits')).topics.map((t) => t.partitions[0]?.errorCode)).toEqual([
      0, 0,
    ]);
    const fetch = (c: RawClient, groupId: string, topics: string[] | null) =>
      c.request(ApiKey.OffsetFetch, 7, {
        groupId,
        topics: topics === null ? null : topics.map((name) => ({ name, partitionIndexes: [0] })),
        groups: [],
        requireStable: false,
      });
    expect((await fetch(bob, 'other', ['orders'])).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const named = await fetch(bob, 'bob-commits', ['orders', 'payments']);
    expect(
      named.topics.map((t) => [t.name, t.partitions[0]?.errorCode, t.partitions[0]?.committedOffset]),
    ).toEqual([
      ['orders', ErrorCode.NONE, 1n],
      ['payments', ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1n],
    ]);
    // Every offset of the group: only the topics bob may DESCRIBE.
    expect((await fetch(bob, 'bob-commits', null)).topics.map((t) => t.name)).toEqual(['orders']);
    expect((await fetch(admin, 'bob-commits', null)).topics.map((t) => t.name).sort()).toEqual([
      'orders',
      'payments',
    ]);
  });

  test('DescribeGroups, ListGroups, DeleteGroups, OffsetDelete, FindCoordinator', async () => {
    const dg = await bob.request(ApiKey.DescribeGroups, 5, {
      groups: ['other', 'bob-commits'],
      includeAuthorizedOperations: true,
    });
    expect(dg.groups.map((g) => [g.groupId, g.errorCode])).toEqual([
      ['other', ErrorCode.GROUP_AUTHORIZATION_FAILED],
      ['bob-commits', ErrorCode.NONE],
    ]);
    // READ (3) and the DESCRIBE (8) it implies.
    expect(dg.groups[1]?.authorizedOperations).toBe((1 << 3) | (1 << 8));
    await admin.request(ApiKey.OffsetCommit, 8, {
      groupId: 'admins',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            },
          ],
        },
      ],
    });
    const listed = (c: RawClient) =>
      c
        .request(ApiKey.ListGroups, 4, { statesFilter: [], typesFilter: [] })
        .then((r) => r.groups.map((g) => g.groupId).sort());
    // bob-1 is the group bob joined (a member waiting for its member id).
    expect(await listed(bob)).toEqual(['bob-1', 'bob-commits']);
    expect(await listed(admin)).toEqual(['admins', 'bob-1', 'bob-commits']);
    const del = await bob.request(ApiKey.DeleteGroups, 2, { groupsNames: ['bob-commits'] });
    expect(del.results[0]?.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const od = await bob.request(ApiKey.OffsetDelete, 0, {
      groupId: 'bob-commits',
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }],
    });
    expect(od.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const fc = await bob.request(ApiKey.FindCoordinator, 4, {
      key: '',
      keyType: 0,
      coordinatorKeys: ['other', 'bob-1'],
    });
    expect(fc.coordinators.map((c) => c.errorCode)).toEqual([
      ErrorCode.GROUP_AUTHORIZATION_FAILED,
      ErrorCode.NONE,
    ]);
    const ft = await bob.request(ApiKey.FindCoordinator, 3, { key: 'tx-a', keyType: 1, coordinatorKeys: [] });
    expect(ft.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  });
});

describe('transactions and producer ids', () => {
  test('InitProducerId: WRITE on the transactional id; an idempotent producer IDEMPOTENT_WRITE or WRITE on some topic', async () => {
    const init = (c: RawClient, transactionalId: string | null) =>
      c.request(ApiKey.InitProducerId, 4, {
        transactionalId,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      });
    expect((await init(carol, null)).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    expect((await init(alice, null)).errorCode).toBe(ErrorCode.NONE);
    expect((await init(alice, 'tx-b')).errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect((await init(alice, 'tx-a')).errorCode).toBe(ErrorCode.NONE);
  });

  test('AddPartitionsToTxn v3: the transactional id, then WRITE per topic (others OPERATION_NOT_ATTEMPTED); v4+ CLUSTER_ACTION', async () => {
    const add = (transactionalId: string) =>
      alice.request(ApiKey.AddPartitionsToTxn, 3, {
        transactions: [],
        v3AndBelowTransactionalId: transactionalId,
        v3AndBelowProducerId: 1n,
        v3AndBelowProducerEpoch: 0,
        v3AndBelowTopics: [
          { name: 'orders', partitions: [0] },
          { name: 'payments', partitions: [0] },
        ],
      });
    const noId = await add('tx-b');
    expect(noId.resultsByTopicV3AndBelow.map((t) => t.resultsByPartition[0]?.partitionErrorCode)).toEqual([
      ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ]);
    const mixed = await add('tx-a');
    expect(
      mixed.resultsByTopicV3AndBelow.map((t) => [t.name, t.resultsByPartition[0]?.partitionErrorCode]),
    ).toEqual([
      ['orders', ErrorCode.OPERATION_NOT_ATTEMPTED],
      ['payments', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    ]);
    const v4 = await alice.request(ApiKey.AddPartitionsToTxn, 4, {
      transactions: [
        {
          transactionalId: 'tx-a',
          producerId: 1n,
          producerEpoch: 0,
          verifyOnly: true,
          topics: [{ name: 'orders', partitions: [0] }],
        },
      ],
      v3AndBelowTransactionalId: '',
      v3AndBelowProducerId: 0n,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [],
    });
    expect(v4.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  });

  test('AddOffsetsToTxn, EndTxn, TxnOffsetCommit, DescribeTransactions, ListTransactions', async () => {
    const ao = await alice.request(ApiKey.AddOffsetsToTxn, 3, {
      transactionalId: 'tx-a',
      producerId: 1n,
      producerEpoch: 0,
      groupId: 'other',
    });
    expect(ao.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const ao2 = await alice.request(ApiKey.AddOffsetsToTxn, 3, {
      transactionalId: 'tx-b',
      producerId: 1n,
      producerEpoch: 0,
      groupId: 'other',
    });
    expect(ao2.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const end = await alice.request(ApiKey.EndTxn, 3, {
      transactionalId: 'tx-b',
      producerId: 1n,
      producerEpoch: 0,
      committed: true,
    });
    expect(end.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const toc = await alice.request(ApiKey.TxnOffsetCommit, 3, {
      transactionalId: 'tx-a',
      groupId: 'other',
      producerId: 1n,
      producerEpoch: 0,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
    expect(toc.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const dt = await alice.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['tx-a', 'tx-b'] });
    expect(dt.transactionStates.map((t) => [t.transactionalId, t.errorCode])).toEqual([
      ['tx-a', ErrorCode.NONE],
      ['tx-b', ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
    ]);
    const listed = (c: RawClient) =>
      c
        .request(ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1n })
        .then((r) => r.transactionStates.map((t) => t.transactionalId));
    expect(await listed(alice)).toEqual(['tx-a']);
    expect(await listed(carol)).toEqual([]);
  });

  test('WriteTxnMarkers needs CLUSTER_ACTION (a node request): a client is refused per partition', async () => {
    const marker = (c: RawClient) =>
      c.request(ApiKey.WriteTxnMarkers, 1, {
        markers: [
          {
            producerId: 4242n,
            producerEpoch: 0,
            transactionResult: false,
            topics: [{ name: 'orders', partitionIndexes: [0] }],
            coordinatorEpoch: 0,
          },
        ],
      });
    expect((await marker(alice)).markers[0]?.topics[0]?.partitions[0]?.errorCode).toBe(
      ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    );
    expect((await marker(admin)).markers[0]?.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NONE);
  });
});

describe('cluster', () => {
  test('DescribeCluster operations, DescribeLogDirs, SCRAM admin: DESCRIBE / ALTER on the cluster', async () => {
    const dc = (c: RawClient) =>
      c.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 });
    expect((await dc(carol)).clusterAuthorizedOperations).toBe(0);
    expect((await dc(carol)).brokers).toHaveLength(1);
    expect((await dc(admin)).clusterAuthorizedOperations).toBe(8096);
    const ld = await carol.request(ApiKey.DescribeLogDirs, 4, { topics: null });
    expect(ld.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    expect(ld.results).toEqual([]);
    const ds = await carol.request(ApiKey.DescribeUserScramCredentials, 0, { users: null });
    expect(ds.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const as_ = await carol.request(ApiKey.AlterUserScramCredentials, 0, {
      deletions: [{ name: 'alice', mechanism: 2 }],
      upsertions: [],
    });
    expect(as_.results).toEqual([
      {
        user: 'alice',
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: 'Cluster authorization failed.',
      },
    ]);
    await allow(admin, [
      { resourceType: CLUSTER, resourceName: 'kafka-cluster', principal: 'User:carol', operation: DESCRIBE },
    ]);
    expect((await carol.request(ApiKey.DescribeUserScramCredentials, 0, { users: null })).errorCode).toBe(
      ErrorCode.NONE,
    );
    // DESCRIBE alone: the cluster's operations are DESCRIBE (8).
    expect((await dc(carol)).clusterAuthorizedOperations).toBe(1 << 8);
  });

  test('the ACLs survive a restart (the metadata snapshot)', async () => {
    await broker.stop();
    await start();
    const again = await as('bob');
    expect(await fetchError(again, 'orders')).toBe(ErrorCode.NONE);
    expect(await fetchError(again, 'orders-secret')).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });
});

test('without an authorizer the ACL APIs are SECURITY_DISABLED and every operation is authorized', async () => {
  const plain = await startBroker();
  try {
    const c = await RawClient.connect(plain.broker.kafkaPort);
    const create = await c.request(ApiKey.CreateAcls, 3, {
      creations: [
        {
          resourceType: TOPIC,
          resourceName: 'x',
          resourcePatternType: LITERAL,
          principal: 'User:a',
          host: '*',
          operation: READ,
          permissionType: ALLOW,
        },
      ],
    });
    expect(create.results[0]).toEqual({
      errorCode: ErrorCode.SECURITY_DISABLED,
      errorMessage: 'No Authorizer is configured.',
    });
    const describe = await c.request(ApiKey.DescribeAcls, 1, {
      resourceTypeFilter: ANY,
      resourceNameFilter: null,
      patternTypeFilter: ANY,
      principalFilter: null,
      hostFilter: null,
      operation: ANY,
      permissionType: ANY,
    });
    expect(describe.errorCode).toBe(ErrorCode.SECURITY_DISABLED);
    const dc = await c.request(ApiKey.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: true,
      endpointType: 1,
    });
    expect(dc.clusterAuthorizedOperations).toBe(8096);
    c.close();
  } finally {
    await plain.stop();
    removeDir(plain.dataDir);
  }
});
