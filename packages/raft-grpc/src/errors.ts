export const TransportErrorCode = {
  /** A message or chunk that does not decode into a valid Raft message. */
  InvalidMessage: 'InvalidMessage',
  /** No address is known for the destination node. */
  UnknownPeer: 'UnknownPeer',
  /** The per-peer send queue is full: the message was dropped (Raft retransmits). */
  QueueFull: 'QueueFull',
  /** A snapshot transfer failed or was refused. */
  SnapshotFailed: 'SnapshotFailed',
  /** The transport is closed. */
  Closed: 'Closed',
  /** A call to a peer failed (down, unreachable, deadline). */
  Unreachable: 'Unreachable',
  /** Binding the listener failed. */
  Listen: 'Listen',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
