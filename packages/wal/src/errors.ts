/** Every failure @chronik/wal reports is a WalError with one of these codes. */
export const WalErrorCode = {
  /** A bad record or segment where a torn write cannot explain it (bit flip, cut middle segment, gap). */
  Corruption: 'Corruption',
  /** An argument is out of range (index gap, truncation below the first index, bad option). */
  InvalidArgument: 'InvalidArgument',
  /** The requested index is below the log's first index (removed by prefix truncation). */
  Compacted: 'Compacted',
  /** The requested index is above the last index that can be read. */
  Unavailable: 'Unavailable',
  /** A record is larger than maxRecordBytes. */
  RecordTooLarge: 'RecordTooLarge',
  /** A limit on pending bytes, pending appends or sync waiters was reached: back off and retry. */
  Overloaded: 'Overloaded',
  /** The log (or committer) was closed. */
  Closed: 'Closed',
  /** A file system operation failed; the log refuses further writes (fail-stop). */
  Io: 'Io',
} as const;
export type WalErrorCode = (typeof WalErrorCode)[keyof typeof WalErrorCode];

export interface WalErrorDetails {
  /** The file the error is about, when there is one. */
  readonly file?: string;
  /** Byte position inside `file`. */
  readonly position?: number;
  readonly cause?: unknown;
}

export class WalError extends Error {
  override readonly name = 'WalError';
  readonly code: WalErrorCode;
  readonly file: string | undefined;
  readonly position: number | undefined;

  constructor(code: WalErrorCode, message: string, details: WalErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.file = details.file;
    this.position = details.position;
  }
}

export function isWalError(e: unknown, code?: WalErrorCode): e is WalError {
  return e instanceof WalError && (code === undefined || e.code === code);
}
