// The CRC-32C helpers of the produce path: the JavaScript CRC against the standard check value and
// a bit-at-a-time reference, and crc32cCombine against the CRC of the concatenation.
import fc from 'fast-check';
import { buildRecordBatch, validateRecordBatch } from '@chronik/protocol';
import { crc32cCombine, crc32cOf } from '../src/storage/crc32c.js';

/** Bit-at-a-time CRC-32C: the definition, slow and obviously right. */
function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('CRC-32C helpers', () => {
  test('the check value of "123456789" is 0xe3069283; the empty input is 0', () => {
    expect(crc32cOf(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cOf(Buffer.alloc(0))).toBe(0);
  });

  test('crc32cOf matches the bit-at-a-time definition, over whole inputs and ranges', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (data, x, y) => {
        expect(crc32cOf(data)).toBe(reference(data));
        const a = data.length === 0 ? 0 : x % data.length;
        const b = a + (data.length === 0 ? 0 : y % (data.length - a + 1));
        expect(crc32cOf(data, a, b)).toBe(reference(data.subarray(a, b)));
      }),
    );
  });

  test('crc32cCombine(crc(A), crc(B), |B|) is crc(A ‖ B)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 5000 }), (a, b) => {
        const ab = Buffer.concat([a, b]);
        expect(crc32cCombine(crc32cOf(a), crc32cOf(b), b.length)).toBe(reference(ab));
      }),
    );
  });

  test('a batch entry checksum from the 21-byte prefix and the Kafka CRC equals the CRC of the batch', () => {
    const batch = buildRecordBatch({
      records: Array.from({ length: 50 }, (_, i) => ({ value: Buffer.alloc(1000, i) })),
    });
    const h = validateRecordBatch(batch);
    expect(crc32cCombine(crc32cOf(batch, 0, 21), h.crc, batch.length - 21)).toBe(crc32cOf(batch));
  });
});
