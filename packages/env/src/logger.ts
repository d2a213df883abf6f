// Logging, as the libraries take it: message first, then structured fields. A library never writes
// to the console; it logs through the injected Logger, silent by default. (chronik-server's own
// logger is pino's shape, fields first, with `child`; it adapts itself to this one where it hands a
// logger to a library. `@chronik/raft` declares the same shape itself, since the Raft core depends
// on nothing.)

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
