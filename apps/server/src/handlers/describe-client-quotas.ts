// DescribeClientQuotas (key 48), v0–v1: the quota entities matching a filter (components of an
// entity type with an exact name, the default, or any name; strict: no other entity types) and their
// values, from the replicated metadata (services/client-quota-admin.ts). A filter Kafka refuses is
// the request's INVALID_REQUEST with its message. Needs DESCRIBE_CONFIGS on the cluster (else
// CLUSTER_AUTHORIZATION_FAILED), as Kafka.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { clusterAllowed } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { defineHandler } from './types.js';

export const describeClientQuotasHandler = defineHandler({
  apiKey: ApiKey.DescribeClientQuotas,
  minVersion: 0,
  maxVersion: 1,
  uses: ['topics'],
  handle(req, ctx) {
    if (!clusterAllowed(ctx, 'DESCRIBE_CONFIGS'))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
        entries: null,
      };
    try {
      const entries = ctx.deps.topics.quotas.describe(req.components, req.strict);
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        entries: entries.map((q) => ({
          entity: q.entity.map((p) => ({ entityType: p.type, entityName: p.name })),
          values: Object.entries(q.values).map(([key, value]) => ({ key, value: value as number })),
        })),
      };
    } catch (e) {
      return {
        throttleTimeMs: 0,
        errorCode: errorCodeOf(e),
        errorMessage: errorMessageOf(e),
        entries: null,
      };
    }
  },
});
