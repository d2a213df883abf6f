// CreatePartitions (key 37), v0–v3. Grows a topic to `count` partitions, with explicit
// assignments or computed ones (keeping the replication factor); validate_only checks only.
// Fewer or equal counts are INVALID_PARTITIONS, as in Kafka. Needs ALTER on each topic
// (TOPIC_AUTHORIZATION_FAILED). controller_mutation_rate (KIP-599, mutation-quota.ts): the new
// partitions count as mutations; v3+ topics over the quota are THROTTLING_QUOTA_EXCEEDED; the
// response carries the throttle time.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import {
  THROTTLING_QUOTA_MESSAGE,
  chargeMutations,
  mutationThrottleMs,
  refundMutations,
} from './mutation-quota.js';
import { defineHandler } from './types.js';

export const createPartitionsHandler = defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  uses: ['topics', 'metadata'],
  async handle(req, ctx) {
    const alterable = allowedNames(
      ctx,
      'ALTER',
      'TOPIC',
      req.topics.map((t) => t.name),
    );
    const denied = [...new Set(req.topics.map((t) => t.name).filter((n) => !alterable.has(n)))];
    const added = (t: (typeof req.topics)[number]): number =>
      req.validateOnly ? 0 : t.count - (ctx.deps.metadata.topic(t.name)?.partitions.length ?? t.count);
    const { admitted, throttled } = chargeMutations(
      ctx,
      req.topics.filter((t) => alterable.has(t.name)),
      added,
      ctx.apiVersion >= 3,
    );
    const counted = admitted.map(added);
    const outcomes = await ctx.deps.topics.createPartitions(
      admitted.map((t) => ({
        name: t.name,
        count: t.count,
        assignments: t.assignments === null ? null : t.assignments.map((a) => a.brokerIds),
      })),
      req.validateOnly,
    );
    outcomes.forEach((o, i) => {
      if (o.error !== null) refundMutations(ctx, counted[i] ?? 0);
    });
    return {
      throttleTimeMs: mutationThrottleMs(ctx),
      results: [
        ...outcomes.map((o) => ({
          name: o.name,
          errorCode: o.error === null ? ErrorCode.NONE : errorCodeOf(o.error),
          errorMessage: o.error === null ? null : errorMessageOf(o.error),
        })),
        ...throttled.map((t) => ({
          name: t.name,
          errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
          errorMessage: THROTTLING_QUOTA_MESSAGE,
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
