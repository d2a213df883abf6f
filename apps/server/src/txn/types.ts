// Requests and answers of the transaction coordinator, independent of the wire codec (the handlers
// translate each API version's fields into these and back), and the two seams between the
// coordinator and the partitions: the MarkerWriter (markers out) and the TxnVerifier (KIP-890's
// question in). docs/design/transactions.md, sections 1 and 2.
import type { TopicPartition } from '../partition/types.js';
import type { TxnKafkaError } from './errors.js';
import type { TxnMarker } from '../partition/types.js';

/** Kafka's TransactionState, with the ids its transaction log stores. */
export const TXN_STATES = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
] as const;
export type TxnState = (typeof TXN_STATES)[number];

/** A commit or abort marker (the partition layer's: docs/design/transactions.md, section 1). */
export type { TxnMarker };

/** How markers leave the coordinator (the broker writes them on each partition's leader). */
export interface MarkerWriter {
  /**
   * Writes `marker` to every partition in `partitions` (each on its leader: this node's partition
   * manager, or another node over the inter-broker client); resolves with the Kafka error name per
   * partition, keyed by `tpKey(tp)` ('NONE' when written). A partition missing from the map is
   * retried. Never rejects for one partition's failure.
   */
  write(
    marker: TxnMarker,
    partitions: readonly TopicPartition[],
    timeoutMs: number,
  ): Promise<Map<string, string>>;
}

/** The key of a partition in a MarkerWriter's answer: "topic-partition", as Kafka prints it. */
export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

export type { TxnVerifier, TxnVerifyRequest } from '../services/partition-manager.js';

export interface InitProducerIdRequest {
  transactionalId: string;
  transactionTimeoutMs: number;
  /** KIP-360 (v3+): the producer's current id and epoch, or -1 / -1. */
  producerId: bigint;
  producerEpoch: number;
}

export interface InitProducerIdResult {
  errorCode: TxnKafkaError;
  producerId: bigint;
  producerEpoch: number;
}

export interface TxnProducer {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
}

export interface AddPartitionsRequest extends TxnProducer {
  partitions: readonly TopicPartition[];
}

export interface EndTxnRequest extends TxnProducer {
  commit: boolean;
}

export interface DescribedTransaction {
  transactionalId: string;
  errorCode: TxnKafkaError;
  state: TxnState | '';
  timeoutMs: number;
  /** -1 when no transaction is open. */
  startTimeMs: number;
  producerId: bigint;
  producerEpoch: number;
  /** The transaction's partitions (while completing: those still waiting for their marker). */
  partitions: TopicPartition[];
}

export interface ListTransactionsRequest {
  /** Only these states (Kafka's names); empty = all. */
  stateFilters: readonly string[];
  /** Only these producer ids; empty = all. */
  producerIdFilters: readonly bigint[];
  /** v1: only transactions running longer than this (ms); < 0 = all. */
  durationFilterMs: number;
}

export interface ListTransactionsResult {
  errorCode: TxnKafkaError;
  unknownStateFilters: string[];
  transactions: Array<{ transactionalId: string; producerId: bigint; state: TxnState }>;
}
