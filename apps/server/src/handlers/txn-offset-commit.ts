// TxnOffsetCommit (key 28), v0–v4: offsets committed inside a transaction. The group coordinator
// writes them durably to the group's __consumer_offsets partition as a batch of the producer (its
// id and epoch) and answers; they stay pending — OffsetFetch does not return them, and with
// require_stable answers UNSTABLE_OFFSET_COMMIT — until the transaction's marker: commit makes them
// the group's offsets, abort drops them. v2+ leader epochs; v3+ generation, member id and
// group.instance.id, checked when given (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
// FENCED_INSTANCE_ID). Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; a batch the
// partition refuses answers its error (INVALID_PRODUCER_EPOCH for a fenced producer, KIP-890's
// INVALID_TXN_STATE when AddOffsetsToTxn did not come first). Authorization, as Kafka: WRITE on the
// transactional id, then READ on the group (else every partition TRANSACTIONAL_ID_ /
// GROUP_AUTHORIZATION_FAILED), READ on each topic (TOPIC_AUTHORIZATION_FAILED on its partitions).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowed, allowedNames } from './authz.js';
import { txnErrorCode } from './txn-util.js';
import { defineHandler } from './types.js';

export const txnOffsetCommitHandler = defineHandler({
  apiKey: ApiKey.TxnOffsetCommit,
  minVersion: 0,
  maxVersion: 4,
  uses: ['groups', 'metadata'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const every = (errorCode: number) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    });
    if (!allowed(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId))
      return every(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!allowed(ctx, 'READ', 'GROUP', req.groupId)) return every(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const readable = allowedNames(
      ctx,
      'READ',
      'TOPIC',
      req.topics.map((t) => t.name),
    );
    const topics: Array<{
      name: string;
      partitions: Array<{
        partitionIndex: number;
        committedOffset: bigint;
        committedLeaderEpoch: number;
        committedMetadata: string | null;
      }>;
    }> = [];
    for (const t of req.topics) {
      if (!readable.has(t.name)) continue;
      const view = ctx.deps.metadata.topic(t.name);
      const known = t.partitions.filter(
        (p) => view !== undefined && p.partitionIndex >= 0 && p.partitionIndex < view.partitions.length,
      );
      if (known.length > 0)
        topics.push({
          name: t.name,
          partitions: known.map((p) => ({
            partitionIndex: p.partitionIndex,
            committedOffset: p.committedOffset,
            committedLeaderEpoch: v >= 2 ? p.committedLeaderEpoch : -1,
            committedMetadata: p.committedMetadata,
          })),
        });
    }
    const r = await ctx.deps.groups.commitTxnOffsets({
      transactionalId: req.transactionalId,
      groupId: req.groupId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      generationId: v >= 3 ? req.generationId : -1,
      memberId: v >= 3 ? req.memberId : '',
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      topics,
    });
    // Answer in the request's order, unknown partitions included. A fenced producer is
    // INVALID_PRODUCER_EPOCH in every version (TxnOffsetCommit never had PRODUCER_FENCED).
    const results = new Map<string, string>();
    for (const t of r.topics)
      for (const p of t.partitions) results.set(`${t.name}\0${p.partitionIndex}`, p.errorCode);
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: !readable.has(t.name)
            ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
            : txnErrorCode(
                results.get(`${t.name}\0${p.partitionIndex}`) ?? 'UNKNOWN_TOPIC_OR_PARTITION',
                v,
                Number.MAX_SAFE_INTEGER,
              ),
        })),
      })),
    };
  },
});
