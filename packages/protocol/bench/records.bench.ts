// Benchmark (not a test): `pnpm --filter @chronik/protocol bench`.
//
// Decodes and re-encodes a 1 MiB Produce request made of 1 KiB records and reports MB/s (of request
// bytes) for each layer of the broker's produce path:
//   1. batch headers: split the records field of every partition, decode each batch header, rewrite
//      baseOffset and partitionLeaderEpoch (no CRC, records untouched);
//   2. + CRC-32C: the same with full validation (CRC over every byte of every batch);
//   3. full request: decode the Produce frame with the generated codec, validate and assign every
//      batch, re-encode the frame (zero-copy chunks);
//   4. for scale, decoding every record of every batch (what the produce path avoids).
// It imports the built package (`@chronik/protocol` resolves to dist/ by self-reference).
import { performance } from 'node:perf_hooks';
import {
  CompressionType,
  assignRecordBatch,
  buildRecordBatch,
  decodeRecordBatch,
  decodeRequestFrame,
  encodeRequestFrame,
  readRecordBatchHeader,
  setRecordBatchBaseOffset,
  setRecordBatchPartitionLeaderEpoch,
  splitRecordBatches,
  validateRecordBatch,
} from '@chronik/protocol';
import type { ProduceRequest, ProduceRequestPartitionProduceData } from '@chronik/protocol';

const RECORD_BYTES = 1024;
const REQUEST_BYTES = 1024 * 1024;
const PRODUCE_VERSION = Number(process.env['BENCH_PRODUCE_VERSION'] ?? 9);
const MIN_TIME_MS = Number(process.env['BENCH_MIN_MS'] ?? 1500);

function makeRequest(partitions: number): { frame: Buffer; body: ProduceRequest } {
  const recordsPerPartition = Math.floor(REQUEST_BYTES / RECORD_BYTES / partitions);
  const value = Buffer.alloc(RECORD_BYTES - 16, 'v');
  const partitionData: ProduceRequestPartitionProduceData[] = [];
  for (let p = 0; p < partitions; p++) {
    const batch = buildRecordBatch({
      records: Array.from({ length: recordsPerPartition }, (_, i) => ({
        key: Buffer.from(`key-${p}-${i}`.padEnd(12)),
        value,
      })),
      timestampMs: 1_700_000_000_000n,
      compression: CompressionType.None,
      producerId: 1000n,
      producerEpoch: 0,
      baseSequence: 0,
    });
    partitionData.push({ index: p, records: batch });
  }
  const body: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: 'bench', partitionData }],
  };
  const chunks = encodeRequestFrame(
    { requestApiKey: 0, requestApiVersion: PRODUCE_VERSION, correlationId: 1, clientId: 'bench' },
    body,
  );
  const framed = Buffer.concat(chunks);
  return { frame: framed.subarray(4), body };
}

function measure(name: string, bytes: number, fn: () => void): number {
  for (let i = 0; i < 50; i++) fn(); // warm-up
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_TIME_MS) {
    for (let i = 0; i < 20; i++) fn();
    iterations += 20;
    elapsed = performance.now() - start;
  }
  const mbPerSecond = (bytes * iterations) / (elapsed / 1000) / 1e6;
  const perOpUs = (elapsed * 1000) / iterations;
  process.stdout.write(
    `${name.padEnd(58)} ${mbPerSecond.toFixed(0).padStart(8)} MB/s  ${perOpUs.toFixed(1).padStart(9)} us/request\n`,
  );
  return mbPerSecond;
}

function partitionsOf(body: ProduceRequest): ProduceRequestPartitionProduceData[] {
  return body.topicData.flatMap((t) => t.partitionData);
}

let sink = 0;
const results: Record<string, number> = {};
for (const partitions of [1, 16]) {
  const { frame, body } = makeRequest(partitions);
  const parts = partitionsOf(body).map((p) => p.records!);
  const batchBytes = parts.reduce((n, b) => n + b.length, 0);
  process.stdout.write(
    `\nProduce v${PRODUCE_VERSION} request: ${frame.length} bytes, ${partitions} partition(s), one batch each, ` +
      `${Math.floor(REQUEST_BYTES / RECORD_BYTES / partitions)} records of ${RECORD_BYTES} B per batch\n`,
  );
  let offset = 0n;
  const key = `${partitions}p`;
  results[`${key}.header`] = measure(
    'batch headers: split + decode header + set offset/epoch',
    frame.length,
    () => {
      for (const records of parts) {
        for (const slice of splitRecordBatches(records)) {
          const h = readRecordBatchHeader(slice.bytes);
          setRecordBatchBaseOffset(slice.bytes, offset);
          setRecordBatchPartitionLeaderEpoch(slice.bytes, 1);
          offset += BigInt(h.recordCount);
        }
      }
    },
  );
  results[`${key}.crc`] = measure('batch headers + CRC-32C validation + assign', frame.length, () => {
    for (const records of parts) {
      for (const slice of splitRecordBatches(records)) {
        const h = validateRecordBatch(slice.bytes);
        assignRecordBatch(slice.bytes, { baseOffset: offset, partitionLeaderEpoch: 1 });
        offset += BigInt(h.recordCount);
      }
    }
  });
  results[`${key}.request`] = measure(
    'request decode + headers + assign + request encode',
    frame.length,
    () => {
      const decoded = decodeRequestFrame(frame);
      for (const p of partitionsOf(decoded.body as ProduceRequest)) {
        for (const slice of splitRecordBatches(p.records!)) {
          const h = readRecordBatchHeader(slice.bytes);
          assignRecordBatch(slice.bytes, { baseOffset: offset, partitionLeaderEpoch: 1 });
          offset += BigInt(h.recordCount);
        }
      }
      const chunks = encodeRequestFrame(
        { requestApiKey: 0, requestApiVersion: PRODUCE_VERSION, correlationId: 2, clientId: 'bench' },
        decoded.body as ProduceRequest,
      );
      sink += chunks.length;
    },
  );
  results[`${key}.requestCrc`] = measure(
    'request decode + CRC validation + assign + request encode',
    frame.length,
    () => {
      const decoded = decodeRequestFrame(frame);
      for (const p of partitionsOf(decoded.body as ProduceRequest)) {
        for (const slice of splitRecordBatches(p.records!)) {
          const h = validateRecordBatch(slice.bytes);
          assignRecordBatch(slice.bytes, { baseOffset: offset, partitionLeaderEpoch: 1 });
          offset += BigInt(h.recordCount);
        }
      }
      const chunks = encodeRequestFrame(
        { requestApiKey: 0, requestApiVersion: PRODUCE_VERSION, correlationId: 2, clientId: 'bench' },
        decoded.body as ProduceRequest,
      );
      sink += chunks.length;
    },
  );
  results[`${key}.records`] = measure(
    'for scale: decode every record (not on the produce path)',
    batchBytes,
    () => {
      for (const records of parts)
        for (const slice of splitRecordBatches(records))
          sink += decodeRecordBatch(slice.bytes).records.length;
    },
  );
}
const ratio = (a: string, b: string): string => (results[a]! / results[b]!).toFixed(1);
process.stdout.write(
  `\nratios (16 partitions): header path / CRC path = ${ratio('16p.header', '16p.crc')}x; ` +
    `CRC path / full record decode = ${ratio('16p.crc', '16p.records')}x; ` +
    `request path without / with CRC = ${ratio('16p.request', '16p.requestCrc')}x\n`,
);
if (sink < 0) process.stdout.write('unreachable\n');
