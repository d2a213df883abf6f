// OffsetFetch (key 9), v0–v9: committed offsets of a group (v0–v7) or of several groups (v8+).
// A null topic list (v2+) means every committed offset of the group. Partitions without a commit
// answer offset -1. v5+ leader epochs; v7+ require_stable: a partition whose commit is still
// being written answers UNSTABLE_OFFSET_COMMIT (retriable) instead of the older offset. v9's
// member id / epoch are checked for consumer-protocol groups (KIP-848: UNKNOWN_MEMBER_ID,
// STALE_MEMBER_EPOCH as the group's error), not for classic groups.
import { ApiKey } from '@chronik/protocol';
import { groupErrorCode } from './group-util.js';
import type { OffsetFetchResult } from '../groups/types.js';
import { defineHandler } from './types.js';

function topicsOut(r: OffsetFetchResult, withTopicsOnError: boolean) {
  if (r.errorCode !== 'NONE' && !withTopicsOnError) return [];
  return r.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      committedOffset: p.committedOffset,
      committedLeaderEpoch: p.committedLeaderEpoch,
      metadata: p.metadata,
      errorCode: groupErrorCode(p.errorCode),
    })),
  }));
}

export const offsetFetchHandler = defineHandler({
  apiKey: ApiKey.OffsetFetch,
  minVersion: 0,
  maxVersion: 9,
  uses: ['groups'],
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const requireStable = v >= 7 && req.requireStable;
    if (v >= 8) {
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        topics: [],
        groups: req.groups.map((g) => {
          const r = ctx.deps.groups.fetchOffsets({
            groupId: g.groupId,
            topics: g.topics,
            requireStable,
            memberId: v >= 9 ? g.memberId : null,
            memberEpoch: v >= 9 ? g.memberEpoch : -1,
          });
          return {
            groupId: g.groupId,
            errorCode: groupErrorCode(r.errorCode),
            topics: topicsOut(r, false),
          };
        }),
      };
    }
    const r = ctx.deps.groups.fetchOffsets({
      groupId: req.groupId,
      topics: v >= 2 ? req.topics : (req.topics ?? []),
      requireStable,
    });
    // v0–v1 have no top-level error: the group's error goes on every partition.
    return {
      throttleTimeMs: 0,
      errorCode: groupErrorCode(r.errorCode),
      topics: topicsOut(r, v < 2),
      groups: [],
    };
  },
});
