// SyncGroup (key 14), v0–v5: the leader hands in the assignment, every member gets its share.
// A follower's answer waits until the leader's assignment is written to __consumer_offsets.
// v3+ group.instance.id; v5+ protocol type and name are checked against the group's
// (INCONSISTENT_GROUP_PROTOCOL) and returned. A broker shutting down answers a waiting SyncGroup
// NOT_COORDINATOR at once. Needs READ on the group (GROUP_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed } from './authz.js';
import { asBuffer, groupErrorCode, ownedBytes, untilShutdown } from './group-util.js';
import { defineHandler } from './types.js';

export const syncGroupHandler = defineHandler({
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  uses: ['groups'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    if (!allowed(ctx, 'READ', 'GROUP', req.groupId))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        protocolType: null,
        protocolName: null,
        assignment: Buffer.alloc(0),
      };
    const pending = ctx.deps.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      protocolType: v >= 5 ? req.protocolType : null,
      protocolName: v >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({
        memberId: a.memberId,
        assignment: ownedBytes(a.assignment),
      })),
    });
    const r = await untilShutdown(pending, ctx.deps.shutdown, () => ({
      errorCode: 'NOT_COORDINATOR' as const,
      protocolType: null,
      protocolName: null,
      assignment: new Uint8Array(0),
    }));
    return {
      throttleTimeMs: 0,
      errorCode: groupErrorCode(r.errorCode),
      protocolType: r.protocolType,
      protocolName: r.protocolName,
      assignment: asBuffer(r.assignment),
    };
  },
});
