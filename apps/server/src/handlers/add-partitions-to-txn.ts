// AddPartitionsToTxn (key 24), v0–v5. v0–v3 (clients): the partitions join the producer's
// transaction, recorded in `__transaction_state` before the answer; a partition that does not exist
// is UNKNOWN_TOPIC_OR_PARTITION and then every other one OPERATION_NOT_ATTEMPTED (nothing is
// added), as Kafka answers. v4+ (brokers): several transactions per request, each answered on its
// own, and `verify_only` (KIP-890): whether each partition is already in the producer's ongoing
// transaction (NONE, else INVALID_TXN_STATE), changing nothing. Coordinator errors apply to every
// partition of their transaction: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
// CONCURRENT_TRANSACTIONS, INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (INVALID_PRODUCER_EPOCH
// before v2), INVALID_REQUEST (an empty id; more than the per-transaction partition limit).
// Authorization, as Kafka: v0–v3 (clients) need WRITE on the transactional id (else every partition
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and WRITE on each topic — never granted on an internal
// topic — else TOPIC_AUTHORIZATION_FAILED, the other partitions OPERATION_NOT_ATTEMPTED; v4+ (nodes)
// need CLUSTER_ACTION on the cluster (else CLUSTER_AUTHORIZATION_FAILED at the top level).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { isInternalTopic } from '@chronik/metadata';
import type { TopicPartition } from '../partition/types.js';
import type { TxnKafkaError } from '../txn/errors.js';
import { tpKey } from '../txn/types.js';
import { orServerError, txnErrorCode } from './txn-util.js';
import { allowed, allowedNames, clusterAllowed } from './authz.js';
import type { AuthzContext } from './authz.js';
import type { HandlerDeps } from './types.js';
import { defineHandler } from './types.js';

interface TxnInRequest {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  verifyOnly: boolean;
  topics: ReadonlyArray<{ name: string; partitions: readonly number[] }>;
}

type TopicResult = {
  name: string;
  resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }>;
};

/** Each requested partition once, in request order. */
function partitionsOf(t: TxnInRequest): TopicPartition[] {
  const seen = new Map<string, TopicPartition>();
  for (const topic of t.topics)
    for (const partition of topic.partitions) {
      const tp = { topic: topic.name, partition };
      seen.set(tpKey(tp), tp);
    }
  return [...seen.values()];
}

function byTopic(partitions: readonly TopicPartition[], code: (tp: TopicPartition) => number): TopicResult[] {
  const out = new Map<string, TopicResult>();
  for (const tp of partitions) {
    let t = out.get(tp.topic);
    if (t === undefined) {
      t = { name: tp.topic, resultsByPartition: [] };
      out.set(tp.topic, t);
    }
    t.resultsByPartition.push({ partitionIndex: tp.partition, partitionErrorCode: code(tp) });
  }
  return [...out.values()];
}

/** A client's request (v0–v3) refused by authorization: its answer, or undefined when it may go on. */
function refusedByAuthorization(
  t: TxnInRequest,
  partitions: readonly TopicPartition[],
  ctx: AuthzContext,
  deps: HandlerDeps<'txn' | 'metadata'>,
): TopicResult[] | undefined {
  if (!allowed(ctx, 'WRITE', 'TRANSACTIONAL_ID', t.transactionalId))
    return byTopic(partitions, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const writable = allowedNames(
    ctx,
    'WRITE',
    'TOPIC',
    partitions.map((tp) => tp.topic).filter((name) => !isInternalTopic(name)),
  );
  const missing = (tp: TopicPartition): boolean => {
    const view = deps.metadata.topic(tp.topic);
    return view === undefined || tp.partition < 0 || tp.partition >= view.partitions.length;
  };
  if (partitions.every((tp) => writable.has(tp.topic))) return undefined;
  return byTopic(partitions, (tp) =>
    !writable.has(tp.topic)
      ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
      : missing(tp)
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : ErrorCode.OPERATION_NOT_ATTEMPTED,
  );
}

async function oneTransaction(
  t: TxnInRequest,
  ctx: AuthzContext,
  deps: HandlerDeps<'txn' | 'metadata'>,
  apiVersion: number,
): Promise<TopicResult[]> {
  const partitions = partitionsOf(t);
  const code = (name: TxnKafkaError | string): number => txnErrorCode(name, apiVersion, 2);
  const req = { ...t, partitions };
  if (apiVersion <= 3) {
    const refused = refusedByAuthorization(t, partitions, ctx, deps);
    if (refused !== undefined) return refused;
  }
  if (t.verifyOnly) {
    const answers = await orServerError(
      () => deps.txn.verifyPartitions(req),
      new Map<string, TxnKafkaError>(),
      deps.logger,
      'AddPartitionsToTxn (verify)',
    );
    return byTopic(partitions, (tp) => code(answers.get(tpKey(tp)) ?? 'UNKNOWN_SERVER_ERROR'));
  }
  const unknown = new Set(
    partitions
      .filter((tp) => {
        const view = deps.metadata.topic(tp.topic);
        return view === undefined || tp.partition < 0 || tp.partition >= view.partitions.length;
      })
      .map(tpKey),
  );
  if (unknown.size > 0)
    return byTopic(partitions, (tp) =>
      code(unknown.has(tpKey(tp)) ? 'UNKNOWN_TOPIC_OR_PARTITION' : 'OPERATION_NOT_ATTEMPTED'),
    );
  const error = await orServerError(
    () => deps.txn.addPartitions(req),
    'UNKNOWN_SERVER_ERROR',
    deps.logger,
    'AddPartitionsToTxn',
  );
  return byTopic(partitions, () => code(error));
}

export const addPartitionsToTxnHandler = defineHandler({
  apiKey: ApiKey.AddPartitionsToTxn,
  minVersion: 0,
  maxVersion: 5,
  uses: ['txn', 'metadata'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    if (v <= 3) {
      const results = await oneTransaction(
        {
          transactionalId: req.v3AndBelowTransactionalId,
          producerId: req.v3AndBelowProducerId,
          producerEpoch: req.v3AndBelowProducerEpoch,
          verifyOnly: false,
          topics: req.v3AndBelowTopics,
        },
        ctx,
        ctx.deps,
        v,
      );
      return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: [], resultsByTopicV3AndBelow: results };
    }
    if (!clusterAllowed(ctx, 'CLUSTER_ACTION'))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        resultsByTransaction: [],
        resultsByTopicV3AndBelow: [],
      };
    const resultsByTransaction = await Promise.all(
      req.transactions.map(async (t) => ({
        transactionalId: t.transactionalId,
        topicResults: await oneTransaction(t, ctx, ctx.deps, v),
      })),
    );
    return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction, resultsByTopicV3AndBelow: [] };
  },
});
