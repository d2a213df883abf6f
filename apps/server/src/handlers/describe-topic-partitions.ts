// DescribeTopicPartitions (key 75), v0 (KIP-966; used by newer admin clients instead of Metadata
// for describeTopics). Topics by name, sorted; at most response_partition_limit partitions per
// response, continuing from the cursor and answering next_cursor when more remain. Authorization, as
// Kafka's handler: every topic lists those the principal may DESCRIBE; a topic named without
// DESCRIBE is TOPIC_AUTHORIZATION_FAILED; authorized operations are the principal's.
import type { TopicView } from '../services/metadata-cache.js';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { defineHandler } from './types.js';
import { OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';
import { allowed, operationsOf } from './authz.js';

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
    const every = req.topics.length === 0;
    const names = (
      every
        ? metadata
            .topics()
            .map((t) => t.name)
            .filter((n) => allowed(ctx, 'DESCRIBE', 'TOPIC', n, true))
        : req.topics.map((t) => t.name)
    ).sort();
    const cursor = req.cursor;
    const topics = [];
    let budget = limit;
    let nextCursor: { topicName: string; partitionIndex: number } | null = null;
    for (const name of names) {
      if (cursor !== null && name < cursor.topicName) continue;
      if (!every && !allowed(ctx, 'DESCRIBE', 'TOPIC', name)) {
        topics.push({
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          name,
          topicId: ZERO_UUID,
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
        });
        continue;
      }
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
        topicAuthorizedOperations: operationsOf(ctx, 'TOPIC', name), // always answered (no include flag)
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
