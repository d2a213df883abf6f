// The server's configuration: one validated object built from the command line / environment.
import type { AdminSecurityConfig } from './security/admin.js';
import { ServerError, ServerErrorCode } from './errors.js';
import type { LogLevel } from './logger.js';
import { LOG_LEVELS } from './logger.js';
import type { SecurityConfig } from './security/config.js';
import { securityProblem } from './security/config.js';

/** `group.consumer.migration.policy` values (the group coordinator's MigrationPolicy). */
export const GROUP_MIGRATION_POLICIES = ['disabled', 'upgrade', 'downgrade', 'bidirectional'] as const;
export type GroupMigrationPolicy = (typeof GROUP_MIGRATION_POLICIES)[number];

/** Limits of the network layer. Every queue and buffer has one. */
export interface NetworkLimits {
  /** A request frame larger than this closes the connection (Kafka's socket.request.max.bytes). */
  maxRequestBytes: number;
  /** Requests being processed or waiting for their turn to be answered, per connection. */
  maxInFlightRequestsPerConnection: number;
  /**
   * Bytes one connection holds — received request bytes (partial and whole frames) plus unsent
   * response bytes — before its socket is paused. A single frame larger than this may still be
   * read when the connection holds nothing else.
   */
  maxBufferedBytesPerConnection: number;
  /**
   * Unsent response bytes (written to the socket but not yet taken by the client, or finished and
   * waiting for an earlier response) per connection beyond which no new request of that connection
   * is read or started (Kafka mutes a connection while its response is unsent). A client that does
   * not read stalls only itself.
   */
  maxUnsentResponseBytesPerConnection: number;
  /**
   * Request bytes received and not yet answered over all connections before every socket is paused.
   * Counted as bytes arrive (not reserved from a size prefix); one connection at a time may exceed
   * it to finish the frame it is receiving, so frames that started can always finish.
   */
  maxGlobalInFlightBytes: number;
  /**
   * The same over the connections of one remote address (IP), so one host cannot take the whole
   * global budget; one of its connections at a time may exceed it to finish a frame.
   */
  maxInFlightBytesPerAddress: number;
  /**
   * A request frame whose size prefix arrived must be complete within this long (time the broker
   * itself does not read — back-pressure — does not count), else the connection is closed. 0 = off.
   */
  requestFrameTimeoutMs: number;
  /**
   * Time spent starting requests (their synchronous part) in one turn of the event loop before
   * connections take turns, least used first (`net/gate.ts`). 0 = no turns: every request starts
   * at once.
   */
  requestTurnBudgetMs: number;
  /** A connection with nothing in flight and no traffic for this long is closed. 0 = never. */
  idleTimeoutMs: number;
  /** Open connections; beyond it new ones are closed at once. */
  maxConnections: number;
  /**
   * Descriptors kept open for data files (--max-open-data-files): every partition's log and state
   * files go through one pool of descriptors, the least recently used idle ones closed and reopened
   * when needed (docs/design/file-handles.md). Less when the open-file limit leaves less
   * (modes/compose.ts `descriptorBudget`).
   */
  maxOpenDataFiles: number;
  /**
   * Connections closed for what a client sent (malformed frames, requests that do not decode,
   * frames not complete in time) are logged at most once per remote address in this interval, at
   * info; the others at debug. Every one is counted in the metrics. 0 = log every one at info.
   */
  clientErrorLogIntervalMs: number;
}

/** Broker-wide defaults of topics and the log (Kafka's broker configs of the same names). */
export interface BrokerDefaults {
  autoCreateTopicsEnable: boolean;
  numPartitions: number;
  /** `default.replication.factor`: replicas of auto-created topics and of CreateTopics with -1. */
  defaultReplicationFactor: number;
  /**
   * Whether `defaultReplicationFactor` was given explicitly (flag or environment). When it was not,
   * the raft-cluster mode uses min(3, live brokers) instead; standalone always uses the value.
   */
  defaultReplicationFactorExplicit: boolean;
  /** Flush (fsync) once this many messages are unflushed; 1 = every write. Undefined = only by time/acks. */
  logFlushIntervalMessages: number | undefined;
  /** Flush at least this often (ms) for data written with acks<all. */
  logFlushIntervalMs: number;
  /**
   * A partition with this many unflushed bytes starts an fsync in the background (acks<all
   * produces do not wait for it); 0 = only by time/count. Bounds how much one fsync has to write,
   * and with it how long appends that meet it wait.
   */
  logFlushBackgroundBytes: number;
  logRetentionMs: number;
  logRetentionBytes: number;
  logSegmentBytes: number;
  retentionCheckIntervalMs: number;
  /** Internal topic for committed offsets (consumer groups). */
  offsetsTopicNumPartitions: number;
  /** `transaction.state.log.num.partitions`: partitions of `__transaction_state` (created on first use). */
  transactionStateNumPartitions: number;
  /** `transaction.max.timeout.ms`: a producer's transaction.timeout.ms above it is refused. */
  transactionMaxTimeoutMs: number;
  /**
   * transaction.partition.verification.enable (KIP-890): a partition leader asks the transaction
   * coordinator before it accepts a transaction's first batch. Default true.
   */
  transactionPartitionVerification: boolean;
  /** `group.initial.rebalance.delay.ms`: a new group's first rebalance waits this long for more members. */
  groupInitialRebalanceDelayMs: number;
  /** `group.min.session.timeout.ms`: a JoinGroup asking less is INVALID_SESSION_TIMEOUT. */
  groupMinSessionTimeoutMs: number;
  /** `group.max.session.timeout.ms`: a JoinGroup asking more is INVALID_SESSION_TIMEOUT. */
  groupMaxSessionTimeoutMs: number;
  /** `group.max.size`: members per consumer group. */
  groupMaxSize: number;
  /**
   * `group.coordinator.rebalance.protocols`: 'classic' always; with 'consumer' the consumer group
   * protocol of KIP-848 is served (ConsumerGroupHeartbeat, ConsumerGroupDescribe advertised).
   */
  groupRebalanceProtocols: readonly string[];
  /** `group.consumer.heartbeat.interval.ms`: how often consumer-protocol members heartbeat. */
  groupConsumerHeartbeatIntervalMs: number;
  /** `group.consumer.session.timeout.ms`: a consumer-protocol member silent this long is removed. */
  groupConsumerSessionTimeoutMs: number;
  /** `group.consumer.assignors`: the server-side assignors (uniform, range), the first the default. */
  groupConsumerAssignors: readonly string[];
  /**
   * `group.consumer.migration.policy`: which conversions of running groups between the classic and
   * the consumer protocol are allowed (disabled, upgrade, downgrade, bidirectional; Kafka 4's default bidirectional).
   */
  groupConsumerMigrationPolicy: GroupMigrationPolicy;
  /** `offsets.retention.minutes`, in ms: committed offsets of an empty group expire after it. */
  offsetsRetentionMs: number;
  /** `max.incremental.fetch.session.cache.slots` (KIP-227): fetch sessions kept; 0 turns them off. */
  fetchSessionCacheSlots: number;
  /** `min.incremental.fetch.session.eviction.ms`: a session idle this long may give its place. */
  fetchSessionEvictionMs: number;
  /** `transactional.id.expiration.ms`: a transactional id idle this long is removed. */
  transactionalIdExpirationMs: number;
  /** `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often timed-out transactions are aborted. */
  transactionAbortTimedOutIntervalMs: number;
  /** `transaction.remove.expired.transaction.cleanup.interval.ms`: how often expired ids are removed. */
  transactionRemoveExpiredIntervalMs: number;
  messageMaxBytes: number;
  /**
   * Broker config names (`log.retention.ms`, …) the operator gave (flag or environment).
   * DescribeConfigs reports these as STATIC_BROKER_CONFIG and the rest as DEFAULT_CONFIG with
   * isDefault, as Kafka does for settings no configuration file set.
   */
  staticConfigNames: readonly string[];
  /**
   * Partition replicas this node may hold (--max-partitions-per-node). Their files go through a
   * bounded pool of descriptors (`limits.maxOpenDataFiles`), so the open-file limit does not bound
   * them. CreateTopics and CreatePartitions beyond it are refused with POLICY_VIOLATION.
   */
  maxPartitionsPerNode: number;
  /**
   * The log scrubber's read rate (--log-scrub-bytes-per-sec; 0: off): every replica's stored
   * batches are read back and checked at this rate, a pass an hour at most (services/log-scrubber.ts).
   */
  logScrubBytesPerSec: number;
  /**
   * The log cleaner (services/log-cleaner.ts, docs/design/compaction.md): compacts the partitions
   * of topics with cleanup.policy=compact (`__consumer_offsets` and `__transaction_state` too)
   * that this node leads (log.cleaner.enable).
   */
  logCleanerEnable: boolean;
  /** Bytes a second the cleaner reads and writes, all partitions together (log.cleaner.io.max.bytes.per.second). */
  logCleanerIoMaxBytesPerSecond: number;
  /** Memory for one pass's key map (log.cleaner.dedupe.buffer.size). */
  logCleanerDedupeBufferSize: number;
  /** How long the cleaner waits when no partition needs cleaning (log.cleaner.backoff.ms). */
  logCleanerBackoffMs: number;
}

/**
 * Client quotas (Kafka's client quota configs and their broker settings). None are set by
 * default, as in Kafka; the values are read through `services/client-quotas.ts`, enforced by the
 * network layer (`net/quota.ts`).
 */
export interface ClientQuotaConfig {
  /**
   * request_percentage of every client id without an override of its own (Kafka's quota for
   * `clients=<default>`): the share of the event loop, in %, each client id's requests may take
   * (--quota-request-percentage). Undefined: none.
   */
  requestPercentageDefault: number | undefined;
  /** request_percentage per client id (Kafka's `clients=<id>`; --quota-request-percentage-by-client). */
  requestPercentageByClientId: ReadonlyMap<string, number>;
  /** Samples a quota is measured over (Kafka's quota.window.num). */
  windowNum: number;
  /** Length of one sample (Kafka's quota.window.size.seconds); also the longest throttle. */
  windowSizeSeconds: number;
}

export type ServerMode = 'standalone' | 'raft-cluster';

/** Mutual TLS of the Raft transport (--raft-tls-cert-file, --raft-tls-key-file, --raft-tls-ca-file). */
export interface RaftTlsConfig {
  /** PEM certificate (chain) of this node: presented to the peers it calls and to those that call it. */
  certFile: string;
  keyFile: string;
  /** PEM cluster CA: a peer's certificate must chain to it. */
  caFile: string;
  /** Each node certificate names its node (CN=node-<id>), checked both ways (--raft-tls-node-identity cn). */
  checkNodeIds: boolean;
}

export interface RaftClusterOptions {
  raftAddr: string;
  peers: ReadonlyArray<{ nodeId: number; host: string; port: number }>;
  bootstrap: boolean;
  /** Period of the shared Raft tick (--raft-tick-ms). Default 100. */
  tickMs?: number;
  /** Election timeout of the metadata group in ticks, randomized up to twice (--raft-election-ticks). Default 10. */
  electionTicks?: number;
  /** Election timeout of partition groups in ticks (--raft-partition-election-ticks). Default RAFT_PARTITION_ELECTION_TICKS. */
  partitionElectionTicks?: number;
  /**
   * Bytes a partition leader has proposed and not yet applied before a Produce waits
   * (--raft-partition-uncommitted-bytes). Default 32 MiB.
   */
  partitionUncommittedBytes?: number;
  /** Mutual TLS between nodes; absent: plaintext gRPC. */
  tls?: RaftTlsConfig;
  /**
   * Kafka's leader.replication.throttled.rate: bytes per second this node sends, as a partition
   * leader, to replicas a reassignment is adding while they catch up (--replication-throttled-rate).
   * Undefined: unlimited.
   */
  replicationThrottledRate?: number;
  /**
   * Partitions the balancer (cluster/balancer.ts: decommission, rebalance) moves at once when this
   * node leads the metadata group (--balancer-max-concurrent-moves). Default 2.
   */
  balancerMaxConcurrentMoves?: number;
  /**
   * The Raft address of any member of a running cluster (--join): a node whose Raft directory is
   * new asks it to be admitted (a learner, then a voter) instead of forming a cluster.
   */
  join?: string;
  /** The cluster this node is meant for (--cluster-id): joining another one is refused. */
  clusterId?: string;
  /** This broker's rack (--rack, Kafka's broker.rack), registered in the metadata. */
  rack?: string;
}

export interface ServerConfig {
  mode: ServerMode;
  nodeId: number;
  /** Address the Kafka listener binds. */
  listenHost: string;
  kafkaPort: number;
  /** Host name clients are told to connect to (Metadata, FindCoordinator). */
  advertisedHost: string;
  /** Port clients are told; defaults to kafkaPort. */
  advertisedPort: number;
  adminHost: string;
  /** 0 picks a free port; -1 disables the admin listener. */
  adminPort: number;
  /** TLS, client certificates and a bearer token on the admin listener; absent: plain HTTP, open. */
  adminSecurity?: AdminSecurityConfig | undefined;
  /**
   * Whether the admin port serves records (the console's message browser): `auto` does unless a
   * Kafka listener authenticates its clients (SASL, or TLS client certificates), since the admin
   * port authenticates no one. Absent: `auto`.
   */
  adminRecords?: AdminRecords;
  dataDir: string;
  logLevel: LogLevel;
  limits: NetworkLimits;
  clientQuotas: ClientQuotaConfig;
  broker: BrokerDefaults;
  /** How long a graceful shutdown waits for in-flight requests before closing connections. */
  shutdownTimeoutMs: number;
  raft: RaftClusterOptions | undefined;
  /**
   * Listeners, TLS and SASL (`security/config.ts`). Absent: one PLAINTEXT listener from
   * listenHost/kafkaPort/advertisedHost/advertisedPort, no TLS, no SASL.
   */
  security?: SecurityConfig;
}

export const ADMIN_RECORDS = ['auto', 'on', 'off'] as const;
export type AdminRecords = (typeof ADMIN_RECORDS)[number];

export const DEFAULT_LIMITS: NetworkLimits = {
  maxRequestBytes: 100 * 1024 * 1024,
  maxInFlightRequestsPerConnection: 64,
  maxBufferedBytesPerConnection: 64 * 1024 * 1024,
  maxUnsentResponseBytesPerConnection: 1024 * 1024,
  maxGlobalInFlightBytes: 512 * 1024 * 1024,
  maxInFlightBytesPerAddress: 128 * 1024 * 1024,
  // The clients' own request.timeout.ms default: a request not received by then is given up anyway.
  requestFrameTimeoutMs: 30_000,
  requestTurnBudgetMs: 5,
  idleTimeoutMs: 600_000,
  maxConnections: 10_000,
  maxOpenDataFiles: 1024,
  clientErrorLogIntervalMs: 60_000,
};

export const DEFAULT_CLIENT_QUOTAS: ClientQuotaConfig = {
  requestPercentageDefault: undefined,
  requestPercentageByClientId: new Map(),
  windowNum: 11,
  windowSizeSeconds: 1,
};

export const DEFAULT_BROKER: BrokerDefaults = {
  autoCreateTopicsEnable: true,
  numPartitions: 1,
  defaultReplicationFactor: 1,
  defaultReplicationFactorExplicit: false,
  logFlushIntervalMessages: undefined,
  logFlushIntervalMs: 1000,
  logFlushBackgroundBytes: 4 * 1024 * 1024,
  logRetentionMs: 7 * 24 * 3600 * 1000,
  logRetentionBytes: -1,
  logSegmentBytes: 128 * 1024 * 1024,
  retentionCheckIntervalMs: 60_000,
  offsetsTopicNumPartitions: 50,
  transactionStateNumPartitions: 50,
  transactionMaxTimeoutMs: 900_000,
  transactionPartitionVerification: true,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupMaxSize: 10_000,
  groupRebalanceProtocols: ['classic', 'consumer'],
  groupConsumerHeartbeatIntervalMs: 5000,
  groupConsumerSessionTimeoutMs: 45_000,
  groupConsumerAssignors: ['uniform', 'range'],
  groupConsumerMigrationPolicy: 'bidirectional',
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  fetchSessionCacheSlots: 1000,
  fetchSessionEvictionMs: 120_000,
  transactionalIdExpirationMs: 7 * 24 * 3600 * 1000,
  transactionAbortTimedOutIntervalMs: 10_000,
  transactionRemoveExpiredIntervalMs: 3_600_000,
  messageMaxBytes: 1024 * 1024 + 12,
  staticConfigNames: [],
  maxPartitionsPerNode: 4000,
  logScrubBytesPerSec: 8 * 1024 * 1024,
  logCleanerEnable: true,
  logCleanerIoMaxBytesPerSecond: 32 * 1024 * 1024,
  logCleanerDedupeBufferSize: 128 * 1024 * 1024,
  logCleanerBackoffMs: 15_000,
};

export const DEFAULT_CONFIG: ServerConfig = {
  mode: 'standalone',
  nodeId: 1,
  listenHost: '0.0.0.0',
  kafkaPort: 9092,
  advertisedHost: 'localhost',
  advertisedPort: 9092,
  adminHost: '0.0.0.0',
  adminPort: 6092,
  dataDir: './data',
  logLevel: 'info',
  limits: DEFAULT_LIMITS,
  clientQuotas: DEFAULT_CLIENT_QUOTAS,
  broker: DEFAULT_BROKER,
  shutdownTimeoutMs: 5000,
  raft: undefined,
};

function invalid(message: string): never {
  throw new ServerError(ServerErrorCode.INVALID_CONFIG, message);
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max)
    invalid(`${name} must be an integer in [${min}, ${max}], got ${v}`);
}

/** A request_percentage: one event loop, so above 0 and at most 100 (all of it). */
function checkPercentage(name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0 || v > 100)
    invalid(`${name} must be a percentage above 0 and at most 100 (the whole event loop), got ${v}`);
}

/** Checks every field; throws INVALID_CONFIG naming the first bad one. */
export function validateConfig(c: ServerConfig): ServerConfig {
  checkInt('--node-id', c.nodeId, 0, 2 ** 31 - 1);
  checkInt('--kafka-port', c.kafkaPort, 0, 65535);
  checkInt('advertised port', c.advertisedPort, 0, 65535);
  checkInt('--admin-port', c.adminPort, -1, 65535);
  if (c.advertisedHost.trim() === '') invalid('--advertised-addr must not be empty');
  if (c.dataDir.trim() === '') invalid('--data-dir must not be empty');
  if (!(LOG_LEVELS as readonly string[]).includes(c.logLevel))
    invalid(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const l = c.limits;
  checkInt('--max-request-bytes', l.maxRequestBytes, 1024, 2 ** 31 - 1);
  checkInt('--max-in-flight-requests-per-connection', l.maxInFlightRequestsPerConnection, 1, 100_000);
  checkInt('--max-buffered-bytes-per-connection', l.maxBufferedBytesPerConnection, 64 * 1024, 2 ** 40);
  checkInt(
    '--max-unsent-response-bytes-per-connection',
    l.maxUnsentResponseBytesPerConnection,
    1024,
    2 ** 40,
  );
  checkInt('--max-in-flight-bytes', l.maxGlobalInFlightBytes, 64 * 1024, 2 ** 40);
  checkInt('--max-in-flight-bytes-per-address', l.maxInFlightBytesPerAddress, 64 * 1024, 2 ** 40);
  checkInt('--request-frame-timeout-ms', l.requestFrameTimeoutMs, 0, 2 ** 31 - 1);
  if (l.requestFrameTimeoutMs > 0 && l.requestFrameTimeoutMs < 100)
    invalid(`--request-frame-timeout-ms must be 0 (off) or at least 100, got ${l.requestFrameTimeoutMs}`);
  checkInt('--request-turn-budget-ms', l.requestTurnBudgetMs, 0, 1000);
  checkInt('--idle-timeout-ms', l.idleTimeoutMs, 0, 2 ** 31 - 1);
  checkInt('--max-connections', l.maxConnections, 1, 1_000_000);
  checkInt('--max-open-data-files', l.maxOpenDataFiles, 1, 1_000_000);
  checkInt('--client-error-log-interval-ms', l.clientErrorLogIntervalMs, 0, 2 ** 31 - 1);
  const q = c.clientQuotas;
  if (q.requestPercentageDefault !== undefined)
    checkPercentage('--quota-request-percentage', q.requestPercentageDefault);
  for (const [clientId, pct] of q.requestPercentageByClientId) {
    if (clientId === '') invalid('--quota-request-percentage-by-client: a client id must not be empty');
    checkPercentage(`--quota-request-percentage-by-client (client id "${clientId}")`, pct);
  }
  checkInt('--quota-window-num', q.windowNum, 1, 100);
  checkInt('--quota-window-size-seconds', q.windowSizeSeconds, 1, 3600);
  const b = c.broker;
  checkInt('num.partitions', b.numPartitions, 1, 100_000);
  checkInt('default.replication.factor', b.defaultReplicationFactor, 1, 32);
  if (b.logFlushIntervalMessages !== undefined)
    checkInt('log.flush.interval.messages', b.logFlushIntervalMessages, 1, 2 ** 53 - 1);
  checkInt('log.flush.interval.ms', b.logFlushIntervalMs, 0, 2 ** 31 - 1);
  checkInt('flush background bytes', b.logFlushBackgroundBytes, 0, 2 ** 53 - 1);
  checkInt('log.retention.ms', b.logRetentionMs, -1, 2 ** 53 - 1);
  checkInt('log.retention.bytes', b.logRetentionBytes, -1, 2 ** 53 - 1);
  checkInt('log.segment.bytes', b.logSegmentBytes, 1024 * 1024, 2 ** 31 - 1);
  checkInt('retention check interval ms', b.retentionCheckIntervalMs, 10, 2 ** 31 - 1);
  checkInt('offsets.topic.num.partitions', b.offsetsTopicNumPartitions, 1, 1000);
  checkInt('--transaction-state-partitions', b.transactionStateNumPartitions, 1, 1000);
  checkInt('--transaction-max-timeout-ms', b.transactionMaxTimeoutMs, 1, 2 ** 31 - 1);
  checkInt('--fetch-session-cache-slots', b.fetchSessionCacheSlots, 0, 100_000);
  checkInt('--group-initial-rebalance-delay-ms', b.groupInitialRebalanceDelayMs, 0, 2 ** 31 - 1);
  checkInt('--group-min-session-timeout-ms', b.groupMinSessionTimeoutMs, 1, 2 ** 31 - 1);
  checkInt('--group-max-session-timeout-ms', b.groupMaxSessionTimeoutMs, 1, 2 ** 31 - 1);
  if (b.groupMinSessionTimeoutMs > b.groupMaxSessionTimeoutMs)
    throw new ServerError(
      ServerErrorCode.INVALID_CONFIG,
      `--group-min-session-timeout-ms ${b.groupMinSessionTimeoutMs} is above --group-max-session-timeout-ms ${b.groupMaxSessionTimeoutMs}`,
    );
  checkInt('--group-max-size', b.groupMaxSize, 1, 1_000_000);
  checkInt('--group-consumer-heartbeat-interval-ms', b.groupConsumerHeartbeatIntervalMs, 1, 2 ** 31 - 1);
  checkInt('--group-consumer-session-timeout-ms', b.groupConsumerSessionTimeoutMs, 1, 2 ** 31 - 1);
  if (b.groupConsumerHeartbeatIntervalMs >= b.groupConsumerSessionTimeoutMs)
    throw new ServerError(
      ServerErrorCode.INVALID_CONFIG,
      `--group-consumer-heartbeat-interval-ms ${b.groupConsumerHeartbeatIntervalMs} must be below --group-consumer-session-timeout-ms ${b.groupConsumerSessionTimeoutMs}`,
    );
  for (const p of b.groupRebalanceProtocols)
    if (p !== 'classic' && p !== 'consumer')
      throw new ServerError(
        ServerErrorCode.INVALID_CONFIG,
        `--group-coordinator-rebalance-protocols: unknown protocol ${p} (classic, consumer)`,
      );
  if (!b.groupRebalanceProtocols.includes('classic'))
    throw new ServerError(
      ServerErrorCode.INVALID_CONFIG,
      '--group-coordinator-rebalance-protocols must include classic',
    );
  if (b.groupConsumerAssignors.length === 0)
    throw new ServerError(ServerErrorCode.INVALID_CONFIG, '--group-consumer-assignors must name an assignor');
  for (const a of b.groupConsumerAssignors)
    if (a !== 'uniform' && a !== 'range')
      throw new ServerError(
        ServerErrorCode.INVALID_CONFIG,
        `--group-consumer-assignors: unknown assignor ${a} (uniform, range)`,
      );
  if (!GROUP_MIGRATION_POLICIES.includes(b.groupConsumerMigrationPolicy))
    throw new ServerError(
      ServerErrorCode.INVALID_CONFIG,
      `--group-consumer-migration-policy: unknown policy ${String(b.groupConsumerMigrationPolicy)} (${GROUP_MIGRATION_POLICIES.join(', ')})`,
    );
  checkInt('--offsets-retention-minutes', b.offsetsRetentionMs / 60_000, 1, 2 ** 31 - 1);
  checkInt('--fetch-session-eviction-ms', b.fetchSessionEvictionMs, 0, 2 ** 31 - 1);
  checkInt('--transactional-id-expiration-ms', b.transactionalIdExpirationMs, 1, 2 ** 31 - 1);
  checkInt('--transaction-abort-interval-ms', b.transactionAbortTimedOutIntervalMs, 1, 2 ** 31 - 1);
  checkInt('--transaction-remove-expired-interval-ms', b.transactionRemoveExpiredIntervalMs, 1, 2 ** 31 - 1);
  checkInt('message.max.bytes', b.messageMaxBytes, 1024, 2 ** 31 - 1);
  checkInt('--max-partitions-per-node', b.maxPartitionsPerNode, 1, 1_000_000);
  checkInt('--log-scrub-bytes-per-sec', b.logScrubBytesPerSec, 0, 1024 * 1024 * 1024);
  checkInt('--log-cleaner-io-max-bytes-per-second', b.logCleanerIoMaxBytesPerSecond, 1024, 2 ** 40);
  checkInt('--log-cleaner-dedupe-buffer-size', b.logCleanerDedupeBufferSize, 1024 * 1024, 2 ** 32);
  checkInt('--log-cleaner-backoff-ms', b.logCleanerBackoffMs, 10, 2 ** 31 - 1);
  checkInt('shutdown timeout ms', c.shutdownTimeoutMs, 0, 600_000);
  const security = securityProblem(c);
  if (security !== undefined) invalid(security);
  return c;
}
