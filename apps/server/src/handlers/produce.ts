// Produce (key 0), v0–v11. Record batches (magic 2) only: the legacy message sets of v0–v2 (and
// magic 0/1 in any version) are answered per partition with UNSUPPORTED_FOR_MESSAGE_FORMAT. acks: 0 (no response at all: the connection answers
// nothing, later responses are not held back), 1 (answered once the leader wrote the batch), -1
// (answered once it is fsync'd). Each partition's batches are validated (CRC-32C, header), offsets
// assigned, and idempotent duplicates answered with the original offset. Missing topics are
// auto-created when auto.create.topics.enable is on. Partition errors carry error_message (v8+);
// NOT_LEADER_OR_FOLLOWER carries the current leader and its endpoint (v10+, KIP-951).
// Transactional produce is not supported (TRANSACTIONAL_ID_AUTHORIZATION_FAILED). As in Kafka, v3+
// carries exactly one batch per partition (INVALID_RECORD otherwise) and zstd needs v7+.
import type { Acks } from '../cluster/cluster.js';
import { ApiKey, ErrorCode, LOG_OVERHEAD_BYTES, RECORD_BATCH_HEADER_BYTES } from '../protocol.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { LeaderHints, needsLeaderHint } from './leader-hints.js';
import { defineHandler } from './types.js';
import { topicNameProblemOf } from './util.js';

/** Offsets of batchLength, magic, attributes and recordCount in a record batch (magic 2). */
const BATCH_LENGTH_AT = 8;
const MAGIC_AT = 16;
const ATTRIBUTES_AT = 21;
const RECORD_COUNT_AT = 57;
const COMPRESSION_MASK = 0x07;
const ZSTD = 4;

/**
 * Kafka's rules for Produce v3+ records (ProduceRequest.validateRecords): exactly one batch per
 * partition, and zstd only from v7 (KIP-110). Returns the error for the partition, or null. Batches
 * of other magics are left to the log, which answers UNSUPPORTED_FOR_MESSAGE_FORMAT.
 */
function versionRuleProblem(records: Buffer, v: number): { code: number; message: string } | null {
  if (v < 3 || records.length < RECORD_BATCH_HEADER_BYTES || records.readInt8(MAGIC_AT) !== 2) return null;
  const first = LOG_OVERHEAD_BYTES + Math.max(0, records.readInt32BE(BATCH_LENGTH_AT));
  if (records.length > first)
    return {
      code: ErrorCode.INVALID_RECORD,
      message: `Produce v${v} allows exactly one record batch per partition (${records.length - first} bytes follow the first)`,
    };
  if (v < 7 && (records.readInt16BE(ATTRIBUTES_AT) & COMPRESSION_MASK) === ZSTD)
    return {
      code: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      message: `zstd-compressed batches need Produce v7 or later, got v${v}`,
    };
  return null;
}

/** Records in the (already validated) batches of one partition, read from their headers. */
function recordCountOf(records: Buffer): number {
  let n = 0;
  for (let pos = 0; pos + RECORD_BATCH_HEADER_BYTES <= records.length;) {
    n += Math.max(0, records.readInt32BE(pos + RECORD_COUNT_AT));
    pos += LOG_OVERHEAD_BYTES + Math.max(0, records.readInt32BE(pos + BATCH_LENGTH_AT));
  }
  return n;
}

export const produceHandler = defineHandler({
  apiKey: ApiKey.Produce,
  minVersion: 0,
  maxVersion: 11,
  async handle(req, ctx) {
    const { cluster, metrics, logger } = ctx.deps;
    const v = ctx.apiVersion;
    const acks = req.acks;
    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const transactional = req.transactionalId !== null;
    if (validAcks && !transactional && cluster.autoCreateEnabled()) {
      const missing = req.topicData
        .map((t) => t.name)
        .filter((n) => cluster.topic(n) === undefined && topicNameProblemOf(n) === null);
      if (missing.length > 0) await cluster.autoCreateTopics(missing);
    }
    const hints = new LeaderHints(cluster);
    const responses = await Promise.all(
      req.topicData.map(async (t) => ({
        name: t.name,
        partitionResponses: await Promise.all(
          t.partitionData.map(async (p) => {
            const base = {
              index: p.index,
              errorCode: ErrorCode.NONE,
              baseOffset: -1n,
              logAppendTimeMs: -1n,
              logStartOffset: -1n,
              recordErrors: [],
              errorMessage: null as string | null,
              currentLeader: { leaderId: -1, leaderEpoch: -1 },
            };
            const fail = (code: number, message: string | null) => ({
              ...base,
              errorCode: code,
              errorMessage: v >= 8 ? message : null,
            });
            if (!validAcks)
              return fail(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${acks}`);
            if (transactional)
              return fail(
                ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                'transactions are not supported by this broker',
              );
            if (p.records === null || p.records.length === 0)
              return fail(ErrorCode.CORRUPT_MESSAGE, 'no records');
            const rule = versionRuleProblem(p.records, v);
            if (rule !== null) return fail(rule.code, rule.message);
            try {
              const r = await cluster.append(
                { topic: t.name, partition: p.index },
                p.records,
                acks as Acks,
                req.timeoutMs,
              );
              metrics.producedBytes.inc(p.records.length);
              metrics.producedRecords.inc(recordCountOf(p.records));
              return {
                ...base,
                baseOffset: r.baseOffset,
                logAppendTimeMs: r.logAppendTimeMs,
                logStartOffset: r.logStartOffset,
              };
            } catch (e) {
              const code = errorCodeOf(e);
              if (code === ErrorCode.UNKNOWN_SERVER_ERROR)
                logger.error({ topic: t.name, partition: p.index, err: errorMessageOf(e) }, 'produce failed');
              const out = fail(code, errorMessageOf(e));
              if (v >= 10 && needsLeaderHint(code)) out.currentLeader = hints.leaderOf(t.name, p.index);
              return out;
            }
          }),
        ),
      })),
    );
    if (acks === 0) return null;
    return { responses, throttleTimeMs: 0, nodeEndpoints: v >= 10 ? hints.endpoints() : [] };
  },
});
