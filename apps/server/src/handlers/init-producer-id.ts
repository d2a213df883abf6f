// InitProducerId (key 22), v0–v5. Idempotent producers get a producer id from a durable block
// allocated through the metadata state (never reused across restarts) and epoch 0 — every time, as
// Kafka answers a request without a transactional id: a producer id and epoch sent with it (v3+,
// KIP-360) are ignored, never bumped (so no client can take over another producer's id), and one
// without the other is INVALID_REQUEST. Transactional ids are not supported yet
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { errorCodeOf } from './errors.js';
import { defineHandler } from './types.js';

export const initProducerIdHandler = defineHandler({
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  uses: ['producerIds'],
  async handle(req, ctx) {
    try {
      const r = await ctx.deps.producerIds.initProducerId({
        transactionalId: req.transactionalId,
        transactionTimeoutMs: req.transactionTimeoutMs,
        producerId: ctx.apiVersion >= 3 ? req.producerId : -1n,
        producerEpoch: ctx.apiVersion >= 3 ? req.producerEpoch : -1,
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
