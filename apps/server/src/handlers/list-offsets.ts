// ListOffsets (key 2), v0–v10. Per partition: latest (-1: the high watermark, or the last stable
// offset for read_committed, v2+), earliest (-2: the log start offset), max timestamp (-3, v7+: the
// record with the largest timestamp), earliest-local (-4, v8+: same as earliest, no tiered
// storage), or the first offset whose record timestamp is >= the given one (-1/-1 when none). As
// Kafka, an offset found at or past the high watermark (read_committed: the last stable offset) is
// not answered.
// current_leader_epoch (v4+) is checked (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH). v0 answers
// in old_style_offsets (at most max_num_offsets of them; here the one offset found).
// Authorization: DESCRIBE on each topic, else TOPIC_AUTHORIZATION_FAILED on its partitions.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames } from './authz.js';
import { errorCodeOf } from './errors.js';
import { defineHandler } from './types.js';

export const listOffsetsHandler = defineHandler({
  apiKey: ApiKey.ListOffsets,
  minVersion: 0,
  maxVersion: 10,
  uses: ['partitions'],
  async handle(req, ctx) {
    const { partitions } = ctx.deps;
    const isolation = ctx.apiVersion >= 2 && req.isolationLevel === 1 ? 1 : 0;
    const described = allowedNames(
      ctx,
      'DESCRIBE',
      'TOPIC',
      req.topics.map((t) => t.name),
    );
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            const base = {
              partitionIndex: p.partitionIndex,
              errorCode: ErrorCode.NONE,
              oldStyleOffsets: [],
              timestamp: -1n,
              offset: -1n,
              leaderEpoch: -1,
            };
            if (!described.has(t.name)) return { ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
            try {
              const r = await partitions.listOffset(
                { topic: t.name, partition: p.partitionIndex },
                p.timestamp,
                isolation,
                ctx.apiVersion >= 4 ? p.currentLeaderEpoch : -1,
              );
              if (ctx.apiVersion === 0)
                return { ...base, oldStyleOffsets: r.offset >= 0n && p.maxNumOffsets > 0 ? [r.offset] : [] };
              return {
                ...base,
                timestamp: r.timestamp,
                offset: r.offset,
                leaderEpoch: ctx.apiVersion >= 4 ? r.leaderEpoch : -1,
              };
            } catch (e) {
              return { ...base, errorCode: errorCodeOf(e) };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
