// EndTxn (key 26), v0–v4: commit or abort the producer's transaction. Prepare* is recorded in
// `__transaction_state` and answered; markers and Complete* follow in the background (until they
// are written the id answers CONCURRENT_TRANSACTIONS). A retry after completion answers as the
// first did; the other outcome, or an empty transaction, is INVALID_TXN_STATE; PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH before v2. v5 (KIP-890 part 2: an epoch bump with every transaction) is
// not advertised: clients use it only when the broker finalizes transaction.version 2. Needs WRITE on
// the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed } from './authz.js';
import { orServerError, txnErrorCode } from './txn-util.js';
import { defineHandler } from './types.js';

export const endTxnHandler = defineHandler({
  apiKey: ApiKey.EndTxn,
  minVersion: 0,
  maxVersion: 4,
  uses: ['txn'],
  async handle(req, ctx) {
    if (!allowed(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        producerId: -1n,
        producerEpoch: -1,
      };
    const error = await orServerError(
      () =>
        ctx.deps.txn.endTxn({
          transactionalId: req.transactionalId,
          producerId: req.producerId,
          producerEpoch: req.producerEpoch,
          commit: req.committed,
        }),
      'UNKNOWN_SERVER_ERROR',
      ctx.deps.logger,
      'EndTxn',
    );
    return {
      throttleTimeMs: 0,
      errorCode: txnErrorCode(error, ctx.apiVersion, 2),
      producerId: -1n,
      producerEpoch: -1,
    };
  },
});
