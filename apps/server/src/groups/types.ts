// Requests and answers of the group coordinator, independent of the wire codec: the handlers
// translate each API version's fields into these and back.
import type { GroupKafkaError } from './errors.js';

export const GROUP_STATES = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'] as const;
export type GroupState = (typeof GROUP_STATES)[number];

export interface GroupProtocol {
  name: string;
  /** Opaque to the coordinator (the client's subscription); handed to the leader as is. */
  metadata: Uint8Array;
}

export interface JoinGroupRequest {
  groupId: string;
  /** '' for a member joining the first time. */
  memberId: string;
  /** group.instance.id of a static member (v5+), else null. */
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  /** v0 has none: pass the session timeout, as Kafka does. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: readonly GroupProtocol[];
  /** v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id, then joins with it. */
  requireKnownMemberId: boolean;
  /** v9+: a static leader rejoining a stable group is told to skip the assignment (KIP-814). */
  supportsSkipAssignment: boolean;
  reason?: string | null;
}

export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Uint8Array;
}

export interface JoinGroupResult {
  errorCode: GroupKafkaError;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  /** Filled for the leader only: every member with its metadata for the selected protocol. */
  members: JoinGroupMember[];
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+, else null. */
  protocolType: string | null;
  /** v5+, else null. */
  protocolName: string | null;
  /** From the leader: each member's assignment (opaque). Followers send none. */
  assignments: ReadonlyArray<{ memberId: string; assignment: Uint8Array }>;
}

export interface SyncGroupResult {
  errorCode: GroupKafkaError;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
}

/** A JoinGroup answer that is only an error (either coordinator: classic or consumer groups). */
export function joinGroupError(memberId: string, errorCode: GroupKafkaError): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

/** A SyncGroup answer that is only an error. */
export function syncGroupError(errorCode: GroupKafkaError): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
}

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeavingMember {
  /** '' with a groupInstanceId removes that static member (admin removal). */
  memberId: string;
  groupInstanceId: string | null;
  reason?: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  members: readonly LeavingMember[];
}

export interface LeaveGroupResult {
  errorCode: GroupKafkaError;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: GroupKafkaError }>;
}

export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** The member's metadata for the selected protocol (Stable groups only; else empty). */
  metadata: Uint8Array;
  /** Stable groups only; else empty. */
  assignment: Uint8Array;
}

export interface DescribedGroup {
  groupId: string;
  errorCode: GroupKafkaError;
  /** 'Dead' for a group that does not exist, '' with an error. */
  state: GroupState | '';
  protocolType: string;
  /** The selected protocol (Stable groups only; else ''). */
  protocolData: string;
  members: DescribedMember[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  /** A classic group's GroupState, or a consumer group's Empty / Assigning / Reconciling / Stable. */
  state: string;
  groupType: 'classic' | 'consumer';
}

export interface ListGroupsRequest {
  /** v4+: only groups in these states (case-insensitive); empty = all. */
  statesFilter: readonly string[];
  /** v5+: only groups of these types (case-insensitive: classic, consumer); empty = all. */
  typesFilter: readonly string[];
}

export interface ListGroupsResult {
  errorCode: GroupKafkaError;
  groups: ListedGroup[];
}

export interface OffsetCommitPartition {
  partitionIndex: number;
  committedOffset: bigint;
  /** v6+, else -1. */
  committedLeaderEpoch: number;
  /** v1 only: an explicit commit time, or -1 for "now". */
  commitTimestampMs: number;
  committedMetadata: string | null;
}

export interface OffsetCommitRequest {
  groupId: string;
  /**
   * -1 for a commit from outside group management (simple consumer, admin); a consumer-protocol
   * member's epoch (generation_id_or_member_epoch).
   */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v2–v4: keep the offsets this long, or -1 for the broker's retention. */
  retentionTimeMs: number;
  /** The OffsetCommit version (a consumer-protocol member must use v9+); absent: the latest. */
  apiVersion?: number;
  topics: ReadonlyArray<{ name: string; partitions: readonly OffsetCommitPartition[] }>;
}

export interface TxnOffsetCommitRequest {
  transactionalId: string;
  groupId: string;
  /** The transaction's producer: its batch in `__consumer_offsets` carries this id and epoch. */
  producerId: bigint;
  producerEpoch: number;
  /** v3+: the member's generation, or -1. */
  generationId: number;
  /** v3+, else ''. */
  memberId: string;
  /** v3+, else null. */
  groupInstanceId: string | null;
  topics: ReadonlyArray<{
    name: string;
    partitions: ReadonlyArray<Omit<OffsetCommitPartition, 'commitTimestampMs'>>;
  }>;
}

export interface PartitionResult {
  partitionIndex: number;
  errorCode: GroupKafkaError;
}

export interface TopicPartitionsResult {
  name: string;
  partitions: PartitionResult[];
}

export interface OffsetCommitResult {
  topics: TopicPartitionsResult[];
}

export interface OffsetFetchRequest {
  groupId: string;
  /** null = every committed offset of the group (v2+). */
  topics: ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null;
  /** v7+: answer UNSTABLE_OFFSET_COMMIT for a partition whose commit is still being written. */
  requireStable: boolean;
  /** v9+: checked for consumer-protocol groups (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH); null/absent: not given. */
  memberId?: string | null;
  /** v9+: -1 when not given. */
  memberEpoch?: number;
}

export interface FetchedOffset {
  partitionIndex: number;
  /** -1 when nothing is committed. */
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: GroupKafkaError;
}

export interface OffsetFetchResult {
  groupId: string;
  errorCode: GroupKafkaError;
  topics: Array<{ name: string; partitions: FetchedOffset[] }>;
}

export interface OffsetDeleteRequest {
  groupId: string;
  topics: ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }>;
}

export interface OffsetDeleteResult {
  errorCode: GroupKafkaError;
  topics: TopicPartitionsResult[];
}

export interface DeleteGroupResult {
  groupId: string;
  errorCode: GroupKafkaError;
}

// ---- the consumer group protocol (KIP-848) -----------------------------------------------------

export interface ConsumerGroupHeartbeatRequest {
  /** The request's API version (v1+: the client names its member id, KIP-1082). */
  apiVersion: number;
  groupId: string;
  /** '' only when joining at v0 (the coordinator names the member). */
  memberId: string;
  /** 0 to join, -1 to leave, -2 for a static member leaving for a while, else the member's epoch. */
  memberEpoch: number;
  /** null = unchanged since the last heartbeat (likewise for the fields below). */
  instanceId: string | null;
  rackId: string | null;
  /** -1 = unchanged. */
  rebalanceTimeoutMs: number;
  subscribedTopicNames: readonly string[] | null;
  /** v1+; '' clears it. */
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  /** The partitions the member owns now; null = unchanged. */
  topicPartitions: ReadonlyArray<{ topicId: string; partitions: readonly number[] }> | null;
  clientId: string;
  clientHost: string;
}

export interface ConsumerGroupHeartbeatResult {
  errorCode: GroupKafkaError;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** The partitions the member may use now; null when unchanged (and not asked for). */
  assignment: Array<{ topicId: string; partitions: number[] }> | null;
}

export interface DescribedConsumerPartitions {
  topicId: string;
  /** '' when the topic no longer exists. */
  topicName: string;
  partitions: number[];
}

export interface DescribedConsumerMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  assignment: DescribedConsumerPartitions[];
  targetAssignment: DescribedConsumerPartitions[];
}

export interface DescribedConsumerGroup {
  groupId: string;
  errorCode: GroupKafkaError;
  errorMessage: string | null;
  /** Empty, Assigning, Reconciling, Stable ('' with an error; Dead for an unknown group). */
  state: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: DescribedConsumerMember[];
}
