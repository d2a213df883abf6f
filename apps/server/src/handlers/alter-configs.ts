// AlterConfigs (key 33), v0–v2: the legacy form — the resource's dynamic configs become exactly
// the given set (everything not listed returns to its default). Topic and broker resources;
// validate_only checks without applying. Values are validated with Kafka's rules and errors
// (cleanup.policy=compact turns log compaction on). Needs ALTER_CONFIGS on the topic
// (TOPIC_AUTHORIZATION_FAILED) or, for a broker, on the cluster (CLUSTER_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { configRefusal } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { defineHandler } from './types.js';

export const alterConfigsHandler = defineHandler({
  apiKey: ApiKey.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  uses: ['topics'],
  async handle(req, ctx) {
    const responses = [];
    for (const r of req.resources) {
      const refused = configRefusal(ctx, 'ALTER_CONFIGS', r.resourceType, r.resourceName);
      if (refused !== undefined) {
        responses.push({
          errorCode: refused,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        });
        continue;
      }
      try {
        await ctx.deps.topics.alterConfigs(
          r.resourceType,
          r.resourceName,
          r.configs.map((c) => ({ name: c.name, op: 0, value: c.value })),
          true,
          req.validateOnly,
        );
        responses.push({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        });
      } catch (e) {
        responses.push({
          errorCode: errorCodeOf(e),
          errorMessage: errorMessageOf(e),
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
});
