export const HostErrorCode = {
  InvalidArgument: 'InvalidArgument',
  UnknownGroup: 'UnknownGroup',
  Timeout: 'Timeout',
  Overloaded: 'Overloaded',
  TooLarge: 'TooLarge',
  Closed: 'Closed',
  /** Another node could not be reached (a forwarded proposal). */
  Unreachable: 'Unreachable',
  /**
   * The group (or the whole host) stopped: the Raft core broke an invariant, the state machine could
   * not follow the log, or storage failed. It takes no more work until the process restarts.
   */
  Stopped: 'Stopped',
} as const;
export type HostErrorCode = (typeof HostErrorCode)[keyof typeof HostErrorCode];

export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    readonly code: HostErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
