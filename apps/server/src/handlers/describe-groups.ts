// DescribeGroups (key 15), v0–v5: state, protocol and members of groups. Members' metadata and
// assignments are filled in for Stable groups only (as Kafka does); an unknown group is described
// as Dead with no error. v3+ authorized operations (the principal's; every group operation without
// an authorizer). A group the principal may not DESCRIBE is GROUP_AUTHORIZATION_FAILED, its other
// fields empty (Kafka's DescribeGroupsResponse.forError).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { asBuffer, groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';
import { OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';
import { allowedNames, operationsOf } from './authz.js';

export const describeGroupsHandler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  uses: ['groups'],
  handle(req, ctx) {
    const withOps = ctx.apiVersion >= 3 && req.includeAuthorizedOperations;
    const described = allowedNames(ctx, 'DESCRIBE', 'GROUP', req.groups);
    const answers = new Map(
      ctx.deps.groups.describeGroups(req.groups.filter((g) => described.has(g))).map((g) => [g.groupId, g]),
    );
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) => {
        const g = answers.get(groupId);
        if (g === undefined)
          return {
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
            groupId,
            groupState: '',
            protocolType: '',
            protocolData: '',
            members: [],
            authorizedOperations: OPERATIONS_NOT_REQUESTED,
          };
        return {
          errorCode: groupErrorCode(g.errorCode),
          groupId: g.groupId,
          groupState: g.state,
          protocolType: g.protocolType,
          protocolData: g.protocolData,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: asBuffer(m.metadata),
            memberAssignment: asBuffer(m.assignment),
          })),
          authorizedOperations:
            withOps && g.errorCode === 'NONE'
              ? operationsOf(ctx, 'GROUP', g.groupId)
              : OPERATIONS_NOT_REQUESTED,
        };
      }),
    };
  },
});
