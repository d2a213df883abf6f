// DeleteRecords (key 21), v0–v2. Moves each partition's log start offset to the given offset
// (-1: the high watermark); whole batches below it are dropped from disk, and the new low
// watermark is answered. An offset beyond the high watermark is OFFSET_OUT_OF_RANGE. Needs DELETE on
// each topic (TOPIC_AUTHORIZATION_FAILED on its partitions).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames } from './authz.js';
import { errorCodeOf } from './errors.js';
import { defineHandler } from './types.js';

export const deleteRecordsHandler = defineHandler({
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  uses: ['partitions'],
  async handle(req, ctx) {
    const deletable = allowedNames(
      ctx,
      'DELETE',
      'TOPIC',
      req.topics.map((t) => t.name),
    );
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            if (!deletable.has(t.name))
              return {
                partitionIndex: p.partitionIndex,
                lowWatermark: -1n,
                errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              };
            try {
              const lowWatermark = await ctx.deps.partitions.deleteRecords(
                { topic: t.name, partition: p.partitionIndex },
                p.offset,
                req.timeoutMs,
              );
              return { partitionIndex: p.partitionIndex, lowWatermark, errorCode: ErrorCode.NONE };
            } catch (e) {
              return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: errorCodeOf(e) };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
