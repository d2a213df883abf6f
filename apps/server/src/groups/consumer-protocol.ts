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
