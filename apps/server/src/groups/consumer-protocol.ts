// Reads the topic list out of a member's "consumer" protocol metadata (ConsumerProtocolSubscription,
// versions 0–3 are all non-flexible and start with: int16 version, int32 count, int16-length topic
// names). The coordinator passes protocol metadata through opaquely; it looks inside only to know
// which topics a group consumes (OffsetDelete answers GROUP_SUBSCRIBED_TO_TOPIC for those, and
// offset expiry spares them), exactly as Kafka does.

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

/** The subscribed topics, or null when the metadata is not a readable subscription. */
export function subscribedTopics(metadata: Uint8Array): string[] | null {
  const b = Buffer.from(metadata.buffer, metadata.byteOffset, metadata.byteLength);
  if (b.length < 6) return null;
  const version = b.readInt16BE(0);
  if (version < 0) return null;
  const count = b.readInt32BE(2);
  if (count < 0 || count > 100_000) return null;
  const topics: string[] = [];
  let pos = 6;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > b.length) return null;
    const n = b.readInt16BE(pos);
    pos += 2;
    if (n < 0 || pos + n > b.length) return null;
    topics.push(b.toString('utf8', pos, pos + n));
    pos += n;
  }
  return topics;
}

/** A member's "consumer" protocol metadata (ConsumerProtocolSubscription v0–v3), as far as read. */
export interface ClassicSubscription {
  topics: string[];
  /** v1+: what the member owns as it joins; empty before v1 (an eager member owns nothing then). */
  ownedPartitions: Array<{ topic: string; partitions: number[] }>;
  /** v3+. */
  rackId: string | null;
}

/** Reads int16-length strings, int32 arrays and int32-length bytes; null past the end. */
class Cursor {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  get atEnd(): boolean {
    return this.pos >= this.b.length;
  }
  int16(): number | null {
    if (this.pos + 2 > this.b.length) return null;
    const v = this.b.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number | null {
    if (this.pos + 4 > this.b.length) return null;
    const v = this.b.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** undefined: malformed; null: a null string. */
  string(): string | null | undefined {
    const n = this.int16();
    if (n === null) return undefined;
    if (n === -1) return null;
    if (n < 0 || this.pos + n > this.b.length) return undefined;
    const s = this.b.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  topicNames(): string[] | null {
    const count = this.int32();
    if (count === null || count < 0 || count > 100_000) return null;
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const t = this.string();
      if (typeof t !== 'string') return null;
      out.push(t);
    }
    return out;
  }
  /** Skips nullable int32-length bytes; false when malformed. */
  skipBytes(): boolean {
    const n = this.int32();
    if (n === null) return false;
    if (n === -1) return true;
    if (n < 0 || this.pos + n > this.b.length) return false;
    this.pos += n;
    return true;
  }
  /** An array of (topic, [partition]) pairs; null when malformed. */
  topicPartitions(maxPartitions: number): Array<{ topic: string; partitions: number[] }> | null {
    const count = this.int32();
    if (count === null || count < 0 || count > 100_000) return null;
    const out: Array<{ topic: string; partitions: number[] }> = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      const topic = this.string();
      if (typeof topic !== 'string') return null;
      const n = this.int32();
      if (n === null || n < 0) return null;
      total += n;
      if (total > maxPartitions) return null;
      const partitions: number[] = [];
      for (let j = 0; j < n; j++) {
        const p = this.int32();
        if (p === null) return null;
        partitions.push(p);
      }
      out.push({ topic, partitions });
    }
    return out;
  }
}

function bufferOf(metadata: Uint8Array): Buffer {
  return Buffer.from(metadata.buffer, metadata.byteOffset, metadata.byteLength);
}

/**
 * The subscription a classic member sends in JoinGroup, or null when it is not readable (what
 * Kafka then refuses: the member cannot join a consumer group). Versions past 3 are read as 3
 * (Kafka's rule: newer versions only append fields).
 */
export function decodeSubscription(
  metadata: Uint8Array,
  maxPartitions = 100_000,
): ClassicSubscription | null {
  const c = new Cursor(bufferOf(metadata));
  const version = c.int16();
  if (version === null || version < 0) return null;
  const topics = c.topicNames();
  if (topics === null) return null;
  if (c.atEnd) return { topics, ownedPartitions: [], rackId: null };
  if (!c.skipBytes()) return null;
  if (version < 1 || c.atEnd) return { topics, ownedPartitions: [], rackId: null };
  const ownedPartitions = c.topicPartitions(maxPartitions);
  if (ownedPartitions === null) return null;
  let rackId: string | null = null;
  if (version >= 2 && c.int32() !== null && version >= 3) {
    const r = c.string();
    if (r === undefined) return null;
    rackId = r;
  }
  return { topics, ownedPartitions, rackId };
}

/** The partitions of a ConsumerProtocolAssignment (v0–v3), or null when not readable. */
export function decodeAssignment(
  assignment: Uint8Array,
  maxPartitions = 100_000,
): Array<{ topic: string; partitions: number[] }> | null {
  if (assignment.byteLength === 0) return [];
  const c = new Cursor(bufferOf(assignment));
  const version = c.int16();
  if (version === null || version < 0) return null;
  return c.topicPartitions(maxPartitions);
}

/** A ConsumerProtocolAssignment v0 (the same bytes at every version but the first two). */
export function encodeAssignment(
  topics: ReadonlyArray<{ topic: string; partitions: readonly number[] }>,
): Uint8Array {
  let size = 2 + 4 + 4;
  for (const t of topics) size += 2 + Buffer.byteLength(t.topic, 'utf8') + 4 + 4 * t.partitions.length;
  const b = Buffer.alloc(size);
  let pos = b.writeInt16BE(0, 0);
  pos = b.writeInt32BE(topics.length, pos);
  for (const t of topics) {
    const n = Buffer.byteLength(t.topic, 'utf8');
    pos = b.writeInt16BE(n, pos);
    pos += b.write(t.topic, pos, 'utf8');
    pos = b.writeInt32BE(t.partitions.length, pos);
    for (const p of t.partitions) pos = b.writeInt32BE(p, pos);
  }
  pos = b.writeInt32BE(-1, pos); // user data: null
  return b;
}
