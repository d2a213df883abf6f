/**
 * Old encodings must keep decoding. test/fixtures/commands.json holds committed encoded bytes of
 * every command type at every format version. To add fixtures for a new version, run
 * `UPDATE_FIXTURES=1 pnpm exec jest test/codec.test.ts`: it appends entries for (type, version)
 * pairs that have none and never rewrites an existing one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AlterConfigOp,
  COMMAND_FORMAT_VERSIONS,
  decodeCommand,
  encodeCommand,
  isMetadataError,
} from '@chronik/metadata';
import type { MetadataCommand, MetadataCommandType } from '@chronik/metadata';
import { pack } from 'msgpackr';

const FIXTURES = path.join(__dirname, 'fixtures', 'commands.json');

interface Fixture {
  readonly type: MetadataCommandType;
  readonly version: number;
  readonly hex: string;
  readonly decoded: MetadataCommand;
}

const topicId = '5a000000-0000-4000-8000-00000000002a';

/** One representative command of every type at the current version. */
const SAMPLES: Record<MetadataCommandType, MetadataCommand> = {
  initCluster: { type: 'initCluster', clusterId: 'q1Sh-9_KTFGEW6vNUQeLwA' },
  registerBroker: {
    type: 'registerBroker',
    brokerId: 2,
    host: 'node2.local',
    port: 9093,
    rack: 'rack-b',
    raftAddress: 'node2.local:9193',
    incarnation: 'a8c3f1d2-run-7',
    listeners: [
      { name: 'INTERNAL', host: 'node2.local', port: 9093, securityProtocol: 'PLAINTEXT' },
      { name: 'EXTERNAL', host: 'kafka.example.com', port: 19093, securityProtocol: 'SASL_SSL' },
    ],
  },
  unregisterBroker: { type: 'unregisterBroker', brokerId: 3 },
  fenceBroker: { type: 'fenceBroker', brokerId: 2, brokerEpoch: 17, fenced: true },
  createTopic: {
    type: 'createTopic',
    name: 'orders.v1',
    topicId,
    assignments: [
      [1, 2, 3],
      [2, 3, 1],
    ],
    configs: [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'retention.ms', value: '86400000' },
    ],
    internal: false,
  },
  deleteTopic: { type: 'deleteTopic', name: 'orders.v1', topicId },
  createPartitions: {
    type: 'createPartitions',
    name: 'orders.v1',
    topicId,
    expectedCurrentCount: 2,
    assignments: [[3, 1, 2]],
  },
  assignReplicas: { type: 'assignReplicas', topicId, partition: 1, replicas: [2, 3, 4] },
  changeLeader: { type: 'changeLeader', topicId, partition: 0, leader: 2, leaderEpoch: 5, isr: [1, 2] },
  changeIsr: { type: 'changeIsr', topicId, partition: 0, leaderEpoch: 5, isr: [1, 2, 3] },
  alterTopicConfigs: {
    type: 'alterTopicConfigs',
    name: 'orders.v1',
    topicId,
    alterations: [
      { name: 'retention.ms', op: AlterConfigOp.SET, value: '3600000' },
      { name: 'segment.bytes', op: AlterConfigOp.DELETE, value: null },
      { name: 'cleanup.policy', op: AlterConfigOp.APPEND, value: 'delete' },
    ],
    replace: false,
  },
  alterBrokerConfigs: {
    type: 'alterBrokerConfigs',
    brokerId: null,
    alterations: [{ name: 'log.retention.ms', op: AlterConfigOp.SET, value: '600000' }],
    replace: true,
  },
  allocateProducerIds: { type: 'allocateProducerIds', brokerId: 1, brokerEpoch: 4, count: 1000 },
  alterScramCredentials: {
    type: 'alterScramCredentials',
    deletions: [{ user: 'old-app', mechanism: 'SCRAM-SHA-256' }],
    upsertions: [
      {
        user: 'alice',
        mechanism: 'SCRAM-SHA-512',
        salt: 'c2FsdHNhbHRzYWx0',
        iterations: 8192,
        storedKey: Buffer.alloc(64, 1).toString('base64'),
        serverKey: Buffer.alloc(64, 2).toString('base64'),
      },
    ],
  },
  alterClientQuotas: {
    type: 'alterClientQuotas',
    entries: [
      {
        entity: [
          { type: 'user', name: 'alice' },
          { type: 'client-id', name: null },
        ],
        ops: [
          { key: 'producer_byte_rate', value: 1048576 },
          { key: 'request_percentage', value: null },
        ],
      },
    ],
  },
  createAcls: {
    type: 'createAcls',
    acls: [
      {
        resourceType: 'TOPIC',
        resourceName: 'orders-',
        patternType: 'PREFIXED',
        principal: 'User:alice',
        host: '*',
        operation: 'WRITE',
        permission: 'ALLOW',
      },
      {
        resourceType: 'CLUSTER',
        resourceName: 'kafka-cluster',
        patternType: 'LITERAL',
        principal: 'User:CN=app,O=Example',
        host: '10.0.0.7',
        operation: 'ALTER_CONFIGS',
        permission: 'DENY',
      },
    ],
  },
  deleteAcls: {
    type: 'deleteAcls',
    filters: [
      {
        resourceType: 'ANY',
        resourceName: null,
        patternType: 'MATCH',
        principal: 'User:alice',
        host: null,
        operation: 'ANY',
        permission: 'ALLOW',
      },
      {
        resourceType: 'GROUP',
        resourceName: 'readers',
        patternType: 'LITERAL',
        principal: null,
        host: '*',
        operation: 'READ',
        permission: 'ANY',
      },
    ],
  },
  replicaRepair: {
    type: 'replicaRepair',
    topicId,
    partition: 2,
    brokerId: 3,
    phase: 'rebuilding',
    requestIndex: 1207,
  },
  alterReassignment: { type: 'alterReassignment', topicId, partition: 1, replicas: [4, 2, 3] },
  completeReassignment: { type: 'completeReassignment', topicId, partition: 1, replicas: [4, 2, 3] },
  addNode: {
    type: 'addNode',
    nodeId: 4,
    raftAddress: 'node4.local:9195',
    clusterId: 'q1Sh-9_KTFGEW6vNUQeLwA',
    directoryId: 'd3b07384-d113-4ec6-a8b9-3f9c1e6b2a10',
  },
  removeNode: { type: 'removeNode', nodeId: 3 },
  membershipDone: { type: 'membershipDone', nodeId: 4, requestIndex: 812, refused: null },
  decommissionNode: { type: 'decommissionNode', nodeId: 3, remove: true },
  recommissionNode: { type: 'recommissionNode', nodeId: 3 },
  startRebalance: { type: 'startRebalance' },
  endRebalance: { type: 'endRebalance', requestIndex: 907, reason: 'balanced' },
};

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function fromHex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

function loadFixtures(): Fixture[] {
  return fs.existsSync(FIXTURES) ? (JSON.parse(fs.readFileSync(FIXTURES, 'utf8')) as Fixture[]) : [];
}

if (process.env['UPDATE_FIXTURES'] === '1') {
  const fixtures = loadFixtures();
  for (const [type, version] of Object.entries(COMMAND_FORMAT_VERSIONS) as [MetadataCommandType, number][]) {
    if (fixtures.some((f) => f.type === type && f.version === version)) continue;
    const sample = SAMPLES[type];
    fixtures.push({ type, version, hex: hex(encodeCommand(sample)), decoded: sample });
  }
  fs.writeFileSync(FIXTURES, `${JSON.stringify(fixtures, null, 2)}\n`);
}

describe('command encoding', () => {
  const fixtures = loadFixtures();

  test('every command type has a fixture at every format version', () => {
    for (const [type, current] of Object.entries(COMMAND_FORMAT_VERSIONS)) {
      for (let v = 1; v <= current; v++)
        expect(fixtures.some((f) => f.type === type && f.version === v)).toBe(true);
    }
  });

  test.each(loadFixtures().map((f) => [`${f.type} v${f.version}`, f] as const))(
    'committed bytes of %s still decode',
    (_label, f) => {
      expect(decodeCommand(fromHex(f.hex))).toEqual(f.decoded);
    },
  );

  test.each(loadFixtures().map((f) => [`${f.type} v${f.version}`, f] as const))(
    '%s at the current version still encodes to the committed bytes',
    (_label, f) => {
      if (f.version !== COMMAND_FORMAT_VERSIONS[f.type]) return;
      expect(hex(encodeCommand(f.decoded))).toBe(f.hex);
    },
  );

  test('round trip of every sample', () => {
    for (const sample of Object.values(SAMPLES)) expect(decodeCommand(encodeCommand(sample))).toEqual(sample);
  });

  test('membership commands of node 0 (broker ids start at 0) round trip', () => {
    for (const sample of [
      { ...SAMPLES.addNode, nodeId: 0 },
      { ...SAMPLES.removeNode, nodeId: 0 },
      { ...SAMPLES.membershipDone, nodeId: 0 },
    ])
      expect(decodeCommand(encodeCommand(sample))).toEqual(sample);
  });

  test('key order of the input does not change the bytes', () => {
    const a: MetadataCommand = { type: 'changeIsr', topicId, partition: 0, leaderEpoch: 5, isr: [1, 2] };
    const b = JSON.parse(
      '{"isr":[1,2],"leaderEpoch":5,"partition":0,"topicId":"' + topicId + '","type":"changeIsr"}',
    ) as MetadataCommand;
    expect(hex(encodeCommand(a))).toBe(hex(encodeCommand(b)));
  });

  test('malformed bytes are INVALID_REQUEST', () => {
    const bad = [
      new Uint8Array([0xc1]),
      new Uint8Array([0x92, 0x01]),
      fromHex('a0'),
      fromHex('81a17401'),
      new Uint8Array([0xff]),
    ];
    for (const bytes of bad) {
      expect(() => decodeCommand(bytes)).toThrow();
      try {
        decodeCommand(bytes);
      } catch (e) {
        expect(isMetadataError(e, 'INVALID_REQUEST')).toBe(true);
      }
    }
    // A field of the wrong type.
    const wrong = encodeCommand(SAMPLES.unregisterBroker);
    const tampered = fromHex(hex(wrong).replace('a862726f6b65724964', 'a862726f6b65724978'));
    expect(() => decodeCommand(tampered)).toThrow(/brokerId: missing/);
  });

  test('a newer version or an unknown command type is UNSUPPORTED_VERSION', () => {
    const newer = pack({
      t: 'unregisterBroker',
      v: COMMAND_FORMAT_VERSIONS.unregisterBroker + 1,
      brokerId: 1,
    });
    expect(() => decodeCommand(newer)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_VERSION', errorCode: 35 }),
    );
    const unknown = pack({ t: 'electLeaders', v: 1, brokerId: 1 });
    expect(() => decodeCommand(unknown)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
    const zero = pack({ t: 'unregisterBroker', v: 0, brokerId: 1 });
    expect(() => decodeCommand(zero)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
    expect(decodeCommand(pack({ t: 'unregisterBroker', v: 1, brokerId: 1 }))).toEqual({
      type: 'unregisterBroker',
      brokerId: 1,
    });
  });
});
