/** Every failure the Raft core reports is a RaftError with one of these codes. */
export const RaftErrorCode = {
  /** The requested index is below the storage's first index: it was compacted into a snapshot. */
  Compacted: 'Compacted',
  /** The requested index is above the storage's last index. */
  Unavailable: 'Unavailable',
  /** The storage cannot produce a snapshot right now; the leader retries later. */
  SnapshotTemporarilyUnavailable: 'SnapshotTemporarilyUnavailable',
  /** A snapshot older than the storage's current one was offered. */
  SnapshotOutOfDate: 'SnapshotOutOfDate',
  /** A proposal reached a node that is not the leader. `leaderId` carries the known leader (0 if none). */
  NotLeader: 'NotLeader',
  /** A proposal was dropped (leadership transfer in progress, uncommitted-size limit, pending conf change). */
  ProposalDropped: 'ProposalDropped',
  /** The node was removed from the configuration or the message was for another node. */
  InvalidMessage: 'InvalidMessage',
  /** An invariant of the algorithm or of the caller's contract was broken. */
  InvariantViolated: 'InvariantViolated',
  /** A configuration value is out of range. */
  InvalidConfig: 'InvalidConfig',
} as const;
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

export class RaftError extends Error {
  override readonly name = 'RaftError';
  readonly code: RaftErrorCode;
  /** For NotLeader: the leader this node knows of, or 0. */
  readonly leaderId: number;

  constructor(code: RaftErrorCode, message: string, options: { cause?: unknown; leaderId?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.leaderId = options.leaderId ?? 0;
  }
}

export function isRaftError(e: unknown, code?: RaftErrorCode): e is RaftError {
  return e instanceof RaftError && (code === undefined || e.code === code);
}
