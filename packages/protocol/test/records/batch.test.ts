import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import {
  BatchField,
  CompressionType,
  RECORD_BATCH_CRC_START,
  RECORD_BATCH_HEADER_BYTES,
  TimestampType,
  assignRecordBatch,
  computeRecordBatchCrc,
  readRecordBatchHeader,
  recordBatchCompression,
  recordBatchCrcMatches,
  recordBatchLastOffset,
  recordBatchesRecordCount,
  setRecordBatchBaseOffset,
  setRecordBatchMaxTimestamp,
  setRecordBatchPartitionLeaderEpoch,
  splitRecordBatches,
  validateRecordBatch,
} from '../../src/records/batch.js';
import { buildRecordBatch, decodeRecordBatch } from '../../src/records/builder.js';
import type { RecordInput } from '../../src/records/builder.js';
import { RecordsError } from '../../src/records/errors.js';
import { expectRecordsError } from './helpers.js';

const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    { nil: null },
  ),
  value: fc.option(
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    { nil: null },
  ),
  headers: fc.array(
    fc.record({
      key: fc.string({ maxLength: 20, unit: 'grapheme' }),
      value: fc.option(
        fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
        { nil: null },
      ),
    }),
    { maxLength: 4 },
  ),
  timestampMs: fc.bigInt({ min: 0n, max: 4_000_000_000_000n }),
});

const optionsArb = fc.record({
  records: fc.array(recordArb, { minLength: 1, maxLength: 30 }),
  baseOffset: fc.bigInt({ min: 0n, max: 1n << 62n }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
  compression: fc.constantFrom(...Object.values(CompressionType)),
  timestampType: fc.constantFrom(TimestampType.CreateTime, TimestampType.LogAppendTime),
  isTransactional: fc.boolean(),
  isControl: fc.boolean(),
  deleteHorizon: fc.option(fc.bigInt({ min: 0n, max: 4_000_000_000_000n }), { nil: undefined }),
  producerId: fc.bigInt({ min: -1n, max: (1n << 63n) - 1n }),
  producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
  baseSequence: fc.integer({ min: -1, max: 0x7fffffff }),
  logAppendTimeMs: fc.bigInt({ min: 0n, max: 4_000_000_000_000n }),
  gaps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 30, maxLength: 30 }),
});

describe('record batch round trip', () => {
  test('every attribute combination, headers, null keys/values, offset gaps, all codecs', () => {
    fc.assert(
      fc.property(optionsArb, (o) => {
        let delta = -1;
        const records = o.records.map((r, i) => {
          delta += 1 + o.gaps[i]!;
          return { ...r, offsetDelta: delta };
        });
        const batch = buildRecordBatch({
          records,
          baseOffset: o.baseOffset,
          partitionLeaderEpoch: o.partitionLeaderEpoch,
          compression: o.compression,
          timestampType: o.timestampType,
          logAppendTimeMs: o.logAppendTimeMs,
          isTransactional: o.isTransactional,
          isControl: o.isControl,
          ...(o.deleteHorizon !== undefined ? { deleteHorizonMs: o.deleteHorizon } : {}),
          producerId: o.producerId,
          producerEpoch: o.producerEpoch,
          baseSequence: o.baseSequence,
        });
        const h = readRecordBatchHeader(batch);
        expect(h.baseOffset).toBe(o.baseOffset);
        expect(h.batchLength).toBe(batch.length - 12);
        expect(h.partitionLeaderEpoch).toBe(o.partitionLeaderEpoch);
        expect(h.magic).toBe(2);
        expect(h.compression).toBe(o.compression);
        expect(h.timestampType).toBe(o.timestampType);
        expect(h.isTransactional).toBe(o.isTransactional);
        expect(h.isControl).toBe(o.isControl);
        expect(h.hasDeleteHorizon).toBe(o.deleteHorizon !== undefined);
        expect(h.lastOffsetDelta).toBe(delta);
        expect(recordBatchLastOffset(h)).toBe(o.baseOffset + BigInt(delta));
        expect(h.producerId).toBe(o.producerId);
        expect(h.producerEpoch).toBe(o.producerEpoch);
        expect(h.baseSequence).toBe(o.baseSequence);
        expect(h.recordCount).toBe(records.length);
        const maxTs = records.reduce((m, r) => (r.timestampMs! > m ? r.timestampMs! : m), -1n);
        expect(h.maxTimestamp).toBe(
          o.timestampType === TimestampType.LogAppendTime ? o.logAppendTimeMs : maxTs,
        );
        expect(h.baseTimestamp).toBe(o.deleteHorizon ?? records[0]!.timestampMs);
        expect(recordBatchCrcMatches(batch)).toBe(true);
        // gaps make recordCount != lastOffsetDelta + 1, which only compacted batches may have
        const contiguous = o.gaps.slice(0, records.length).every((g) => g === 0);
        if (contiguous) expect(validateRecordBatch(batch)).toEqual(h);
        else expectRecordsError(() => validateRecordBatch(batch), 'RecordCountMismatch');
        expect(validateRecordBatch(batch, { requireContiguousOffsets: false })).toEqual(h);

        const decoded = decodeRecordBatch(batch);
        expect(decoded.header).toEqual(h);
        expect(decoded.records).toHaveLength(records.length);
        decoded.records.forEach((d, i) => {
          const r = records[i]!;
          expect(d.offsetDelta).toBe(r.offsetDelta);
          expect(d.offset).toBe(o.baseOffset + BigInt(r.offsetDelta));
          expect(d.timestampMs).toBe(
            o.timestampType === TimestampType.LogAppendTime ? o.logAppendTimeMs : r.timestampMs,
          );
          expect(d.key === null ? null : Buffer.from(d.key)).toEqual(r.key);
          expect(d.value === null ? null : Buffer.from(d.value)).toEqual(r.value);
          expect(
            d.headers.map((x) => ({ key: x.key, value: x.value === null ? null : Buffer.from(x.value) })),
          ).toEqual(r.headers);
        });
      }),
      { numRuns: 150 },
    );
  });

  test('many records', () => {
    const records = Array.from({ length: 20_000 }, (_, i) => ({
      key: i % 7 === 0 ? null : Buffer.from(`k${i}`),
      value: Buffer.from(`value-${i}`),
      timestampMs: 1_700_000_000_000n + BigInt(i),
    }));
    for (const compression of [CompressionType.None, CompressionType.Zstd]) {
      const batch = buildRecordBatch({ records, compression });
      const d = decodeRecordBatch(batch);
      expect(d.records).toHaveLength(20_000);
      expect(d.records[19_999]!.value!.toString()).toBe('value-19999');
      expect(d.records[19_999]!.timestampMs).toBe(1_700_000_019_999n);
      expect(d.records[7]!.key).toBeNull();
    }
  });

  test('uncompressed keys and values are zero-copy views of the batch', () => {
    const batch = buildRecordBatch({
      records: [{ key: Buffer.from('k'), value: Buffer.from('hello') }],
      timestampMs: 5n,
    });
    const d = decodeRecordBatch(batch);
    expect(d.records[0]!.value!.buffer).toBe(batch.buffer);
    batch[batch.length - 2] = 'j'.charCodeAt(0); // mutate the batch: the view sees it
    expect(d.records[0]!.value!.toString()).toBe('hellj');
  });

  test('the builder uses the injected clock only when no timestamp is given', () => {
    let calls = 0;
    const now = (): number => {
      calls++;
      return 1234;
    };
    const b1 = buildRecordBatch({ records: [{ value: null }, { value: null, timestampMs: 9n }], now });
    expect(calls).toBe(1);
    expect(readRecordBatchHeader(b1).baseTimestamp).toBe(1234n);
    expect(readRecordBatchHeader(b1).maxTimestamp).toBe(1234n);
    buildRecordBatch({ records: [{ value: null }], timestampMs: 1n, now });
    expect(calls).toBe(1);
  });

  test('builder rejects empty batches and decreasing offset deltas', () => {
    expectRecordsError(() => buildRecordBatch({ records: [] }), 'CorruptRecord');
    expectRecordsError(
      () =>
        buildRecordBatch({
          records: [
            { value: null, offsetDelta: 3 },
            { value: null, offsetDelta: 3 },
          ],
          timestampMs: 0n,
        }),
      'CorruptRecord',
    );
  });
});

function sample(count = 3, compression: CompressionType = CompressionType.None): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({
      key: Buffer.from(`key${i}`),
      value: Buffer.from(`value${i}`),
    })),
    timestampMs: 1_700_000_000_000n,
    compression,
    producerId: 7n,
    producerEpoch: 1,
    baseSequence: 0,
  });
}

describe('batch header path', () => {
  test('splits several batches in one records field, zero-copy', () => {
    const a = sample(2);
    const b = sample(5, CompressionType.Gzip);
    const c = sample(1);
    const records = Buffer.concat([a, b, c]);
    const slices = splitRecordBatches(records);
    expect(slices.map((s) => s.header.recordCount)).toEqual([2, 5, 1]);
    expect(slices.map((s) => s.position)).toEqual([0, a.length, a.length + b.length]);
    expect(slices[1]!.bytes.equals(b)).toBe(true);
    expect(slices[1]!.bytes.buffer).toBe(records.buffer);
    for (const s of slices) validateRecordBatch(s.bytes);
    expect(splitRecordBatches(Buffer.alloc(0))).toEqual([]);
  });

  test('a partial tail is Truncated unless allowed', () => {
    const a = sample(2);
    const records = Buffer.concat([a, a.subarray(0, 30)]);
    expectRecordsError(() => splitRecordBatches(records), 'Truncated');
    expect(splitRecordBatches(records, { allowPartialTail: true })).toHaveLength(1);
    expectRecordsError(() => splitRecordBatches(Buffer.concat([a, a]), { maxBatches: 1 }), 'TooLarge');
  });

  test('rewriting baseOffset and partitionLeaderEpoch keeps the CRC valid without recomputing it', () => {
    const batch = sample();
    const crc = batch.readUInt32BE(BatchField.crc);
    setRecordBatchBaseOffset(batch, 123_456_789_012n);
    setRecordBatchPartitionLeaderEpoch(batch, 42);
    expect(batch.readUInt32BE(BatchField.crc)).toBe(crc);
    expect(recordBatchCrcMatches(batch)).toBe(true);
    const h = validateRecordBatch(batch);
    expect(h.baseOffset).toBe(123_456_789_012n);
    expect(h.partitionLeaderEpoch).toBe(42);
    expect(decodeRecordBatch(batch).records[2]!.offset).toBe(123_456_789_014n);
  });

  test('setting log-append time changes the CRC, and records report that time', () => {
    const batch = sample();
    const crc = batch.readUInt32BE(BatchField.crc);
    setRecordBatchMaxTimestamp(batch, TimestampType.LogAppendTime, 1_800_000_000_000n);
    expect(batch.readUInt32BE(BatchField.crc)).not.toBe(crc);
    const h = validateRecordBatch(batch);
    expect(h.timestampType).toBe(TimestampType.LogAppendTime);
    expect(h.maxTimestamp).toBe(1_800_000_000_000n);
    expect(h.baseTimestamp).toBe(1_700_000_000_000n);
    expect(decodeRecordBatch(batch).records.every((r) => r.timestampMs === 1_800_000_000_000n)).toBe(true);
    setRecordBatchMaxTimestamp(batch, TimestampType.CreateTime, 1_700_000_000_000n);
    expect(batch.readUInt32BE(BatchField.crc)).toBe(crc); // back to the original bytes
  });

  test('assignRecordBatch in place and into a copy', () => {
    const original = sample();
    const pristine = Buffer.from(original);
    const copy = assignRecordBatch(
      original,
      { baseOffset: 10n, partitionLeaderEpoch: 3, logAppendTimeMs: 99n },
      { copy: true },
    );
    expect(original.equals(pristine)).toBe(true);
    expect(copy).not.toBe(original);
    const h = validateRecordBatch(copy);
    expect([h.baseOffset, h.partitionLeaderEpoch, h.maxTimestamp, h.timestampType]).toEqual([
      10n,
      3,
      99n,
      TimestampType.LogAppendTime,
    ]);
    const same = assignRecordBatch(original, { baseOffset: 20n, partitionLeaderEpoch: 4 });
    expect(same).toBe(original);
    const h2 = validateRecordBatch(original);
    expect([h2.baseOffset, h2.partitionLeaderEpoch, h2.timestampType]).toEqual([
      20n,
      4,
      TimestampType.CreateTime,
    ]);
    expect(original.subarray(BatchField.magic).equals(pristine.subarray(BatchField.magic))).toBe(true);
  });

  test('the header decode does not read the records', () => {
    const batch = sample(3);
    const garbage = Buffer.from(batch);
    garbage.fill(0xff, RECORD_BATCH_HEADER_BYTES); // records destroyed
    expect(readRecordBatchHeader(garbage)).toEqual({
      ...readRecordBatchHeader(batch),
      crc: readRecordBatchHeader(batch).crc,
    });
  });
});

describe('header readers on raw bytes', () => {
  test('the header offsets callers read directly', () => {
    expect([
      BatchField.batchLength,
      BatchField.magic,
      BatchField.crc,
      BatchField.attributes,
      BatchField.recordCount,
      RECORD_BATCH_CRC_START,
    ]).toEqual([8, 16, 17, 21, 57, 21]);
    const batch = sample(2);
    expect(computeRecordBatchCrc(batch)).toBe(crc32c(batch.subarray(RECORD_BATCH_CRC_START)) >>> 0);
  });

  test('recordBatchesRecordCount sums the whole batches and stops at a truncated tail', () => {
    const batches = [sample(2), sample(5, CompressionType.Gzip), sample(1, CompressionType.Zstd), sample(30)];
    const records = Buffer.concat(batches);
    expect(recordBatchesRecordCount(records)).toBe(38);
    expect(recordBatchesRecordCount(Buffer.alloc(0))).toBe(0);
    // Cut anywhere: only the batches that end before the cut count.
    const ends = batches.map((_, i) => batches.slice(0, i + 1).reduce((n, b) => n + b.length, 0));
    const counts = [2, 5, 1, 30];
    for (let cut = 0; cut <= records.length; cut++) {
      const whole = counts.filter((_, i) => ends[i]! <= cut).reduce((n, c) => n + c, 0);
      expect([cut, recordBatchesRecordCount(records.subarray(0, cut))]).toEqual([cut, whole]);
    }
  });

  test('recordBatchesRecordCount stops at a batch that is not magic 2 or too short, and agrees with splitRecordBatches', () => {
    const a = sample(3);
    const legacy = Buffer.from(a);
    legacy[BatchField.magic] = 1;
    expect(recordBatchesRecordCount(Buffer.concat([a, legacy, a]))).toBe(3);
    const short = Buffer.from(a);
    short.writeInt32BE(10, BatchField.batchLength);
    expect(recordBatchesRecordCount(Buffer.concat([a, short, a]))).toBe(3);
    const negative = Buffer.from(a);
    negative.writeInt32BE(-5, BatchField.recordCount);
    expect(recordBatchesRecordCount(Buffer.concat([a, negative, a]))).toBe(6);
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom(...Object.values(CompressionType))),
          {
            maxLength: 5,
          },
        ),
        (specs) => {
          const records = Buffer.concat(specs.map(([n, c]) => sample(n, c)));
          const split = splitRecordBatches(records).reduce((n, b) => n + b.header.recordCount, 0);
          expect(recordBatchesRecordCount(records)).toBe(split);
        },
      ),
      { numRuns: 30 },
    );
  });

  test('recordBatchCompression reads the codec of a batch at any offset', () => {
    const codecs = Object.values(CompressionType);
    const batches = codecs.map((c) => sample(2, c));
    const records = Buffer.concat(batches);
    let offset = 0;
    for (const [i, b] of batches.entries()) {
      expect(recordBatchCompression(b)).toBe(codecs[i]);
      expect(recordBatchCompression(records, offset)).toBe(codecs[i]);
      offset += b.length;
    }
    const b = sample(1, CompressionType.Lz4);
    expect(recordBatchCompression(b.subarray(0, BatchField.attributes + 2))).toBe(CompressionType.Lz4);
    expectRecordsError(() => recordBatchCompression(b.subarray(0, BatchField.attributes + 1)), 'Truncated');
    expectRecordsError(() => recordBatchCompression(b, -1), 'Truncated');
    expectRecordsError(() => recordBatchCompression(b, b.length), 'Truncated');
    const legacy = Buffer.from(b);
    legacy[BatchField.magic] = 0;
    expectRecordsError(() => recordBatchCompression(legacy), 'UnsupportedMagic');
    const unknown = Buffer.from(b);
    unknown.writeInt16BE(5, BatchField.attributes);
    expectRecordsError(() => recordBatchCompression(unknown), 'UnsupportedCompression');
    // Other attribute bits do not leak into the codec.
    const flagged = Buffer.from(b);
    flagged.writeInt16BE(0x78 | CompressionType.Snappy, BatchField.attributes);
    expect(recordBatchCompression(flagged)).toBe(CompressionType.Snappy);
  });
});

describe('malformed batches', () => {
  test('CRC mismatch: any flipped bit from attributes onward is detected', () => {
    const batch = sample(4, CompressionType.Snappy);
    fc.assert(
      fc.property(
        fc.integer({ min: BatchField.attributes, max: batch.length - 1 }),
        fc.integer({ min: 0, max: 7 }),
        (pos, bit) => {
          const bad = Buffer.from(batch);
          bad[pos]! ^= 1 << bit;
          expect(computeRecordBatchCrc(bad)).not.toBe(bad.readUInt32BE(BatchField.crc));
          expectRecordsError(() => validateRecordBatch(bad), 'CrcMismatch');
          expectRecordsError(() => decodeRecordBatch(bad), 'CrcMismatch');
          // without the CRC check, a typed error or a decode, never anything else
          try {
            decodeRecordBatch(bad, { checkCrc: false });
          } catch (e) {
            expect(e).toBeInstanceOf(RecordsError);
          }
        },
      ),
    );
    const bad = Buffer.from(batch);
    bad[bad.length - 1]! ^= 0x01;
    expectRecordsError(() => validateRecordBatch(bad), 'CrcMismatch');
    expectRecordsError(() => decodeRecordBatch(bad), 'CrcMismatch');
    bad.writeUInt32BE(computeRecordBatchCrc(bad), BatchField.crc);
    expect(validateRecordBatch(bad).recordCount).toBe(4);
  });

  test('legacy and unknown magic are UnsupportedMagic', () => {
    const batch = sample();
    for (const magic of [0, 1]) {
      const b = Buffer.from(batch);
      b.writeInt8(magic, BatchField.magic);
      expect(expectRecordsError(() => readRecordBatchHeader(b), 'UnsupportedMagic').message).toMatch(
        /legacy message set/,
      );
    }
    const b = Buffer.from(batch);
    b.writeInt8(3, BatchField.magic);
    expectRecordsError(() => splitRecordBatches(b), 'UnsupportedMagic');
  });

  test('lengths: below the header, past the end, truncated header', () => {
    const batch = sample();
    const short = Buffer.from(batch);
    short.writeInt32BE(48, BatchField.batchLength);
    expectRecordsError(() => readRecordBatchHeader(short), 'CorruptRecord');
    const long = Buffer.from(batch);
    long.writeInt32BE(batch.length, BatchField.batchLength);
    expectRecordsError(() => readRecordBatchHeader(long), 'Truncated');
    const negative = Buffer.from(batch);
    negative.writeInt32BE(-5, BatchField.batchLength);
    expectRecordsError(() => readRecordBatchHeader(negative), 'CorruptRecord');
    for (const cut of [0, 5, 16, 17, 40, 60, batch.length - 1]) {
      expectRecordsError(() => readRecordBatchHeader(batch.subarray(0, cut)), 'Truncated');
    }
    expectRecordsError(() => readRecordBatchHeader(batch, -1), 'Truncated');
  });

  test('record counts that lie', () => {
    const batch = sample(3);
    const fix = (b: Buffer): Buffer => {
      b.writeUInt32BE(computeRecordBatchCrc(b), BatchField.crc);
      return b;
    };
    // header count above what the bytes hold (cheap check, no parsing)
    const huge = fix(Buffer.from(batch));
    huge.writeInt32BE(1_000_000, BatchField.recordCount);
    huge.writeInt32BE(999_999, BatchField.lastOffsetDelta);
    fix(huge);
    expectRecordsError(() => validateRecordBatch(huge), 'RecordCountMismatch');
    expectRecordsError(() => decodeRecordBatch(huge), 'RecordCountMismatch');
    huge.writeInt32BE(0x7fffffff, BatchField.recordCount);
    fix(huge);
    expectRecordsError(() => decodeRecordBatch(huge), 'TooLarge');
    // one more than there are: found while decoding
    const more = Buffer.from(batch);
    more.writeInt32BE(4, BatchField.recordCount);
    more.writeInt32BE(3, BatchField.lastOffsetDelta);
    fix(more);
    expectRecordsError(() => decodeRecordBatch(more), 'RecordCountMismatch');
    // fewer than there are: bytes left over
    const fewer = Buffer.from(batch);
    fewer.writeInt32BE(2, BatchField.recordCount);
    fix(fewer);
    expectRecordsError(() => validateRecordBatch(fewer), 'RecordCountMismatch'); // lastOffsetDelta is 2
    expectRecordsError(() => decodeRecordBatch(fewer), 'RecordCountMismatch');
    const negative = Buffer.from(batch);
    negative.writeInt32BE(-1, BatchField.recordCount);
    fix(negative);
    expectRecordsError(() => decodeRecordBatch(negative), 'CorruptRecord');
    // a compressed batch that lies is caught after decompression
    const gz = sample(3, CompressionType.Gzip);
    gz.writeInt32BE(50, BatchField.recordCount);
    gz.writeInt32BE(49, BatchField.lastOffsetDelta);
    fix(gz);
    expectRecordsError(() => decodeRecordBatch(gz), 'RecordCountMismatch');
  });

  test('unknown compression codec', () => {
    const batch = sample();
    batch.writeInt16BE(batch.readInt16BE(BatchField.attributes) | 0x05, BatchField.attributes);
    batch.writeUInt32BE(computeRecordBatchCrc(batch), BatchField.crc);
    expectRecordsError(() => validateRecordBatch(batch), 'UnsupportedCompression');
    expectRecordsError(() => decodeRecordBatch(batch), 'UnsupportedCompression');
  });

  test('any corruption of the records (CRC fixed up) gives a typed error or a consistent decode', () => {
    const batch = sample(5);
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: RECORD_BATCH_HEADER_BYTES, max: batch.length - 1 }),
            fc.integer({ min: 0, max: 255 }),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        fc.integer({ min: 0, max: 20 }),
        (edits, cut) => {
          const bad = Buffer.from(batch.subarray(0, batch.length - cut));
          bad.writeInt32BE(bad.length - 12, BatchField.batchLength);
          for (const [pos, byte] of edits) if (pos < bad.length) bad[pos] = byte;
          bad.writeUInt32BE(computeRecordBatchCrc(bad), BatchField.crc);
          try {
            const d = decodeRecordBatch(bad);
            expect(d.records).toHaveLength(5);
          } catch (e) {
            expect(e).toBeInstanceOf(RecordsError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
