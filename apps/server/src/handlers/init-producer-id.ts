// InitProducerId (key 22), v0–v5. Without a transactional id: idempotent producers get a producer id
// from a durable block allocated through the metadata state (never reused across restarts) and
// epoch 0 — every time, as Kafka answers such a request: a producer id and epoch sent with it (v3+,
// KIP-360) are ignored, never bumped (so no client can take over another producer's id), and one
// without the other is INVALID_REQUEST. With a transactional id: the transaction coordinator
// (src/txn) — a new id gets a producer id at epoch 0, a known one the next epoch once its ongoing
// transaction is aborted (CONCURRENT_TRANSACTIONS meanwhile), KIP-360 fencing (PRODUCER_FENCED,
// INVALID_PRODUCER_EPOCH before v4), NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS,
// INVALID_TRANSACTION_TIMEOUT above transaction.max.timeout.ms.
// Authorization, as Kafka (KIP-679): a transactional id needs WRITE on it
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent producer IDEMPOTENT_WRITE on the cluster
// or WRITE on some topic (CLUSTER_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed, allowedOnAny, clusterAllowed } from './authz.js';
import { errorCodeOf } from './errors.js';
import { orServerError, txnErrorCode } from './txn-util.js';
import { defineHandler } from './types.js';

export const initProducerIdHandler = defineHandler({
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  uses: ['producerIds', 'txn'],
  async handle(req, ctx) {
    const producerId = ctx.apiVersion >= 3 ? req.producerId : -1n;
    const producerEpoch = ctx.apiVersion >= 3 ? req.producerEpoch : -1;
    const refuse = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode,
      producerId: -1n,
      producerEpoch: -1,
    });
    if (req.transactionalId !== null && !allowed(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId))
      return refuse(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (
      req.transactionalId === null &&
      !clusterAllowed(ctx, 'IDEMPOTENT_WRITE', true) &&
      !allowedOnAny(ctx, 'WRITE', 'TOPIC')
    )
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    if (req.transactionalId !== null) {
      const transactionalId = req.transactionalId;
      const r = await orServerError(
        () =>
          ctx.deps.txn.initProducerId({
            transactionalId,
            transactionTimeoutMs: req.transactionTimeoutMs,
            producerId,
            producerEpoch,
          }),
        { errorCode: 'UNKNOWN_SERVER_ERROR' as const, producerId: -1n, producerEpoch: -1 },
        ctx.deps.logger,
        'InitProducerId',
      );
      return {
        throttleTimeMs: 0,
        errorCode: txnErrorCode(r.errorCode, ctx.apiVersion, 4),
        producerId: r.producerId,
        producerEpoch: r.producerEpoch,
      };
    }
    try {
      const r = await ctx.deps.producerIds.initProducerId({
        transactionalId: null,
        transactionTimeoutMs: req.transactionTimeoutMs,
        producerId,
        producerEpoch,
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        producerId: r.producerId,
        producerEpoch: r.producerEpoch,
      };
    } catch (e) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(e), producerId: -1n, producerEpoch: -1 };
    }
  },
});
