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
export { KafkaError, ServerError, ServerErrorCode, isKafkaError, isServerError } from './errors.js';
export { createLogger, silentLogger, LOG_LEVELS } from './logger.js';
export type { Logger, LogLevel } from './logger.js';
export { ServerMetrics } from './metrics.js';
export { KafkaListener } from './net/server.js';
export { Connection, InFlightBudget } from './net/connection.js';
export type { ConnectionInfo, FrameDispatcher, ResponseBody } from './net/connection.js';
export { FrameDecoder } from './net/frame.js';
export { AdminListener } from './admin/http.js';
export { ListOffsetsTimestamp, ConfigResourceType } from './cluster/cluster.js';
export type {
  Acks,
  AppendResult,
  BrokerEndpoint,
  Cluster,
  ClusterStatus,
  ConfigAlterationSpec,
  ConfigEntryView,
  CreatePartitionsSpec,
  CreateTopicOutcome,
  CreateTopicSpec,
  DeleteTopicOutcome,
  IsolationLevel,
  ListOffsetResult,
  LogDirView,
  PartitionStatus,
  PartitionView,
  ProducerStateView,
  ReadRequest,
  ReadResult,
  TopicPartition,
  TopicView,
} from './cluster/cluster.js';
export { LocalCluster } from './cluster/local-cluster.js';
export type { LocalClusterOptions } from './cluster/local-cluster.js';
export { standaloneServices, createStandaloneServices, MAX_BATCH_BYTES } from './services.js';
export type { StandaloneOptions, GroupsFactory } from './services.js';
export { KafkaDispatcher, buildHandlerTable } from './handlers/dispatcher.js';
export { CORE_HANDLERS, createHandlerTable } from './handlers/table.js';
export { defineHandler } from './handlers/types.js';
export type { AnyHandler, Handler, HandlerDeps, HandlerTable, RequestContext } from './handlers/types.js';
export { errorCodeOf } from './handlers/errors.js';
export { PartitionLog } from './storage/partition-log.js';
export type { PartitionLogConfig } from './storage/partition-log.js';
export { MemoryEntryLog, MemoryEntryLogFactory } from './storage/entry-log.js';
export type { EntryLog, EntryLogFactory } from './storage/entry-log.js';
export { WalEntryLogFactory } from './storage/wal-entry-log.js';
export { BatchCache } from './storage/batch-cache.js';
export { BatchIndex } from './storage/batch-index.js';
export type { BatchMeta } from './storage/batch-index.js';
export { ProducerStateTable } from './storage/producer-state.js';
