// Failures of the layers below, mapped to Kafka error codes at the handler, in one place
// (docs/design/architecture.md, "Errors"): the broker's own KafkaError carries a Kafka error name;
// the codec's RecordsError and the metadata's MetadataError are mapped by their codes; anything
// else is a bug and answers UNKNOWN_SERVER_ERROR.
import type { RecordsErrorCode } from '@chronik/protocol';
import { ErrorCode, isRecordsError } from '@chronik/protocol';
import { isMetadataError } from '@chronik/metadata';
import { isKafkaError } from '../errors.js';

const codes = ErrorCode as Readonly<Record<string, number>>;

/** The wire code of a Kafka error name (UNKNOWN_SERVER_ERROR for a name the table lacks). */
export function kafkaCode(name: string): number {
  return codes[name] ?? ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The Kafka error a bad record batch is answered with. */
function recordsErrorCode(code: RecordsErrorCode): number {
  switch (code) {
    case 'UnsupportedMagic':
      return ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT;
    case 'UnsupportedCompression':
      return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
    case 'TooLarge':
      return ErrorCode.RECORD_LIST_TOO_LARGE;
    case 'Truncated':
    case 'InvalidVarint':
    case 'CorruptRecord':
    case 'CrcMismatch':
    case 'RecordCountMismatch':
      return ErrorCode.CORRUPT_MESSAGE;
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

/** The Kafka error code for any failure (UNKNOWN_SERVER_ERROR when it has no better one). */
export function errorCodeOf(e: unknown): number {
  if (isKafkaError(e)) return kafkaCode(e.code);
  if (isRecordsError(e)) return recordsErrorCode(e.code);
  if (isMetadataError(e)) return e.errorCode;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

export function errorMessageOf(e: unknown): string | null {
  return e instanceof Error ? e.message : null;
}
