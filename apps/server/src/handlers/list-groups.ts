// ListGroups (key 16), v0–v5: the groups this broker coordinates. v4+ filter by state
// (case-insensitive, e.g. "Stable", "Empty"; a consumer-protocol group's states are Empty,
// Assigning, Reconciling, Stable); v5+ filter by type ("classic", "consumer"), and each group's type.
// COORDINATOR_LOAD_IN_PROGRESS while a __consumer_offsets partition is still loading. With DESCRIBE on
// the cluster every group is listed, else those the principal may DESCRIBE (as Kafka: no error).
import { ApiKey } from '@chronik/protocol';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';
import { allowed, clusterAllowed } from './authz.js';

export const listGroupsHandler = defineHandler({
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  uses: ['groups'],
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const r = ctx.deps.groups.listGroups({
      statesFilter: v >= 4 ? req.statesFilter : [],
      typesFilter: v >= 5 ? req.typesFilter : [],
    });
    const everyGroup = clusterAllowed(ctx, 'DESCRIBE', true);
    return {
      throttleTimeMs: 0,
      errorCode: groupErrorCode(r.errorCode),
      groups: r.groups
        .filter((g) => everyGroup || allowed(ctx, 'DESCRIBE', 'GROUP', g.groupId, true))
        .map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          groupState: g.state,
          groupType: g.groupType,
        })),
    };
  },
});
