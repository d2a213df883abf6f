// DeleteTopics (key 20), v0–v6. Deletes topics by name (v0–v5 topic_names) or by name or id (v6+
// topics); the partitions' logs are removed from disk. Internal topics cannot be deleted.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { defineHandler } from './types.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export const deleteTopicsHandler = defineHandler({
  apiKey: ApiKey.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  uses: ['topics'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const refs =
      v >= 6
        ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId === ZERO_UUID ? null : t.topicId }))
        : req.topicNames.map((name) => ({ name, topicId: null }));
    const outcomes = await ctx.deps.topics.deleteTopics(refs);
    return {
      throttleTimeMs: 0,
      responses: outcomes.map((o) => ({
        name: o.name,
        topicId: v >= 6 ? o.topicId : ZERO_UUID,
        errorCode: o.error === null ? ErrorCode.NONE : errorCodeOf(o.error),
        errorMessage: v >= 5 && o.error !== null ? errorMessageOf(o.error) : null,
      })),
    };
  },
});
