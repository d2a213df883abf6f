// The format helpers @chronik/wal exports for files kept beside a Wal.
import { crc32c, defaultMaxRecordBytes, readU64, writeU64 } from '../src/index.js';

describe('exported format helpers', () => {
  test('crc32c is CRC-32C (Castagnoli) as an unsigned number', () => {
    expect(crc32c(Buffer.from('123456789', 'latin1'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  test('writeU64 and readU64 round-trip safe integers, little-endian', () => {
    const b = Buffer.alloc(16);
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      writeU64(b, v, 4);
      expect(readU64(b, 4)).toBe(v);
      expect(b.readBigUInt64LE(4)).toBe(BigInt(v));
    }
  });

  test('readU64 returns -1 above Number.MAX_SAFE_INTEGER', () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(2n ** 53n);
    expect(readU64(b, 0)).toBe(-1);
  });

  test('defaultMaxRecordBytes is 16 MiB, or what one segment holds', () => {
    expect(defaultMaxRecordBytes(64 << 20)).toBe(16 << 20);
    expect(defaultMaxRecordBytes(4096)).toBe(4096 - 40 - 32);
    expect(defaultMaxRecordBytes(10)).toBe(0);
  });
});
