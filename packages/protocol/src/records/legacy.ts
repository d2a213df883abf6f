// Hand-written: legacy message sets (magic 0 and 1, Kafka < 0.11). Chronik stores only magic-2
// batches and does not convert: Produce v3 and later must carry magic 2 (Kafka enforces the same),
// and Apache Kafka 4 no longer accepts the old formats at all. So `readRecordBatchHeader` rejects
// magic 0/1 with `UnsupportedMagic` (the handler answers UNSUPPORTED_FOR_MESSAGE_FORMAT), and this
// file decodes such a set just far enough to describe it in logs and error messages: one entry per
// message with its offset, magic, codec, CRC-32 check, key and value (a compressed wrapper's value
// is the still-compressed inner set, not expanded).
//
//   offset int64, messageSize int32, crc uint32 (CRC-32 over magic..end), magic int8,
//   attributes int8 (bits 0-2 codec, bit 3 timestamp type in v1), [timestamp int64 in v1],
//   key bytes (int32 length, -1 = null), value bytes (int32 length, -1 = null)

import { crc32 } from '@node-rs/crc32';
import { RecordsError } from './errors.js';

export interface LegacyMessage {
  offset: bigint;
  magic: 0 | 1;
  attributes: number;
  compression: number;
  /** Only magic 1 carries a timestamp. */
  timestampMs: bigint | null;
  key: Buffer | null;
  value: Buffer | null;
  crcValid: boolean;
}

export const DEFAULT_MAX_LEGACY_MESSAGES = 100_000;

/** True when the set starts with a legacy (magic 0 or 1) message. Needs 17 bytes. */
export function isLegacyMessageSet(buf: Buffer): boolean {
  if (buf.length < 17) return false;
  const magic = buf.readInt8(16);
  return magic === 0 || magic === 1;
}

function readBytes(buf: Buffer, pos: number, end: number): [Buffer | null, number] {
  if (end - pos < 4) throw new RecordsError('Truncated', `legacy message field length truncated at ${pos}`);
  const length = buf.readInt32BE(pos);
  pos += 4;
  if (length === -1) return [null, pos];
  if (length < 0 || length > end - pos)
    throw new RecordsError(
      'CorruptRecord',
      `legacy message field of ${length} bytes at ${pos - 4} runs past the message`,
    );
  return [buf.subarray(pos, pos + length), pos + length];
}

/**
 * Decodes the messages of a legacy set (shallowly: wrappers are not decompressed). A truncated
 * last message is dropped, as in a Fetch response; anything else malformed is a typed error.
 */
export function decodeLegacyMessageSet(buf: Buffer, options: { maxMessages?: number } = {}): LegacyMessage[] {
  const maxMessages = options.maxMessages ?? DEFAULT_MAX_LEGACY_MESSAGES;
  const out: LegacyMessage[] = [];
  let pos = 0;
  while (buf.length - pos >= 12) {
    const offset = buf.readBigInt64BE(pos);
    const size = buf.readInt32BE(pos + 8);
    const start = pos + 12;
    const end = start + size;
    if (size < 14) throw new RecordsError('CorruptRecord', `legacy message at ${pos} has size ${size}`);
    if (end > buf.length) break; // partial tail
    if (out.length >= maxMessages)
      throw new RecordsError('TooLarge', `legacy message set holds more than ${maxMessages} messages`);
    const storedCrc = buf.readUInt32BE(start);
    const magic = buf.readInt8(start + 4);
    if (magic !== 0 && magic !== 1)
      throw new RecordsError('UnsupportedMagic', `message at ${pos} has magic ${magic} inside a legacy set`);
    const attributes = buf.readInt8(start + 5);
    let p = start + 6;
    let timestampMs: bigint | null = null;
    if (magic === 1) {
      if (end - p < 8)
        throw new RecordsError('CorruptRecord', `legacy v1 message at ${pos} too short for its timestamp`);
      timestampMs = buf.readBigInt64BE(p);
      p += 8;
    }
    const [key, afterKey] = readBytes(buf, p, end);
    const [value, afterValue] = readBytes(buf, afterKey, end);
    if (afterValue !== end)
      throw new RecordsError(
        'CorruptRecord',
        `legacy message at ${pos} has ${end - afterValue} unexplained bytes`,
      );
    out.push({
      offset,
      magic,
      attributes,
      compression: attributes & 0x07,
      timestampMs,
      key,
      value,
      crcValid: crc32(buf.subarray(start + 4, end)) >>> 0 === storedCrc,
    });
    pos = end;
  }
  return out;
}
