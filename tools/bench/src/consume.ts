// The project's own consume loop: Fetch requests from offset 0 of every partition (one request in
// flight per leader, as a Kafka consumer does), counting records from the batch headers, until the
// expected number of records has been read. Measures the broker's read path from the start of a log.
import { ApiKey, ErrorCode, defaultFetchRequest, splitRecordBatches } from '@chronik/protocol';
import { BenchError } from './errors.js';
import { FETCH_VERSION, KafkaConnection, errorName, waitForLeaders } from './kafka.js';
import type { BrokerAddress } from './kafka.js';
import type { LoadResult } from './produce.js';
import { throughput } from './stats.js';

export interface ConsumeSpec {
  bootstrap: BrokerAddress;
  topic: string;
  partitions: number;
  recordBytes: number;
  /** Records to read in total (what the produce run wrote). */
  records: number;
  /** Fetch limits (defaults 32 MiB per response, 8 MiB per partition). */
  maxBytes?: number;
  partitionMaxBytes?: number;
  timeoutMs?: number;
}

export async function runFetchConsume(spec: ConsumeSpec): Promise<LoadResult> {
  const boot = await KafkaConnection.connect(spec.bootstrap);
  let layout;
  try {
    layout = await waitForLeaders(boot, spec.topic, spec.partitions, 30_000);
  } finally {
    boot.close();
  }
  const byNode = new Map<number, number[]>();
  layout.leaders.forEach((node, p) => byNode.set(node, [...(byNode.get(node) ?? []), p]));
  const deadline = Date.now() + (spec.timeoutMs ?? 120_000);
  let total = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    [...byNode].map(async ([node, partitions]) => {
      const conn = await KafkaConnection.connect(layout.brokers.get(node)!);
      try {
        const offsets = new Map<number, bigint>(partitions.map((p) => [p, 0n]));
        while (total < spec.records) {
          if (Date.now() > deadline)
            throw new BenchError(
              'Timeout',
              `consumed ${total} of ${spec.records} records before the time limit`,
            );
          const res = await conn.request(ApiKey.Fetch, FETCH_VERSION, {
            ...defaultFetchRequest(),
            replicaId: -1,
            maxWaitMs: 500,
            minBytes: 1,
            maxBytes: spec.maxBytes ?? 32 * 1024 * 1024,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [
              {
                topic: spec.topic,
                topicId: '00000000-0000-0000-0000-000000000000',
                partitions: partitions.map((p) => ({
                  partition: p,
                  currentLeaderEpoch: -1,
                  fetchOffset: offsets.get(p)!,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1n,
                  partitionMaxBytes: spec.partitionMaxBytes ?? 8 * 1024 * 1024,
                  replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
                })),
              },
            ],
          });
          if (res.errorCode !== ErrorCode.NONE)
            throw new BenchError('BrokerError', `fetch: ${errorName(res.errorCode)}`);
          let progressed = false;
          for (const t of res.responses) {
            for (const p of t.partitions) {
              if (p.errorCode !== ErrorCode.NONE)
                throw new BenchError(
                  'BrokerError',
                  `fetch partition ${p.partitionIndex}: ${errorName(p.errorCode)}`,
                );
              if (p.records === null || p.records.length === 0) continue;
              const from = offsets.get(p.partitionIndex)!;
              for (const b of splitRecordBatches(p.records, { allowPartialTail: true })) {
                const next = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
                if (next <= from) continue; // a batch that starts before the fetch offset
                total += b.header.recordCount;
                offsets.set(p.partitionIndex, next);
                progressed = true;
              }
            }
          }
          if (!progressed && total >= spec.records) break;
        }
      } finally {
        conn.close();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const t = throughput(total, spec.recordBytes, seconds);
  return {
    ok: total >= spec.records,
    msgs: total,
    bytes: total * spec.recordBytes,
    seconds,
    msgPerSec: t.msgPerSec,
    mbPerSec: t.mbPerSec,
    errors: 0,
  };
}
