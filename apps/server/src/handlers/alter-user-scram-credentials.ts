// AlterUserScramCredentials (key 51), v0. Deletions and upsertions of SCRAM credentials (the client
// sends salt, iterations and salted password; the metadata keeps StoredKey and ServerKey only),
// answered per user as Kafka answers (UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM,
// DUPLICATE_RESOURCE, RESOURCE_NOT_FOUND). The changes are one metadata command (replicated in
// raft-cluster). No authorizer yet: any client that may connect may change credentials, as on a
// Kafka broker without an authorizer — keep the listeners that allow it private.
import { ApiKey } from '@chronik/protocol';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';

export const alterUserScramCredentialsHandler = defineHandler({
  apiKey: ApiKey.AlterUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  uses: ['security'],
  async handle(req, ctx) {
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
