// Typed errors of the wire codec (framing, headers, generated messages). Bad input never produces any
// other exception: the caller maps a ProtocolError to a Kafka error code or closes one connection.

export const ProtocolErrorCodes = [
  /** The input ends before a field it announces (a length, a string, an array, a struct) is complete. */
  'Truncated',
  /** A varint longer than 5 bytes or beyond 32 bits (compact lengths, tagged-field headers). */
  'InvalidVarint',
  /** A value that the field cannot hold: a null where the version is not nullable, a bad UUID, an out-of-range integer. */
  'InvalidValue',
  /** A frame length above the configured maximum request size. */
  'FrameTooLarge',
  /** A negative frame length. */
  'InvalidFrameLength',
  /** An API key that the codec does not know. */
  'UnknownApiKey',
  /** A version outside the API's valid versions (answer UNSUPPORTED_VERSION). */
  'UnsupportedVersion',
  /** A non-ignorable field set to a non-default value in a version that cannot carry it. */
  'UnsupportedField',
] as const;

export type ProtocolErrorCode = (typeof ProtocolErrorCodes)[number];

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `e` is a ProtocolError (optionally with the given code). */
export function isProtocolError(e: unknown, code?: ProtocolErrorCode): e is ProtocolError {
  return e instanceof ProtocolError && (code === undefined || e.code === code);
}
