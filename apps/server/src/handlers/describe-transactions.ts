// DescribeTransactions (key 65), v0: the state of transactional ids this broker coordinates (the
// admin client asks each id's coordinator): state, timeout, start time, producer id and epoch, and
// the partitions of the transaction (while it completes, those still waiting for their marker).
// TRANSACTIONAL_ID_NOT_FOUND for an unknown id, NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS.
// Authorization, as Kafka: an id without DESCRIBE on it is TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
// and a transaction's topics the principal may not DESCRIBE are left out.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed, allowedNames } from './authz.js';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';

export const describeTransactionsHandler = defineHandler({
  apiKey: ApiKey.DescribeTransactions,
  minVersion: 0,
  maxVersion: 0,
  uses: ['txn'],
  handle(req, ctx) {
    const described = allowedNames(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', req.transactionalIds);
    const answers = new Map(
      ctx.deps.txn
        .describeTransactions(req.transactionalIds.filter((id) => described.has(id)))
        .map((t) => [t.transactionalId, t]),
    );
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((transactionalId) => {
        const t = answers.get(transactionalId);
        if (t === undefined)
          return {
            errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            transactionalId,
            transactionState: '',
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1n,
            producerId: -1n,
            producerEpoch: -1,
            topics: [],
          };
        const topics = new Map<string, number[]>();
        for (const tp of t.partitions)
          if (allowed(ctx, 'DESCRIBE', 'TOPIC', tp.topic, true))
            topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition]);
        return {
          errorCode: kafkaCode(t.errorCode),
          transactionalId: t.transactionalId,
          transactionState: t.state,
          transactionTimeoutMs: t.timeoutMs,
          transactionStartTimeMs: BigInt(t.startTimeMs),
          producerId: t.producerId,
          producerEpoch: t.producerEpoch,
          topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
        };
      }),
    };
  },
});
