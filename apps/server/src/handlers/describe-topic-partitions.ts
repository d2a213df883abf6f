// DescribeTopicPartitions (key 75), v0 (KIP-966; used by newer admin clients instead of Metadata
// for describeTopics). Topics by name, sorted; at most response_partition_limit partitions per
// response, continuing from the cursor and answering next_cursor when more remain.
import type { TopicView } from '../services/metadata-cache.js';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { defineHandler } from './types.js';
import { OPERATIONS_NOT_REQUESTED, TOPIC_OPERATIONS } from './authorized-operations.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const MAX_PARTITIONS = 2000;

export const describeTopicPartitionsHandler = defineHandler({
  apiKey: ApiKey.DescribeTopicPartitions,
  minVersion: 0,
  maxVersion: 0,
  uses: ['metadata'],
  handle(req, ctx) {
    const { metadata } = ctx.deps;
    const limit = Math.max(
      1,
      Math.min(req.responsePartitionLimit > 0 ? req.responsePartitionLimit : MAX_PARTITIONS, MAX_PARTITIONS),
    );
    const names = (
      req.topics.length === 0 ? metadata.topics().map((t) => t.name) : req.topics.map((t) => t.name)
    ).sort();
    const cursor = req.cursor;
    const topics = [];
    let budget = limit;
    let nextCursor: { topicName: string; partitionIndex: number } | null = null;
    for (const name of names) {
      if (cursor !== null && name < cursor.topicName) continue;
      const t: TopicView | undefined = metadata.topic(name);
      if (t === undefined) {
        topics.push({
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          name,
          topicId: ZERO_UUID,
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
        });
        continue;
      }
      const start = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0;
      const parts = t.partitions.filter((p) => p.partition >= start);
      if (budget <= 0) {
        nextCursor = { topicName: name, partitionIndex: start };
        break;
      }
      const taken = parts.slice(0, budget);
      budget -= taken.length;
      topics.push({
        errorCode: ErrorCode.NONE,
        name,
        topicId: t.topicId,
        isInternal: t.internal,
        partitions: taken.map((p) => ({
          errorCode: ErrorCode.NONE,
          partitionIndex: p.partition,
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicaNodes: [...p.replicas],
          isrNodes: [...p.isr],
          eligibleLeaderReplicas: null,
          lastKnownElr: null,
          offlineReplicas: [...p.offlineReplicas],
        })),
        topicAuthorizedOperations: TOPIC_OPERATIONS, // always answered (no include flag); no authorizer
      });
      if (taken.length < parts.length) {
        nextCursor = {
          topicName: name,
          partitionIndex: (taken[taken.length - 1]?.partition ?? start - 1) + 1,
        };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});
