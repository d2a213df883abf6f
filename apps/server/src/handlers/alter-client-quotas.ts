// AlterClientQuotas (key 49), v0–v1: sets and removes quota values of user and client-id entities
// (null names: the defaults) in the replicated metadata, each entry answered on its own
// (INVALID_REQUEST with Kafka's kind of message for a bad entity, key or value); validate_only
// checks without changing anything. Brokers enforce the new values at once (net/quota.ts). Needs
// ALTER_CONFIGS on the cluster (else every entry CLUSTER_AUTHORIZATION_FAILED), as Kafka.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { clusterAllowed } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { defineHandler } from './types.js';

export const alterClientQuotasHandler = defineHandler({
  apiKey: ApiKey.AlterClientQuotas,
  minVersion: 0,
  maxVersion: 1,
  uses: ['topics'],
  async handle(req, ctx) {
    if (!clusterAllowed(ctx, 'ALTER_CONFIGS'))
      return {
        throttleTimeMs: 0,
        entries: req.entries.map((e) => ({
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
          entity: e.entity.map((p) => ({ entityType: p.entityType, entityName: p.entityName })),
        })),
      };
    const errors = await ctx.deps.topics.quotas.alter(req.entries, req.validateOnly);
    return {
      throttleTimeMs: 0,
      entries: req.entries.map((e, i) => {
        const error = errors[i] ?? null;
        return {
          errorCode: error === null ? ErrorCode.NONE : errorCodeOf(error),
          errorMessage: error === null ? null : errorMessageOf(error),
          entity: e.entity.map((p) => ({ entityType: p.entityType, entityName: p.entityName })),
        };
      }),
    };
  },
});
