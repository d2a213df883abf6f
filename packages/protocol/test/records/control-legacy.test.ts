import { crc32 } from '@node-rs/crc32';
import { readRecordBatchHeader, validateRecordBatch } from '../../src/records/batch.js';
import { decodeRecordBatch } from '../../src/records/builder.js';
import {
  ControlRecordType,
  buildControlBatch,
  decodeControlRecordKey,
  decodeEndTxnMarker,
  encodeControlRecordKey,
  encodeEndTxnMarker,
} from '../../src/records/control.js';
import { decodeLegacyMessageSet, isLegacyMessageSet } from '../../src/records/legacy.js';
import { expectRecordsError } from './helpers.js';

describe('control batches', () => {
  test('commit and abort markers round trip', () => {
    for (const type of [ControlRecordType.Commit, ControlRecordType.Abort]) {
      const batch = buildControlBatch({
        type,
        producerId: 4000n,
        producerEpoch: 3,
        coordinatorEpoch: 17,
        timestampMs: 1_700_000_000_000n,
        baseOffset: 99n,
        partitionLeaderEpoch: 5,
      });
      const h = validateRecordBatch(batch);
      expect([
        h.isControl,
        h.isTransactional,
        h.producerId,
        h.producerEpoch,
        h.baseSequence,
        h.recordCount,
      ]).toEqual([true, true, 4000n, 3, -1, 1]);
      expect([h.baseOffset, h.partitionLeaderEpoch]).toEqual([99n, 5]);
      const [record] = decodeRecordBatch(batch).records;
      expect(decodeControlRecordKey(record!.key)).toEqual({ version: 0, type });
      expect(decodeEndTxnMarker(record!.value)).toEqual({ version: 0, coordinatorEpoch: 17 });
    }
  });

  test('Kafka byte layout of key and value', () => {
    expect(encodeControlRecordKey(ControlRecordType.Commit).toString('hex')).toBe('00000001');
    expect(encodeEndTxnMarker(258).toString('hex')).toBe('000000000102');
    // later versions with extra bytes still decode
    expect(decodeEndTxnMarker(Buffer.from('0001000000070000', 'hex'))).toEqual({
      version: 1,
      coordinatorEpoch: 7,
    });
  });

  test('short or null keys and values are CorruptRecord', () => {
    expectRecordsError(() => decodeControlRecordKey(null), 'CorruptRecord');
    expectRecordsError(() => decodeControlRecordKey(Buffer.alloc(3)), 'CorruptRecord');
    expectRecordsError(() => decodeEndTxnMarker(null), 'CorruptRecord');
    expectRecordsError(() => decodeEndTxnMarker(Buffer.alloc(5)), 'CorruptRecord');
    expectRecordsError(() => decodeEndTxnMarker(Buffer.from('ffff00000001', 'hex')), 'CorruptRecord');
  });
});

/** A legacy message (magic 0 or 1) as Kafka 0.8-0.10 clients wrote it. */
function legacyMessage(
  offset: bigint,
  magic: 0 | 1,
  key: string | null,
  value: string | null,
  timestamp = 0n,
  attributes = 0,
): Buffer {
  const k = key === null ? null : Buffer.from(key);
  const v = value === null ? null : Buffer.from(value);
  const body = Buffer.alloc(2 + (magic === 1 ? 8 : 0) + 4 + (k?.length ?? 0) + 4 + (v?.length ?? 0));
  let p = body.writeInt8(magic, 0);
  p = body.writeInt8(attributes, p);
  if (magic === 1) p = body.writeBigInt64BE(timestamp, p);
  p = body.writeInt32BE(k === null ? -1 : k.length, p);
  if (k !== null) p += k.copy(body, p);
  p = body.writeInt32BE(v === null ? -1 : v.length, p);
  if (v !== null) v.copy(body, p);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(offset, 0);
  head.writeInt32BE(body.length + 4, 8);
  head.writeUInt32BE(crc32(body) >>> 0, 12);
  return Buffer.concat([head, body]);
}

describe('legacy message sets (magic 0 and 1)', () => {
  const set = Buffer.concat([
    legacyMessage(0n, 0, 'a', 'hello'),
    legacyMessage(1n, 1, null, 'world', 1_500_000_000_000n),
    legacyMessage(2n, 1, 'z', null, 5n, 1),
  ]);

  test('are detected and refused by the batch decoder with a clear UnsupportedMagic', () => {
    expect(isLegacyMessageSet(set)).toBe(true);
    const e = expectRecordsError(() => readRecordBatchHeader(set), 'UnsupportedMagic');
    expect(e.message).toMatch(/magic 0.*magic 2/);
  });

  test('are decoded shallowly for diagnostics', () => {
    const messages = decodeLegacyMessageSet(set);
    expect(
      messages.map((m) => [
        m.offset,
        m.magic,
        m.key?.toString() ?? null,
        m.value?.toString() ?? null,
        m.timestampMs,
        m.compression,
        m.crcValid,
      ]),
    ).toEqual([
      [0n, 0, 'a', 'hello', null, 0, true],
      [1n, 1, null, 'world', 1_500_000_000_000n, 0, true],
      [2n, 1, 'z', null, 5n, 1, true],
    ]);
    const damaged = Buffer.from(set);
    const endOfWorld =
      legacyMessage(0n, 0, 'a', 'hello').length +
      legacyMessage(1n, 1, null, 'world', 1_500_000_000_000n).length -
      1;
    damaged[endOfWorld]! ^= 1;
    expect(decodeLegacyMessageSet(damaged).map((m) => m.crcValid)).toEqual([true, false, true]);
    expect(decodeLegacyMessageSet(set.subarray(0, set.length - 3))).toHaveLength(2); // partial tail dropped
  });

  test('malformed legacy sets give typed errors', () => {
    const bad = Buffer.from(set);
    bad.writeInt32BE(3, 8);
    expectRecordsError(() => decodeLegacyMessageSet(bad), 'CorruptRecord');
    const badKey = legacyMessage(0n, 0, 'abc', 'v');
    badKey.writeInt32BE(1000, 18);
    expectRecordsError(() => decodeLegacyMessageSet(badKey), 'CorruptRecord');
    expectRecordsError(() => decodeLegacyMessageSet(set, { maxMessages: 2 }), 'TooLarge');
    expect(isLegacyMessageSet(Buffer.alloc(10))).toBe(false);
  });
});
