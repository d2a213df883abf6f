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
import { GroupError, GroupErrorCode } from './errors.js';

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
  | { type: 'group'; groupId: string; value: StoredGroup | null };

export interface EncodedRecord {
  key: Uint8Array;
  value: Uint8Array | null;
}

// ---- writer / reader ------------------------------------------------------------------------

class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  int64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 32767)
      throw new GroupError(
        GroupErrorCode.CORRUPT_RECORD,
        `string of ${n} bytes does not fit an int16 length`,
      );
    this.int16(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }
  bytes(b: Uint8Array): this {
    this.int32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  done(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.pos));
  }
}

class Reader {
  private pos = 0;
  private readonly view: Buffer;
  constructor(
    data: Uint8Array,
    private readonly what: string,
  ) {
    this.view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.view.length) {
      throw new GroupError(
        GroupErrorCode.CORRUPT_RECORD,
        `${this.what}: truncated at byte ${this.pos} (needs ${n} more)`,
      );
    }
  }
  int16(): number {
    this.need(2);
    const v = this.view.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.view.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.view.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  int64Number(): number {
    return Number(this.int64());
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    this.need(n);
    const s = this.view.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  string(): string {
    const s = this.nullableString();
    if (s === null)
      throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `${this.what}: null where a string is required`);
    return s;
  }
  bytes(): Uint8Array {
    const n = this.int32();
    if (n < 0) return new Uint8Array(0);
    this.need(n);
    const b = new Uint8Array(this.view.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
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
  throw new GroupError(GroupErrorCode.CORRUPT_RECORD, `record key version ${version} is not supported`);
}
