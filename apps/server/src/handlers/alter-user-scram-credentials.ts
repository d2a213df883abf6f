// AlterUserScramCredentials (key 51), v0. Deletions and upsertions of SCRAM credentials (the client
// sends salt, iterations and salted password; the metadata keeps StoredKey and ServerKey only),
// answered per user as Kafka answers (UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM,
// DUPLICATE_RESOURCE, RESOURCE_NOT_FOUND). The changes are one metadata command (replicated in
// raft-cluster). Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every user). Without
// --authorizer any client that may connect may change credentials, as on a Kafka broker without an
// authorizer — keep the listeners that allow it private.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { clusterAllowed } from './authz.js';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';

export const alterUserScramCredentialsHandler = defineHandler({
  apiKey: ApiKey.AlterUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  uses: ['security'],
  async handle(req, ctx) {
    if (!clusterAllowed(ctx, 'ALTER')) {
      const users = [...new Set([...req.deletions, ...req.upsertions].map((u) => u.name))];
      return {
        throttleTimeMs: 0,
        results: users.map((user) => ({
          user,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: 'Cluster authorization failed.',
        })),
      };
    }
    const results = await ctx.deps.security.alterScram(req.deletions, req.upsertions);
    return {
      throttleTimeMs: 0,
      results: results.map((r) => ({
        user: r.user,
        errorCode: r.errorCode === null ? 0 : kafkaCode(r.errorCode),
        errorMessage: r.errorMessage,
      })),
    };
  },
});
