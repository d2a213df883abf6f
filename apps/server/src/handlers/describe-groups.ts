// DescribeGroups (key 15), v0–v5: state, protocol and members of groups. Members' metadata and
// assignments are filled in for Stable groups only (as Kafka does); an unknown group is described
// as Dead with no error. v3+ authorized operations (no authorizer: every group operation).
import { ApiKey } from '@chronik/protocol';
import { asBuffer, groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';
import { GROUP_OPERATIONS, OPERATIONS_NOT_REQUESTED } from './authorized-operations.js';

export const describeGroupsHandler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  uses: ['groups'],
  handle(req, ctx) {
    const ops =
      ctx.apiVersion >= 3 && req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    return {
      throttleTimeMs: 0,
      groups: ctx.deps.groups.describeGroups(req.groups).map((g) => ({
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
        authorizedOperations: ops,
      })),
    };
  },
});
