// Typed errors of the server program: one `as const` list of codes, an error class with `code` and `cause`.
export const ServerErrorCode = {
  INVALID_CONFIG: 'INVALID_CONFIG',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
  DATA_DIR_LOCKED: 'DATA_DIR_LOCKED',
  DATA_DIR_NODE_MISMATCH: 'DATA_DIR_NODE_MISMATCH',
  DATA_DIR_UNWRITABLE: 'DATA_DIR_UNWRITABLE',
  DATA_DIR_CORRUPT: 'DATA_DIR_CORRUPT',
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
