// Heartbeat (key 12), v0–v4: keeps a member's session alive. REBALANCE_IN_PROGRESS tells it to
// rejoin; UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / FENCED_INSTANCE_ID (v3+ static members) that it
// is out of the group or generation. Needs READ on the group (GROUP_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed } from './authz.js';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';

export const heartbeatHandler = defineHandler({
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  uses: ['groups'],
  handle(req, ctx) {
    if (!allowed(ctx, 'READ', 'GROUP', req.groupId))
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const error = ctx.deps.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    });
    return { throttleTimeMs: 0, errorCode: groupErrorCode(error) };
  },
});
