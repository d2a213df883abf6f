/**
 * Hard limits of the metadata state. They are part of the replicated format: every node must use
 * the same values, so they are constants, not options.
 */
export const METADATA_LIMITS = {
  /** Largest encoded command accepted, in bytes. */
  maxCommandBytes: 16 * 1024 * 1024,
  /** Registered brokers. */
  maxBrokers: 1000,
  /** Partitions of one topic. */
  maxPartitionsPerTopic: 100_000,
  /** Partitions of all topics together. */
  maxTotalPartitions: 1_000_000,
  /** Replicas of one partition (Kafka's replication factor is an int16). */
  maxReplicationFactor: 32767,
  /** Characters of host, rack, Raft address, incarnation and cluster id. */
  maxStringLength: 1024,
  /** Alterations in one config command. */
  maxConfigAlterations: 256,
  /** Producer ids in one allocated block. */
  maxProducerIdBlock: 1_000_000,
  /** Largest broker id / partition index (int32). */
  maxInt32: 2147483647,
} as const;
