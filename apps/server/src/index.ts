// Public entry point of @chronik/server: the program and its building blocks — a Broker in one of
// two modes, with the infrastructure it runs on injectable (for tests and embedding). Storage,
// partitions and services are internals.
export { main } from './main.js';
export { Broker } from './broker.js';
export type { BrokerDeps, BrokerMode, BrokerServices, ModeContext } from './broker.js';
export { standaloneMode, MAX_BATCH_BYTES } from './modes/standalone.js';
export type { StandaloneOptions } from './modes/standalone.js';
export {
  raftClusterMode,
  RAFT_TICK_MS,
  METADATA_ELECTION_TICKS,
  PARTITION_ELECTION_TICKS,
} from './modes/raft-cluster.js';
export type { ClusterTransport, RaftClusterModeOptions, TransportFactory } from './modes/raft-cluster.js';
export type { ClusterStatus } from './modes/compose.js';
export { METADATA_GROUP_ID, partitionGroupId } from './cluster/group-ids.js';
export { parseCommandLine, parseHostPort, parsePeers } from './cli.js';
export type { CommandLineResult } from './cli.js';
export {
  DEFAULT_BROKER,
  DEFAULT_CLIENT_QUOTAS,
  DEFAULT_CONFIG,
  DEFAULT_LIMITS,
  validateConfig,
} from './config.js';
export type {
  BrokerDefaults,
  ClientQuotaConfig,
  NetworkLimits,
  RaftClusterOptions,
  ServerConfig,
  ServerMode,
} from './config.js';
export { KafkaError, ServerError, ServerErrorCode, isKafkaError, isServerError } from './errors.js';
export { createLogger, silentLogger, LOG_LEVELS } from './logger.js';
export type { Logger, LogLevel } from './logger.js';
// The environment seam (@chronik/env), as the modes take it.
export { ManualScheduler, realEnv, systemClock, systemRandom, systemScheduler } from '@chronik/env';
export type { Clock, Env, Random, Scheduler, TimerHandle } from '@chronik/env';
export type { ClockedTimers, EnvOptions, ModeEnv } from './infra.js';
export { defineHandler } from './handlers/types.js';
export type {
  AnyHandler,
  Handler,
  HandlerDeps,
  RequestContext,
  ServiceName,
  Services,
} from './handlers/types.js';
