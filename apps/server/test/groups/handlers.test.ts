// The ten group handlers over the wire (a raw client against an in-process broker), version by
// version: which fields each version carries and how answers map to them.
import { ApiKey } from '@chronik/protocol';
import { removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { subscription } from './helpers.js';

jest.setTimeout(30_000);

let stop: () => Promise<void>;
let dataDir: string;
let c: RawClient;

beforeAll(async () => {
  const b = await startBroker({}, { groupConfig: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1000 } });
  stop = b.stop;
  dataDir = b.dataDir;
  c = await RawClient.connect(b.broker.kafkaPort);
  // As clients do: FindCoordinator first (it creates __consumer_offsets; before that no node
  // coordinates any group, as in Kafka).
  const found = await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['h'] });
  expect(found.coordinators[0]?.errorCode).toBe(0);
  const created = await c.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: 'ht', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics[0]?.errorCode).toBe(0);
});
afterAll(async () => {
  c.close();
  await stop();
  removeDir(dataDir);
});

const meta = Buffer.from(subscription(['ht']));
function join(
  version: number,
  groupId: string,
  memberId = '',
  groupInstanceId: string | null = null,
  protocols = [{ name: 'range', metadata: meta }],
) {
  return c.request(ApiKey.JoinGroup, version, {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId,
    protocolType: 'consumer',
    protocols,
    reason: null,
  });
}
/** JoinGroup through MEMBER_ID_REQUIRED when the version asks for it (v4+). */
async function joinFully(version: number, groupId: string) {
  const first = await join(version, groupId);
  return first.errorCode === 79 ? join(version, groupId, first.memberId) : first;
}
function sync(
  version: number,
  groupId: string,
  generationId: number,
  memberId: string,
  assignments: Array<{ memberId: string; assignment: Buffer }> = [],
  protocolName: string | null = null,
) {
  return c.request(ApiKey.SyncGroup, version, {
    groupId,
    generationId,
    memberId,
    groupInstanceId: null,
    protocolType: protocolName === null ? null : 'consumer',
    protocolName,
    assignments,
  });
}
function commitV(
  version: number,
  groupId: string,
  generationIdOrMemberEpoch: number,
  memberId: string,
  topic: string,
  offset: bigint,
) {
  return c.request(ApiKey.OffsetCommit, version, {
    groupId,
    generationIdOrMemberEpoch,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: topic,
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: offset,
            committedLeaderEpoch: 7,
            commitTimestamp: -1n,
            committedMetadata: 'md',
          },
        ],
      },
    ],
  });
}

test('ApiVersions advertises the group APIs', async () => {
  const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
  const range = (k: number) => r.apiKeys.find((a) => a.apiKey === k);
  expect(range(ApiKey.JoinGroup)).toMatchObject({ minVersion: 0, maxVersion: 9 });
  expect(range(ApiKey.SyncGroup)).toMatchObject({ maxVersion: 5 });
  expect(range(ApiKey.Heartbeat)).toMatchObject({ maxVersion: 4 });
  expect(range(ApiKey.LeaveGroup)).toMatchObject({ maxVersion: 5 });
  expect(range(ApiKey.OffsetCommit)).toMatchObject({ maxVersion: 9 });
  expect(range(ApiKey.OffsetFetch)).toMatchObject({ maxVersion: 9 });
  expect(range(ApiKey.DescribeGroups)).toMatchObject({ maxVersion: 5 });
  expect(range(ApiKey.ListGroups)).toMatchObject({ maxVersion: 5 });
  expect(range(ApiKey.DeleteGroups)).toMatchObject({ maxVersion: 2 });
  expect(range(ApiKey.OffsetDelete)).toMatchObject({ maxVersion: 0 });
});

test('JoinGroup v0 joins at once; v4 asks for the member id first; v7 names the protocol type', async () => {
  const v0 = await join(0, 'h-v0');
  expect(v0).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range' });
  expect(v0.leader).toBe(v0.memberId);
  expect(v0.members.map((m) => m.memberId)).toEqual([v0.memberId]);
  expect(v0.memberId.startsWith('raw-test-')).toBe(true); // client id + "-" + uuid

  const first = await join(4, 'h-v4');
  expect(first.errorCode).toBe(79); // MEMBER_ID_REQUIRED
  const second = await join(7, 'h-v4', first.memberId);
  expect(second).toMatchObject({
    errorCode: 0,
    generationId: 1,
    protocolType: 'consumer',
    protocolName: 'range',
    memberId: first.memberId,
  });
  expect(Buffer.compare(second.members[0]?.metadata ?? Buffer.alloc(0), meta)).toBe(0);

  expect((await join(7, 'h-v4', 'nobody')).errorCode).toBe(25); // UNKNOWN_MEMBER_ID
  const bad = await c.request(ApiKey.JoinGroup, 5, {
    groupId: 'h-bad',
    sessionTimeoutMs: 10,
    rebalanceTimeoutMs: 10,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: meta }],
    reason: null,
  });
  expect(bad.errorCode).toBe(26); // INVALID_SESSION_TIMEOUT
});

test("SyncGroup hands out the leader's assignment; v5 checks the protocol name; Heartbeat follows the generation", async () => {
  const j = await joinFully(5, 'h-sync');
  const s = await sync(
    5,
    'h-sync',
    j.generationId,
    j.memberId,
    [{ memberId: j.memberId, assignment: Buffer.from('A') }],
    'range',
  );
  expect(s).toMatchObject({ errorCode: 0, protocolType: 'consumer', protocolName: 'range' });
  expect(s.assignment.toString()).toBe('A');
  expect((await sync(5, 'h-sync', j.generationId, j.memberId, [], 'roundrobin')).errorCode).toBe(23); // INCONSISTENT_GROUP_PROTOCOL
  expect((await sync(0, 'h-sync', j.generationId + 1, j.memberId)).errorCode).toBe(22); // ILLEGAL_GENERATION
  const hb = (generationId: number, memberId: string) =>
    c.request(ApiKey.Heartbeat, 4, { groupId: 'h-sync', generationId, memberId, groupInstanceId: null });
  expect((await hb(j.generationId, j.memberId)).errorCode).toBe(0);
  expect((await hb(j.generationId - 1, j.memberId)).errorCode).toBe(22);
  expect((await hb(j.generationId, 'x')).errorCode).toBe(25);
});

test('LeaveGroup v0 answers at the top level, v3+ per member', async () => {
  const a = await join(0, 'h-leave');
  const v0 = await c.request(ApiKey.LeaveGroup, 0, { groupId: 'h-leave', memberId: 'ghost', members: [] });
  expect(v0.errorCode).toBe(25);
  const v3 = await c.request(ApiKey.LeaveGroup, 3, {
    groupId: 'h-leave',
    memberId: '',
    members: [
      { memberId: a.memberId, groupInstanceId: null, reason: null },
      { memberId: 'ghost', groupInstanceId: null, reason: null },
    ],
  });
  expect(v3.errorCode).toBe(0);
  expect(v3.members.map((m) => [m.memberId, m.errorCode])).toEqual([
    [a.memberId, 0],
    ['ghost', 25],
  ]);
  const d = await c.request(ApiKey.DescribeGroups, 5, {
    groups: ['h-leave'],
    includeAuthorizedOperations: false,
  });
  expect(d.groups[0]).toMatchObject({ groupState: 'Empty', members: [], authorizedOperations: -2147483648 });
});

test('OffsetCommit and OffsetFetch across versions', async () => {
  expect((await commitV(0, 'h-off', -1, '', 'ht', 5n)).topics[0]?.partitions[0]?.errorCode).toBe(0);
  expect((await commitV(8, 'h-off', -1, '', 'nope', 5n)).topics[0]?.partitions[0]?.errorCode).toBe(3); // UNKNOWN_TOPIC_OR_PARTITION
  expect((await commitV(2, 'h-off', 1, 'm', 'ht', 5n)).topics[0]?.partitions[0]?.errorCode).toBe(25); // a member of a group without members
  // v1: no top-level error code; every partition answered
  const v1 = await c.request(ApiKey.OffsetFetch, 1, {
    groupId: 'h-off',
    topics: [{ name: 'ht', partitionIndexes: [0, 1] }],
    groups: [],
    requireStable: false,
  });
  expect(
    v1.topics[0]?.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]),
  ).toEqual([
    [0, 5n, 'md', 0],
    [1, -1n, '', 0],
  ]);
  // v5: leader epochs; v0 commits carry none
  const v5 = await c.request(ApiKey.OffsetFetch, 5, {
    groupId: 'h-off',
    topics: null,
    groups: [],
    requireStable: false,
  });
  expect(v5.topics).toEqual([
    {
      name: 'ht',
      partitions: [
        { partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: -1, metadata: 'md', errorCode: 0 },
      ],
    },
  ]);
  expect((await commitV(6, 'h-off', -1, '', 'ht', 6n)).topics[0]?.partitions[0]?.errorCode).toBe(0);
  // v8: several groups at once
  const v8 = await c.request(ApiKey.OffsetFetch, 8, {
    groupId: '',
    topics: [],
    groups: [
      { groupId: 'h-off', memberId: null, memberEpoch: -1, topics: null },
      { groupId: 'h-none', memberId: null, memberEpoch: -1, topics: [{ name: 'ht', partitionIndexes: [0] }] },
    ],
    requireStable: true,
  });
  expect(
    v8.groups.map((g) => [
      g.groupId,
      g.errorCode,
      g.topics.map((t) => t.partitions.map((p) => [p.committedOffset, p.committedLeaderEpoch])),
    ]),
  ).toEqual([
    ['h-off', 0, [[[6n, 7]]]],
    ['h-none', 0, [[[-1n, -1]]]],
  ]);
});

test('ListGroups filters by state (v4) and type (v5); DeleteGroups and OffsetDelete', async () => {
  await commitV(8, 'h-del', -1, '', 'ht', 1n);
  const j = await joinFully(5, 'h-live');
  await sync(5, 'h-live', j.generationId, j.memberId, [
    { memberId: j.memberId, assignment: Buffer.alloc(0) },
  ]);
  const all = await c.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
  expect(all.groups.find((g) => g.groupId === 'h-live')).toEqual({
    groupId: 'h-live',
    protocolType: 'consumer',
    groupState: 'Stable',
    groupType: 'classic',
  });
  const stable = await c.request(ApiKey.ListGroups, 4, { statesFilter: ['Stable'], typesFilter: [] });
  expect(stable.groups.every((g) => g.groupState === 'Stable')).toBe(true);
  expect(stable.groups.map((g) => g.groupId)).toContain('h-live');
  expect(
    (await c.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] })).groups,
  ).toEqual([]);

  const od = await c.request(ApiKey.OffsetDelete, 0, {
    groupId: 'h-del',
    topics: [{ name: 'ht', partitions: [{ partitionIndex: 0 }] }],
  });
  expect(od).toMatchObject({
    errorCode: 0,
    topics: [{ name: 'ht', partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
  });
  expect((await c.request(ApiKey.OffsetDelete, 0, { groupId: 'h-missing', topics: [] })).errorCode).toBe(69); // GROUP_ID_NOT_FOUND

  const del = await c.request(ApiKey.DeleteGroups, 2, { groupsNames: ['h-del', 'h-live', 'h-missing'] });
  expect(del.results.map((r) => [r.groupId, r.errorCode])).toEqual([
    ['h-del', 0],
    ['h-live', 68],
    ['h-missing', 69],
  ]);
  const d = await c.request(ApiKey.DescribeGroups, 5, {
    groups: ['h-live', 'h-del'],
    includeAuthorizedOperations: true,
  });
  expect(d.groups[0]).toMatchObject({
    groupState: 'Stable',
    protocolData: 'range',
    authorizedOperations: 328,
  });
  expect(d.groups[0]?.members[0]).toMatchObject({
    memberId: j.memberId,
    clientId: 'raw-test',
    clientHost: '/127.0.0.1',
  });
  expect(d.groups[1]).toMatchObject({ groupState: 'Dead', errorCode: 0 });
});
