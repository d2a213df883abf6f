import { MetadataError } from './errors.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Kafka reserves the all-zero UUID ("no id") and 0...01 (the metadata topic). */
const RESERVED = new Set(['00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000001']);

/** Formats 16 bytes (e.g. from the proposer's injected randomness) as a topic id string. */
export function topicIdFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16)
    throw new MetadataError('INVALID_REQUEST', `A topic id is 16 bytes, got ${bytes.length}`);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The 16 bytes of a topic id string, as Kafka's wire `uuid` type carries them. */
export function topicIdToBytes(topicId: string): Uint8Array {
  if (!UUID_RE.test(topicId)) throw new MetadataError('INVALID_REQUEST', `Not a topic id: ${topicId}`);
  const hex = topicId.replace(/-/g, '');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Whether the string is a usable topic id (lowercase UUID form, not one of Kafka's reserved ids). */
export function isValidTopicId(topicId: string): boolean {
  return UUID_RE.test(topicId) && !RESERVED.has(topicId);
}

/**
 * A Kafka-style cluster id from 16 random bytes (the proposer's injected randomness): the UUID's
 * URL-safe base64 without padding, 22 characters, as `kafka-storage random-uuid` prints.
 */
export function clusterIdFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16)
    throw new MetadataError('INVALID_REQUEST', `A cluster id is made from 16 bytes, got ${bytes.length}`);
  return Buffer.from(bytes).toString('base64url');
}
