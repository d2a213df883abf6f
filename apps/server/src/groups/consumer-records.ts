// The records of a consumer-protocol group (KIP-848) in `__consumer_offsets`: Chronik's own compact
// layout, not Kafka's (Kafka keeps six record types at key versions 3–8; these are three). Key
// versions 1000–1002 are outside every version Kafka writes, so neither side can mistake the
// other's records. Big-endian; strings int16-length UTF-8 (-1 = null); a UUID is its 16 bytes; a
// partition list is int32 topic count, then per topic: UUID topic id, int32 count, int32 partitions.
//
//   key 1000 group:             int16 1000, string group_id
//     value v0: int16 0, int32 group_epoch, int32 assignment_epoch, string? assignor,
//               int64 metadata_hash
//   key 1001 member metadata:   int16 1001, string group_id, string member_id
//     value v0: int16 0, string? instance_id, string? rack_id, string client_id, string client_host,
//               int32 rebalance_timeout_ms, string? server_assignor, string? subscribed_regex,
//               int32 n, n × string subscribed_topic_name
//     value v1 (a classic member of a consumer group, Kafka 4's mixed groups): v0's fields, then
//               int32 session_timeout_ms, int32 n, n × (string protocol name, bytes metadata)
//               (the JoinGroup protocols it sent; v0 is still written for consumer-protocol members)
//   key 1002 member assignment: int16 1002, string group_id, string member_id
//     value v0: int16 0, int32 member_epoch, int32 previous_member_epoch, int8 state
//               (0 stable, 1 unrevoked, 2 unreleased), partitions assigned,
//               partitions pending_revocation, partitions target
//
// A null value (tombstone) deletes the key: a member that leaves gets tombstones for 1001 and 1002,
// a deleted group for 1000. The latest value of each key is the truth, so the records survive
// key-based compaction; every write of the coordinator is one batch, so the keys one write changes
// (a partition given up by one member and given to another) are durable together.
// `metadata_hash` is a hash of the subscribed topics' ids and partition counts when the target
// was computed: a coordinator that takes over compares it with the metadata it sees, and computes a
// new target only when the topics changed.
import type { Partitions } from './consumer-partitions.js';
import { partitionsOf, partitionsToList } from './consumer-partitions.js';
import type { MemberState } from './consumer-reconcile.js';
import { GroupError, GroupErrorCode } from './errors.js';
import { Reader, Writer } from './record-io.js';

export const CONSUMER_GROUP_KEY_VERSION = 1000;
export const CONSUMER_MEMBER_KEY_VERSION = 1001;
export const CONSUMER_ASSIGNMENT_KEY_VERSION = 1002;

export interface StoredConsumerGroup {
  groupEpoch: number;
  assignmentEpoch: number;
  /** The assignor that computed the target (null before any target). */
  assignor: string | null;
  metadataHash: bigint;
}

export interface StoredConsumerMember {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  subscribedTopicRegex: string | null;
  /** Sorted, unique. */
  subscribedTopicNames: readonly string[];
  /** A member that joined with the classic protocol (JoinGroup) into a consumer group; else null. */
  classic: ClassicMemberMetadata | null;
}

/** What a classic member of a consumer group joined with. */
export interface ClassicMemberMetadata {
  sessionTimeoutMs: number;
  /** The JoinGroup protocols, in the member's order of preference. */
  protocols: ReadonlyArray<{ name: string; metadata: Uint8Array }>;
}

export interface StoredMemberAssignment {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberState;
  assigned: Partitions;
  pendingRevocation: Partitions;
  target: Partitions;
}

export type ConsumerGroupRecord =
  | { type: 'consumer-group'; groupId: string; value: StoredConsumerGroup | null }
  | { type: 'consumer-member'; groupId: string; memberId: string; value: StoredConsumerMember | null }
  | {
      type: 'consumer-assignment';
      groupId: string;
      memberId: string;
      value: StoredMemberAssignment | null;
    };

const STATE_CODES: Record<MemberState, number> = { stable: 0, unrevoked: 1, unreleased: 2 };
const STATES: readonly MemberState[] = ['stable', 'unrevoked', 'unreleased'];

/** Topics or partitions one list may hold when read back (a corrupt count is refused, not allocated). */
const MAX_LIST_ENTRIES = 10_000_000;

function writePartitions(w: Writer, s: Partitions): void {
  const list = partitionsToList(s);
  w.int32(list.length);
  for (const { topicId, partitions } of list) {
    w.uuid(topicId).int32(partitions.length);
    for (const p of partitions) w.int32(p);
  }
}

function readCount(r: Reader, what: string): number {
  const n = r.int32();
  if (n < 0 || n > MAX_LIST_ENTRIES)
    throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `${what}: a count of ${n}`);
  return n;
}

function readPartitions(r: Reader, what: string): Partitions {
  const topics = readCount(r, what);
  const entries: Array<[string, number[]]> = [];
  for (let i = 0; i < topics; i++) {
    const topicId = r.uuid();
    const n = readCount(r, what);
    const ps: number[] = [];
    for (let k = 0; k < n; k++) ps.push(r.int32());
    entries.push([topicId, ps]);
  }
  return partitionsOf(entries);
}

export function encodeConsumerRecord(rec: ConsumerGroupRecord): {
  key: Uint8Array;
  value: Uint8Array | null;
} {
  switch (rec.type) {
    case 'consumer-group': {
      const key = new Writer().int16(CONSUMER_GROUP_KEY_VERSION).string(rec.groupId).done();
      const v = rec.value;
      if (v === null) return { key, value: null };
      return {
        key,
        value: new Writer()
          .int16(0)
          .int32(v.groupEpoch)
          .int32(v.assignmentEpoch)
          .string(v.assignor)
          .int64(v.metadataHash)
          .done(),
      };
    }
    case 'consumer-member': {
      const key = new Writer()
        .int16(CONSUMER_MEMBER_KEY_VERSION)
        .string(rec.groupId)
        .string(rec.memberId)
        .done();
      const v = rec.value;
      if (v === null) return { key, value: null };
      const w = new Writer()
        .int16(v.classic === null ? 0 : 1)
        .string(v.instanceId)
        .string(v.rackId)
        .string(v.clientId)
        .string(v.clientHost)
        .int32(v.rebalanceTimeoutMs)
        .string(v.serverAssignor)
        .string(v.subscribedTopicRegex)
        .int32(v.subscribedTopicNames.length);
      for (const t of v.subscribedTopicNames) w.string(t);
      if (v.classic !== null) {
        w.int32(v.classic.sessionTimeoutMs).int32(v.classic.protocols.length);
        for (const p of v.classic.protocols) w.string(p.name).bytes(p.metadata);
      }
      return { key, value: w.done() };
    }
    case 'consumer-assignment': {
      const key = new Writer()
        .int16(CONSUMER_ASSIGNMENT_KEY_VERSION)
        .string(rec.groupId)
        .string(rec.memberId)
        .done();
      const v = rec.value;
      if (v === null) return { key, value: null };
      const w = new Writer()
        .int16(0)
        .int32(v.memberEpoch)
        .int32(v.previousMemberEpoch)
        .int8(STATE_CODES[v.state]);
      writePartitions(w, v.assigned);
      writePartitions(w, v.pendingRevocation);
      writePartitions(w, v.target);
      return { key, value: w.done() };
    }
  }
}

function checkValueVersion(r: Reader, what: string, maxVersion = 0): number {
  const version = r.int16();
  if (version < 0 || version > maxVersion)
    throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `${what} value version ${version} is not supported`);
  return version;
}

/**
 * Decodes a record whose key (already positioned after its version) is one of the consumer group
 * key versions; throws GroupError CORRUPT_RECORD when it cannot.
 */
export function decodeConsumerRecord(
  keyVersion: number,
  key: Reader,
  value: Uint8Array | null,
): ConsumerGroupRecord {
  const groupId = key.string();
  switch (keyVersion) {
    case CONSUMER_GROUP_KEY_VERSION: {
      if (value === null) return { type: 'consumer-group', groupId, value: null };
      const r = new Reader(value, 'consumer group value');
      checkValueVersion(r, 'consumer group');
      return {
        type: 'consumer-group',
        groupId,
        value: {
          groupEpoch: r.int32(),
          assignmentEpoch: r.int32(),
          assignor: r.nullableString(),
          metadataHash: r.int64(),
        },
      };
    }
    case CONSUMER_MEMBER_KEY_VERSION: {
      const memberId = key.string();
      if (value === null) return { type: 'consumer-member', groupId, memberId, value: null };
      const r = new Reader(value, 'consumer group member value');
      const version = checkValueVersion(r, 'consumer group member', 1);
      const instanceId = r.nullableString();
      const rackId = r.nullableString();
      const clientId = r.string();
      const clientHost = r.string();
      const rebalanceTimeoutMs = r.int32();
      const serverAssignor = r.nullableString();
      const subscribedTopicRegex = r.nullableString();
      const n = readCount(r, 'consumer group member value');
      const names: string[] = [];
      for (let i = 0; i < n; i++) names.push(r.string());
      let classic: ClassicMemberMetadata | null = null;
      if (version >= 1) {
        const sessionTimeoutMs = r.int32();
        const count = readCount(r, 'consumer group member value');
        const protocols: Array<{ name: string; metadata: Uint8Array }> = [];
        for (let i = 0; i < count; i++) protocols.push({ name: r.string(), metadata: r.bytes() });
        classic = { sessionTimeoutMs, protocols };
      }
      return {
        type: 'consumer-member',
        groupId,
        memberId,
        value: {
          instanceId,
          rackId,
          clientId,
          clientHost,
          rebalanceTimeoutMs,
          serverAssignor,
          subscribedTopicRegex,
          subscribedTopicNames: names,
          classic,
        },
      };
    }
    case CONSUMER_ASSIGNMENT_KEY_VERSION: {
      const memberId = key.string();
      if (value === null) return { type: 'consumer-assignment', groupId, memberId, value: null };
      const r = new Reader(value, 'consumer group assignment value');
      checkValueVersion(r, 'consumer group assignment');
      const memberEpoch = r.int32();
      const previousMemberEpoch = r.int32();
      const code = r.int8();
      const state = STATES[code];
      if (state === undefined)
        throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `consumer group assignment: state ${code}`);
      const what = 'consumer group assignment value';
      return {
        type: 'consumer-assignment',
        groupId,
        memberId,
        value: {
          memberEpoch,
          previousMemberEpoch,
          state,
          assigned: readPartitions(r, what),
          pendingRevocation: readPartitions(r, what),
          target: readPartitions(r, what),
        },
      };
    }
    default:
      throw new GroupError(
        GroupErrorCode.CORRUPT_RECORD,
        `record key version ${keyVersion} is not supported`,
      );
  }
}

export function isConsumerKeyVersion(v: number): boolean {
  return v >= CONSUMER_GROUP_KEY_VERSION && v <= CONSUMER_ASSIGNMENT_KEY_VERSION;
}
