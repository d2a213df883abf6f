// Produce (key 0), v0–v11. Record batches (magic 2) only: the legacy message sets of v0–v2 (and
// magic 0/1 in any version) are answered per partition with UNSUPPORTED_FOR_MESSAGE_FORMAT. acks: 0 (no response at all: the connection answers
// nothing, later responses are not held back), 1 (answered once the leader wrote the batch), -1
// (answered once it is fsync'd). Each partition's batches are validated (CRC-32C, header), offsets
// assigned, and idempotent duplicates answered with the original offset. Missing topics are
// auto-created when auto.create.topics.enable is on. Partition errors carry error_message (v8+);
// NOT_LEADER_OR_FOLLOWER carries the current leader and its endpoint (v10+, KIP-951).
// Transactions: the request's transactional id goes with each partition's records to the partition
// manager, which has a transaction's first batch in a partition verified with the coordinator
// (KIP-890) and answers its errors (INVALID_TXN_STATE, INVALID_PRODUCER_EPOCH, PRODUCER_FENCED,
// NOT_COORDINATOR, ...) as they are; a request with transactional batches but no transactional id is
// refused whole with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka answers it; control batches
// are INVALID_RECORD. As in Kafka, v3+ carries exactly one batch per partition (INVALID_RECORD
// otherwise) and zstd needs v7+.
// Authorization (Kafka's): transactional batches need WRITE on the transactional id (else the whole
// request is TRANSACTIONAL_ID_AUTHORIZATION_FAILED); each topic needs WRITE (else its partitions
// are TOPIC_AUTHORIZATION_FAILED, whether or not it exists); a missing topic is auto-created only
// with CREATE on the cluster or on the topic. (Idempotence is authorized at InitProducerId.)
import type { ApiRequestByKey, ApiResponseByKey } from '@chronik/protocol';
import {
  ApiKey,
  BatchAttribute,
  BatchField,
  CompressionType,
  ErrorCode,
  LOG_OVERHEAD_BYTES,
  RECORD_BATCH_HEADER_BYTES,
  recordBatchCompression,
} from '@chronik/protocol';
import type { Acks } from '../partition/types.js';
import { allowed, allowedNames, clusterAllowed } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { LeaderHints, needsLeaderHint } from './leader-hints.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';
import { topicNameProblemOf } from './util.js';

type ProduceRequest = ApiRequestByKey[typeof ApiKey.Produce];
type ProduceResponse = ApiResponseByKey[typeof ApiKey.Produce];
type TopicData = ProduceRequest['topicData'][number];
type PartitionData = TopicData['partitionData'][number];
type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];
type Ctx = RequestContext<'metadata' | 'partitions' | 'topics'>;

/**
 * Kafka's rules for Produce v3+ records (ProduceRequest.validateRecords): exactly one batch per
 * partition, and zstd only from v7 (KIP-110). Returns the error for the partition, or null. Batches
 * of other magics are left to the log, which answers UNSUPPORTED_FOR_MESSAGE_FORMAT.
 */
function versionRuleProblem(records: Buffer, v: number): { code: number; message: string } | null {
  if (v < 3 || records.length < RECORD_BATCH_HEADER_BYTES || records.readInt8(BatchField.magic) !== 2)
    return null;
  const first = LOG_OVERHEAD_BYTES + Math.max(0, records.readInt32BE(BatchField.batchLength));
  if (records.length > first)
    return {
      code: ErrorCode.INVALID_RECORD,
      message: `Produce v${v} allows exactly one record batch per partition (${records.length - first} bytes follow the first)`,
    };
  if (v < 7 && recordBatchCompression(records) === CompressionType.Zstd)
    return {
      code: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      message: `zstd-compressed batches need Produce v7 or later, got v${v}`,
    };
  return null;
}

/** Whether the records' first batch is a magic-2 batch with the transactional bit (Kafka's check). */
function startsTransactional(records: Buffer | null): boolean {
  return (
    records !== null &&
    records.length >= BatchField.attributes + 2 &&
    records.readInt8(BatchField.magic) === 2 &&
    (records.readInt16BE(BatchField.attributes) & BatchAttribute.transactional) !== 0
  );
}

/** Kafka's ProduceRequest.hasTransactionalRecords: some partition's first batch is transactional. */
function hasTransactionalRecords(req: ProduceRequest): boolean {
  return req.topicData.some((t) => t.partitionData.some((p) => startsTransactional(p.records)));
}

/**
 * One partition's answer: appended (or refused with the Kafka error and, v10+, the leader to ask).
 * `refused`: the whole request is answered with this error (transactional batches without a
 * transactional id).
 */
async function producePartition(
  req: ProduceRequest,
  topic: string,
  p: PartitionData,
  ctx: Ctx,
  hints: LeaderHints,
  refused: { code: number; message: string } | null,
  writable: ReadonlySet<string>,
): Promise<PartitionResponse> {
  const v = ctx.apiVersion;
  const base: PartitionResponse = {
    index: p.index,
    errorCode: ErrorCode.NONE,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage: null,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
  const fail = (code: number, message: string | null): PartitionResponse => ({
    ...base,
    errorCode: code,
    errorMessage: v >= 8 ? message : null,
  });
  if (refused !== null) return fail(refused.code, refused.message);
  if (!writable.has(topic)) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Topic authorization failed.');
  if (!isValidAcks(req.acks))
    return fail(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${req.acks}`);
  if (p.records === null || p.records.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE, 'no records');
  try {
    const rule = versionRuleProblem(p.records, v);
    if (rule !== null) return fail(rule.code, rule.message);
    const r = await ctx.deps.partitions.append(
      { topic, partition: p.index },
      p.records,
      req.acks,
      req.timeoutMs,
      req.transactionalId,
    );
    ctx.deps.metrics.producedBytes.inc(p.records.length);
    ctx.deps.metrics.producedRecords.inc(r.recordCount);
    return {
      ...base,
      baseOffset: r.baseOffset,
      logAppendTimeMs: r.logAppendTimeMs,
      logStartOffset: r.logStartOffset,
    };
  } catch (e) {
    const code = errorCodeOf(e);
    if (code === ErrorCode.UNKNOWN_SERVER_ERROR)
      ctx.deps.logger.error({ topic, partition: p.index, err: errorMessageOf(e) }, 'produce failed');
    const out = fail(code, errorMessageOf(e));
    if (v >= 10 && needsLeaderHint(code)) out.currentLeader = hints.leaderOf(topic, p.index);
    return out;
  }
}

function isValidAcks(acks: number): acks is Acks {
  return acks === 0 || acks === 1 || acks === -1;
}

/**
 * Creates the request's missing topics first when auto.create.topics.enable is on: those it may
 * write to and create (CREATE on the cluster or the topic).
 */
async function autoCreate(req: ProduceRequest, ctx: Ctx, writable: ReadonlySet<string>): Promise<void> {
  const { metadata, topics } = ctx.deps;
  if (!isValidAcks(req.acks) || !topics.autoCreateEnabled()) return;
  const missing = req.topicData
    .map((t) => t.name)
    .filter((n) => writable.has(n) && metadata.topic(n) === undefined && topicNameProblemOf(n) === null);
  if (missing.length === 0) return;
  const creatable = clusterAllowed(ctx, 'CREATE', true)
    ? missing
    : missing.filter((n) => allowed(ctx, 'CREATE', 'TOPIC', n));
  if (creatable.length > 0) await topics.autoCreateTopics(creatable);
}

/** Why the whole request is refused (transactional batches without an authorized transactional id), or null. */
function refusal(req: ProduceRequest, ctx: Ctx): { code: number; message: string } | null {
  if (!hasTransactionalRecords(req)) return null;
  if (req.transactionalId === null)
    return {
      code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      message: "transactional batches need the producer's transactional id in the request",
    };
  if (!allowed(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId))
    return {
      code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      message: 'Transactional Id authorization failed.',
    };
  return null;
}

export const produceHandler = defineHandler({
  apiKey: ApiKey.Produce,
  minVersion: 0,
  maxVersion: 11,
  uses: ['metadata', 'partitions', 'topics'],
  async handle(req, ctx) {
    const refused = refusal(req, ctx);
    const writable = allowedNames(
      ctx,
      'WRITE',
      'TOPIC',
      req.topicData.map((t) => t.name),
    );
    if (refused === null) await autoCreate(req, ctx, writable);
    const hints = new LeaderHints(ctx.deps.metadata, ctx.conn.security?.listener.name);
    const responses = await Promise.all(
      req.topicData.map(async (t) => ({
        name: t.name,
        partitionResponses: await Promise.all(
          t.partitionData.map((p) => producePartition(req, t.name, p, ctx, hints, refused, writable)),
        ),
      })),
    );
    if (req.acks === 0) return null;
    return { responses, throttleTimeMs: 0, nodeEndpoints: ctx.apiVersion >= 10 ? hints.endpoints() : [] };
  },
});
