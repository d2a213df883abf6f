// The cluster as the Kafka handlers see it. Standalone injects LocalCluster (one node, storage on
// this disk); the raft-cluster mode injects a Raft-backed implementation. Handlers never ask which.
//
// Errors: every failure is a KafkaError (src/errors.ts) whose `code` is a Kafka error name (Apache Kafka `Errors`
// spelling, e.g. 'NOT_LEADER_OR_FOLLOWER'); the handler turns it into the wire error code.
// Offsets and timestamps are bigint (Kafka int64).

import type { KafkaError } from '../errors.js';

export type IsolationLevel = 0 | 1; // 0 read_uncommitted, 1 read_committed
export type Acks = -1 | 0 | 1;

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionView {
  partition: number;
  /** -1 while no leader is known. */
  leaderId: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  offlineReplicas: readonly number[];
}

export interface TopicView {
  name: string;
  /** UUID, lower-case 8-4-4-4-12. */
  topicId: string;
  internal: boolean;
  partitions: readonly PartitionView[];
  /** Topic config overrides. */
  configs: Readonly<Record<string, string>>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface AppendResult {
  baseOffset: bigint;
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
}

export interface ReadRequest extends TopicPartition {
  fetchOffset: bigint;
  /** Byte budget for this partition (the first batch is returned whole even when larger). */
  maxBytes: number;
  isolationLevel: IsolationLevel;
  /** -1 when the client did not send one. */
  currentLeaderEpoch: number;
}

export interface ReadResult {
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  /** Whole record batches as stored, ready to be written to the socket. */
  chunks: readonly Buffer[];
  bytes: number;
  /** Leader epoch of the partition when read. */
  leaderEpoch: number;
}

export interface ListOffsetResult {
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

/** Special timestamps of ListOffsets. */
export const ListOffsetsTimestamp = {
  LATEST: -1n,
  EARLIEST: -2n,
  MAX_TIMESTAMP: -3n,
  EARLIEST_LOCAL: -4n,
  LATEST_TIERED: -5n,
} as const;

export interface ProducerStateView {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  coordinatorEpoch: number;
  currentTxnStartOffset: bigint;
}

export interface CreateTopicSpec {
  name: string;
  /** -1: the broker default. */
  numPartitions: number;
  /** -1: the broker default. */
  replicationFactor: number;
  /** Explicit replica assignment (partition i at index i), or empty. */
  assignments: ReadonlyArray<readonly number[]>;
  configs: ReadonlyArray<{ name: string; value: string | null }>;
}

export interface ConfigEntryView {
  name: string;
  value: string | null;
  readOnly: boolean;
  /** DescribeConfigs config_source. */
  source: number;
  isDefault: boolean;
  isSensitive: boolean;
  /** KIP-554 config_type. */
  configType: number;
  documentation: string | null;
  synonyms: ReadonlyArray<{ name: string; value: string | null; source: number }>;
}

export interface CreateTopicOutcome {
  name: string;
  error: KafkaError | null;
  topicId: string;
  numPartitions: number;
  replicationFactor: number;
  configs: readonly ConfigEntryView[];
}

export interface DeleteTopicOutcome {
  name: string | null;
  topicId: string;
  error: KafkaError | null;
}

export interface CreatePartitionsSpec {
  name: string;
  count: number;
  assignments: ReadonlyArray<readonly number[]> | null;
}

/** ConfigResource types of the wire protocol. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export interface ConfigAlterationSpec {
  name: string;
  /** 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT. */
  op: number;
  value: string | null;
}

export interface LogDirView {
  path: string;
  partitions: ReadonlyArray<{ topic: string; partition: number; sizeBytes: number; offsetLag: bigint }>;
  totalBytes: bigint;
  usableBytes: bigint;
}

export interface ClusterStatus {
  nodeId: number;
  mode: 'standalone' | 'raft-cluster';
  clusterId: string;
  controllerId: number;
  brokers: readonly BrokerEndpoint[];
  metadataGroup: {
    leaderId: number;
    term: number;
    commitIndex: number;
    appliedIndex: number;
    voters: readonly number[];
  };
}

export interface PartitionStatus {
  topic: string;
  partition: number;
  role: 'leader' | 'follower';
  leader: number;
  leaderEpoch: number;
  highWatermark: bigint;
  logEndOffset: bigint;
  logStartOffset: bigint;
  replicas: readonly number[];
  isr: readonly number[];
}

export interface Cluster {
  readonly nodeId: number;

  // --- membership and metadata (answered from local applied state) ---
  clusterId(): string;
  controllerId(): number;
  brokers(): readonly BrokerEndpoint[];
  topics(): readonly TopicView[];
  topic(name: string): TopicView | undefined;
  topicById(topicId: string): TopicView | undefined;
  /** Creates missing topics with the broker defaults when auto-creation is enabled; resolves with per-name errors. */
  autoCreateTopics(names: readonly string[]): Promise<Map<string, KafkaError | null>>;
  autoCreateEnabled(): boolean;

  // --- data path ---
  /** Appends record batches to a partition led here. Resolves when as durable as `acks` promises. */
  append(tp: TopicPartition, records: Buffer, acks: Acks, timeoutMs: number): Promise<AppendResult>;
  /** Reads up to maxBytes of whole batches from fetchOffset (never beyond the high watermark / LSO). */
  read(req: ReadRequest): Promise<ReadResult>;
  /** Calls `onData` (at most once) when any of the partitions gets new readable data; returns a cancel. */
  watch(tps: readonly TopicPartition[], onData: () => void): () => void;
  listOffset(
    tp: TopicPartition,
    timestamp: bigint,
    isolationLevel: IsolationLevel,
    currentLeaderEpoch: number,
  ): Promise<ListOffsetResult>;
  /** Moves the log start offset forward; offset -1 means the high watermark. Resolves with the new low watermark. */
  deleteRecords(tp: TopicPartition, offset: bigint, timeoutMs: number): Promise<bigint>;
  offsetForLeaderEpoch(
    tp: TopicPartition,
    leaderEpoch: number,
    currentLeaderEpoch: number,
  ): Promise<{ leaderEpoch: number; endOffset: bigint }>;
  describeProducers(tp: TopicPartition): readonly ProducerStateView[];
  logDirs(): readonly LogDirView[];

  // --- metadata proposals ---
  createTopics(specs: readonly CreateTopicSpec[], validateOnly: boolean): Promise<CreateTopicOutcome[]>;
  deleteTopics(
    refs: ReadonlyArray<{ name: string | null; topicId: string | null }>,
  ): Promise<DeleteTopicOutcome[]>;
  createPartitions(
    specs: readonly CreatePartitionsSpec[],
    validateOnly: boolean,
  ): Promise<Array<{ name: string; error: KafkaError | null }>>;
  describeConfigs(
    resourceType: number,
    resourceName: string,
    keys: readonly string[] | null,
    includeSynonyms: boolean,
    includeDocumentation: boolean,
  ): ConfigEntryView[];
  alterConfigs(
    resourceType: number,
    resourceName: string,
    alterations: readonly ConfigAlterationSpec[],
    replace: boolean,
    validateOnly: boolean,
  ): Promise<void>;

  // --- producers and coordinators ---
  /** A new producer id (idempotent producers), or a bumped epoch when producerId/epoch are given. */
  initProducerId(req: {
    transactionalId: string | null;
    transactionTimeoutMs: number;
    producerId: bigint;
    producerEpoch: number;
  }): Promise<{ producerId: bigint; producerEpoch: number }>;
  /** keyType 0 = group, 1 = transaction. The broker that coordinates `key`. */
  findCoordinator(keyType: number, key: string): Promise<BrokerEndpoint>;

  // --- operations ---
  status(): ClusterStatus;
  partitionStatuses(): PartitionStatus[];
  /** Syncs storage and releases it. */
  close(): Promise<void>;
}
