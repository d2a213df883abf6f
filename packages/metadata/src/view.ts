import type { BrokerInfo, NodeDrain, PartitionInfo, TopicInfo } from './types.js';

/**
 * The read-only queries of the metadata state (at its applied index). The MetadataStateMachine
 * implements it; the `prepare*` functions take it, so a proposer validates against its own view.
 */
export interface MetadataView {
  /** Index of the last applied log entry (0 before any). */
  readonly appliedIndex: number;
  /** The cluster id, or null until an initCluster command was applied. */
  clusterId(): string | null;
  /** Registered brokers, sorted by id. */
  brokers(): readonly BrokerInfo[];
  /** Registered and unfenced brokers, sorted by id. */
  liveBrokers(): readonly BrokerInfo[];
  /** Nodes being decommissioned (they take no new replicas). */
  drains(): readonly NodeDrain[];
  broker(brokerId: number): BrokerInfo | undefined;
  /** All topics, sorted by name. */
  topics(): readonly TopicInfo[];
  topic(name: string): TopicInfo | undefined;
  topicById(topicId: string): TopicInfo | undefined;
  partition(name: string, partition: number): PartitionInfo | undefined;
  /** The existing topic whose name collides with `name` ('.' vs '_'), excluding `name` itself. */
  collidingTopic(name: string): string | undefined;
  /** Partitions of all topics together. */
  totalPartitionCount(): number;
  /** Dynamic broker config overrides for one broker, or (null) the cluster-wide defaults. */
  brokerConfigOverrides(brokerId: number | null): Readonly<Record<string, string>>;
  /** The first producer id the next allocated block will start at. */
  nextProducerId(): number;
}
