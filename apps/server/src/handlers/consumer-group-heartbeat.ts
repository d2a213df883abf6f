// ConsumerGroupHeartbeat (key 68), v0–v1: the consumer group protocol of KIP-848 — join (member
// epoch 0), heartbeat, leave (-1), static leave (-2); the coordinator assigns (uniform or range)
// and answers the partitions the member may use now (apps/server/src/groups/consumer-coordinator.ts).
// v0: a member joining with an empty member id is named by the coordinator; v1 (KIP-1082): the
// client names itself (an empty member id is INVALID_REQUEST) and may subscribe by regex
// (SubscribedTopicRegex). Answered once the group's changes are durable; a broker shutting down
// answers a waiting heartbeat NOT_COORDINATOR at once. Authorization, as Kafka: READ on the group
// (GROUP_AUTHORIZATION_FAILED), then DESCRIBE on every subscribed topic named
// (TOPIC_AUTHORIZATION_FAILED naming them).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed, allowedNames } from './authz.js';
import { clientHostOf, groupErrorCode, untilShutdown } from './group-util.js';
import { defineHandler } from './types.js';

export const consumerGroupHeartbeatHandler = defineHandler({
  apiKey: ApiKey.ConsumerGroupHeartbeat,
  minVersion: 0,
  maxVersion: 1,
  uses: ['groups'],
  async handle(req, ctx) {
    const refused = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (!allowed(ctx, 'READ', 'GROUP', req.groupId))
      return refused(ErrorCode.GROUP_AUTHORIZATION_FAILED, null);
    if (req.subscribedTopicNames !== null && req.subscribedTopicNames.length > 0) {
      const described = allowedNames(ctx, 'DESCRIBE', 'TOPIC', req.subscribedTopicNames);
      const denied = req.subscribedTopicNames.filter((t) => !described.has(t));
      if (denied.length > 0)
        return refused(
          ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          `The group may not describe the topics ${[...new Set(denied)].sort().join(', ')}`,
        );
    }
    const pending = ctx.deps.groups.consumerGroupHeartbeat({
      apiVersion: ctx.apiVersion,
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId,
      rackId: req.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames,
      subscribedTopicRegex: ctx.apiVersion >= 1 ? req.subscribedTopicRegex : null,
      serverAssignor: req.serverAssignor,
      topicPartitions: req.topicPartitions,
      clientId: ctx.clientId ?? '',
      clientHost: clientHostOf(ctx.conn.remoteAddress),
    });
    const r = await untilShutdown(pending, ctx.deps.shutdown, () => ({
      errorCode: 'NOT_COORDINATOR' as const,
      errorMessage: null,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    }));
    return {
      throttleTimeMs: 0,
      errorCode: groupErrorCode(r.errorCode),
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment },
    };
  },
});
