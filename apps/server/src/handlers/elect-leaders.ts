// ElectLeaders (key 43), v0–v2 (KIP-460; v0 is the preferred-replica election, v1 adds the
// election type and a top-level error code, v2 is flexible). PREFERRED moves each partition's
// leadership to its preferred replica (a Raft leadership transfer started by the partition's
// leader, here or on its node) and answers once this node sees it lead; UNCLEAN answers
// ELECTION_NOT_NEEDED for a partition with a leader and ELIGIBLE_LEADERS_NOT_AVAILABLE for one
// without (Raft never elects a replica missing committed records). Per partition:
// ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE (not in the ISR, or not a live broker),
// UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT. Null topic partitions elect every partition and
// leave out those that needed no election, as Kafka does. A request from another node (the
// inter-broker client's id, chronik-node-N) is one this node's leaders answer for themselves: it
// is never forwarded again (services/elections.ts).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import type { ElectionResult } from '../services/elections.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { clusterAllowed } from './authz.js';
import { defineHandler } from './types.js';

/** The client id of the inter-broker client (net/broker-client.ts). */
const INTER_BROKER_CLIENT = /^chronik-node-\d+$/;
/** Longest a request waits for its elections. */
const MAX_TIMEOUT_MS = 5 * 60_000;

export const electLeadersHandler = defineHandler({
  apiKey: ApiKey.ElectLeaders,
  minVersion: 0,
  maxVersion: 2,
  uses: ['elections'],
  async handle(req, ctx) {
    // As Kafka: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for the whole request.
    if (!clusterAllowed(ctx, 'ALTER'))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        replicaElectionResults: [],
      };
    const type = ctx.apiVersion === 0 ? 0 : req.electionType;
    const results = await ctx.deps.elections.elect(
      type,
      req.topicPartitions === null
        ? null
        : req.topicPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions })),
      Math.min(Math.max(0, req.timeoutMs), MAX_TIMEOUT_MS),
      ctx.clientId !== null && INTER_BROKER_CLIENT.test(ctx.clientId),
    );
    const byTopic = new Map<string, ElectionResult[]>();
    for (const r of results) {
      const list = byTopic.get(r.topic) ?? [];
      list.push(r);
      byTopic.set(r.topic, list);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      replicaElectionResults: [...byTopic].map(([topic, list]) => ({
        topic,
        partitionResult: list.map((r) => ({
          partitionId: r.partition,
          errorCode: r.error === null ? ErrorCode.NONE : errorCodeOf(r.error),
          errorMessage: r.error === null ? null : errorMessageOf(r.error),
        })),
      })),
    };
  },
});
