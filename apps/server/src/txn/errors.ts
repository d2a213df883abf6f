// Typed errors of the transaction coordinator, and the Kafka error names its answers carry.
//
// The coordinator answers with Kafka error *names*; the handlers turn them into numbers through the
// one table in @chronik/protocol. What the coordinator itself throws (a corrupt record in
// `__transaction_state`, a bad configuration) is a `TxnError` with a code from `TxnErrorCode`. The
// TxnLog rejects with the partitions' own errors (a KafkaError naming the failure), which
// `logErrorToKafka` turns into the coordinator's answer as Kafka's TransactionStateManager does.
import { isKafkaError } from '../errors.js';

/** Every Kafka error a transaction coordinator answer may carry. */
export const TXN_KAFKA_ERRORS = [
  'NONE',
  'UNKNOWN_SERVER_ERROR',
  'INVALID_REQUEST',
  'NOT_COORDINATOR',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'INVALID_TRANSACTION_TIMEOUT',
  'CONCURRENT_TRANSACTIONS',
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'INVALID_TXN_STATE',
  'TRANSACTIONAL_ID_NOT_FOUND',
] as const;
export type TxnKafkaError = (typeof TXN_KAFKA_ERRORS)[number];

export const TxnErrorCode = {
  /** A record of `__transaction_state` could not be decoded (unknown version, truncated). */
  CORRUPT_RECORD: 'CORRUPT_RECORD',
  /** Reading a partition of `__transaction_state` failed (the log's own error is the cause). */
  LOG_FAILED: 'LOG_FAILED',
  /** Loading a partition was superseded by an unload or a newer load. */
  LOAD_ABORTED: 'LOAD_ABORTED',
  /** The coordinator was closed. */
  CLOSED: 'CLOSED',
  /** A configuration value is out of range. */
  INVALID_CONFIG: 'INVALID_CONFIG',
} as const;
export type TxnErrorCode = (typeof TxnErrorCode)[keyof typeof TxnErrorCode];

export class TxnError extends Error {
  readonly code: TxnErrorCode;
  constructor(code: TxnErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TxnError';
    this.code = code;
  }
}

export function isTxnError(e: unknown, code?: TxnErrorCode): e is TxnError {
  return e instanceof TxnError && (code === undefined || e.code === code);
}

/**
 * The answer for a failed `__transaction_state` append, as Kafka's TransactionStateManager maps
 * it: the partition unavailable or the append timed out → COORDINATOR_NOT_AVAILABLE (retriable; a
 * timed-out append may still land, and the log stays the source of truth); leadership lost or the
 * replica stopped → NOT_COORDINATOR (the client looks the coordinator up again); anything else →
 * UNKNOWN_SERVER_ERROR.
 */
export function logErrorToKafka(e: unknown): TxnKafkaError {
  const code = isKafkaError(e) ? e.code : '';
  switch (code) {
    case 'UNKNOWN_TOPIC_OR_PARTITION':
    case 'LEADER_NOT_AVAILABLE':
    case 'NOT_ENOUGH_REPLICAS':
    case 'NOT_ENOUGH_REPLICAS_AFTER_APPEND':
    case 'REQUEST_TIMED_OUT':
    case 'COORDINATOR_NOT_AVAILABLE':
      return 'COORDINATOR_NOT_AVAILABLE';
    case 'NOT_LEADER_OR_FOLLOWER':
    case 'FENCED_LEADER_EPOCH':
    case 'KAFKA_STORAGE_ERROR':
    case 'NOT_COORDINATOR':
      return 'NOT_COORDINATOR';
    default:
      return 'UNKNOWN_SERVER_ERROR';
  }
}
