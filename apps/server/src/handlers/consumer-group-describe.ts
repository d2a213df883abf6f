// ConsumerGroupDescribe (key 69), v0: groups of the consumer protocol (KIP-848) — state (Empty,
// Assigning, Reconciling, Stable), group and assignment epochs, the assignor, and each member with
// its subscription, epoch, current and target assignment (topic ids and names). A group that does
// not exist, or is a classic group, is GROUP_ID_NOT_FOUND with a message (the Java admin client
// then describes it with DescribeGroups). Authorized operations when asked (no authorizer: every
// group operation).
import { ApiKey } from '@chronik/protocol';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';
import { GROUP_OPERATIONS, OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';

export const consumerGroupDescribeHandler = defineHandler({
  apiKey: ApiKey.ConsumerGroupDescribe,
  minVersion: 0,
  maxVersion: 0,
  uses: ['groups'],
  handle(req, ctx) {
    const ops = req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    return {
      throttleTimeMs: 0,
      groups: ctx.deps.groups.consumerGroupDescribe(req.groupIds).map((g) => ({
        errorCode: groupErrorCode(g.errorCode),
        errorMessage: g.errorMessage,
        groupId: g.groupId,
        groupState: g.state,
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignorName: g.assignorName,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: { topicPartitions: m.assignment },
          targetAssignment: { topicPartitions: m.targetAssignment },
        })),
        authorizedOperations: g.errorCode === 'NONE' ? ops : OPERATIONS_NOT_REQUESTED,
      })),
    };
  },
});
