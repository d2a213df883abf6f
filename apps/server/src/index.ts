// Public entry point of @chronik/server (the program's building blocks, for tests and embedding).
export { main } from './main.js';
export { Broker } from './broker.js';
export type { BrokerDeps, BrokerServices, ServicesFactory } from './broker.js';
export { parseCommandLine, parseHostPort, parsePeers } from './cli.js';
export type { CommandLineResult } from './cli.js';
export { DEFAULT_BROKER, DEFAULT_CONFIG, DEFAULT_LIMITS, validateConfig } from './config.js';
export type {
  BrokerDefaults,
  NetworkLimits,
  RaftClusterOptions,
  ServerConfig,
  ServerMode,
} from './config.js';
export { openDataDir, writeFileAtomic, fsyncDir, LOCK_FILE, META_FILE } from './datadir.js';
export type { DataDirHandle, DataDirMeta } from './datadir.js';
export { ServerError, ServerErrorCode, isServerError } from './errors.js';
export { createLogger, silentLogger, LOG_LEVELS } from './logger.js';
export type { Logger, LogLevel } from './logger.js';
export { ServerMetrics } from './metrics.js';
export { KafkaListener } from './net/server.js';
export { Connection, InFlightBudget } from './net/connection.js';
export type { ConnectionInfo, FrameDispatcher, ResponseBody } from './net/connection.js';
export { FrameDecoder } from './net/frame.js';
export { AdminListener } from './admin/http.js';
