// OffsetCommit (key 8), v0–v9: committed offsets, answered once written durably (acks=all) to
// __consumer_offsets. Group members commit with their generation and member id (checked:
// ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS while the leader assigns);
// standalone consumers and admin tools commit with generation -1 to a group without members.
// v1 explicit commit timestamps; v2–v4 retention_time_ms; v6+ leader epochs; v7+ group.instance.id;
// v9 (KIP-848): members of a consumer-protocol group commit with their member epoch
// (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID; an older version from such a member is UNSUPPORTED_VERSION).
// Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; metadata over
// offset.metadata.max.bytes OFFSET_METADATA_TOO_LARGE. Authorization, as Kafka: READ on the group
// (else every partition GROUP_AUTHORIZATION_FAILED), READ on each topic (else its partitions
// TOPIC_AUTHORIZATION_FAILED, before its existence is looked at).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed, allowedNames } from './authz.js';
import { groupErrorCode } from './group-util.js';
import type { OffsetCommitPartition } from '../groups/types.js';
import { defineHandler } from './types.js';

export const offsetCommitHandler = defineHandler({
  apiKey: ApiKey.OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  uses: ['groups', 'metadata'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const every = (errorCode: number) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    });
    if (!allowed(ctx, 'READ', 'GROUP', req.groupId)) return every(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const readable = allowedNames(
      ctx,
      'READ',
      'TOPIC',
      req.topics.map((t) => t.name),
    );
    const unknown: Array<{ topic: string; partitionIndex: number }> = [];
    const topics: Array<{ name: string; partitions: OffsetCommitPartition[] }> = [];
    for (const t of req.topics) {
      if (!readable.has(t.name)) continue;
      const view = ctx.deps.metadata.topic(t.name);
      const known: OffsetCommitPartition[] = [];
      for (const p of t.partitions) {
        if (view === undefined || p.partitionIndex < 0 || p.partitionIndex >= view.partitions.length) {
          unknown.push({ topic: t.name, partitionIndex: p.partitionIndex });
          continue;
        }
        known.push({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
          commitTimestampMs: v === 1 ? Number(p.commitTimestamp) : -1,
          committedMetadata: p.committedMetadata,
        });
      }
      if (known.length > 0) topics.push({ name: t.name, partitions: known });
    }
    const r = await ctx.deps.groups.commitOffsets({
      groupId: req.groupId,
      generationId: v >= 1 ? req.generationIdOrMemberEpoch : -1,
      memberId: v >= 1 ? req.memberId : '',
      groupInstanceId: v >= 7 ? req.groupInstanceId : null,
      retentionTimeMs: v >= 2 && v <= 4 ? Number(req.retentionTimeMs) : -1,
      apiVersion: v,
      topics,
    });
    // Answer in the request's order, unknown partitions included.
    const results = new Map<string, number>();
    for (const t of r.topics)
      for (const p of t.partitions)
        results.set(`${t.name}\0${p.partitionIndex}`, groupErrorCode(p.errorCode));
    const unknownCode = groupErrorCode('UNKNOWN_TOPIC_OR_PARTITION');
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: readable.has(t.name)
            ? (results.get(`${t.name}\0${p.partitionIndex}`) ?? unknownCode)
            : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        })),
      })),
    };
  },
});
