// The consumer group protocol (KIP-848) over the wire, against an in-process broker: ApiVersions,
// ConsumerGroupHeartbeat v0 and v1, ConsumerGroupDescribe, OffsetCommit v9 / OffsetFetch v9 with
// member epochs, ListGroups v5's type filter, DescribeGroups and JoinGroup on a consumer group, and
// a broker with the protocol turned off (--group-coordinator-rebalance-protocols classic).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { subscription } from './helpers.js';

jest.setTimeout(30_000);

let stop: () => Promise<void>;
let dataDir: string;
let c: RawClient;
let topicId = '';

beforeAll(async () => {
  const b = await startBroker({}, { groupConfig: { consumerHeartbeatIntervalMs: 500 } });
  stop = b.stop;
  dataDir = b.dataDir;
  c = await RawClient.connect(b.broker.kafkaPort);
  const found = await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['k'] });
  expect(found.coordinators[0]?.errorCode).toBe(0);
  const created = await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: 'kt', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics[0]?.errorCode).toBe(0);
  topicId = created.topics[0]?.topicId ?? '';
});
afterAll(async () => {
  c.close();
  await stop();
  removeDir(dataDir);
});

function heartbeat(
  version: number,
  groupId: string,
  memberId: string,
  memberEpoch: number,
  over: Record<string, unknown> = {},
) {
  return c.request(ApiKey.ConsumerGroupHeartbeat, version, {
    groupId,
    memberId,
    memberEpoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: memberEpoch === 0 ? 30_000 : -1,
    subscribedTopicNames: memberEpoch === 0 ? ['kt'] : null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: memberEpoch === 0 ? [] : null,
    ...over,
  });
}

test('ApiVersions advertises ConsumerGroupHeartbeat v0–v1 and ConsumerGroupDescribe v0', async () => {
  const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
  const range = (k: number) => r.apiKeys.find((a) => a.apiKey === k);
  expect(range(ApiKey.ConsumerGroupHeartbeat)).toEqual({ apiKey: 68, minVersion: 0, maxVersion: 1 });
  expect(range(ApiKey.ConsumerGroupDescribe)).toEqual({ apiKey: 69, minVersion: 0, maxVersion: 0 });
});

test('join, describe, commit and fetch by member epoch, list by type, leave', async () => {
  const joined = await heartbeat(1, 'wg', 'member-1', 0);
  expect(joined).toMatchObject({
    errorCode: 0,
    errorMessage: null,
    memberId: 'member-1',
    memberEpoch: 1,
    heartbeatIntervalMs: 500,
  });
  expect(joined.assignment?.topicPartitions).toEqual([{ topicId, partitions: [0, 1, 2] }]);

  const v0 = await heartbeat(0, 'wg0', '', 0);
  expect(v0.errorCode).toBe(0);
  expect(v0.memberId).toMatch(/.+/);

  const described = await c.request(ApiKey.ConsumerGroupDescribe, 0, {
    groupIds: ['wg', 'nope'],
    includeAuthorizedOperations: true,
  });
  expect(described.groups[0]).toMatchObject({
    errorCode: 0,
    groupId: 'wg',
    groupState: 'Stable',
    groupEpoch: 1,
    assignmentEpoch: 1,
    assignorName: 'uniform',
    authorizedOperations: 328,
  });
  expect(described.groups[0]?.members[0]).toMatchObject({
    memberId: 'member-1',
    memberEpoch: 1,
    clientId: c.clientId,
    subscribedTopicNames: ['kt'],
    assignment: { topicPartitions: [{ topicId, topicName: 'kt', partitions: [0, 1, 2] }] },
    targetAssignment: { topicPartitions: [{ topicId, topicName: 'kt', partitions: [0, 1, 2] }] },
  });
  expect(described.groups[1]).toMatchObject({
    errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
    errorMessage: 'Group nope not found.',
  });

  const commit = (epoch: number, version = 9) =>
    c.request(ApiKey.OffsetCommit, version, {
      groupId: 'wg',
      generationIdOrMemberEpoch: epoch,
      memberId: 'member-1',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [
        {
          name: 'kt',
          partitions: [
            {
              partitionIndex: 1,
              committedOffset: 5n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            },
          ],
        },
      ],
    });
  expect((await commit(1)).topics[0]?.partitions[0]?.errorCode).toBe(0);
  expect((await commit(7)).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
  expect((await commit(1, 8)).topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);

  const fetch = (memberEpoch: number) =>
    c.request(ApiKey.OffsetFetch, 9, {
      groupId: '',
      topics: [],
      groups: [
        { groupId: 'wg', memberId: 'member-1', memberEpoch, topics: [{ name: 'kt', partitionIndexes: [1] }] },
      ],
      requireStable: true,
    });
  const fetched = await fetch(1);
  expect(fetched.groups[0]).toMatchObject({ errorCode: 0 });
  expect(fetched.groups[0]?.topics[0]?.partitions[0]?.committedOffset).toBe(5n);
  expect((await fetch(2)).groups[0]?.errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);

  const listed = await c.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
  expect(listed.groups).toEqual(
    expect.arrayContaining([
      { groupId: 'wg', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' },
    ]),
  );
  const classicOnly = await c.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['classic'] });
  expect(classicOnly.groups.some((g) => g.groupId === 'wg')).toBe(false);

  // The classic protocol's view of it.
  const dg = await c.request(ApiKey.DescribeGroups, 5, {
    groups: ['wg'],
    includeAuthorizedOperations: false,
  });
  expect(dg.groups[0]).toMatchObject({ errorCode: 0, groupState: 'Dead', protocolType: '', members: [] });
  const jg = await c.request(ApiKey.JoinGroup, 9, {
    groupId: 'wg',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from(subscription(['kt'])) }],
    reason: null,
  });
  // A classic consumer may join it (Kafka 4's mixed groups): a new member first learns its id.
  expect(jg.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  const other = await c.request(ApiKey.JoinGroup, 9, {
    groupId: 'wg',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'connect',
    protocols: [{ name: 'range', metadata: Buffer.from(subscription(['kt'])) }],
    reason: null,
  });
  expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

  const left = await heartbeat(1, 'wg', 'member-1', -1);
  expect(left).toMatchObject({ errorCode: 0, memberEpoch: -1 });
  const empty = await c.request(ApiKey.ConsumerGroupDescribe, 0, {
    groupIds: ['wg'],
    includeAuthorizedOperations: false,
  });
  expect(empty.groups[0]).toMatchObject({ groupState: 'Empty', members: [] });
});

test('errors carry Kafka messages', async () => {
  const r = await heartbeat(1, 'wg2', '', 0);
  expect(r).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "MemberId can't be empty." });
  const a = await heartbeat(1, 'wg2', 'm', 0, { serverAssignor: 'cooperative-sticky' });
  expect(a.errorCode).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR);
  const rx = await heartbeat(1, 'wg2', 'm', 0, {
    subscribedTopicNames: null,
    subscribedTopicRegex: '(?=k)kt',
  });
  expect(rx.errorCode).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION);
  const regex = await heartbeat(1, 'wg2', 'm', 0, { subscribedTopicNames: null, subscribedTopicRegex: 'k.' });
  expect(regex.assignment?.topicPartitions).toEqual([{ topicId, partitions: [0, 1, 2] }]);
});

test('with the consumer protocol turned off, its APIs are neither advertised nor served', async () => {
  const b = await startBroker({ broker: { groupRebalanceProtocols: ['classic'] } });
  const raw = await RawClient.connect(b.broker.kafkaPort);
  try {
    const r = await raw.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'raw',
      clientSoftwareVersion: '1',
    });
    expect(r.apiKeys.some((k) => k.apiKey === ApiKey.ConsumerGroupHeartbeat)).toBe(false);
    expect(r.apiKeys.some((k) => k.apiKey === ApiKey.ConsumerGroupDescribe)).toBe(false);
  } finally {
    raw.close();
    await b.stop();
    removeDir(b.dataDir);
  }
});
