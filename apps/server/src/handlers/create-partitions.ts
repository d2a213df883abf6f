// CreatePartitions (key 37), v0–v3. Grows a topic to `count` partitions, with explicit
// assignments or computed ones (keeping the replication factor); validate_only checks only.
// Fewer or equal counts are INVALID_PARTITIONS, as in Kafka. Needs ALTER on each topic
// (TOPIC_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { defineHandler } from './types.js';

export const createPartitionsHandler = defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  uses: ['topics'],
  async handle(req, ctx) {
    const alterable = allowedNames(
      ctx,
      'ALTER',
      'TOPIC',
      req.topics.map((t) => t.name),
    );
    const denied = [...new Set(req.topics.map((t) => t.name).filter((n) => !alterable.has(n)))];
    const outcomes = await ctx.deps.topics.createPartitions(
      req.topics
        .filter((t) => alterable.has(t.name))
        .map((t) => ({
          name: t.name,
          count: t.count,
          assignments: t.assignments === null ? null : t.assignments.map((a) => a.brokerIds),
        })),
      req.validateOnly,
    );
    return {
      throttleTimeMs: 0,
      results: [
        ...outcomes.map((o) => ({
          name: o.name,
          errorCode: o.error === null ? ErrorCode.NONE : errorCodeOf(o.error),
          errorMessage: o.error === null ? null : errorMessageOf(o.error),
        })),
        ...denied.map((name) => ({
          name,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: 'The topic authorization is failed.',
        })),
      ],
    };
  },
});
