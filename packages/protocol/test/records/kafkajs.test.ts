// Cross-checks with a real client library: kafkajs encodes Produce requests (whose record batches we
// decode and CRC-check) and decodes the batches our builder writes (as a kafkajs consumer would).
// kafkajs ships gzip; like its snappy/lz4/zstd plugins, the other codecs are registered here on top of
// the same native libraries those plugins wrap (raw snappy as kafkajs-snappy writes it).
/* eslint-disable @typescript-eslint/no-require-imports */
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';
import { CompressionType, splitRecordBatches, validateRecordBatch } from '../../src/records/batch.js';
import { buildRecordBatch, decodeRecordBatch } from '../../src/records/builder.js';
import { extractProduceRecords } from './produce-frames.js';

type Codec = {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
};
const compression = require('kafkajs/src/protocol/message/compression') as {
  Codecs: Record<number, () => Codec>;
};
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as (args: unknown) => {
  encode(): Promise<{ buffer: Buffer }>;
};
const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<{
  firstOffset: string;
  records: Array<{
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer>;
    timestamp: string;
    offset: string;
  }>;
  inTransaction: boolean;
  producerId: string;
}>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const Long = require('kafkajs/src/utils/long') as { fromValue(v: string | number): unknown };

const saved = { ...compression.Codecs };
beforeAll(() => {
  compression.Codecs[CompressionType.Snappy] = () => ({
    compress: async (e) => snappyCompress(e.buffer),
    decompress: async (b) => snappyUncompress(b, { asBuffer: true }) as Buffer,
  });
  compression.Codecs[CompressionType.Lz4] = () => ({
    compress: async (e) => compressFrameSync(e.buffer),
    decompress: async (b) => decompressFrameSync(b),
  });
  compression.Codecs[CompressionType.Zstd] = () => ({
    compress: async (e) => zstdCompress(e.buffer),
    decompress: async (b) => zstdDecompress(b),
  });
});
afterAll(() => {
  for (const k of [CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd])
    compression.Codecs[k] = saved[k]!;
});

const messages = [
  {
    key: Buffer.from('key-0'),
    value: Buffer.from('value-0'),
    timestamp: 1_700_000_000_000,
    headers: { trace: Buffer.from('abc') },
  },
  { key: null, value: Buffer.from('value-1 with no key'), timestamp: 1_700_000_000_005 },
  {
    key: Buffer.from('key-2'),
    value: Buffer.from('x'.repeat(5000)),
    timestamp: 1_700_000_000_003,
    headers: { a: Buffer.from('1'), b: Buffer.from('') },
  },
];

const codecs = [
  ['none', CompressionType.None],
  ['gzip', CompressionType.Gzip],
  ['snappy', CompressionType.Snappy],
  ['lz4', CompressionType.Lz4],
  ['zstd', CompressionType.Zstd],
] as const;

describe('batches produced by kafkajs', () => {
  test.each(codecs)('%s: decode, CRC and values', async (_name, codec) => {
    const request = produceV3({
      acks: -1,
      timeout: 30000,
      compression: codec,
      producerId: Long.fromValue(-1),
      producerEpoch: 0,
      topicData: [
        {
          topic: 'orders',
          partitions: [
            { partition: 0, firstSequence: 0, messages },
            { partition: 3, firstSequence: 0, messages: messages.slice(1) },
          ],
        },
      ],
    });
    const body = (await request.encode()).buffer;
    const partitions = extractProduceRecords(body, 3);
    expect(partitions.map((p) => [p.topic, p.partition])).toEqual([
      ['orders', 0],
      ['orders', 3],
    ]);
    const [slice] = splitRecordBatches(partitions[0]!.records);
    const header = validateRecordBatch(slice!.bytes); // CRC-32C and counts as a broker checks them
    expect(header.compression).toBe(codec);
    expect(header.recordCount).toBe(3);
    expect(header.baseTimestamp).toBe(1_700_000_000_000n);
    expect(header.maxTimestamp).toBe(1_700_000_000_005n);
    const { records } = decodeRecordBatch(slice!.bytes);
    expect(
      records.map((r) => [r.offset, r.timestampMs, r.key?.toString() ?? null, r.value!.toString()]),
    ).toEqual(
      messages.map((m, i) => [BigInt(i), BigInt(m.timestamp), m.key?.toString() ?? null, m.value.toString()]),
    );
    expect(records[0]!.headers.map((h) => [h.key, h.value!.toString()])).toEqual([['trace', 'abc']]);
    expect(records[2]!.headers.map((h) => [h.key, h.value!.toString()])).toEqual([
      ['a', '1'],
      ['b', ''],
    ]);
    expect(decodeRecordBatch(partitions[1]!.records).records).toHaveLength(2);
  });
});

describe('batches we build, decoded by kafkajs', () => {
  // Snappy in raw framing here: the plain snappy library (as kafkajs-snappy) is what decodes it;
  // xerial framing is covered by the compression tests.
  test.each(codecs)('%s', async (_name, codec) => {
    const snappyFraming = 'raw' as const;
    const batch = buildRecordBatch({
      records: messages.map((m) => ({
        key: m.key,
        value: m.value,
        timestampMs: BigInt(m.timestamp),
        headers: Object.entries(m.headers ?? {}).map(([key, value]) => ({ key, value })),
      })),
      baseOffset: 1000n,
      compression: codec,
      compressOptions: { snappyFraming },
      producerId: 77n,
      producerEpoch: 2,
      baseSequence: 10,
      isTransactional: true,
    });
    const decoded = await RecordBatchDecoder(new Decoder(batch));
    expect(decoded.firstOffset).toBe('1000');
    expect(decoded.inTransaction).toBe(true);
    expect(decoded.producerId).toBe('77');
    expect(
      decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value!.toString()]),
    ).toEqual(
      messages.map((m, i) => [
        String(1000 + i),
        String(m.timestamp),
        m.key?.toString() ?? null,
        m.value.toString(),
      ]),
    );
    expect(decoded.records[0]!.headers.trace!.toString()).toBe('abc');
  });
});
