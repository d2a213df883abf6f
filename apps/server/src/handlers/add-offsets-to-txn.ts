// AddOffsetsToTxn (key 25), v0–v4: the group's `__consumer_offsets` partition (where its
// TxnOffsetCommit goes) joins the producer's transaction, as AddPartitionsToTxn would add it; the
// same answers (PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2). Needs WRITE on the
// transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then READ on the group
// (GROUP_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed } from './authz.js';
import { CONSUMER_OFFSETS_TOPIC } from '../groups/partitioning.js';
import { orServerError, txnErrorCode } from './txn-util.js';
import { defineHandler } from './types.js';

export const addOffsetsToTxnHandler = defineHandler({
  apiKey: ApiKey.AddOffsetsToTxn,
  minVersion: 0,
  maxVersion: 4,
  uses: ['txn', 'groups'],
  async handle(req, ctx) {
    if (!allowed(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId))
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!allowed(ctx, 'READ', 'GROUP', req.groupId))
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const partition = ctx.deps.groups.partitionFor(req.groupId);
    const error = await orServerError(
      () =>
        ctx.deps.txn.addPartitions({
          transactionalId: req.transactionalId,
          producerId: req.producerId,
          producerEpoch: req.producerEpoch,
          partitions: [{ topic: CONSUMER_OFFSETS_TOPIC, partition }],
        }),
      'UNKNOWN_SERVER_ERROR',
      ctx.deps.logger,
      'AddOffsetsToTxn',
    );
    return { throttleTimeMs: 0, errorCode: txnErrorCode(error, ctx.apiVersion, 2) };
  },
});
