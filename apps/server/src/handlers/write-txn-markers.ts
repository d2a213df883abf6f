// WriteTxnMarkers (key 27), v0–v1: the transaction coordinator's request to a partition leader
// (docs/design/transactions.md). Each marker (producer id and epoch, commit or abort, coordinator
// epoch) is written as a control batch on every partition named that this node leads, as durably as
// acks=all, all at once; each partition answers its own error: UNKNOWN_TOPIC_OR_PARTITION,
// NOT_LEADER_OR_FOLLOWER (the coordinator looks the leader up again), KAFKA_STORAGE_ERROR,
// NOT_ENOUGH_REPLICAS, INVALID_PRODUCER_EPOCH (a marker epoch below the producer's),
// TRANSACTION_COORDINATOR_FENCED (a coordinator epoch below the last marker's). A marker for a
// producer with no open transaction in the partition is written all the same: markers are
// idempotent, and a coordinator retries them. The partition manager tells its marker listeners (the
// group coordinator, for `__consumer_offsets`) once each is durable. Needs CLUSTER_ACTION on the
// cluster — a node's request, as in Kafka (else every partition CLUSTER_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { clusterAllowed } from './authz.js';
import { errorCodeOf } from './errors.js';
import { defineHandler } from './types.js';

/** How long a marker may take to become durable: Kafka's request.timeout.ms (default 30 s). */
const MARKER_TIMEOUT_MS = 30_000;

export const writeTxnMarkersHandler = defineHandler({
  apiKey: ApiKey.WriteTxnMarkers,
  minVersion: 0,
  maxVersion: 1,
  uses: ['partitions'],
  async handle(req, ctx) {
    const { partitions } = ctx.deps;
    if (!clusterAllowed(ctx, 'CLUSTER_ACTION'))
      return {
        markers: req.markers.map((m) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((partitionIndex) => ({
              partitionIndex,
              errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            })),
          })),
        })),
      };
    const markers = await Promise.all(
      req.markers.map(async (m) => {
        const marker = {
          producerId: m.producerId,
          producerEpoch: m.producerEpoch,
          commit: m.transactionResult,
          coordinatorEpoch: m.coordinatorEpoch,
        };
        const topics = await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (partitionIndex) => {
                try {
                  await partitions.writeTxnMarker(
                    { topic: t.name, partition: partitionIndex },
                    marker,
                    MARKER_TIMEOUT_MS,
                  );
                  return { partitionIndex, errorCode: ErrorCode.NONE };
                } catch (e) {
                  return { partitionIndex, errorCode: errorCodeOf(e) };
                }
              }),
            ),
          })),
        );
        return { producerId: m.producerId, topics };
      }),
    );
    return { markers };
  },
});
