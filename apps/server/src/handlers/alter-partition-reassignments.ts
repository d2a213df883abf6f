// AlterPartitionReassignments (key 45), v0 (KIP-455). Starts, for each partition, a reassignment to
// the given replicas, or cancels the one in progress (null replicas); the data moves in the
// background (raft-cluster: the partition's Raft group, cluster/partition-mover.ts) and
// ListPartitionReassignments shows it until done. Per partition: UNKNOWN_TOPIC_OR_PARTITION,
// INVALID_REPLICA_ASSIGNMENT (empty, duplicate, negative or unregistered brokers),
// REASSIGNMENT_IN_PROGRESS (another target while one is in progress: cancel it first; the same
// target again is a retry and accepted), NO_REASSIGNMENT_IN_PROGRESS (a cancel without one),
// NOT_CONTROLLER / REQUEST_TIMED_OUT when the metadata cannot be reached. A partition named twice
// in one request is INVALID_REQUEST for both, as Kafka answers duplicates.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import type { ReassignOutcome, ReassignRequest } from '../services/reassignments.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { clusterAllowed } from './authz.js';
import { defineHandler } from './types.js';

export const alterPartitionReassignmentsHandler = defineHandler({
  apiKey: ApiKey.AlterPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  uses: ['reassignments'],
  async handle(req, ctx) {
    // As Kafka: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for the whole request.
    if (!clusterAllowed(ctx, 'ALTER'))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
        responses: [],
      };
    const requests: ReassignRequest[] = [];
    const seen = new Map<string, number>();
    for (const t of req.topics)
      for (const p of t.partitions) {
        const key = `${t.name}\u0000${p.partitionIndex}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        requests.push({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas });
      }
    const once = requests.filter((r) => seen.get(`${r.topic}\u0000${r.partition}`) === 1);
    const done = await ctx.deps.reassignments.alter(once);
    const outcomes = new Map(done.map((o) => [`${o.topic}\u0000${o.partition}`, o]));
    const outcomeOf = (r: ReassignRequest): ReassignOutcome =>
      outcomes.get(`${r.topic}\u0000${r.partition}`) ?? {
        ...r,
        error: new KafkaError(
          'INVALID_REQUEST',
          `${r.topic}-${r.partition} appears more than once in the request`,
        ),
      };
    const byTopic = new Map<string, ReassignOutcome[]>();
    for (const r of requests) {
      const list = byTopic.get(r.topic) ?? [];
      list.push(outcomeOf(r));
      byTopic.set(r.topic, list);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: [...byTopic].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({
          partitionIndex: o.partition,
          errorCode: o.error === null ? ErrorCode.NONE : errorCodeOf(o.error),
          errorMessage: o.error === null ? null : errorMessageOf(o.error),
        })),
      })),
    };
  },
});
