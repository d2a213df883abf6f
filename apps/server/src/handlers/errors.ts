// Failures of the layers below, mapped to Kafka error codes at the handler (DESIGN.md "Errors").

import { ErrorCode, isRecordsError } from '../protocol.js';
import { isKafkaError } from '../errors.js';

const codes = ErrorCode as Readonly<Record<string, number>>;

export function kafkaCode(name: string): number {
  return codes[name] ?? ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The Kafka error code for any failure (UNKNOWN_SERVER_ERROR when it has no better one). */
export function errorCodeOf(e: unknown): number {
  if (isKafkaError(e)) return kafkaCode(e.code);
  if (isRecordsError(e)) {
    switch (e.code) {
      case 'UnsupportedMagic':
        return ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT;
      case 'UnsupportedCompression':
        return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
      case 'TooLarge':
        return ErrorCode.RECORD_LIST_TOO_LARGE;
      default:
        return ErrorCode.CORRUPT_MESSAGE;
    }
  }
  // Errors carrying a Kafka error name and number (e.g. @chronik/metadata's MetadataError).
  if (e instanceof Error && typeof (e as { errorCode?: unknown }).errorCode === 'number') {
    return (e as unknown as { errorCode: number }).errorCode;
  }
  const name = e instanceof Error ? (e as unknown as { code?: unknown }).code : undefined;
  if (typeof name === 'string' && name in codes) return kafkaCode(name);
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

export function errorMessageOf(e: unknown): string | null {
  return e instanceof Error ? e.message : null;
}
