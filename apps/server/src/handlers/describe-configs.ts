// DescribeConfigs (key 32), v0–v4. Topic resources: every topic config with its effective value
// and source (topic override > dynamic broker > static broker (command line) > Kafka default);
// broker resources (this broker's id, or "" for the cluster-wide defaults): the dynamic broker
// configs. Synonyms (v1+) and config types / documentation (v3+) when asked for. Needs
// DESCRIBE_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED) or, for a broker, on the cluster
// (CLUSTER_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { configRefusal } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { defineHandler } from './types.js';

export const describeConfigsHandler = defineHandler({
  apiKey: ApiKey.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  uses: ['topics'],
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const includeSynonyms = v >= 1 && req.includeSynonyms;
    const includeDocs = v >= 3 && req.includeDocumentation;
    return {
      throttleTimeMs: 0,
      results: req.resources.map((r) => {
        const refused = configRefusal(ctx, 'DESCRIBE_CONFIGS', r.resourceType, r.resourceName);
        if (refused !== undefined)
          return {
            errorCode: refused,
            errorMessage: null,
            resourceType: r.resourceType,
            resourceName: r.resourceName,
            configs: [],
          };
        try {
          const entries = ctx.deps.topics.describeConfigs(
            r.resourceType,
            r.resourceName,
            r.configurationKeys,
            includeSynonyms,
          );
          return {
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            resourceType: r.resourceType,
            resourceName: r.resourceName,
            configs: entries.map((e) => ({
              name: e.name,
              value: e.isSensitive ? null : e.value,
              readOnly: e.readOnly,
              isDefault: v === 0 ? e.isDefault : false,
              configSource: v >= 1 ? e.source : -1,
              isSensitive: e.isSensitive,
              synonyms: includeSynonyms
                ? e.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source }))
                : [],
              configType: v >= 3 ? e.configType : 0,
              documentation: includeDocs ? e.documentation : null,
            })),
          };
        } catch (e) {
          return {
            errorCode: errorCodeOf(e),
            errorMessage: errorMessageOf(e),
            resourceType: r.resourceType,
            resourceName: r.resourceName,
            configs: [],
          };
        }
      }),
    };
  },
});
