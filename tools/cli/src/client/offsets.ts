// ListOffsets: the earliest or latest offset of partitions, or the first at or after a timestamp.
import { ApiKey } from '@chronik/protocol';
import type { KafkaClient } from './client.js';
import type { PartitionAnswer, TopicPartition } from './partitions.js';
import { byTopic, perLeader, tpKey } from './partitions.js';

/** Kafka's special ListOffsets timestamps. */
export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;

export interface OffsetQuery extends TopicPartition {
  /** LATEST_TIMESTAMP, EARLIEST_TIMESTAMP, or a time in ms. */
  timestamp: bigint;
}

/**
 * The offset for each query, by `tpKey`: -1n when asked for a time after every record. Each
 * partition is asked once: several queries of one partition must be split by the caller.
 */
export async function listOffsets(
  client: KafkaClient,
  queries: readonly OffsetQuery[],
): Promise<Map<string, bigint>> {
  const timestamps = new Map(queries.map((q) => [tpKey(q.topic, q.partition), q.timestamp]));
  return perLeader(client, queries, async (conn, tps) => {
    const { body } = await conn.request(ApiKey.ListOffsets, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: client.options.requestTimeoutMs,
      topics: [...byTopic(tps)].map(([name, partitions]) => ({
        name,
        partitions: partitions.map((partitionIndex) => ({
          partitionIndex,
          currentLeaderEpoch: -1,
          timestamp: timestamps.get(tpKey(name, partitionIndex)) ?? LATEST_TIMESTAMP,
          maxNumOffsets: 1,
        })),
      })),
    });
    const answers = new Map<string, PartitionAnswer<bigint>>();
    for (const t of body.topics)
      for (const p of t.partitions)
        answers.set(tpKey(t.name, p.partitionIndex), { errorCode: p.errorCode, value: p.offset });
    return answers;
  });
}

/** Earliest and latest offsets of the partitions, by `tpKey`. */
export async function offsetRange(
  client: KafkaClient,
  tps: readonly TopicPartition[],
): Promise<Map<string, { start: bigint; end: bigint }>> {
  const [start, end] = await Promise.all([
    listOffsets(
      client,
      tps.map((tp) => ({ ...tp, timestamp: EARLIEST_TIMESTAMP })),
    ),
    listOffsets(
      client,
      tps.map((tp) => ({ ...tp, timestamp: LATEST_TIMESTAMP })),
    ),
  ]);
  const out = new Map<string, { start: bigint; end: bigint }>();
  for (const tp of tps) {
    const k = tpKey(tp.topic, tp.partition);
    out.set(k, { start: start.get(k) ?? -1n, end: end.get(k) ?? -1n });
  }
  return out;
}
