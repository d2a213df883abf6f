export const HostErrorCode = {
  InvalidArgument: 'InvalidArgument',
  UnknownGroup: 'UnknownGroup',
  Timeout: 'Timeout',
  Overloaded: 'Overloaded',
  TooLarge: 'TooLarge',
  Closed: 'Closed',
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
