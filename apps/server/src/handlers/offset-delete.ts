// OffsetDelete (key 47), v0 (KIP-496): deletes committed offsets of a group. An empty group loses
// any of them; a consumer group with members keeps the offsets of topics it is subscribed to
// (GROUP_SUBSCRIBED_TO_TOPIC per partition) and loses the others; a non-consumer group with
// members answers NON_EMPTY_GROUP; an unknown group GROUP_ID_NOT_FOUND. Needs DELETE on the group
// (GROUP_AUTHORIZATION_FAILED) and READ on each topic (TOPIC_AUTHORIZATION_FAILED on its partitions).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed, allowedNames } from './authz.js';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';

export const offsetDeleteHandler = defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  uses: ['groups'],
  async handle(req, ctx) {
    if (!allowed(ctx, 'DELETE', 'GROUP', req.groupId))
      return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const readable = allowedNames(
      ctx,
      'READ',
      'TOPIC',
      req.topics.map((t) => t.name),
    );
    const r = await ctx.deps.groups.deleteOffsets({
      groupId: req.groupId,
      topics: req.topics
        .filter((t) => readable.has(t.name))
        .map((t) => ({
          name: t.name,
          partitionIndexes: t.partitions.map((p) => p.partitionIndex),
        })),
    });
    if (r.errorCode !== 'NONE')
      return { errorCode: groupErrorCode(r.errorCode), throttleTimeMs: 0, topics: [] };
    const deniedTopics = req.topics
      .filter((t) => !readable.has(t.name))
      .map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        })),
      }));
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: [
        ...r.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: groupErrorCode(p.errorCode),
          })),
        })),
        ...deniedTopics,
      ],
    };
  },
});
