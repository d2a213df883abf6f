// Typed errors of the server program: one `as const` list of codes, an error class with `code` and `cause`.
export const ServerErrorCode = {
  INVALID_CONFIG: 'INVALID_CONFIG',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
  DATA_DIR_LOCKED: 'DATA_DIR_LOCKED',
  DATA_DIR_NODE_MISMATCH: 'DATA_DIR_NODE_MISMATCH',
  DATA_DIR_UNWRITABLE: 'DATA_DIR_UNWRITABLE',
  DATA_DIR_CORRUPT: 'DATA_DIR_CORRUPT',
  /** A cluster member whose Raft state was lost (wiped or replaced disk) tried to rejoin under its id. */
  NODE_STATE_LOST: 'NODE_STATE_LOST',
  /** This node was removed from the cluster (cluster/membership.ts): it stops. */
  NODE_REMOVED: 'NODE_REMOVED',
  /** A node started with --join was refused by the cluster (another cluster id, an id in use, ...). */
  JOIN_REFUSED: 'JOIN_REFUSED',
  /** A partition replica whose Raft data this node held is gone (its folder deleted or lost). */
  REPLICA_STATE_LOST: 'REPLICA_STATE_LOST',
  PORT_IN_USE: 'PORT_IN_USE',
  LISTEN_FAILED: 'LISTEN_FAILED',
  MALFORMED_FRAME: 'MALFORMED_FRAME',
  REQUEST_TOO_LARGE: 'REQUEST_TOO_LARGE',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

export class ServerError extends Error {
  readonly code: ServerErrorCode;
  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerError';
    this.code = code;
  }
}

export function isServerError(e: unknown, code?: ServerErrorCode): e is ServerError {
  return e instanceof ServerError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A failure to report to a Kafka client: `code` is a Kafka error name as Apache Kafka's `Errors`
 * spells it (e.g. 'NOT_LEADER_OR_FOLLOWER'); the handler turns it into the wire error code. Every
 * layer below the handlers fails with one of these.
 */
export class KafkaError extends Error {
  /** A Kafka error name, e.g. 'UNKNOWN_TOPIC_OR_PARTITION'. */
  readonly code: string;
  constructor(code: string, message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options);
    this.name = 'KafkaError';
    this.code = code;
  }
}

export function isKafkaError(e: unknown): e is KafkaError {
  return e instanceof KafkaError;
}
