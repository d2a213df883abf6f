// Typed errors of the benchmark tool: one code list, an error class with `code` and `cause`.

export const BenchErrorCodes = [
  /** A command-line argument is unknown or has a bad value. */
  'BadArgument',
  /** A process the benchmark starts (broker, kcat, Go program, dd, fio) failed or exited early. */
  'ProcessFailed',
  /** Something did not happen within its time limit. */
  'Timeout',
  /** A broker answered with a Kafka error or something unexpected. */
  'BrokerError',
  /** A connection closed or failed. */
  'ConnectionFailed',
] as const;

export type BenchErrorCode = (typeof BenchErrorCodes)[number];

export class BenchError extends Error {
  readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
    this.code = code;
  }
}

export function isBenchError(e: unknown): e is BenchError {
  return e instanceof BenchError;
}

/** The message of any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
