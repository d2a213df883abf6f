// The records of `__consumer_offsets`: keys and values in Apache Kafka's own formats
// (GroupMetadataManager's OffsetCommitKey/Value and GroupMetadataKey/Value), so the topic reads the
// same as a Kafka broker's. Hand-written rather than generated: these are storage formats, not
// request/response messages, and only their non-flexible versions are used.
//
//   key v0/v1  offset commit:  int16 version, string group, string topic, int32 partition
//   key v2     group metadata: int16 version, string group
//   offset value v0: offset int64, metadata string, timestamp int64
//                v1: offset int64, metadata string, commit_timestamp int64, expire_timestamp int64
//                v2: offset int64, metadata string, commit_timestamp int64
//                v3: offset int64, leader_epoch int32, metadata string, commit_timestamp int64
//   group value  v0: protocol_type string, generation int32, protocol string?, leader string?,
//                    members [member_id, client_id, client_host, session_timeout int32,
//                             subscription bytes, assignment bytes]
//                v1: + rebalance_timeout int32 (before session_timeout)
//                v2: + current_state_timestamp int64 (after leader)
//                v3: + group_instance_id string? (after member_id)
// A null value (tombstone) deletes the key. We write key v1/v2, offset value v3 (v1 when the commit
// carries an explicit expire timestamp, as Kafka does) and group value v3; we read all of the above.
// Groups of the consumer protocol (KIP-848) have records of their own, at key versions 1000–1002
// (consumer-records.ts).
import { GroupError, GroupErrorCode } from './errors.js';
import type { ConsumerGroupRecord } from './consumer-records.js';
import { decodeConsumerRecord, encodeConsumerRecord, isConsumerKeyVersion } from './consumer-records.js';
import { Reader, Writer } from './record-io.js';

export interface CommittedOffset {
  offset: bigint;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /** Explicit expiry (OffsetCommit v2–v4 retention_time_ms), or null for the broker's retention. */
  expireTimestampMs: number | null;
}

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's selected protocol. */
  subscription: Uint8Array;
  assignment: Uint8Array;
}

export interface StoredGroup {
  protocolType: string;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  currentStateTimestampMs: number | null;
  members: StoredMember[];
}

export type OffsetsTopicRecord =
  | { type: 'offset'; groupId: string; topic: string; partition: number; value: CommittedOffset | null }
  | { type: 'group'; groupId: string; value: StoredGroup | null }
  | ConsumerGroupRecord;

export interface EncodedRecord {
  key: Uint8Array;
  value: Uint8Array | null;
}

// ---- encoding ---------------------------------------------------------------------------------

export function encodeOffsetKey(groupId: string, topic: string, partition: number): Uint8Array {
  return new Writer().int16(1).string(groupId).string(topic).int32(partition).done();
}

export function encodeGroupKey(groupId: string): Uint8Array {
  return new Writer().int16(2).string(groupId).done();
}

export function encodeOffsetValue(v: CommittedOffset): Uint8Array {
  const w = new Writer();
  if (v.expireTimestampMs !== null) {
    return w
      .int16(1)
      .int64(v.offset)
      .string(v.metadata)
      .int64(v.commitTimestampMs)
      .int64(v.expireTimestampMs)
      .done();
  }
  return w.int16(3).int64(v.offset).int32(v.leaderEpoch).string(v.metadata).int64(v.commitTimestampMs).done();
}

export function encodeGroupValue(g: StoredGroup): Uint8Array {
  const w = new Writer()
    .int16(3)
    .string(g.protocolType)
    .int32(g.generationId)
    .string(g.protocolName)
    .string(g.leaderId)
    .int64(g.currentStateTimestampMs ?? -1)
    .int32(g.members.length);
  for (const m of g.members) {
    w.string(m.memberId)
      .string(m.groupInstanceId)
      .string(m.clientId)
      .string(m.clientHost)
      .int32(m.rebalanceTimeoutMs)
      .int32(m.sessionTimeoutMs)
      .bytes(m.subscription)
      .bytes(m.assignment);
  }
  return w.done();
}

export function encodeRecord(r: OffsetsTopicRecord): EncodedRecord {
  if (r.type !== 'offset' && r.type !== 'group') return encodeConsumerRecord(r);
  if (r.type === 'offset') {
    return {
      key: encodeOffsetKey(r.groupId, r.topic, r.partition),
      value: r.value === null ? null : encodeOffsetValue(r.value),
    };
  }
  return { key: encodeGroupKey(r.groupId), value: r.value === null ? null : encodeGroupValue(r.value) };
}

// ---- decoding ---------------------------------------------------------------------------------

function decodeOffsetValue(data: Uint8Array): CommittedOffset {
  const r = new Reader(data, 'offset commit value');
  const version = r.int16();
  switch (version) {
    case 0: {
      const offset = r.int64();
      const metadata = r.string();
      const ts = r.int64Number();
      return { offset, leaderEpoch: -1, metadata, commitTimestampMs: ts, expireTimestampMs: null };
    }
    case 1: {
      const offset = r.int64();
      const metadata = r.string();
      const commitTimestampMs = r.int64Number();
      const expire = r.int64Number();
      return {
        offset,
        leaderEpoch: -1,
        metadata,
        commitTimestampMs,
        expireTimestampMs: expire < 0 ? null : expire,
      };
    }
    case 2: {
      const offset = r.int64();
      const metadata = r.string();
      return {
        offset,
        leaderEpoch: -1,
        metadata,
        commitTimestampMs: r.int64Number(),
        expireTimestampMs: null,
      };
    }
    case 3: {
      const offset = r.int64();
      const leaderEpoch = r.int32();
      const metadata = r.string();
      return { offset, leaderEpoch, metadata, commitTimestampMs: r.int64Number(), expireTimestampMs: null };
    }
    default:
      throw new GroupError(
        GroupErrorCode.CORRUPT_RECORD,
        `offset commit value version ${version} is not supported`,
      );
  }
}

function decodeGroupValue(data: Uint8Array): StoredGroup {
  const r = new Reader(data, 'group metadata value');
  const version = r.int16();
  if (version < 0 || version > 3) {
    throw new GroupError(
      GroupErrorCode.CORRUPT_RECORD,
      `group metadata value version ${version} is not supported`,
    );
  }
  const protocolType = r.string();
  const generationId = r.int32();
  const protocolName = r.nullableString();
  const leaderId = r.nullableString();
  let currentStateTimestampMs: number | null = null;
  if (version >= 2) {
    const ts = r.int64Number();
    currentStateTimestampMs = ts < 0 ? null : ts;
  }
  const count = r.int32();
  if (count < 0 || count > 1_000_000)
    throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `group metadata value: ${count} members`);
  const members: StoredMember[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = r.string();
    const groupInstanceId = version >= 3 ? r.nullableString() : null;
    const clientId = r.string();
    const clientHost = r.string();
    const sessionOrRebalance = r.int32();
    let rebalanceTimeoutMs = sessionOrRebalance;
    let sessionTimeoutMs = sessionOrRebalance;
    if (version >= 1) sessionTimeoutMs = r.int32();
    else rebalanceTimeoutMs = sessionTimeoutMs;
    const subscription = r.bytes();
    const assignment = r.bytes();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  return { protocolType, generationId, protocolName, leaderId, currentStateTimestampMs, members };
}

/** Decodes one record of `__consumer_offsets`; throws GroupError CORRUPT_RECORD when it cannot. */
export function decodeRecord(key: Uint8Array, value: Uint8Array | null): OffsetsTopicRecord {
  const r = new Reader(key, 'record key');
  const version = r.int16();
  if (version === 0 || version === 1) {
    const groupId = r.string();
    const topic = r.string();
    const partition = r.int32();
    return {
      type: 'offset',
      groupId,
      topic,
      partition,
      value: value === null ? null : decodeOffsetValue(value),
    };
  }
  if (version === 2) {
    const groupId = r.string();
    return { type: 'group', groupId, value: value === null ? null : decodeGroupValue(value) };
  }
  if (isConsumerKeyVersion(version)) return decodeConsumerRecord(version, r, value);
  throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `record key version ${version} is not supported`);
}
