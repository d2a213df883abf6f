// CreatePartitions (key 37), v0–v3. Grows a topic to `count` partitions, with explicit
// assignments or computed ones (keeping the replication factor); validate_only checks only.
// Fewer or equal counts are INVALID_PARTITIONS, as in Kafka.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { defineHandler } from './types.js';

export const createPartitionsHandler = defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  uses: ['topics'],
  async handle(req, ctx) {
    const outcomes = await ctx.deps.topics.createPartitions(
      req.topics.map((t) => ({
        name: t.name,
        count: t.count,
        assignments: t.assignments === null ? null : t.assignments.map((a) => a.brokerIds),
      })),
      req.validateOnly,
    );
    return {
      throttleTimeMs: 0,
      results: outcomes.map((o) => ({
        name: o.name,
        errorCode: o.error === null ? ErrorCode.NONE : errorCodeOf(o.error),
        errorMessage: o.error === null ? null : errorMessageOf(o.error),
      })),
    };
  },
});
