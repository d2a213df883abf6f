// ConsumerGroupDescribe (key 69), v0: groups of the consumer protocol (KIP-848) — state (Empty,
// Assigning, Reconciling, Stable), group and assignment epochs, the assignor, and each member with
// its subscription, epoch, current and target assignment (topic ids and names). A group that does
// not exist, or is a classic group, is GROUP_ID_NOT_FOUND with a message (the Java admin client
// then describes it with DescribeGroups). Needs DESCRIBE on the group (else
// GROUP_AUTHORIZATION_FAILED); authorized operations when asked, from the ACLs (no authorizer: every
// group operation).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed, operationsOf } from './authz.js';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';
import { OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';

export const consumerGroupDescribeHandler = defineHandler({
  apiKey: ApiKey.ConsumerGroupDescribe,
  minVersion: 0,
  maxVersion: 0,
  uses: ['groups'],
  handle(req, ctx) {
    const permitted = req.groupIds.filter((id) => allowed(ctx, 'DESCRIBE', 'GROUP', id));
    const refused = req.groupIds
      .filter((id) => !permitted.includes(id))
      .map((groupId) => ({
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        errorMessage: null,
        groupId,
        groupState: '',
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignorName: '',
        members: [],
        authorizedOperations: OPERATIONS_NOT_REQUESTED,
      }));
    const described = ctx.deps.groups.consumerGroupDescribe(permitted).map((g) => {
      const ops = req.includeAuthorizedOperations
        ? operationsOf(ctx, 'GROUP', g.groupId)
        : OPERATIONS_NOT_REQUESTED;
      return {
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
      };
    });
    return { throttleTimeMs: 0, groups: [...described, ...refused] };
  },
});
