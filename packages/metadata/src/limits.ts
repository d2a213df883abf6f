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
  /** Characters of a request id (the id a proposer gives a command so that a retry is recognized). */
  maxRequestIdLength: 64,
  /**
   * Request ids whose outcome the state machine remembers (the most recent ones, in log order): a
   * retry of an older request is applied again. Part of the snapshot.
   */
  maxRememberedRequests: 10_000,
  /** Kafka listeners one broker registers. */
  maxListenersPerBroker: 16,
  /** Characters of a listener name. */
  maxListenerNameLength: 249,
  /** SCRAM credentials stored (users × mechanisms). */
  maxScramCredentials: 100_000,
  /** Characters of a SCRAM user name. */
  maxScramUserLength: 1024,
  /** SCRAM iteration counts accepted (Kafka: at least 4096, at most 16384). */
  minScramIterations: 4096,
  maxScramIterations: 16384,
  /** Bytes of a SCRAM salt. */
  maxScramSaltBytes: 1024,
  /** Credential changes in one alterScramCredentials command. */
  maxScramAlterations: 10_000,
  /** Client quota entities stored. */
  maxClientQuotaEntities: 100_000,
  /** Entities changed by one alterClientQuotas command. */
  maxClientQuotaAlterations: 10_000,
  /** ACLs stored. */
  maxAcls: 100_000,
  /** Bindings of one createAcls, filters of one deleteAcls. */
  maxAclChanges: 10_000,
} as const;
