// DescribeTransactions (key 65), v0: the state of transactional ids this broker coordinates (the
// admin client asks each id's coordinator): state, timeout, start time, producer id and epoch, and
// the partitions of the transaction (while it completes, those still waiting for their marker).
// TRANSACTIONAL_ID_NOT_FOUND for an unknown id, NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS.
import { ApiKey } from '@chronik/protocol';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';

export const describeTransactionsHandler = defineHandler({
  apiKey: ApiKey.DescribeTransactions,
  minVersion: 0,
  maxVersion: 0,
  uses: ['txn'],
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      transactionStates: ctx.deps.txn.describeTransactions(req.transactionalIds).map((t) => {
        const topics = new Map<string, number[]>();
        for (const tp of t.partitions) topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition]);
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
