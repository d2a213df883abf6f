// The "consumer" protocol type's embedded messages (subscription and assignment), each a big-endian
// int16 version followed by the body: the generated data schemas encode only the body.
import type { ConsumerProtocolAssignment, ConsumerProtocolSubscription } from '@chronik/protocol';
import {
  Reader,
  Writer,
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
} from '@chronik/protocol';
import type { TopicPartition } from './partitions.js';

const SUBSCRIPTION_VERSION = 1;
const ASSIGNMENT_VERSION = 0;

export function encodeSubscription(topics: readonly string[]): Buffer {
  const w = new Writer();
  w.int16(SUBSCRIPTION_VERSION);
  encodeConsumerProtocolSubscription(
    { topics: [...topics], userData: null, ownedPartitions: [], generationId: -1, rackId: null },
    SUBSCRIPTION_VERSION,
    w,
  );
  return w.toBuffer();
}

export function decodeSubscription(bytes: Buffer): ConsumerProtocolSubscription {
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), 3);
  return decodeConsumerProtocolSubscription(r, version);
}

export function encodeAssignment(tps: readonly TopicPartition[]): Buffer {
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const w = new Writer();
  w.int16(ASSIGNMENT_VERSION);
  encodeConsumerProtocolAssignment(
    {
      assignedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      userData: null,
    },
    ASSIGNMENT_VERSION,
    w,
  );
  return w.toBuffer();
}

/** The partitions of an assignment; an empty buffer (a member that got nothing) is none. */
export function decodeAssignment(bytes: Buffer): TopicPartition[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), 3);
  const a: ConsumerProtocolAssignment = decodeConsumerProtocolAssignment(r, version);
  return a.assignedPartitions.flatMap((t) =>
    t.partitions.map((partition) => ({ topic: t.topic, partition })),
  );
}

/**
 * Kafka's range assignor: per topic, the members subscribed to it in member id order each get a
 * contiguous range of partitions, the first `partitions % members` one more.
 */
export function rangeAssign(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>([...subscriptions.keys()].map((m) => [m, []]));
  const topics = new Set([...subscriptions.values()].flat());
  for (const topic of [...topics].sort()) {
    const members = [...subscriptions]
      .filter(([, ts]) => ts.includes(topic))
      .map(([m]) => m)
      .sort();
    const count = partitionCounts.get(topic) ?? 0;
    const each = Math.floor(count / members.length);
    const extra = count % members.length;
    members.forEach((m, i) => {
      const start = i * each + Math.min(i, extra);
      const length = each + (i < extra ? 1 : 0);
      for (let p = start; p < start + length; p++) out.get(m)?.push({ topic, partition: p });
    });
  }
  return out;
}
