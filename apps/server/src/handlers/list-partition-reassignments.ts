// ListPartitionReassignments (key 46), v0 (KIP-455): the reassignments in progress of the named
// partitions, or of every partition when the topics are null, from this node's applied metadata —
// the current (merged) replica set, the replicas being added and those being removed. Partitions
// that do not exist or are not moving are left out, as Kafka does.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import type { OngoingReassignment } from '../services/reassignments.js';
import { clusterAllowed } from './authz.js';
import { defineHandler } from './types.js';

export const listPartitionReassignmentsHandler = defineHandler({
  apiKey: ApiKey.ListPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  uses: ['reassignments'],
  handle(req, ctx) {
    // As Kafka: DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED for the whole request.
    if (!clusterAllowed(ctx, 'DESCRIBE'))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
        topics: [],
      };
    const ongoing = ctx.deps.reassignments.list(
      req.topics === null ? null : req.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes })),
    );
    const byTopic = new Map<string, OngoingReassignment[]>();
    for (const o of ongoing) {
      const list = byTopic.get(o.topic) ?? [];
      list.push(o);
      byTopic.set(o.topic, list);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [...byTopic].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({
          partitionIndex: o.partition,
          replicas: [...o.replicas],
          addingReplicas: [...o.addingReplicas],
          removingReplicas: [...o.removingReplicas],
        })),
      })),
    };
  },
});
