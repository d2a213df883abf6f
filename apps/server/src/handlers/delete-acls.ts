// DeleteAcls (key 31), v0–v3. Each filter removes the ACLs it matches (Kafka's AclBindingFilter:
// ANY, null, MATCH) and is answered with them; the valid filters of a request are one metadata
// command, so every replica removes the same ACLs. A filter with an unknown code is INVALID_REQUEST.
// Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED on every filter); without --authorizer
// SECURITY_DISABLED, as Kafka answers. v0 filters LITERAL patterns only.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { clusterAllowed } from './authz.js';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';

export const deleteAclsHandler = defineHandler({
  apiKey: ApiKey.DeleteAcls,
  minVersion: 0,
  maxVersion: 3,
  uses: ['acls'],
  async handle(req, ctx) {
    const refuse = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    if (!clusterAllowed(ctx, 'ALTER'))
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
    if (!ctx.deps.authorizer.enabled)
      return refuse(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
    const outcomes = await ctx.deps.acls.delete(req.filters);
    return {
      throttleTimeMs: 0,
      filterResults: outcomes.map((o) => ({
        errorCode: o.errorCode === null ? ErrorCode.NONE : kafkaCode(o.errorCode),
        errorMessage: o.errorMessage,
        matchingAcls: o.matching.map((a) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...a })),
      })),
    };
  },
});
