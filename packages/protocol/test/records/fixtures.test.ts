// Golden bytes from a real client: record batches kcat (librdkafka) sent, one per codec, captured by
// test/records/fixtures/capture-kcat.mjs. Decoding must give what kcat was told to send, and the
// CRC-32C must check.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchField,
  CompressionType,
  TimestampType,
  assignRecordBatch,
  computeRecordBatchCrc,
  splitRecordBatches,
  validateRecordBatch,
} from '../../src/records/batch.js';
import { buildRecordBatch, decodeRecordBatch } from '../../src/records/builder.js';
import { compressionName, decompressRecords } from '../../src/records/compression.js';
import fc from 'fast-check';
import { RecordsError } from '../../src/records/errors.js';
import { expectRecordsError } from './helpers.js';

interface Meta {
  librdkafka: string;
  messages: Array<{ key: string; value: string; headers: Array<[string, string]> }>;
  captures: Record<
    string,
    { produceVersion: number; records: string; produce: string; startMs: number; endMs: number }
  >;
}

const dir = join(__dirname, 'fixtures');
const meta = JSON.parse(readFileSync(join(dir, 'kcat.json'), 'utf8')) as Meta;
const codecs = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
];

describe(`record batches from kcat (librdkafka ${meta.librdkafka})`, () => {
  test.each(codecs.map((c) => [compressionName(c), c] as const))('%s', (name, codec) => {
    const capture = meta.captures[name]!;
    const records = readFileSync(join(dir, capture.records));
    // the records field is the tail end of the captured Produce frame, byte for byte
    const produce = readFileSync(join(dir, capture.produce));
    expect(produce.indexOf(records)).toBeGreaterThan(0);

    const slices = splitRecordBatches(records);
    expect(slices).toHaveLength(1);
    const header = validateRecordBatch(slices[0]!.bytes);
    expect(header.compression).toBe(codec);
    expect(header.magic).toBe(2);
    expect(header.recordCount).toBe(meta.messages.length);
    expect(header.lastOffsetDelta).toBe(meta.messages.length - 1);
    expect(header.timestampType).toBe(TimestampType.CreateTime);
    expect([header.isTransactional, header.isControl]).toEqual([false, false]);
    expect(
      header.baseTimestamp >= BigInt(capture.startMs) && header.maxTimestamp <= BigInt(capture.endMs),
    ).toBe(true);

    const { records: decoded } = decodeRecordBatch(slices[0]!.bytes);
    expect(decoded.map((r) => [r.offset, r.key!.toString(), r.value!.toString()])).toEqual(
      meta.messages.map((m, i) => [BigInt(i), m.key, m.value]),
    );
    for (const [i, r] of decoded.entries()) {
      expect(r.headers.map((h) => [h.key, h.value!.toString()])).toEqual(meta.messages[i]!.headers);
      expect(r.timestampMs >= header.baseTimestamp && r.timestampMs <= header.maxTimestamp).toBe(true);
    }

    // the broker path: assign offset and epoch; the CRC still checks and nothing else moves
    const assigned = assignRecordBatch(
      slices[0]!.bytes,
      { baseOffset: 5000n, partitionLeaderEpoch: 9 },
      { copy: true },
    );
    expect(assigned.subarray(BatchField.magic).equals(slices[0]!.bytes.subarray(BatchField.magic))).toBe(
      true,
    );
    expect(validateRecordBatch(assigned).baseOffset).toBe(5000n);

    // a flipped byte is caught by the CRC
    const damaged = Buffer.from(slices[0]!.bytes);
    damaged[damaged.length - 3]! ^= 0x20;
    expectRecordsError(() => validateRecordBatch(damaged), 'CrcMismatch');

    // our builder, given the same records and codec, writes a batch that decodes identically
    const rebuilt = buildRecordBatch({
      records: decoded.map((r) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestampMs: r.timestampMs,
      })),
      compression: codec,
    });
    expect(decodeRecordBatch(rebuilt).records.map((r) => [r.key, r.value, r.headers, r.timestampMs])).toEqual(
      decoded.map((r) => [r.key, r.value, r.headers, r.timestampMs]),
    );
    if (codec === CompressionType.None) {
      // uncompressed: byte-identical to librdkafka's batch apart from the fields the builder defaults
      expect(
        rebuilt.subarray(BatchField.attributes).equals(slices[0]!.bytes.subarray(BatchField.attributes)),
      ).toBe(true);
      expect(computeRecordBatchCrc(rebuilt)).toBe(header.crc);
    }
  });

  test('librdkafka framing details the decoder relies on', () => {
    const body = (name: string): Buffer => readFileSync(join(dir, meta.captures[name]!.records)).subarray(61);
    expect(body('snappy')[0]).not.toBe(0x82); // raw snappy, not xerial
    expect(body('lz4').readUInt32LE(0)).toBe(0x184d2204); // LZ4 frame
    expect(body('gzip').subarray(0, 2).toString('hex')).toBe('1f8b');
    expect(body('zstd').readUInt32LE(0)).toBe(0xfd2fb528);
    // bounded: the fixtures decompress under a tight limit and fail under a tighter one
    for (const name of ['gzip', 'snappy', 'lz4', 'zstd']) {
      const codec = codecs.find((c) => compressionName(c) === name)!;
      const plain = decompressRecords(codec, body(name), { maxBytes: 4096 });
      expectRecordsError(
        () => decompressRecords(codec, body(name), { maxBytes: plain.length - 1 }),
        'TooLarge',
      );
    }
  });

  test('fuzz: mutated real batches give a decode or a RecordsError, never anything else', () => {
    const batches = codecs.map((c) => readFileSync(join(dir, meta.captures[compressionName(c)]!.records)));
    fc.assert(
      fc.property(
        fc.nat({ max: batches.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat({ max: 40 }),
        fc.boolean(),
        (which, edits, cut, fixCrc) => {
          const original = batches[which]!;
          const bad = Buffer.from(original.subarray(0, Math.max(0, original.length - cut)));
          for (const [pos, byte] of edits) if (bad.length > 0) bad[pos % bad.length] = byte;
          if (fixCrc && bad.length >= 61) {
            try {
              bad.writeUInt32BE(computeRecordBatchCrc(bad), BatchField.crc);
            } catch {
              // a batchLength past the end: leave the CRC
            }
          }
          for (const run of [
            () =>
              splitRecordBatches(bad).map((b) =>
                decodeRecordBatch(b.bytes, { maxDecompressedBytes: 1 << 20 }),
              ),
            () => decodeRecordBatch(bad, { checkCrc: false, maxDecompressedBytes: 1 << 20 }),
          ]) {
            try {
              run();
            } catch (e) {
              if (!(e instanceof RecordsError)) throw e;
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
