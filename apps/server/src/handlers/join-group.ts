// JoinGroup (key 11), v0–v9: the classic group protocol's join, answered by the group coordinator
// (apps/server/src/groups). v0 has no rebalance timeout (the session timeout is used, as Kafka
// does); v4+ new dynamic members first get MEMBER_ID_REQUIRED with their id; v5+ static members
// (group.instance.id); v7+ protocol type in the response and a nullable protocol name; v8 reason;
// v9 skip_assignment for a static leader rejoining a stable group (KIP-814). The answer may wait
// for the whole rebalance (up to the rebalance timeout); a broker shutting down answers a waiting
// JoinGroup NOT_COORDINATOR at once. Needs READ on the group (GROUP_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed } from './authz.js';
import { asBuffer, clientHostOf, groupErrorCode, ownedBytes, untilShutdown } from './group-util.js';
import { defineHandler } from './types.js';

export const joinGroupHandler = defineHandler({
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  uses: ['groups'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    if (!allowed(ctx, 'READ', 'GROUP', req.groupId))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        generationId: -1,
        protocolType: null,
        protocolName: v >= 7 ? null : '',
        leader: '',
        skipAssignment: false,
        memberId: '',
        members: [],
      };
    const pending = ctx.deps.groups.joinGroup({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? req.groupInstanceId : null,
      clientId: ctx.clientId ?? '',
      clientHost: clientHostOf(ctx.conn.remoteAddress),
      sessionTimeoutMs: req.sessionTimeoutMs,
      // v0 has no rebalance timeout; clients that leave it unset send 0 (or -1): both mean the
      // session timeout, or the member would expire before it could SyncGroup.
      rebalanceTimeoutMs:
        v >= 1 && req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: ownedBytes(p.metadata) })),
      requireKnownMemberId: v >= 4,
      supportsSkipAssignment: v >= 9,
      reason: v >= 8 ? req.reason : null,
    });
    const r = await untilShutdown(pending, ctx.deps.shutdown, () => ({
      errorCode: 'NOT_COORDINATOR' as const,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      skipAssignment: false,
      memberId: req.memberId,
      members: [],
    }));
    return {
      throttleTimeMs: 0,
      errorCode: groupErrorCode(r.errorCode),
      generationId: r.generationId,
      protocolType: r.protocolType,
      protocolName: v >= 7 ? r.protocolName : (r.protocolName ?? ''),
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        metadata: asBuffer(m.metadata),
      })),
    };
  },
});
