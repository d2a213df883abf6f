// OffsetFetch (key 9), v0–v9: committed offsets of a group (v0–v7) or of several groups (v8+).
// A null topic list (v2+) means every committed offset of the group. Partitions without a commit
// answer offset -1. v5+ leader epochs; v7+ require_stable: a partition whose commit is still
// being written answers UNSTABLE_OFFSET_COMMIT (retriable) instead of the older offset. v9's
// member id / epoch are checked for consumer-protocol groups (KIP-848: UNKNOWN_MEMBER_ID,
// STALE_MEMBER_EPOCH as the group's error), not for classic groups.
// Authorization, as Kafka: DESCRIBE on the group (else GROUP_AUTHORIZATION_FAILED: on the group,
// v0–v1 on every partition); partitions of a topic named without DESCRIBE on it answer
// TOPIC_AUTHORIZATION_FAILED, and every offset of the group (null topics) lists only the topics the
// principal may DESCRIBE.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import type { FetchedOffset } from '../groups/types.js';
import { allowed, allowedNames } from './authz.js';
import { groupErrorCode } from './group-util.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';

type Topics = ReadonlyArray<{ name: string; partitionIndexes: readonly number[] }> | null;

interface GroupOffsets {
  errorCode: number;
  topics: Array<{
    name: string;
    partitions: Array<{
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      metadata: string | null;
      errorCode: number;
    }>;
  }>;
}

const wire = (p: FetchedOffset) => ({
  partitionIndex: p.partitionIndex,
  committedOffset: p.committedOffset,
  committedLeaderEpoch: p.committedLeaderEpoch,
  metadata: p.metadata,
  errorCode: groupErrorCode(p.errorCode),
});

const failed = (partitionIndex: number, errorCode: number) => ({
  partitionIndex,
  committedOffset: -1n,
  committedLeaderEpoch: -1,
  metadata: '',
  errorCode,
});

/** One group's offsets, authorized; the topics keep the request's order. */
function groupOffsets(
  ctx: RequestContext<'groups'>,
  groupId: string,
  topics: Topics,
  requireStable: boolean,
  member: { memberId: string | null; memberEpoch: number },
): GroupOffsets {
  if (!allowed(ctx, 'DESCRIBE', 'GROUP', groupId)) {
    const errorCode = ErrorCode.GROUP_AUTHORIZATION_FAILED;
    return {
      errorCode,
      topics: (topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => failed(p, errorCode)),
      })),
    };
  }
  if (topics === null) {
    const r = ctx.deps.groups.fetchOffsets({ groupId, topics: null, requireStable, ...member });
    return {
      errorCode: groupErrorCode(r.errorCode),
      topics: r.topics
        .filter((t) => allowed(ctx, 'DESCRIBE', 'TOPIC', t.name, true))
        .map((t) => ({ name: t.name, partitions: t.partitions.map(wire) })),
    };
  }
  const described = allowedNames(
    ctx,
    'DESCRIBE',
    'TOPIC',
    topics.map((t) => t.name),
  );
  const r = ctx.deps.groups.fetchOffsets({
    groupId,
    topics: topics.filter((t) => described.has(t.name)),
    requireStable,
    ...member,
  });
  const found = new Map(r.topics.map((t) => [t.name, t]));
  return {
    errorCode: groupErrorCode(r.errorCode),
    topics: topics.map((t) => {
      const f = found.get(t.name);
      return f === undefined || !described.has(t.name)
        ? {
            name: t.name,
            partitions: t.partitionIndexes.map((p) => failed(p, ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
          }
        : { name: t.name, partitions: f.partitions.map(wire) };
    }),
  };
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
          const r = groupOffsets(ctx, g.groupId, g.topics, requireStable, {
            memberId: v >= 9 ? g.memberId : null,
            memberEpoch: v >= 9 ? g.memberEpoch : -1,
          });
          return {
            groupId: g.groupId,
            errorCode: r.errorCode,
            topics: r.errorCode === ErrorCode.NONE ? r.topics : [],
          };
        }),
      };
    }
    const r = groupOffsets(ctx, req.groupId, v >= 2 ? req.topics : (req.topics ?? []), requireStable, {
      memberId: null,
      memberEpoch: -1,
    });
    // v0–v1 have no top-level error: the group's error goes on every partition.
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      topics: r.errorCode === ErrorCode.NONE || v < 2 ? r.topics : [],
      groups: [],
    };
  },
});
