// DescribeAcls (key 29), v0–v3. The ACLs a filter matches (Kafka's AclBindingFilter: ANY, null,
// MATCH), grouped by resource pattern. Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED);
// without --authorizer SECURITY_DISABLED ("No Authorizer is configured on the broker"); a filter
// with an unknown code INVALID_REQUEST. v0 filters (and answers) LITERAL patterns only.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { clusterAllowed } from './authz.js';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';

export const describeAclsHandler = defineHandler({
  apiKey: ApiKey.DescribeAcls,
  minVersion: 0,
  maxVersion: 3,
  uses: ['acls'],
  handle(req, ctx) {
    const refuse = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources: [],
    });
    if (!clusterAllowed(ctx, 'DESCRIBE'))
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.');
    if (!ctx.deps.authorizer.enabled)
      return refuse(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    const r = ctx.deps.acls.describe(req);
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode === null ? ErrorCode.NONE : kafkaCode(r.errorCode),
      errorMessage: r.errorMessage,
      resources: r.resources,
    };
  },
});
