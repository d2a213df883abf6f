// Failures of the layers below as wire error codes: the name error-map.ts gives each failure (the
// one table of every package's error codes), and its number.
import { ErrorCode } from '@chronik/protocol';
import { kafkaErrorName } from '../error-map.js';

const codes = ErrorCode as Readonly<Record<string, number>>;

/** The wire code of a Kafka error name (UNKNOWN_SERVER_ERROR for a name the table lacks). */
export function kafkaCode(name: string): number {
  return codes[name] ?? ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The Kafka error code for any failure (error-map.ts; UNKNOWN_SERVER_ERROR when it has no better one). */
export function errorCodeOf(e: unknown): number {
  return kafkaCode(kafkaErrorName(e));
}

export function errorMessageOf(e: unknown): string | null {
  return e instanceof Error ? e.message : null;
}
