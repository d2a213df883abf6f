// OffsetDelete (key 47), v0 (KIP-496): deletes committed offsets of a group. An empty group loses
// any of them; a consumer group with members keeps the offsets of topics it is subscribed to
// (GROUP_SUBSCRIBED_TO_TOPIC per partition) and loses the others; a non-consumer group with
// members answers NON_EMPTY_GROUP; an unknown group GROUP_ID_NOT_FOUND.
import { ApiKey } from '@chronik/protocol';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';

export const offsetDeleteHandler = defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  uses: ['groups'],
  async handle(req, ctx) {
    const r = await ctx.deps.groups.deleteOffsets({
      groupId: req.groupId,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitionIndexes: t.partitions.map((p) => p.partitionIndex),
      })),
    });
    return {
      errorCode: groupErrorCode(r.errorCode),
      throttleTimeMs: 0,
      topics: r.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: groupErrorCode(p.errorCode),
        })),
      })),
    };
  },
});
