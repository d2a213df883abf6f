// Public entry point of @chronik/cli: the program's main, and the Kafka client it is built on.
export { VERSION, main } from './main.js';
export type { Io, OutStream } from './io.js';
export { processIo } from './io.js';
export type { CliErrorCode } from './errors.js';
export { CliError, ExitCode, isCliError } from './errors.js';
export type {
  BrokerInfo,
  ClientOptions,
  ClusterMetadata,
  PartitionInfo,
  TopicInfo,
} from './client/client.js';
export { DEFAULT_CLIENT_OPTIONS, KafkaClient } from './client/client.js';
export { BrokerConnection } from './client/connection.js';
export { CLIENT_VERSIONS, chooseVersion } from './client/versions.js';
export { murmur2, partitionForKey } from './client/producer.js';
export { rangeAssign } from './client/consumer-protocol.js';
