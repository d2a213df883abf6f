// CreateAcls (key 30), v0–v3. Each creation answered in order: INVALID_REQUEST for one Kafka's
// controller refuses (security/acls.ts), else created (or already there) in the replicated metadata;
// the valid ones of a request are one metadata command. Needs ALTER on the cluster
// (CLUSTER_AUTHORIZATION_FAILED on every result); without --authorizer SECURITY_DISABLED ("No
// Authorizer is configured."), as Kafka answers. v0 has no pattern type (LITERAL).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { clusterAllowed } from './authz.js';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';

export const createAclsHandler = defineHandler({
  apiKey: ApiKey.CreateAcls,
  minVersion: 0,
  maxVersion: 3,
  uses: ['acls'],
  async handle(req, ctx) {
    const refuse = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      results: req.creations.map(() => ({ errorCode, errorMessage })),
    });
    if (!clusterAllowed(ctx, 'ALTER'))
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
    if (!ctx.deps.authorizer.enabled)
      return refuse(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
    const outcomes = await ctx.deps.acls.create(req.creations);
    return {
      throttleTimeMs: 0,
      results: outcomes.map((o) => ({
        errorCode: o.errorCode === null ? ErrorCode.NONE : kafkaCode(o.errorCode),
        errorMessage: o.errorMessage,
      })),
    };
  },
});
