// What the console's admin views (views.ts) read from one node: a partition's offsets and records
// (only its leader serves them), the sizes of its replicas, and the consumer groups it coordinates.
// Two implementations of one interface:
// - localReader: this node's services (the partition manager, the group coordinator);
// - remoteReader: another node, with Kafka requests to its advertised listener over the
//   inter-broker client (net/broker-client.ts), as an admin client would ask it.
//
// Contract of every method:
// - read-only: nothing is written, no group is joined, no offset committed;
// - bounded: `read` returns at most `maxBytes` of batches (at least one whole batch when there is
//   one), a remote call has a deadline (`timeoutMs`);
// - failures are KafkaErrors (a node that cannot be reached: NETWORK_EXCEPTION or REQUEST_TIMED_OUT;
//   a partition it does not lead: NOT_LEADER_OR_FOLLOWER).
import type { ApiResponseByKey } from '@chronik/protocol';
import { ApiKey, ErrorCode, kafkaErrorInfo } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { BrokerCalls } from '../net/broker-client.js';
import type { TopicPartition } from '../partition/types.js';
import { ListOffsetsTimestamp } from '../partition/types.js';
import type { PartitionManager } from '../services/partition-manager.js';

/** A partition's range of offsets on its leader. */
export interface OffsetRange {
  logStartOffset: bigint;
  highWatermark: bigint;
}

/** Batches read from a partition's leader, as stored. */
export interface ReadBatches {
  /** Whole record batches (a buffer may hold several). */
  chunks: readonly Buffer[];
  bytes: number;
  highWatermark: bigint;
  logStartOffset: bigint;
}

export interface ReaderGroup {
  groupId: string;
  protocolType: string;
  state: string;
  /** `classic`, or `consumer` (KIP-848). */
  groupType: string;
}

export interface ReaderGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Classic groups: the member's assignment as the group's leader encoded it (Stable groups only; else empty). */
  assignment: Uint8Array;
  /** Consumer-protocol groups (KIP-848): the partitions the member owns, from the coordinator. */
  partitions?: TopicPartition[];
}

export interface ReaderGroupDescription {
  groupId: string;
  /** `classic` (JoinGroup/SyncGroup) or `consumer` (KIP-848's ConsumerGroupHeartbeat). */
  groupType: 'classic' | 'consumer';
  /** 'Dead' for a group the coordinator does not know. */
  state: string;
  protocolType: string;
  /** The selected protocol (Stable groups only). */
  protocol: string;
  members: ReaderGroupMember[];
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  metadata: string | null;
}

export interface NodeReader {
  /** Log start and high watermark of the partitions of `topic` this node leads (a map by partition; an error per partition it cannot answer). */
  offsets(topic: string, partitions: readonly number[]): Promise<Map<number, OffsetRange | KafkaError>>;
  /** The first offset whose timestamp is at or after `timestampMs` (-1 when there is none). */
  offsetForTime(tp: TopicPartition, timestampMs: bigint): Promise<bigint>;
  /** Batches from `offset`, below the high watermark (read_uncommitted), at most `maxBytes` but one whole batch. */
  read(tp: TopicPartition, offset: bigint, maxBytes: number): Promise<ReadBatches>;
  /** Bytes of this node's replicas of these partitions of `topic`, by partition. */
  sizes(topic: string, partitions: readonly number[]): Promise<Map<number, number>>;
  /** The groups this node coordinates. */
  listGroups(): Promise<ReaderGroup[]>;
  /** The group as its coordinator (this node) describes it. */
  describeGroup(groupId: string): Promise<ReaderGroupDescription>;
  /** Every offset the group committed (its coordinator: this node). */
  committedOffsets(groupId: string): Promise<CommittedOffset[]>;
}

function errorName(code: number): string {
  return kafkaErrorInfo(code)?.name ?? 'UNKNOWN_SERVER_ERROR';
}

function check(code: number, what: string): void {
  if (code !== ErrorCode.NONE) throw new KafkaError(errorName(code), what);
}

function asKafkaError(e: unknown): KafkaError {
  return e instanceof KafkaError
    ? e
    : new KafkaError('UNKNOWN_SERVER_ERROR', e instanceof Error ? e.message : String(e));
}

/** This node, through its services. */
export function localReader(partitions: PartitionManager, groups: GroupCoordinator): NodeReader {
  return {
    async offsets(topic, ps) {
      const out = new Map<number, OffsetRange | KafkaError>();
      for (const partition of ps) {
        try {
          const p = partitions.leader({ topic, partition });
          out.set(partition, { logStartOffset: p.logStartOffset, highWatermark: p.highWatermark });
        } catch (e) {
          out.set(partition, asKafkaError(e));
        }
      }
      return out;
    },
    async offsetForTime(tp, timestampMs) {
      return (await partitions.listOffset(tp, timestampMs, 0, -1)).offset;
    },
    async read(tp, offset, maxBytes) {
      const r = await partitions.read({
        ...tp,
        fetchOffset: offset,
        maxBytes,
        minOneBatch: true,
        isolationLevel: 0,
        currentLeaderEpoch: -1,
      });
      return {
        chunks: r.chunks,
        bytes: r.bytes,
        highWatermark: r.highWatermark,
        logStartOffset: r.logStartOffset,
      };
    },
    async sizes(topic) {
      const out = new Map<number, number>();
      for (const dir of partitions.logDirs())
        for (const p of dir.partitions) if (p.topic === topic) out.set(p.partition, p.sizeBytes);
      return out;
    },
    async listGroups() {
      const r = groups.listGroups({ statesFilter: [], typesFilter: [] });
      return r.groups.map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        state: g.state,
        groupType: g.groupType,
      }));
    },
    async describeGroup(groupId) {
      const g = groups.describeGroups([groupId])[0];
      if (g === undefined || g.errorCode !== 'NONE')
        throw new KafkaError(g?.errorCode ?? 'UNKNOWN_SERVER_ERROR', `describing group ${groupId}`);
      // DescribeGroups calls a consumer-protocol group Dead: ask for it as one.
      const c = g.state === 'Dead' ? groups.consumerGroupDescribe([groupId])[0] : undefined;
      if (c !== undefined && c.errorCode === 'NONE' && c.state !== 'Dead')
        return {
          groupId,
          groupType: 'consumer',
          state: c.state,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocol: c.assignorName,
          members: c.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.instanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            assignment: new Uint8Array(0),
            partitions: m.assignment.flatMap((t) =>
              t.partitions.map((partition) => ({ topic: t.topicName, partition })),
            ),
          })),
        };
      return {
        groupId,
        groupType: 'classic',
        state: g.state,
        protocolType: g.protocolType,
        protocol: g.protocolData,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: m.assignment,
        })),
      };
    },
    async committedOffsets(groupId) {
      const r = groups.fetchOffsets({ groupId, topics: null, requireStable: false });
      if (r.errorCode !== 'NONE') throw new KafkaError(r.errorCode, `offsets of group ${groupId}`);
      return r.topics.flatMap((t) =>
        t.partitions
          .filter((p) => p.errorCode === 'NONE' && p.committedOffset >= 0n)
          .map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            metadata: p.metadata,
          })),
      );
    },
  };
}

/** Versions asked of another node: the highest each side has within these ranges. */
const LIST_OFFSETS = { minVersion: 1, maxVersion: 7 };
const FETCH = { minVersion: 4, maxVersion: 11 };
const DESCRIBE_LOG_DIRS = { minVersion: 0, maxVersion: 4 };
const LIST_GROUPS = { minVersion: 0, maxVersion: 5 };
const DESCRIBE_GROUPS = { minVersion: 0, maxVersion: 5 };
const OFFSET_FETCH = { minVersion: 2, maxVersion: 7 };
const CONSUMER_GROUP_DESCRIBE = { minVersion: 0, maxVersion: 0 };
/** The protocol type consumer-protocol groups report (as ListGroups does). */
const CONSUMER_PROTOCOL_TYPE = 'consumer';

/** Another node, over Kafka requests to it; every call takes at most `timeoutMs`. */
export function remoteReader(calls: BrokerCalls, nodeId: number, timeoutMs: number): NodeReader {
  const listOffsets = async (
    topic: string,
    partitions: readonly number[],
    timestamp: bigint,
  ): Promise<ApiResponseByKey[typeof ApiKey.ListOffsets]> => {
    const { response } = await calls.request(
      nodeId,
      ApiKey.ListOffsets,
      {
        replicaId: -1,
        isolationLevel: 0,
        topics: [
          {
            name: topic,
            partitions: partitions.map((partitionIndex) => ({
              partitionIndex,
              currentLeaderEpoch: -1,
              timestamp,
              maxNumOffsets: 1,
            })),
          },
        ],
        timeoutMs,
      },
      { ...LIST_OFFSETS, timeoutMs },
    );
    return response;
  };
  /** A consumer-protocol group (KIP-848) by ConsumerGroupDescribe; undefined when there is none. */
  const consumerGroup = async (groupId: string): Promise<ReaderGroupDescription | undefined> => {
    const { response } = await calls.request(
      nodeId,
      ApiKey.ConsumerGroupDescribe,
      { groupIds: [groupId], includeAuthorizedOperations: false },
      { ...CONSUMER_GROUP_DESCRIBE, timeoutMs },
    );
    const c = response.groups[0];
    if (c === undefined || c.errorCode !== ErrorCode.NONE || c.groupState === 'Dead') return undefined;
    return {
      groupId,
      groupType: 'consumer',
      state: c.groupState,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocol: c.assignorName,
      members: c.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: new Uint8Array(0),
        partitions: m.assignment.topicPartitions.flatMap((t) =>
          t.partitions.map((partition) => ({ topic: t.topicName, partition })),
        ),
      })),
    };
  };
  const partitionsOf = (r: ApiResponseByKey[typeof ApiKey.ListOffsets], topic: string) =>
    r.topics.find((t) => t.name === topic)?.partitions ?? [];
  return {
    async offsets(topic, ps) {
      const [earliest, latest] = await Promise.all([
        listOffsets(topic, ps, ListOffsetsTimestamp.EARLIEST),
        listOffsets(topic, ps, ListOffsetsTimestamp.LATEST),
      ]);
      const first = new Map(partitionsOf(earliest, topic).map((p) => [p.partitionIndex, p]));
      const out = new Map<number, OffsetRange | KafkaError>();
      for (const last of partitionsOf(latest, topic)) {
        const start = first.get(last.partitionIndex);
        const code =
          last.errorCode !== ErrorCode.NONE ? last.errorCode : (start?.errorCode ?? ErrorCode.NONE);
        out.set(
          last.partitionIndex,
          code !== ErrorCode.NONE || start === undefined
            ? new KafkaError(errorName(code), `${topic}-${last.partitionIndex} on node ${nodeId}`)
            : { logStartOffset: start.offset, highWatermark: last.offset },
        );
      }
      return out;
    },
    async offsetForTime(tp, timestampMs) {
      const r = await listOffsets(tp.topic, [tp.partition], timestampMs);
      const p = partitionsOf(r, tp.topic)[0];
      if (p === undefined)
        throw new KafkaError('UNKNOWN_SERVER_ERROR', `no answer for ${tp.topic}-${tp.partition}`);
      check(p.errorCode, `${tp.topic}-${tp.partition} on node ${nodeId}`);
      return p.offset;
    },
    async read(tp, offset, maxBytes) {
      const { response } = await calls.request(
        nodeId,
        ApiKey.Fetch,
        {
          clusterId: null,
          replicaId: -1,
          replicaState: { replicaId: -1, replicaEpoch: -1n },
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: tp.topic,
              topicId: '00000000-0000-0000-0000-000000000000',
              partitions: [
                {
                  partition: tp.partition,
                  currentLeaderEpoch: -1,
                  fetchOffset: offset,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1n,
                  partitionMaxBytes: maxBytes,
                  replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
        { ...FETCH, timeoutMs },
      );
      check(response.errorCode, `fetch from node ${nodeId}`);
      const p = response.responses.find((t) => t.topic === tp.topic)?.partitions[0];
      if (p === undefined)
        throw new KafkaError('UNKNOWN_SERVER_ERROR', `no answer for ${tp.topic}-${tp.partition}`);
      check(p.errorCode, `${tp.topic}-${tp.partition} on node ${nodeId}`);
      const records = p.records ?? Buffer.alloc(0);
      return {
        chunks: records.length > 0 ? [records] : [],
        bytes: records.length,
        highWatermark: p.highWatermark,
        logStartOffset: p.logStartOffset,
      };
    },
    async sizes(topic, ps) {
      const { response } = await calls.request(
        nodeId,
        ApiKey.DescribeLogDirs,
        { topics: [{ topic, partitions: [...ps] }] },
        { ...DESCRIBE_LOG_DIRS, timeoutMs },
      );
      const out = new Map<number, number>();
      for (const dir of response.results)
        for (const t of dir.topics)
          if (t.name === topic)
            for (const p of t.partitions) out.set(p.partitionIndex, Number(p.partitionSize));
      return out;
    },
    async listGroups() {
      const { response } = await calls.request(
        nodeId,
        ApiKey.ListGroups,
        { statesFilter: [], typesFilter: [] },
        { ...LIST_GROUPS, timeoutMs },
      );
      check(response.errorCode, `groups of node ${nodeId}`);
      return response.groups.map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        state: g.groupState,
        groupType: g.groupType === '' ? 'classic' : g.groupType,
      }));
    },
    async describeGroup(groupId) {
      const { response } = await calls.request(
        nodeId,
        ApiKey.DescribeGroups,
        { groups: [groupId], includeAuthorizedOperations: false },
        { ...DESCRIBE_GROUPS, timeoutMs },
      );
      const g = response.groups[0];
      if (g === undefined) throw new KafkaError('UNKNOWN_SERVER_ERROR', `no answer for group ${groupId}`);
      check(g.errorCode, `group ${groupId} on node ${nodeId}`);
      if (g.groupState === 'Dead') {
        // DescribeGroups calls a consumer-protocol group Dead: ask for it as one (a node without
        // ConsumerGroupDescribe has none).
        const c = await consumerGroup(groupId).catch(() => undefined);
        if (c !== undefined) return c;
      }
      return {
        groupId,
        groupType: 'classic',
        state: g.groupState,
        protocolType: g.protocolType,
        protocol: g.protocolData,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: m.memberAssignment,
        })),
      };
    },
    async committedOffsets(groupId) {
      const { response } = await calls.request(
        nodeId,
        ApiKey.OffsetFetch,
        { groupId, topics: null, groups: [], requireStable: false },
        { ...OFFSET_FETCH, timeoutMs },
      );
      check(response.errorCode, `offsets of group ${groupId} on node ${nodeId}`);
      return response.topics.flatMap((t) =>
        t.partitions
          .filter((p) => p.errorCode === ErrorCode.NONE && p.committedOffset >= 0n)
          .map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            metadata: p.metadata,
          })),
      );
    },
  };
}
