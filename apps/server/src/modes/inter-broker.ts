// The transaction calls between nodes (docs/design/transactions.md, "Between them"), as Kafka's
// brokers make them, over the inter-broker client (net/broker-client.ts):
// - markers for partitions led by another node: WriteTxnMarkers to that node, one marker entry,
//   answered per partition (the coordinator retries what is not written);
// - KIP-890's verification of a transactional id coordinated by another node: AddPartitionsToTxn
//   with `verify_only` (v4+, the brokers' form) for one partition;
// - and, besides transactions, ElectLeaders PREFERRED for a partition led by another node
//   (cluster/leadership-transfers.ts).
import { ApiKey, ErrorCode, kafkaErrorInfo } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import type { TopicPartition, TxnMarker } from '../partition/types.js';
import type { BrokerCalls } from '../net/broker-client.js';
import type { RemoteMarkers, RemoteVerify } from '../txn/service.js';
import type { RemoteElect } from '../cluster/leadership-transfers.js';
import { tpKey } from '../txn/types.js';

/** Longest a verification may take (the producer's request waits for it). */
const VERIFY_TIMEOUT_MS = 10_000;

function errorName(code: number): string {
  return code === ErrorCode.NONE ? 'NONE' : (kafkaErrorInfo(code)?.name ?? 'UNKNOWN_SERVER_ERROR');
}

/** A node that could not be asked: every partition it was asked for is retried. */
function unreachable(partitions: readonly TopicPartition[], code: string): Map<string, string> {
  return new Map(partitions.map((tp) => [tpKey(tp), code]));
}

function codeOf(e: unknown): string {
  return e instanceof KafkaError ? e.code : 'NETWORK_EXCEPTION';
}

/** WriteTxnMarkers to the node that leads the partitions. */
export function remoteMarkersOver(calls: BrokerCalls): RemoteMarkers {
  return async (
    nodeId: number,
    marker: TxnMarker,
    partitions: readonly TopicPartition[],
    timeoutMs: number,
  ) => {
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) {
      const list = byTopic.get(tp.topic) ?? [];
      list.push(tp.partition);
      byTopic.set(tp.topic, list);
    }
    let response;
    try {
      ({ response } = await calls.request(
        nodeId,
        ApiKey.WriteTxnMarkers,
        {
          markers: [
            {
              producerId: marker.producerId,
              producerEpoch: marker.producerEpoch,
              transactionResult: marker.commit,
              coordinatorEpoch: marker.coordinatorEpoch,
              topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
            },
          ],
        },
        { maxVersion: 1, timeoutMs },
      ));
    } catch (e) {
      return unreachable(partitions, codeOf(e));
    }
    const out = new Map<string, string>();
    for (const m of response.markers)
      for (const t of m.topics)
        for (const p of t.partitions)
          out.set(tpKey({ topic: t.name, partition: p.partitionIndex }), errorName(p.errorCode));
    return out;
  };
}

/** AddPartitionsToTxn `verify_only` to the node that coordinates the transactional id. */
export function remoteVerifyOver(calls: BrokerCalls): RemoteVerify {
  return async (nodeId, req) => {
    let response;
    try {
      ({ response } = await calls.request(
        nodeId,
        ApiKey.AddPartitionsToTxn,
        {
          transactions: [
            {
              transactionalId: req.transactionalId,
              producerId: req.producerId,
              producerEpoch: req.producerEpoch,
              verifyOnly: true,
              topics: [{ name: req.topic, partitions: [req.partition] }],
            },
          ],
          v3AndBelowTransactionalId: '',
          v3AndBelowProducerId: 0n,
          v3AndBelowProducerEpoch: 0,
          v3AndBelowTopics: [],
        },
        { minVersion: 4, maxVersion: 5, timeoutMs: VERIFY_TIMEOUT_MS },
      ));
    } catch (e) {
      // The coordinator could not be asked: the producer retries (its client backs off).
      throw new KafkaError(
        'COORDINATOR_NOT_AVAILABLE',
        `cannot verify with node ${nodeId}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    if (response.errorCode !== ErrorCode.NONE)
      throw new KafkaError(errorName(response.errorCode), `node ${nodeId} refused the verification`);
    const code =
      response.resultsByTransaction
        .find((t) => t.transactionalId === req.transactionalId)
        ?.topicResults.find((t) => t.name === req.topic)
        ?.resultsByPartition.find((p) => p.partitionIndex === req.partition)?.partitionErrorCode ??
      ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code === ErrorCode.NONE) return;
    // Older producers know INVALID_PRODUCER_EPOCH for a fenced epoch (the local verifier's answer).
    const name = errorName(code) === 'PRODUCER_FENCED' ? 'INVALID_PRODUCER_EPOCH' : errorName(code);
    throw new KafkaError(
      name,
      `${req.topic}-${req.partition}: the transaction coordinator (node ${nodeId}) answered ${errorName(code)}`,
    );
  };
}

/** ElectLeaders PREFERRED to the node that leads the partition: it hands leadership over itself. */
export function remoteElectOver(calls: BrokerCalls): RemoteElect {
  return async (leaderId, tp, timeoutMs) => {
    let response;
    try {
      ({ response } = await calls.request(
        leaderId,
        ApiKey.ElectLeaders,
        {
          electionType: 0,
          topicPartitions: [{ topic: tp.topic, partitions: [tp.partition] }],
          // An int32 on the wire.
          timeoutMs: Math.max(1, Math.min(2 ** 31 - 1, Math.floor(timeoutMs))),
        },
        { minVersion: 1, maxVersion: 2, timeoutMs: timeoutMs + 1000 },
      ));
    } catch (e) {
      throw new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `node ${leaderId} could not be asked to hand ${tp.topic}-${tp.partition} over: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    const r = response.replicaElectionResults
      .find((x) => x.topic === tp.topic)
      ?.partitionResult.find((x) => x.partitionId === tp.partition);
    const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code === ErrorCode.NONE || code === ErrorCode.ELECTION_NOT_NEEDED) return;
    throw new KafkaError(
      errorName(code),
      `node ${leaderId}: ${r?.errorMessage ?? 'no answer for the partition'}`,
    );
  };
}
