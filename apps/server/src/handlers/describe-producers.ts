// DescribeProducers (key 61), v0. The producer state of each partition on its leader: producer id,
// epoch, last sequence and timestamp, the coordinator epoch of the producer's last transaction marker
// (-1: none) and the first offset of its open transaction (currentTxnStartOffset, -1: none). Needs
// READ on each topic (TOPIC_AUTHORIZATION_FAILED on its partitions).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { topicNameProblemOf } from './util.js';
import { defineHandler } from './types.js';

export const describeProducersHandler = defineHandler({
  apiKey: ApiKey.DescribeProducers,
  minVersion: 0,
  maxVersion: 0,
  uses: ['partitions'],
  handle(req, ctx) {
    const { partitions } = ctx.deps;
    const readable = allowedNames(
      ctx,
      'READ',
      'TOPIC',
      req.topics.map((t) => t.name).filter((n) => topicNameProblemOf(n) === null),
    );
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => {
          if (topicNameProblemOf(t.name) === null && !readable.has(t.name))
            return {
              partitionIndex,
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              errorMessage: null,
              activeProducers: [],
            };
          try {
            const activeProducers = partitions
              .describeProducers({ topic: t.name, partition: partitionIndex })
              .map((p) => ({ ...p }));
            return { partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
          } catch (e) {
            return {
              partitionIndex,
              errorCode: errorCodeOf(e),
              errorMessage: errorMessageOf(e),
              activeProducers: [],
            };
          }
        }),
      })),
    };
  },
});
