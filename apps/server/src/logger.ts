// Logging: an interface the building blocks take (default silent), and the pino logger main() injects.
// The libraries (@chronik/raft, wal, raft-host, metadata) take @chronik/env's Logger (message first);
// `libraryLogger` adapts this one to it.
import type { Logger as LibraryLogger } from '@chronik/env';
import { pino } from 'pino';

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

/** `l` as a library's logger (message first); `bindings` are added to every line's fields. */
export function libraryLogger(l: Logger, bindings?: Record<string, unknown>): LibraryLogger {
  const fields =
    bindings === undefined
      ? (f: Record<string, unknown> | undefined): object => f ?? {}
      : (f: Record<string, unknown> | undefined): object => ({ ...f, ...bindings });
  return {
    debug: (m, f) => l.debug(fields(f), m),
    info: (m, f) => l.info(fields(f), m),
    warn: (m, f) => l.warn(fields(f), m),
    error: (m, f) => l.error(fields(f), m),
  };
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A JSON logger on stdout (pino). `destination` is for tests. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: 'chronik-server' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
