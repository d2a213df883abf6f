// Typed errors of the group coordinator, and the Kafka error names its answers carry.
//
// The coordinator answers with Kafka error *names* (`'UNKNOWN_MEMBER_ID'`); the handlers turn them
// into numbers through the one table in @chronik/protocol (`ErrorCode[name]`). Exceptions the
// coordinator itself throws or receives (a corrupt record in `__consumer_offsets`, a failed append)
// are `GroupError`s with a `code` from `GroupErrorCode` and the underlying `cause`.

/** Every Kafka error a group/offset answer may carry. */
export const GROUP_KAFKA_ERRORS = [
  'NONE',
  'UNKNOWN_SERVER_ERROR',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'OFFSET_METADATA_TOO_LARGE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'ILLEGAL_GENERATION',
  'INCONSISTENT_GROUP_PROTOCOL',
  'INVALID_GROUP_ID',
  'UNKNOWN_MEMBER_ID',
  'INVALID_SESSION_TIMEOUT',
  'REBALANCE_IN_PROGRESS',
  'INVALID_COMMIT_OFFSET_SIZE',
  'INVALID_REQUEST',
  'NON_EMPTY_GROUP',
  'GROUP_ID_NOT_FOUND',
  'MEMBER_ID_REQUIRED',
  'GROUP_MAX_SIZE_REACHED',
  'FENCED_INSTANCE_ID',
  'GROUP_SUBSCRIBED_TO_TOPIC',
  'UNSTABLE_OFFSET_COMMIT',
  // The consumer group protocol (KIP-848).
  'FENCED_MEMBER_EPOCH',
  'UNRELEASED_INSTANCE_ID',
  'UNSUPPORTED_ASSIGNOR',
  'STALE_MEMBER_EPOCH',
  'INVALID_REGULAR_EXPRESSION',
  'UNSUPPORTED_VERSION',
  // TxnOffsetCommit: the partition layer's answers to a transaction's batch (fencing, KIP-890).
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_ID_MAPPING',
  'INVALID_TXN_STATE',
  'CONCURRENT_TRANSACTIONS',
  'TRANSACTION_ABORTABLE',
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
] as const;
export type GroupKafkaError = (typeof GROUP_KAFKA_ERRORS)[number];

export const GroupErrorCode = {
  /** A record of `__consumer_offsets` could not be decoded (unknown version, truncated). */
  CORRUPT_RECORD: 'CORRUPT_RECORD',
  /** The append was refused because this node no longer leads the partition. */
  OFFSET_LOG_NOT_LEADER: 'OFFSET_LOG_NOT_LEADER',
  /** The partition is unavailable (not enough replicas, timed out); retriable. */
  OFFSET_LOG_UNAVAILABLE: 'OFFSET_LOG_UNAVAILABLE',
  /** The records were too large for one append. */
  OFFSET_LOG_TOO_LARGE: 'OFFSET_LOG_TOO_LARGE',
  /**
   * The partition refused a transaction's batch (an older producer epoch, a partition not in the
   * transaction, …): the Kafka error it named is answered as it is (`GroupError.kafkaError`).
   */
  OFFSET_LOG_REFUSED: 'OFFSET_LOG_REFUSED',
  /** Any other storage failure. */
  OFFSET_LOG_FAILED: 'OFFSET_LOG_FAILED',
  /** Loading a partition was superseded by an unload or a newer load. */
  LOAD_ABORTED: 'LOAD_ABORTED',
  /** The coordinator was closed. */
  CLOSED: 'CLOSED',
  /** A configuration value is out of range. */
  INVALID_CONFIG: 'INVALID_CONFIG',
} as const;
export type GroupErrorCode = (typeof GroupErrorCode)[keyof typeof GroupErrorCode];

export class GroupError extends Error {
  readonly code: GroupErrorCode;
  /** OFFSET_LOG_REFUSED: the Kafka error to answer. */
  readonly kafkaError: GroupKafkaError | undefined;
  constructor(
    code: GroupErrorCode,
    message: string,
    options?: { cause?: unknown; kafkaError?: GroupKafkaError },
  ) {
    super(message, options);
    this.name = 'GroupError';
    this.code = code;
    this.kafkaError = options?.kafkaError;
  }
}

export function isGroupError(e: unknown, code?: GroupErrorCode): e is GroupError {
  return e instanceof GroupError && (code === undefined || e.code === code);
}

/**
 * The Kafka error a failed `__consumer_offsets` append turns into (as Kafka's coordinator maps
 * them): an offset commit that was too large is INVALID_COMMIT_OFFSET_SIZE; a lost leadership
 * NOT_COORDINATOR (the client looks the coordinator up again); unavailability
 * COORDINATOR_NOT_AVAILABLE (retriable); anything else UNKNOWN_SERVER_ERROR.
 */
export function appendErrorToKafka(e: unknown, forOffsets: boolean): GroupKafkaError {
  if (!(e instanceof GroupError)) return 'UNKNOWN_SERVER_ERROR';
  switch (e.code) {
    case GroupErrorCode.OFFSET_LOG_NOT_LEADER:
    case GroupErrorCode.CLOSED:
    case GroupErrorCode.LOAD_ABORTED:
      return 'NOT_COORDINATOR';
    case GroupErrorCode.OFFSET_LOG_UNAVAILABLE:
      return 'COORDINATOR_NOT_AVAILABLE';
    case GroupErrorCode.OFFSET_LOG_TOO_LARGE:
      return forOffsets ? 'INVALID_COMMIT_OFFSET_SIZE' : 'UNKNOWN_SERVER_ERROR';
    case GroupErrorCode.OFFSET_LOG_REFUSED:
      return e.kafkaError ?? 'UNKNOWN_SERVER_ERROR';
    default:
      return 'UNKNOWN_SERVER_ERROR';
  }
}
