// DeleteTopics (key 20), v0–v6. Deletes topics by name (v0–v5 topic_names) or by name or id (v6+
// topics); the partitions' logs are removed from disk. Internal topics cannot be deleted.
// Authorization, as Kafka: DELETE on each topic (TOPIC_AUTHORIZATION_FAILED, whether or not it
// exists); a topic named by id without DESCRIBE on it is TOPIC_AUTHORIZATION_FAILED without its name.
// controller_mutation_rate (KIP-599, mutation-quota.ts): its partitions count as mutations; v5+
// topics over the quota are THROTTLING_QUOTA_EXCEEDED; the response carries the throttle time.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import {
  THROTTLING_QUOTA_MESSAGE,
  chargeMutations,
  mutationThrottleMs,
  refundMutations,
} from './mutation-quota.js';
import { defineHandler } from './types.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export const deleteTopicsHandler = defineHandler({
  apiKey: ApiKey.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  uses: ['topics', 'metadata'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const refs =
      v >= 6
        ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId === ZERO_UUID ? null : t.topicId }))
        : req.topicNames.map((name) => ({ name, topicId: null }));
    // Each ref: deletable, or its refusal (in request order).
    const refused = refs.map((r) => {
      const name = r.topicId === null ? r.name : ctx.deps.metadata.topicById(r.topicId)?.name;
      if (name === undefined || name === null) return undefined; // an unknown id: the service answers it
      if (r.topicId !== null && !allowed(ctx, 'DESCRIBE', 'TOPIC', name))
        return { name: null, topicId: r.topicId };
      if (!allowed(ctx, 'DELETE', 'TOPIC', name)) return { name, topicId: r.topicId ?? ZERO_UUID };
      return undefined;
    });
    const partitionsOf = (r: { name: string | null; topicId: string | null }): number =>
      (r.topicId !== null ? ctx.deps.metadata.topicById(r.topicId) : ctx.deps.metadata.topic(r.name ?? ''))
        ?.partitions.length ?? 0;
    const { admitted, throttled } = chargeMutations(
      ctx,
      refs.filter((_r, i) => refused[i] === undefined),
      partitionsOf,
      v >= 5,
    );
    const counted = admitted.map(partitionsOf);
    const outcomes = await ctx.deps.topics.deleteTopics(admitted);
    outcomes.forEach((o, i) => {
      if (o.error !== null) refundMutations(ctx, counted[i] ?? 0);
    });
    const deleted = outcomes.map((o) => ({
      name: o.name,
      topicId: v >= 6 ? o.topicId : ZERO_UUID,
      errorCode: o.error === null ? ErrorCode.NONE : errorCodeOf(o.error),
      errorMessage: v >= 5 && o.error !== null ? errorMessageOf(o.error) : null,
    }));
    const denied = refused.flatMap((r) =>
      r === undefined
        ? []
        : [
            {
              name: r.name,
              topicId: v >= 6 ? r.topicId : ZERO_UUID,
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              errorMessage: v >= 5 ? 'Topic authorization failed.' : null,
            },
          ],
    );
    const overQuota = throttled.map((r) => ({
      name: r.name,
      topicId: v >= 6 ? (r.topicId ?? ZERO_UUID) : ZERO_UUID,
      errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
      errorMessage: THROTTLING_QUOTA_MESSAGE,
    }));
    return { throttleTimeMs: mutationThrottleMs(ctx), responses: [...deleted, ...overQuota, ...denied] };
  },
});
