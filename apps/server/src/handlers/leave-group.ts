// LeaveGroup (key 13), v0–v5: v0–v2 one member (the error at the top level); v3+ a batch of
// members, each by member id or, with an empty member id, by group.instance.id (admin removal of
// static members); v5 reasons. A leaving member triggers a rebalance of the others. Needs READ on
// the group (GROUP_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed } from './authz.js';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';

export const leaveGroupHandler = defineHandler({
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  uses: ['groups'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    if (!allowed(ctx, 'READ', 'GROUP', req.groupId))
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    const members =
      v >= 3
        ? req.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            reason: v >= 5 ? m.reason : null,
          }))
        : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
    const r = await ctx.deps.groups.leaveGroup({ groupId: req.groupId, members });
    if (v < 3) {
      const memberError = r.members[0]?.errorCode ?? 'NONE';
      return {
        throttleTimeMs: 0,
        errorCode: groupErrorCode(r.errorCode !== 'NONE' ? r.errorCode : memberError),
        members: [],
      };
    }
    return {
      throttleTimeMs: 0,
      errorCode: groupErrorCode(r.errorCode),
      members:
        r.errorCode !== 'NONE'
          ? []
          : r.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              errorCode: groupErrorCode(m.errorCode),
            })),
    };
  },
});
