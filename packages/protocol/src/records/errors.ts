// Typed errors for varints, record batches and compression. Every failure on bad input in this area
// is a RecordsError with one of these codes; callers map it to a Kafka error (CORRUPT_MESSAGE,
// UNSUPPORTED_FOR_MESSAGE_FORMAT, UNSUPPORTED_COMPRESSION_TYPE, MESSAGE_TOO_LARGE...) at the handler.

export const RecordsErrorCodes = [
  /** The input ends before a field it announces (a length, a varint, a header) is complete. */
  'Truncated',
  /** A varint longer than its type allows (more than 5 bytes for 32 bits, 10 for 64), or out of range. */
  'InvalidVarint',
  /** A record batch or record whose lengths or fields are inconsistent. */
  'CorruptRecord',
  /** The stored CRC-32C does not match the bytes it covers. */
  'CrcMismatch',
  /** A magic byte other than 2 (legacy message sets, magic 0 and 1, land here). */
  'UnsupportedMagic',
  /** A compression codec id this build does not know (5, 6, 7), or a codec failure. */
  'UnsupportedCompression',
  /** The batch header's record count does not match the records it carries. */
  'RecordCountMismatch',
  /** A size above a configured limit (batch size, decompressed size, record count). */
  'TooLarge',
] as const;

export type RecordsErrorCode = (typeof RecordsErrorCodes)[number];

export class RecordsError extends Error {
  override readonly name = 'RecordsError';
  readonly code: RecordsErrorCode;

  constructor(code: RecordsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `e` is a RecordsError (optionally with the given code). */
export function isRecordsError(e: unknown, code?: RecordsErrorCode): e is RecordsError {
  return e instanceof RecordsError && (code === undefined || e.code === code);
}
