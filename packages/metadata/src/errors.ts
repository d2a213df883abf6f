/**
 * Every failure this package reports is a MetadataError whose `code` is the name of the Kafka
 * error (as spelled in Apache Kafka's `Errors` enum) that a broker should answer with, and whose
 * `errorCode` is that error's numeric wire code. The server maps them without a lookup table of
 * its own; `@chronik/protocol` keeps the central table, this list is the subset we produce.
 */
export const MetadataErrorCode = {
  UNKNOWN_SERVER_ERROR: 'UNKNOWN_SERVER_ERROR',
  UNKNOWN_TOPIC_OR_PARTITION: 'UNKNOWN_TOPIC_OR_PARTITION',
  LEADER_NOT_AVAILABLE: 'LEADER_NOT_AVAILABLE',
  BROKER_NOT_AVAILABLE: 'BROKER_NOT_AVAILABLE',
  COORDINATOR_NOT_AVAILABLE: 'COORDINATOR_NOT_AVAILABLE',
  INVALID_TOPIC_EXCEPTION: 'INVALID_TOPIC_EXCEPTION',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  TOPIC_ALREADY_EXISTS: 'TOPIC_ALREADY_EXISTS',
  INVALID_PARTITIONS: 'INVALID_PARTITIONS',
  INVALID_REPLICATION_FACTOR: 'INVALID_REPLICATION_FACTOR',
  INVALID_REPLICA_ASSIGNMENT: 'INVALID_REPLICA_ASSIGNMENT',
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_REQUEST: 'INVALID_REQUEST',
  POLICY_VIOLATION: 'POLICY_VIOLATION',
  FENCED_LEADER_EPOCH: 'FENCED_LEADER_EPOCH',
  UNKNOWN_LEADER_EPOCH: 'UNKNOWN_LEADER_EPOCH',
  STALE_BROKER_EPOCH: 'STALE_BROKER_EPOCH',
  UNKNOWN_TOPIC_ID: 'UNKNOWN_TOPIC_ID',
  DUPLICATE_BROKER_REGISTRATION: 'DUPLICATE_BROKER_REGISTRATION',
  BROKER_ID_NOT_REGISTERED: 'BROKER_ID_NOT_REGISTERED',
  INCONSISTENT_TOPIC_ID: 'INCONSISTENT_TOPIC_ID',
  INCONSISTENT_CLUSTER_ID: 'INCONSISTENT_CLUSTER_ID',
  INELIGIBLE_REPLICA: 'INELIGIBLE_REPLICA',
  UNSUPPORTED_SASL_MECHANISM: 'UNSUPPORTED_SASL_MECHANISM',
  RESOURCE_NOT_FOUND: 'RESOURCE_NOT_FOUND',
  DUPLICATE_RESOURCE: 'DUPLICATE_RESOURCE',
  UNACCEPTABLE_CREDENTIAL: 'UNACCEPTABLE_CREDENTIAL',
  REASSIGNMENT_IN_PROGRESS: 'REASSIGNMENT_IN_PROGRESS',
  NO_REASSIGNMENT_IN_PROGRESS: 'NO_REASSIGNMENT_IN_PROGRESS',
  INVALID_REGISTRATION: 'INVALID_REGISTRATION',
} as const;
export type MetadataErrorCode = (typeof MetadataErrorCode)[keyof typeof MetadataErrorCode];

/** The Kafka wire error code of each MetadataErrorCode (Apache Kafka `Errors` enum). */
export const KAFKA_ERROR_NUMBERS: Readonly<Record<MetadataErrorCode, number>> = {
  UNKNOWN_SERVER_ERROR: -1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  BROKER_NOT_AVAILABLE: 8,
  COORDINATOR_NOT_AVAILABLE: 15,
  INVALID_TOPIC_EXCEPTION: 17,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  STALE_BROKER_EPOCH: 77,
  UNKNOWN_TOPIC_ID: 100,
  DUPLICATE_BROKER_REGISTRATION: 101,
  BROKER_ID_NOT_REGISTERED: 102,
  INCONSISTENT_TOPIC_ID: 103,
  INCONSISTENT_CLUSTER_ID: 104,
  INELIGIBLE_REPLICA: 107,
  UNSUPPORTED_SASL_MECHANISM: 33,
  RESOURCE_NOT_FOUND: 91,
  DUPLICATE_RESOURCE: 92,
  UNACCEPTABLE_CREDENTIAL: 93,
  REASSIGNMENT_IN_PROGRESS: 60,
  NO_REASSIGNMENT_IN_PROGRESS: 85,
  INVALID_REGISTRATION: 119,
};

export class MetadataError extends Error {
  override readonly name = 'MetadataError';
  /** The Kafka error name (Apache Kafka `Errors` enum spelling). */
  readonly code: MetadataErrorCode;
  /** The Kafka numeric error code for `code`. */
  readonly errorCode: number;

  constructor(code: MetadataErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errorCode = KAFKA_ERROR_NUMBERS[code];
  }
}

export function isMetadataError(e: unknown, code?: MetadataErrorCode): e is MetadataError {
  return e instanceof MetadataError && (code === undefined || e.code === code);
}
