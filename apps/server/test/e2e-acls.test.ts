// ACLs with real clients against a chronik-server process run with --authorizer acl: kafkajs
// admin createAcls / describeAcls / deleteAcls (and refused without ALTER on the cluster); kcat
// (librdkafka) with SASL users where one may produce and not consume and the other the reverse, a
// prefixed allow with a deny over it; a kafkajs consumer group allowed and refused by a group ACL;
// a kafkajs transactional producer on its transactional-id ACL; confluent-kafka-python producing
// and consuming with and without READ.
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  ResourcePatternTypes,
  logLevel,
} from 'kafkajs';
import type { AclEntry } from 'kafkajs';
import { kcat } from './helpers/kcat.js';
import { runPython } from './helpers/python.js';
import { RawClient } from './helpers/raw-client.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';

jest.setTimeout(120_000);

const PYTHON = path.join(__dirname, 'scripts', 'secure_client.py');
const PASSWORD = 'acl-test-password';
let server: ServerProcess;
let saslPort: number;
let secrets: string;

beforeAll(async () => {
  secrets = tempDir('chronik-acl-secrets-');
  const passwordFile = path.join(secrets, 'admin-password');
  fs.writeFileSync(passwordFile, `${PASSWORD}\n`);
  server = await startServer({
    args: [
      '--listeners',
      'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      '--inter-broker-listener-name',
      'PLAINTEXT',
      '--sasl-enabled-mechanisms',
      'PLAIN,SCRAM-SHA-512',
      '--sasl-bootstrap-user',
      `admin:${passwordFile}`,
      '--authorizer',
      'acl',
      '--super-users',
      'User:admin',
      '--failed-authentication-delay-ms',
      '10',
    ],
  });
  saslPort = server.listeners.find((l) => l.name === 'SASL_PLAINTEXT')?.port as number;
  // SCRAM users, made by the admin (kafkajs has no call for AlterUserScramCredentials).
  const raw = await RawClient.connect(saslPort);
  expect(await raw.authenticatePlain('admin', PASSWORD)).toBe(ErrorCode.NONE);
  const users = ['writer', 'reader', 'txer', 'pyuser'];
  const r = await raw.request(ApiKey.AlterUserScramCredentials, 0, {
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
  raw.close();
  expect(r.results.map((x) => x.errorCode)).toEqual(users.map(() => 0));
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  for (const d of [server.dataDir, secrets]) fs.rmSync(d, { recursive: true, force: true });
});

const kafka = (user: string) =>
  new Kafka({
    clientId: `acl-${user}`,
    brokers: [`127.0.0.1:${saslPort}`],
    sasl: { mechanism: 'scram-sha-512', username: user, password: PASSWORD },
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });

const kcatAs = (user: string): string[] => [
  '-b',
  `127.0.0.1:${saslPort}`,
  '-X',
  'security.protocol=sasl_plaintext',
  '-X',
  'sasl.mechanisms=SCRAM-SHA-512',
  '-X',
  `sasl.username=${user}`,
  '-X',
  `sasl.password=${PASSWORD}`,
];

const entry = (
  over: Partial<AclEntry> & Pick<AclEntry, 'resourceName' | 'principal' | 'operation'>,
): AclEntry => ({
  resourceType: AclResourceTypes.TOPIC,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  host: '*',
  permissionType: AclPermissionTypes.ALLOW,
  ...over,
});

test('kafkajs admin: createAcls, describeAcls (ANY and MATCH), refused without ALTER on the cluster', async () => {
  const admin = kafka('admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: ['acl-orders', 'acl-audit', 'acl-py', 'acl-tx'].map((topic) => ({ topic, numPartitions: 1 })),
    });
    await admin.createAcls({
      acl: [
        entry({ resourceName: 'acl-orders', principal: 'User:writer', operation: AclOperationTypes.WRITE }),
        entry({
          resourceName: 'acl-',
          resourcePatternType: ResourcePatternTypes.PREFIXED,
          principal: 'User:reader',
          operation: AclOperationTypes.READ,
        }),
        entry({
          resourceName: 'acl-audit',
          principal: 'User:reader',
          operation: AclOperationTypes.READ,
          permissionType: AclPermissionTypes.DENY,
        }),
        entry({
          resourceType: AclResourceTypes.GROUP,
          resourceName: 'readers',
          resourcePatternType: ResourcePatternTypes.PREFIXED,
          principal: 'User:reader',
          operation: AclOperationTypes.READ,
        }),
        // DESCRIBE only: the coordinator is found, joining (READ) is refused.
        entry({
          resourceType: AclResourceTypes.GROUP,
          resourceName: 'others',
          principal: 'User:reader',
          operation: AclOperationTypes.DESCRIBE,
        }),
        entry({ resourceName: 'acl-py', principal: 'User:pyuser', operation: AclOperationTypes.ALL }),
        entry({
          resourceType: AclResourceTypes.GROUP,
          resourceName: 'secure-',
          resourcePatternType: ResourcePatternTypes.PREFIXED,
          principal: 'User:pyuser',
          operation: AclOperationTypes.READ,
        }),
        entry({ resourceName: 'acl-tx', principal: 'User:txer', operation: AclOperationTypes.WRITE }),
        // DESCRIBE only: the coordinator is found, InitProducerId (WRITE) is refused.
        entry({
          resourceType: AclResourceTypes.TRANSACTIONAL_ID,
          resourceName: 'other-1',
          principal: 'User:txer',
          operation: AclOperationTypes.DESCRIBE,
        }),
        entry({
          resourceType: AclResourceTypes.TRANSACTIONAL_ID,
          resourceName: 'tx-',
          resourcePatternType: ResourcePatternTypes.PREFIXED,
          principal: 'User:txer',
          operation: AclOperationTypes.WRITE,
        }),
      ],
    });
    const readers = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: 'User:reader',
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    expect(
      readers.resources
        .map(
          (r) => `${r.resourceType}:${r.resourceName}:${r.resourcePatternType}:${r.acls[0]?.permissionType}`,
        )
        .sort(),
    ).toEqual([
      `${AclResourceTypes.TOPIC}:acl-:${ResourcePatternTypes.PREFIXED}:${AclPermissionTypes.ALLOW}`,
      `${AclResourceTypes.TOPIC}:acl-audit:${ResourcePatternTypes.LITERAL}:${AclPermissionTypes.DENY}`,
      `${AclResourceTypes.GROUP}:others:${ResourcePatternTypes.LITERAL}:${AclPermissionTypes.ALLOW}`,
      `${AclResourceTypes.GROUP}:readers:${ResourcePatternTypes.PREFIXED}:${AclPermissionTypes.ALLOW}`,
    ]);
    const onOrders = await admin.describeAcls({
      resourceType: AclResourceTypes.TOPIC,
      resourceName: 'acl-orders',
      resourcePatternType: ResourcePatternTypes.MATCH,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    expect(onOrders.resources.map((r) => r.resourceName).sort()).toEqual(['acl-', 'acl-orders']);
  } finally {
    await admin.disconnect();
  }
  const notAdmin = kafka('writer').admin();
  await notAdmin.connect();
  try {
    await expect(
      notAdmin.createAcls({
        acl: [entry({ resourceName: 'x', principal: 'User:writer', operation: AclOperationTypes.ALL })],
      }),
    ).rejects.toMatchObject({ type: 'CLUSTER_AUTHORIZATION_FAILED' });
  } finally {
    await notAdmin.disconnect();
  }
});

test('kcat: the writer may produce and not consume, the reader the reverse; a deny over a prefixed allow', async () => {
  const produced = await kcat([...kcatAs('writer'), '-P', '-t', 'acl-orders'], 'one\ntwo\n');
  expect(produced.code).toBe(0);
  const writerReads = await kcat([...kcatAs('writer'), '-C', '-t', 'acl-orders', '-e', '-o', 'beginning']);
  expect(`${writerReads.stdout}${writerReads.stderr}`).toMatch(/authorization failed/i);
  expect(writerReads.stdout).not.toContain('one');
  const readerReads = await kcat([...kcatAs('reader'), '-C', '-t', 'acl-orders', '-e', '-o', 'beginning']);
  expect(readerReads.code).toBe(0);
  expect(readerReads.stdout.split('\n').filter((l) => l !== '')).toEqual(['one', 'two']);
  const readerWrites = await kcat([...kcatAs('reader'), '-P', '-t', 'acl-orders'], 'three\n');
  expect(readerWrites.code).not.toBe(0);
  expect(readerWrites.stderr).toMatch(/authorization failed/i);
  const denied = await kcat([...kcatAs('reader'), '-C', '-t', 'acl-audit', '-e', '-o', 'beginning']);
  expect(`${denied.stdout}${denied.stderr}`).toMatch(/authorization failed/i);
  // The anonymous listener sees no topic at all.
  const anonymous = await kcat(['-b', `127.0.0.1:${server.kafkaPort}`, '-L', '-t', 'acl-orders']);
  expect(anonymous.stdout).toMatch(/authorization failed/i);
});

test('kafkajs consumer group: a group the reader may READ consumes; one it may only DESCRIBE is GROUP_AUTHORIZATION_FAILED', async () => {
  const consumer = kafka('reader').consumer({ groupId: 'readers-1' });
  await consumer.connect();
  const got: string[] = [];
  try {
    await consumer.subscribe({ topic: 'acl-orders', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
    const deadline = Date.now() + 30_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  expect(got).toEqual(['one', 'two']);
  const refused = kafka('reader').consumer({ groupId: 'others', retry: { retries: 0 } });
  await refused.connect();
  try {
    await refused.subscribe({ topic: 'acl-orders', fromBeginning: true });
    const crashed = new Promise<unknown>((resolve) =>
      refused.on(refused.events.CRASH, (e) => resolve((e.payload as { error: unknown }).error)),
    );
    await refused.run({ eachMessage: async () => undefined });
    expect(await crashed).toMatchObject({ type: 'GROUP_AUTHORIZATION_FAILED' });
  } finally {
    await refused.disconnect();
  }
});

test('kafkajs transactional producer: allowed on its transactional-id prefix, refused on an id it may only DESCRIBE', async () => {
  const ok = kafka('txer').producer({ transactionalId: 'tx-1', maxInFlightRequests: 1, idempotent: true });
  await ok.connect();
  try {
    const t = await ok.transaction();
    await t.send({ topic: 'acl-tx', messages: [{ value: 'in-txn' }] });
    await t.commit();
  } finally {
    await ok.disconnect();
  }
  const refused = kafka('txer').producer({
    transactionalId: 'other-1',
    maxInFlightRequests: 1,
    idempotent: true,
    retry: { retries: 1 },
  });
  await expect(refused.connect().then(() => refused.transaction())).rejects.toMatchObject({
    type: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  });
  await refused.disconnect();
});

test('confluent-kafka-python: produce and consume with ALL on the topic; without READ the consume is refused', async () => {
  const settings = (user: string): string =>
    JSON.stringify({
      'security.protocol': 'sasl_plaintext',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': user,
      'sasl.password': PASSWORD,
    });
  const ok = await runPython(PYTHON, [`127.0.0.1:${saslPort}`, 'acl-py', settings('pyuser')], 60_000);
  expect(ok).toMatchObject({ ok: true });
  const refused = await runPython(
    PYTHON,
    [`127.0.0.1:${saslPort}`, 'acl-orders', settings('writer')],
    60_000,
  );
  expect(refused).toMatchObject({ ok: false });
  expect(JSON.stringify(refused)).toMatch(/AUTHORIZATION_FAILED/);
});

test('kafkajs admin deleteAcls: the writer loses WRITE and is refused', async () => {
  const admin = kafka('admin').admin();
  await admin.connect();
  try {
    const r = await admin.deleteAcls({
      filters: [
        {
          resourceType: AclResourceTypes.TOPIC,
          resourceName: 'acl-orders',
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: 'User:writer',
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        },
      ],
    });
    expect(r.filterResponses[0]?.matchingAcls.map((a) => [a.principal, a.operation])).toEqual([
      ['User:writer', AclOperationTypes.WRITE],
    ]);
  } finally {
    await admin.disconnect();
  }
  const refused = await kcat([...kcatAs('writer'), '-P', '-t', 'acl-orders'], 'late\n');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/authorization failed/i);
});
