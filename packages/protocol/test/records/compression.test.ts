import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { compressSync as snappyRaw } from 'snappy';
import { compressFrameSync, compressSync as lz4CompressBlock } from 'lz4-napi';
import { compress as zstdCompress } from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';
import { CompressionType } from '../../src/records/batch.js';
import {
  XERIAL_BLOCK_BYTES,
  compressRecords,
  compressionName,
  decompressRecords,
} from '../../src/records/compression.js';
import { expectRecordsError } from './helpers.js';

const codecs = [
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
] as const;

describe('compression round trips', () => {
  test.each(codecs.map((c) => [compressionName(c), c] as const))('%s', (_name, codec) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.boolean(), (bytes, raw) => {
        const data = Buffer.from(bytes);
        const compressed = compressRecords(codec, data, { snappyFraming: raw ? 'raw' : 'xerial' });
        expect(decompressRecords(codec, compressed).equals(data)).toBe(true);
      }),
      { numRuns: 60 },
    );
    // larger than one xerial / lz4 block, compressible and not
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251 < 128 ? 65 : (i * 31) & 0xff;
    expect(decompressRecords(codec, compressRecords(codec, big)).equals(big)).toBe(true);
    expect(decompressRecords(codec, compressRecords(codec, big, { snappyFraming: 'raw' })).equals(big)).toBe(
      true,
    );
  });

  test('none is the identity, unknown codecs are UnsupportedCompression', () => {
    const data = Buffer.from('abc');
    expect(compressRecords(CompressionType.None, data)).toBe(data);
    expect(decompressRecords(CompressionType.None, data)).toBe(data);
    expectRecordsError(() => compressRecords(5, data), 'UnsupportedCompression');
    expectRecordsError(() => decompressRecords(7, data), 'UnsupportedCompression');
    expect(compressionName(6)).toBe('unknown(6)');
  });
});

describe('snappy framing', () => {
  test('xerial output: magic header, versions, 32 KiB blocks', () => {
    const data = Buffer.alloc(3 * XERIAL_BLOCK_BYTES + 10, 'x');
    const out = compressRecords(CompressionType.Snappy, data);
    expect(out.subarray(0, 8).toString('hex')).toBe('82534e4150505900');
    expect(out.readInt32BE(8)).toBe(1);
    expect(out.readInt32BE(12)).toBe(1);
    let pos = 16;
    let blocks = 0;
    while (pos < out.length) {
      pos += 4 + out.readInt32BE(pos);
      blocks++;
    }
    expect(pos).toBe(out.length);
    expect(blocks).toBe(4);
  });

  test('raw output is a bare snappy block and decodes', () => {
    const data = Buffer.from('hello hello hello hello');
    const out = compressRecords(CompressionType.Snappy, data, { snappyFraming: 'raw' });
    expect(out.equals(snappyRaw(data))).toBe(true);
    expect(decompressRecords(CompressionType.Snappy, snappyRaw(data)).equals(data)).toBe(true);
  });

  test('xerial with several blocks, hand-assembled (as the Java client writes it)', () => {
    const parts = [Buffer.from('first block '), Buffer.from('second block'), Buffer.alloc(0)];
    const header = Buffer.from('82534e41505059000000000100000001', 'hex');
    const chunks: Buffer[] = [header];
    for (const p of parts) {
      const c = p.length === 0 ? Buffer.alloc(0) : snappyRaw(p);
      const len = Buffer.alloc(4);
      len.writeInt32BE(c.length);
      chunks.push(len, c);
    }
    expect(decompressRecords(CompressionType.Snappy, Buffer.concat(chunks)).toString()).toBe(
      'first block second block',
    );
  });

  test('malformed snappy is CorruptRecord', () => {
    const x = compressRecords(CompressionType.Snappy, Buffer.alloc(1000, 'a'));
    expectRecordsError(() => decompressRecords(CompressionType.Snappy, x.subarray(0, 12)), 'CorruptRecord');
    expectRecordsError(() => decompressRecords(CompressionType.Snappy, x.subarray(0, 18)), 'CorruptRecord');
    expectRecordsError(
      () => decompressRecords(CompressionType.Snappy, x.subarray(0, x.length - 3)),
      'CorruptRecord',
    );
    const lying = Buffer.from(x);
    lying.writeInt32BE(0x7fffffff, 16);
    expectRecordsError(() => decompressRecords(CompressionType.Snappy, lying), 'CorruptRecord');
    expectRecordsError(
      () => decompressRecords(CompressionType.Snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
      'CorruptRecord',
    );
    expectRecordsError(
      () => decompressRecords(CompressionType.Snappy, Buffer.from([0x05, 0x00])),
      'CorruptRecord',
    );
  });
});

/** An LZ4 frame with 64 KiB blocks, as the Java client writes it; linked blocks use the previous output as dictionary. */
function lz4Frame(data: Buffer, linked: boolean): Buffer {
  const parts: Buffer[] = [Buffer.from([0x04, 0x22, 0x4d, 0x18, linked ? 0x40 : 0x60, 0x40, 0x00])];
  for (let pos = 0; pos < data.length; pos += 65536) {
    const chunk = data.subarray(pos, pos + 65536);
    const dict = linked && pos > 0 ? data.subarray(Math.max(0, pos - 65536), pos) : undefined;
    const block = lz4CompressBlock(chunk, dict).subarray(4); // drop lz4-napi's size prefix
    const word = Buffer.alloc(4);
    word.writeUInt32LE(block.length);
    parts.push(word, block);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

describe('lz4 frames', () => {
  const data = Buffer.from(Array.from({ length: 30_000 }, (_, i) => `line ${i % 977} of the log;`).join(''));

  test('64 KiB independent blocks', () => {
    expect(decompressRecords(CompressionType.Lz4, lz4Frame(data, false)).equals(data)).toBe(true);
  });

  test('64 KiB linked blocks', () => {
    const frame = lz4Frame(data, true);
    expect(frame.length).toBeLessThan(lz4Frame(data, false).length);
    expect(decompressRecords(CompressionType.Lz4, frame).equals(data)).toBe(true);
  });

  test('two concatenated frames and a skippable frame', () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const both = Buffer.concat([
      compressRecords(CompressionType.Lz4, Buffer.from('ab')),
      skippable,
      compressRecords(CompressionType.Lz4, Buffer.from('cd')),
    ]);
    expect(decompressRecords(CompressionType.Lz4, both).toString()).toBe('abcd');
  });

  test('structural errors', () => {
    const good = compressRecords(CompressionType.Lz4, data);
    expectRecordsError(
      () => decompressRecords(CompressionType.Lz4, Buffer.from('not lz4 at all')),
      'CorruptRecord',
    );
    const badVersion = Buffer.from(good);
    badVersion[4] = 0x20;
    expectRecordsError(() => decompressRecords(CompressionType.Lz4, badVersion), 'CorruptRecord');
    const badBd = Buffer.from(good);
    badBd[5] = 0x10;
    expectRecordsError(() => decompressRecords(CompressionType.Lz4, badBd), 'CorruptRecord');
    const hugeBlock = Buffer.from(good);
    hugeBlock.writeUInt32LE(0x7fffffff, 7);
    expectRecordsError(() => decompressRecords(CompressionType.Lz4, hugeBlock), 'CorruptRecord');
    expectRecordsError(
      () => decompressRecords(CompressionType.Lz4, good.subarray(0, good.length - 4)),
      'CorruptRecord',
    );
  });
});

describe('malformed input gives typed errors', () => {
  test.each(codecs.map((c) => [compressionName(c), c] as const))(
    '%s: truncation and bit flips',
    (_name, codec) => {
      const data = Buffer.from(Array.from({ length: 2000 }, (_, i) => `record ${i};`).join(''));
      const good = compressRecords(codec, data);
      fc.assert(
        fc.property(
          fc.nat({ max: good.length - 1 }),
          fc.nat({ max: good.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          (cut, pos, xor) => {
            const variants = [good.subarray(0, cut), Buffer.from(good)];
            variants[1]![pos]! ^= xor;
            for (const v of variants) {
              try {
                const out = decompressRecords(codec, v);
                expect(Buffer.isBuffer(out)).toBe(true);
              } catch (e) {
                expect((e as { name?: string }).name).toBe('RecordsError');
              }
            }
          },
        ),
        { numRuns: 200 },
      );
    },
  );
});

describe('decompression bombs are bounded', () => {
  const bomb = Buffer.alloc(8 * 1024 * 1024); // 8 MiB of zeros
  const maxBytes = 1024 * 1024;

  test.each(codecs.map((c) => [compressionName(c), c] as const))('%s stops at maxBytes', (_name, codec) => {
    const compressed = compressRecords(codec, bomb);
    expect(compressed.length).toBeLessThan(bomb.length / 20);
    expectRecordsError(() => decompressRecords(codec, compressed, { maxBytes }), 'TooLarge');
    // exactly at the bound is fine
    const atBound = compressRecords(codec, bomb.subarray(0, maxBytes));
    expect(decompressRecords(codec, atBound, { maxBytes }).length).toBe(maxBytes);
  });

  test('raw snappy: the preamble is checked before decompressing', () => {
    expectRecordsError(
      () => decompressRecords(CompressionType.Snappy, snappyRaw(bomb), { maxBytes }),
      'TooLarge',
    );
    // a preamble that lies about a huge size is refused without allocation
    expectRecordsError(
      () => decompressRecords(CompressionType.Snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])),
      'TooLarge',
    );
  });

  test('gzip from zlib directly (as librdkafka and kafkajs write it)', () => {
    expectRecordsError(
      () => decompressRecords(CompressionType.Gzip, gzipSync(bomb), { maxBytes }),
      'TooLarge',
    );
  });

  test('lz4 frames with block and content checksums', () => {
    const checksummed = compressFrameSync(bomb, { blockChecksums: true, contentChecksum: true });
    expectRecordsError(() => decompressRecords(CompressionType.Lz4, checksummed, { maxBytes }), 'TooLarge');
    const small = compressFrameSync(Buffer.from('x'.repeat(1000)), {
      blockChecksums: true,
      contentChecksum: true,
    });
    expect(decompressRecords(CompressionType.Lz4, small).toString()).toBe('x'.repeat(1000));
  });

  test('zstd without a content size in the frame header is bounded while streaming', () => {
    // A streaming compressor does not know the size up front, as zstd-jni's stream in the Java client.
    const cctx = new zstdBinding.CCtx();
    cctx.setParameter(zstdBinding.CParameter.contentSizeFlag, 0);
    const out = Buffer.alloc(1024 * 1024);
    let produced = 0;
    let input = bomb;
    for (;;) {
      const [remaining, dst, src] = cctx.compressStream2(
        out.subarray(produced),
        input,
        zstdBinding.EndDirective.end,
      );
      produced += dst;
      input = input.subarray(src);
      if (remaining === 0) break;
    }
    const streamed = out.subarray(0, produced);
    expect(zstdBinding.getFrameContentSize(streamed)).toBeNull();
    expectRecordsError(() => decompressRecords(CompressionType.Zstd, streamed, { maxBytes }), 'TooLarge');
    expect(decompressRecords(CompressionType.Zstd, streamed, { maxBytes: bomb.length }).equals(bomb)).toBe(
      true,
    );
    // with a known size, the bound is checked before allocating
    expectRecordsError(
      () => decompressRecords(CompressionType.Zstd, zstdCompress(bomb), { maxBytes }),
      'TooLarge',
    );
  });
});
