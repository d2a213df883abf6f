// Typed errors of the chaos tool: one code list, an error class with `code` and `cause`.

export const ChaosErrorCodes = [
  /** A command-line argument is unknown or has a bad value. */
  'BadArgument',
  /** A process the harness starts (chronik-server, kcat) failed or exited early. */
  'ProcessFailed',
  /** Something did not happen within its time limit (cluster formation, convergence, a final read). */
  'Timeout',
  /** The cluster answered something the harness cannot interpret. */
  'BadResponse',
] as const;

export type ChaosErrorCode = (typeof ChaosErrorCodes)[number];

export class ChaosError extends Error {
  readonly code: ChaosErrorCode;

  constructor(code: ChaosErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChaosError';
    this.code = code;
  }
}

/** The message of any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
