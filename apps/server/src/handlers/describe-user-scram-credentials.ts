// DescribeUserScramCredentials (key 50), v0. Every user with SCRAM credentials (users null or
// empty), or the ones named: mechanisms and iteration counts, never salts or keys. A named user
// without credentials: RESOURCE_NOT_FOUND; a user named twice: DUPLICATE_RESOURCE (as Kafka). Needs
// DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { clusterAllowed } from './authz.js';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';

export const describeUserScramCredentialsHandler = defineHandler({
  apiKey: ApiKey.DescribeUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  uses: ['security'],
  handle(req, ctx) {
    if (!clusterAllowed(ctx, 'DESCRIBE'))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: 'Cluster authorization failed.',
        results: [],
      };
    const results = ctx.deps.security.describeScram(req.users === null ? null : req.users.map((u) => u.name));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      results: results.map((r) => ({
        user: r.user,
        errorCode: r.errorCode === null ? ErrorCode.NONE : kafkaCode(r.errorCode),
        errorMessage: r.errorMessage,
        credentialInfos: r.credentials,
      })),
    };
  },
});
