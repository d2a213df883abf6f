// ListTransactions (key 66), v0–v1: the transactional ids this broker coordinates, filtered by
// state (Kafka's names; unknown ones are returned in unknown_state_filters), by producer id and (v1)
// by how long the transaction has been running. COORDINATOR_LOAD_IN_PROGRESS while a
// `__transaction_state` partition is still loading (with the ids already loaded). Lists only the ids
// the principal may DESCRIBE, as Kafka.
import { ApiKey } from '@chronik/protocol';
import { kafkaCode } from './errors.js';
import { defineHandler } from './types.js';
import { allowed } from './authz.js';

export const listTransactionsHandler = defineHandler({
  apiKey: ApiKey.ListTransactions,
  minVersion: 0,
  maxVersion: 1,
  uses: ['txn'],
  handle(req, ctx) {
    const r = ctx.deps.txn.listTransactions({
      stateFilters: req.stateFilters,
      producerIdFilters: req.producerIdFilters,
      durationFilterMs: ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1,
    });
    return {
      throttleTimeMs: 0,
      errorCode: kafkaCode(r.errorCode),
      unknownStateFilters: r.unknownStateFilters,
      transactionStates: r.transactions
        .filter((t) => allowed(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', t.transactionalId, true))
        .map((t) => ({
          transactionalId: t.transactionalId,
          producerId: t.producerId,
          transactionState: t.state,
        })),
    };
  },
});
