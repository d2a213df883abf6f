// OffsetForLeaderEpoch (key 23), v0–v4. For each partition, the end offset of the requested
// leader epoch (the start offset of the next epoch, or the log end offset for the latest), which
// consumers use to detect log truncation after a leader change. current_leader_epoch (v2+) is
// checked. Unknown epochs older than the log give (-1, -1), as Kafka does. Authorization: CLUSTER_ACTION
// on the cluster (a replica), else DESCRIBE on each topic (a consumer, KIP-320), else
// TOPIC_AUTHORIZATION_FAILED on its partitions.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames, clusterAllowed } from './authz.js';
import { errorCodeOf } from './errors.js';
import { defineHandler } from './types.js';

export const offsetForLeaderEpochHandler = defineHandler({
  apiKey: ApiKey.OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  uses: ['partitions'],
  async handle(req, ctx) {
    const { partitions } = ctx.deps;
    const names = req.topics.map((t) => t.topic);
    const described = clusterAllowed(ctx, 'CLUSTER_ACTION', true)
      ? new Set(names)
      : allowedNames(ctx, 'DESCRIBE', 'TOPIC', names);
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        topic: t.topic,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            if (!described.has(t.topic))
              return {
                errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                partition: p.partition,
                leaderEpoch: -1,
                endOffset: -1n,
              };
            try {
              const r = await partitions.offsetForLeaderEpoch(
                { topic: t.topic, partition: p.partition },
                p.leaderEpoch,
                ctx.apiVersion >= 2 ? p.currentLeaderEpoch : -1,
              );
              return {
                errorCode: ErrorCode.NONE,
                partition: p.partition,
                leaderEpoch: ctx.apiVersion >= 1 ? r.leaderEpoch : -1,
                endOffset: r.endOffset,
              };
            } catch (e) {
              return { errorCode: errorCodeOf(e), partition: p.partition, leaderEpoch: -1, endOffset: -1n };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
