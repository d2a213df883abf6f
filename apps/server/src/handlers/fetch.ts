// Fetch (key 1), v4–v17. Reads whole record batches as stored (transaction markers included: clients
// skip control batches), up to the high watermark; read_committed up to the last stable offset, never
// a batch at or past it, with the aborted transactions overlapping the batches returned (the client
// drops their records). last_stable_offset is answered at both isolation levels, as Kafka does; a
// read_committed fetch held back by an open transaction waits like one at the high watermark and is
// woken when the high watermark moves (the last stable offset moves only with it). Sizes follow Kafka
// (KIP-74, ReplicaManager.readFromLog): partitions are read in request order from one budget,
// max_bytes (lowered to the broker's fetch.max.bytes); each partition gets at most
// min(partition_max_bytes, what is left of the budget), and the first partition that returns any
// bytes gets its first batch whole even when that is larger than either limit — so a consumer never
// stalls on a big batch — after which no partition may exceed its share. The response therefore
// holds at most max(max_bytes, that first batch) of records. (v0–v2, whose limits are hard, are not
// served.) Long polling: when fewer than min_bytes are available the request waits up to
// max_wait_ms and wakes as soon as any of its partitions gets data (or the broker shuts down); each
// wake-up reads every partition again under the same rules. Topic ids (v13+) are resolved; unknown
// ids get UNKNOWN_TOPIC_ID. Incremental fetch sessions (KIP-227, v7+): services/fetch-sessions.ts
// says which partitions a request reads (a session's, updated by the request) and which the answer
// holds. Replica fetches (replica_id >= 0) are not served here. Under a consumer_byte_rate quota a
// fetch reads at most what the quota allows over its window, and one that takes the client over it
// is answered empty with the throttle time (the connection is muted for it), as Kafka does.
// NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH carry the partition's current leader (v12+) and the
// response the endpoints of those leaders (v16+, KIP-951).
// Authorization: READ on each topic, else its partitions are TOPIC_AUTHORIZATION_FAILED (whether or
// not it exists; an unknown topic id stays UNKNOWN_TOPIC_ID), as Kafka answers a consumer.
import type { IsolationLevel, ReadResult } from '../partition/types.js';
import type { FetchSessionStart, SessionPartition } from '../services/fetch-sessions.js';
import type { PartitionManager } from '../services/partition-manager.js';
import type { ApiResponseByKey } from '@chronik/protocol';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames } from './authz.js';
import { errorCodeOf } from './errors.js';
import { LeaderHints, needsLeaderHint } from './leader-hints.js';
import { defineHandler } from './types.js';

type FetchableTopicResponse = ApiResponseByKey[typeof ApiKey.Fetch]['responses'][number];

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const EMPTY = Buffer.alloc(0);

interface Slot extends SessionPartition {
  /** Resolved topic name, or undefined when unknown. */
  name: string | undefined;
  /** The principal may not READ the topic. */
  denied: boolean;
}

/**
 * Kafka's default of the broker config fetch.max.bytes (KIP-541): a request's max_bytes above it is
 * lowered to it.
 */
const BROKER_FETCH_MAX_BYTES = 55 * 1024 * 1024;

interface Outcome {
  slot: Slot;
  result?: ReadResult;
  error?: number;
}

/**
 * Reads every slot in order from one budget of `maxBytes` (Kafka's ReplicaManager.readFromLog): a
 * partition gets at most min(partition_max_bytes, the budget left), and until some partition has
 * returned bytes, its first batch whole even when larger (minOneMessage). Partitions are read even
 * when the budget is spent: they still report their watermarks. `bytes` is the records' total.
 */
async function readPartitions(
  slots: readonly Slot[],
  maxBytes: number,
  isolationLevel: IsolationLevel,
  apiVersion: number,
  partitions: PartitionManager,
): Promise<{ outcomes: Outcome[]; bytes: number }> {
  const outcomes: Outcome[] = [];
  let left = maxBytes;
  let bytes = 0;
  let minOneBatch = true;
  for (const slot of slots) {
    if (slot.name === undefined) {
      outcomes.push({
        slot,
        error: apiVersion >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      });
      continue;
    }
    if (slot.denied) {
      outcomes.push({ slot, error: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
      continue;
    }
    let got = 0;
    try {
      const result = await partitions.read({
        topic: slot.name,
        partition: slot.partition,
        fetchOffset: slot.fetchOffset,
        maxBytes: Math.min(slot.partitionMaxBytes, left),
        minOneBatch,
        isolationLevel,
        currentLeaderEpoch: slot.currentLeaderEpoch,
      });
      got = result.bytes;
      outcomes.push({ slot, result });
    } catch (e) {
      // A negative max_bytes or partition_max_bytes fails the read with INVALID_REQUEST (Kafka's log
      // throws, answered UNKNOWN_SERVER_ERROR); the budget still moves on, to 0, as in Kafka.
      outcomes.push({ slot, error: errorCodeOf(e) });
    }
    if (got > 0) minOneBatch = false;
    left = Math.max(0, left - got);
    bytes += got;
  }
  return { outcomes, bytes };
}

export const fetchHandler = defineHandler({
  apiKey: ApiKey.Fetch,
  minVersion: 4,
  maxVersion: 17,
  uses: ['metadata', 'partitions', 'fetchSessions'],
  async handle(req, ctx) {
    const { metadata, partitions } = ctx.deps;
    const v = ctx.apiVersion;
    const requested: SessionPartition[] = [];
    for (const t of req.topics) {
      for (const p of t.partitions) {
        requested.push({
          topic: v >= 13 ? '' : t.topic,
          topicId: v >= 13 ? t.topicId : ZERO_UUID,
          partition: p.partition,
          fetchOffset: p.fetchOffset,
          partitionMaxBytes: p.partitionMaxBytes,
          currentLeaderEpoch: v >= 9 ? p.currentLeaderEpoch : -1,
        });
      }
    }
    const start: FetchSessionStart =
      v >= 7
        ? ctx.deps.fetchSessions.begin({
            sessionId: req.sessionId,
            sessionEpoch: req.sessionEpoch,
            usesTopicIds: v >= 13,
            partitions: requested,
            forgotten: req.forgottenTopicsData,
          })
        : { kind: 'sessionless', partitions: requested };
    if (start.kind === 'error')
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode[start.error],
        sessionId: 0,
        responses: [],
        nodeEndpoints: [],
      };
    const names = new Map<string, string | undefined>();
    for (const p of start.partitions) {
      const ref = v >= 13 ? p.topicId : p.topic;
      if (!names.has(ref)) names.set(ref, v >= 13 ? metadata.topicById(p.topicId)?.name : p.topic);
    }
    const readable = allowedNames(
      ctx,
      'READ',
      'TOPIC',
      [...names.values()].filter((n): n is string => n !== undefined),
    );
    const slots: Slot[] = start.partitions.map((p) => {
      const name = names.get(v >= 13 ? p.topicId : p.topic);
      return { ...p, name, denied: name !== undefined && !readable.has(name) };
    });
    const isolationLevel = req.isolationLevel === 1 ? 1 : 0;
    // Under a consumer_byte_rate quota, no more than the quota allows over its window (Kafka's
    // getMaxValueInQuotaWindow).
    const quotaMaxBytes = ctx.conn.byteQuotaMaxBytes?.('fetch', ctx.clientId) ?? Infinity;
    const maxBytes = Math.min(req.maxBytes, BROKER_FETCH_MAX_BYTES, Math.floor(quotaMaxBytes));
    const deadline = ctx.deps.clock.nowMs() + Math.max(0, req.maxWaitMs);
    const readAll = (): Promise<{ outcomes: Outcome[]; bytes: number }> =>
      readPartitions(slots, maxBytes, isolationLevel, v, partitions);

    let { outcomes, bytes } = await readAll();
    const hasError = outcomes.some((o) => o.error !== undefined);
    while (
      !hasError &&
      bytes < Math.max(1, req.minBytes) &&
      ctx.deps.clock.nowMs() < deadline &&
      !ctx.deps.shutdown.aborted
    ) {
      const waitMs = deadline - ctx.deps.clock.nowMs();
      const known = slots
        .filter((s) => s.name !== undefined && !s.denied)
        .map((s) => ({ topic: s.name as string, partition: s.partition }));
      await new Promise<void>((resolve) => {
        const done = (): void => {
          timer.cancel();
          cancel();
          ctx.deps.shutdown.removeEventListener('abort', done);
          resolve();
        };
        const timer = ctx.deps.scheduler.setTimer(waitMs, done);
        const cancel = partitions.watch(known, done);
        ctx.deps.shutdown.addEventListener('abort', done);
      });
      ({ outcomes, bytes } = await readAll());
    }

    // consumer_byte_rate: the bytes read count against the client's quota; over it, Kafka answers an
    // empty response carrying the throttle time and takes the bytes back (they were not sent), and
    // the session does not take this answer as given.
    const byteThrottleMs =
      bytes > 0 ? (ctx.conn.byteQuotaThrottleMs?.('fetch', ctx.clientId, bytes) ?? 0) : 0;
    if (byteThrottleMs > 0) {
      ctx.conn.byteQuotaThrottleMs?.('fetch', ctx.clientId, -bytes);
      return {
        throttleTimeMs: byteThrottleMs,
        errorCode: ErrorCode.NONE,
        sessionId: start.kind === 'incremental' ? start.session.id : 0,
        responses: [],
        nodeEndpoints: [],
      };
    }
    const { sessionId, include } = ctx.deps.fetchSessions.finish(
      start,
      outcomes.map((o) => ({
        errorCode: o.error ?? ErrorCode.NONE,
        bytes: o.result?.bytes ?? 0,
        highWatermark: o.result?.highWatermark ?? -1n,
        lastStableOffset: o.result?.lastStableOffset ?? -1n,
        logStartOffset: o.result?.logStartOffset ?? -1n,
      })),
    );
    const hints = new LeaderHints(metadata, ctx.conn.security?.listener.name);
    const byTopic = new Map<string, FetchableTopicResponse>();
    for (const [i, o] of outcomes.entries()) {
      if (include[i] !== true) continue;
      const key = v >= 13 ? o.slot.topicId : o.slot.topic;
      let entry = byTopic.get(key);
      if (!entry) {
        entry = {
          topic: v >= 13 ? '' : o.slot.topic,
          topicId: v >= 13 ? o.slot.topicId : ZERO_UUID,
          partitions: [],
        };
        byTopic.set(key, entry);
      }
      const r = o.result;
      const currentLeader =
        v >= 12 && o.error !== undefined && needsLeaderHint(o.error) && o.slot.name !== undefined
          ? hints.leaderOf(o.slot.name, o.slot.partition)
          : { leaderId: -1, leaderEpoch: -1 };
      entry.partitions.push({
        partitionIndex: o.slot.partition,
        errorCode: o.error ?? ErrorCode.NONE,
        highWatermark: r?.highWatermark ?? -1n,
        lastStableOffset: r?.lastStableOffset ?? -1n,
        logStartOffset: r?.logStartOffset ?? -1n,
        divergingEpoch: { epoch: -1, endOffset: -1n },
        currentLeader,
        snapshotId: { endOffset: -1n, epoch: -1 },
        abortedTransactions:
          isolationLevel === 1
            ? (r?.abortedTransactions ?? []).map((a) => ({
                producerId: a.producerId,
                firstOffset: a.firstOffset,
              }))
            : null,
        preferredReadReplica: -1,
        records:
          r === undefined || r.chunks.length === 0
            ? EMPTY
            : r.chunks.length === 1
              ? (r.chunks[0] as Buffer)
              : Buffer.concat(r.chunks as Buffer[], r.bytes),
      });
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      sessionId,
      responses: [...byTopic.values()],
      nodeEndpoints: v >= 16 ? hints.endpoints() : [],
    };
  },
});
