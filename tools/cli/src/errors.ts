// Typed errors of the command-line tool: one `as const` list of codes, an error class carrying
// `code` and `cause`. A Kafka error code met on the wire becomes a `CliError` with code `KAFKA` and
// the error's name from @chronik/protocol's table, so every command prints it the same way:
//
//   chronik: UNKNOWN_TOPIC_OR_PARTITION: topic "nope": This server does not host this topic-partition.
//
// Exit codes (what `main` returns): 0 success, 1 a failure (a Kafka error, an unreachable broker, a
// time-out, an unhealthy node), 2 a bad command line (Kafka's tools exit 1 for both; 2 is the POSIX
// usage convention, which chronik-server follows too).
import { kafkaErrorInfo } from '@chronik/protocol';

export const CliErrorCode = {
  /** A bad command line: unknown option, missing argument, a value that does not parse. */
  USAGE: 'USAGE',
  /** A Kafka error code in a response (`kafkaName` says which). */
  KAFKA: 'KAFKA',
  /** No connection to a broker, or one that closed before answering. */
  CONNECTION: 'CONNECTION',
  /** A request or a wait that did not finish in time. */
  TIMEOUT: 'TIMEOUT',
  /** A response the codec could not decode, or one that breaks the protocol. */
  PROTOCOL: 'PROTOCOL',
  /** Chronik's admin HTTP API did not answer as expected. */
  ADMIN_API: 'ADMIN_API',
  /** The input to produce was not what the options say (e.g. no key separator on a line). */
  INPUT: 'INPUT',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  readonly code: CliErrorCode;
  /** The Kafka error's number, for `KAFKA` errors. */
  readonly kafkaCode: number | undefined;
  /** Whether trying again may succeed (Kafka's retriable errors, lost connections, time-outs). */
  readonly retriable: boolean;
  constructor(
    code: CliErrorCode,
    message: string,
    options: { cause?: unknown; kafkaCode?: number; retriable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.kafkaCode = options.kafkaCode;
    this.retriable = options.retriable ?? false;
  }

  /** The Kafka error's name (`UNKNOWN_TOPIC_OR_PARTITION`), or this error's code for other errors. */
  get kafkaName(): string {
    if (this.kafkaCode === undefined) return this.code;
    return kafkaErrorInfo(this.kafkaCode)?.name ?? `KAFKA_ERROR_${this.kafkaCode}`;
  }
}

export function isCliError(e: unknown, code?: CliErrorCode): e is CliError {
  return e instanceof CliError && (code === undefined || e.code === code);
}

/**
 * The error for a non-zero Kafka error code: `what` says what it is about (`topic "t"`), the
 * broker's own message wins over the table's default sentence.
 */
export function kafkaError(
  errorCode: number,
  what: string,
  brokerMessage?: string | null,
  options: { final?: boolean } = {},
): CliError {
  const info = kafkaErrorInfo(errorCode);
  const sentence =
    brokerMessage !== undefined && brokerMessage !== null && brokerMessage !== ''
      ? brokerMessage
      : (info?.message ?? 'Unknown error code.');
  return new CliError('KAFKA', `${what}: ${sentence}`, {
    kafkaCode: errorCode,
    retriable: options.final !== true && (info?.retriable ?? false),
  });
}

/** Throws the Kafka error for `errorCode` unless it is NONE (0). */
export function checkKafka(errorCode: number, what: string, brokerMessage?: string | null): void {
  if (errorCode !== 0) throw kafkaError(errorCode, what, brokerMessage);
}

/**
 * As checkKafka, for the answer of an administrative request about a named topic or group: a
 * missing topic is final there (UNKNOWN_TOPIC_OR_PARTITION is retriable for a producer waiting for
 * a topic being created, not for a delete), as in Kafka's admin client.
 */
export function checkAdmin(errorCode: number, what: string, brokerMessage?: string | null): void {
  if (errorCode !== 0)
    throw kafkaError(errorCode, what, brokerMessage, {
      final: errorCode === 3 /* UNKNOWN_TOPIC_OR_PARTITION */,
    });
}

export function usage(message: string): CliError {
  return new CliError('USAGE', message);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The one line a failed command prints on stderr. */
export function describeError(e: unknown): string {
  if (e instanceof CliError) return `${e.kafkaName}: ${e.message}`;
  return `UNEXPECTED: ${errorMessage(e)}`;
}
