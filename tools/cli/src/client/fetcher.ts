// Fetch: the records of partitions from given offsets, from each partition's leader.
//
// Full fetch requests only (no fetch sessions: sessionId 0, epoch -1), read_uncommitted like
// Kafka's console consumer; control batches are skipped, and the next position is the offset after
// the last batch returned, so gaps (compaction, control records) are stepped over.
import { ApiKey, ErrorCode, decodeRecordBatch, splitRecordBatches } from '@chronik/protocol';
import type { RecordHeader } from '@chronik/protocol';
import { CliError, errorMessage } from '../errors.js';
import type { KafkaClient } from './client.js';
import type { PartitionAnswer, TopicPartition } from './partitions.js';
import { byTopic, perLeader, tpKey, tpLabel } from './partitions.js';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestampMs: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface PartitionFetch {
  records: ConsumedRecord[];
  /** Where the next fetch of this partition starts. */
  nextOffset: bigint;
  highWatermark: bigint;
  logStartOffset: bigint;
  /** The offset asked for is before the log start or after its end. */
  outOfRange: boolean;
}

export interface FetchOptions {
  maxWaitMs: number;
  maxBytes: number;
  partitionMaxBytes: number;
}

export const DEFAULT_FETCH_OPTIONS: FetchOptions = {
  maxWaitMs: 500,
  maxBytes: 32 * 1024 * 1024,
  partitionMaxBytes: 4 * 1024 * 1024,
};

export interface Position extends TopicPartition {
  offset: bigint;
}

/** One fetch of every position, by `tpKey`. */
export async function fetchOnce(
  client: KafkaClient,
  positions: readonly Position[],
  options: FetchOptions,
): Promise<Map<string, PartitionFetch>> {
  const offsets = new Map(positions.map((p) => [tpKey(p.topic, p.partition), p.offset]));
  return perLeader(client, positions, async (conn, tps) => {
    const { body } = await conn.request(
      ApiKey.Fetch,
      {
        clusterId: null,
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1n },
        maxWaitMs: options.maxWaitMs,
        minBytes: 1,
        maxBytes: options.maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic(tps)].map(([topic, partitions]) => ({
          topic,
          topicId: '00000000-0000-0000-0000-000000000000',
          partitions: partitions.map((partition) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: offsets.get(tpKey(topic, partition)) ?? 0n,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: options.partitionMaxBytes,
            replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      },
      client.options.requestTimeoutMs + options.maxWaitMs,
    );
    if (body.errorCode !== ErrorCode.NONE) {
      const answers = new Map<string, PartitionAnswer<PartitionFetch>>();
      for (const tp of tps) answers.set(tpKey(tp.topic, tp.partition), { errorCode: body.errorCode });
      return answers;
    }
    const answers = new Map<string, PartitionAnswer<PartitionFetch>>();
    for (const t of body.responses)
      for (const p of t.partitions) {
        const key = tpKey(t.topic, p.partitionIndex);
        const from = offsets.get(key) ?? 0n;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          answers.set(key, {
            errorCode: ErrorCode.NONE,
            value: {
              records: [],
              nextOffset: from,
              highWatermark: p.highWatermark,
              logStartOffset: p.logStartOffset,
              outOfRange: true,
            },
          });
          continue;
        }
        if (p.errorCode !== ErrorCode.NONE) {
          answers.set(key, { errorCode: p.errorCode });
          continue;
        }
        answers.set(key, {
          errorCode: ErrorCode.NONE,
          value: decodePartition(
            { topic: t.topic, partition: p.partitionIndex },
            from,
            p.records,
            p.highWatermark,
            p.logStartOffset,
          ),
        });
      }
    return answers;
  });
}

function decodePartition(
  tp: TopicPartition,
  from: bigint,
  bytes: Buffer | null,
  highWatermark: bigint,
  logStartOffset: bigint,
): PartitionFetch {
  const records: ConsumedRecord[] = [];
  let nextOffset = from;
  if (bytes !== null && bytes.length > 0) {
    try {
      for (const slice of splitRecordBatches(bytes, { allowPartialTail: true })) {
        const last = slice.header.baseOffset + BigInt(slice.header.lastOffsetDelta);
        if (last < from) continue;
        if (!slice.header.isControl) {
          for (const r of decodeRecordBatch(slice.bytes).records) {
            if (r.offset < from) continue;
            records.push({
              ...tp,
              offset: r.offset,
              timestampMs: r.timestampMs,
              key: r.key,
              value: r.value,
              headers: r.headers,
            });
          }
        }
        nextOffset = last + 1n;
      }
    } catch (e) {
      throw new CliError(
        'PROTOCOL',
        `cannot read the records of ${tpLabel(tp)} at offset ${from}: ${errorMessage(e)}`,
        {
          cause: e,
        },
      );
    }
  }
  return { records, nextOffset, highWatermark, logStartOffset, outOfRange: false };
}
