// The broker's services over a mode's metadata store and partition factory — the part both modes
// share. A mode (standalone.ts, raft-cluster.ts) constructs the infrastructure (file system, clock
// and timers, randomness, WALs, Raft host and transport) and calls composeBroker with it; nothing
// here constructs any.
//
// Start-up order: register the broker in the metadata (a single node waits for it; a cluster
// retries it in the background, since it may have no metadata leader yet), open this node's
// partition replicas, start the group coordinator on the `__consumer_offsets` partitions led here
// and the transaction coordinator on the `__transaction_state` partitions led here, and only then
// answer requests. Shutdown: long polls return, the coordinators answer their waiting requests,
// the replicas close (synced), then the mode releases its infrastructure.
//
// Transactions between nodes: a marker for a partition led by another node goes through
// `remoteMarkers`, and a KIP-890 verification of a transactional id coordinated by another node
// through `remoteVerify` (the inter-broker calls); without them such a marker is retried (as
// NOT_LEADER_OR_FOLLOWER) and such a verification accepted.
import { retryUntilDone } from '@chronik/env';
import type { FileSystem, TimerHandle } from '@chronik/env';
import { FilePool } from '@chronik/wal';
import { TRANSACTION_STATE_TOPIC, clusterIdFromBytes, topicIdFromBytes } from '@chronik/metadata';
import { localReader, remoteReader } from '../admin/node-reader.js';
import type { PeerView, RaftGroupView } from '../admin/views.js';
import { StateMetrics } from '../admin/state-metrics.js';
import { AdminViews, recordsPolicy } from '../admin/views.js';
import type { AdminRoute } from '../admin/http.js';
import type { MoveProgress } from '../admin/cluster-routes.js';
import { reassignmentRoutes } from '../admin/cluster-routes.js';
import type { BrokerServices, ModeContext } from '../broker.js';
import type { BrokerCalls } from '../net/broker-client.js';
import type { ServerConfig } from '../config.js';
import type { GroupCoordinatorConfig } from '../groups/coordinator.js';
import type { OffsetLog } from '../groups/offset-log.js';
import { startGroupService } from '../groups/service.js';
import type { GroupService } from '../groups/service.js';
import { KafkaDispatcher } from '../handlers/dispatcher.js';
import { CONSUMER_PROTOCOL_API_KEYS, createHandlerTable } from '../handlers/table.js';
import type { AnyHandler, HandlerEnv, Services } from '../handlers/types.js';
import type { ModeEnv } from '../infra.js';
import { CoordinatorKeyType, Coordinators } from '../services/coordinators.js';
import { LogConfigs } from '../services/log-config.js';
import { LogCleaner } from '../services/log-cleaner.js';
import { LogScrubber } from '../services/log-scrubber.js';
import type { BrokerEndpoint } from '../services/metadata-cache.js';
import { MetadataCache } from '../services/metadata-cache.js';
import type { MetadataGroupStatus, MetadataStore } from '../services/metadata-store.js';
import type { PartitionFactory } from '../services/partition-manager.js';
import { PartitionManager } from '../services/partition-manager.js';
import { ProducerIds } from '../services/producer-ids.js';
import { PartitionReassignments } from '../services/reassignments.js';
import { LeaderElections } from '../services/elections.js';
import type { LeadershipTransfers } from '../services/elections.js';
import { registerBroker } from '../services/registration.js';
import { StateWatch } from '../services/state-watch.js';
import { FetchSessionCache } from '../services/fetch-sessions.js';
import { DEFAULT_SASL, effectiveListeners, isDefaultListenerSet } from '../security/config.js';
import { usesSasl, usesTls } from '../security/listeners.js';
import { SecurityService } from '../security/service.js';
import { AclService } from '../security/acls.js';
import { authorizerOf } from '../security/authorizer.js';
import { readWholeFile } from '../storage/files.js';
import { ConfigResourceType, TopicAdmin } from '../services/topic-admin.js';
import type { TxnCoordinatorConfig } from '../txn/coordinator.js';
import type { RemoteMarkers, RemoteVerify, TxnService } from '../txn/service.js';
import { BrokerMarkerWriter, RoutedTxnVerifier, startTxnService } from '../txn/service.js';
import type { TxnLog } from '../txn/txn-log.js';
import type { TxnVerifier } from '../txn/types.js';

/** The admin API's view of the node (GET /v1/cluster). */
export interface ClusterStatus {
  nodeId: number;
  mode: string;
  clusterId: string;
  controllerId: number;
  brokers: readonly BrokerEndpoint[];
  metadataGroup: MetadataGroupStatus;
}

export interface ComposeOptions {
  ctx: ModeContext;
  /** What the mode takes from the machine. */
  env: ModeEnv;
  store: MetadataStore;
  factory: PartitionFactory;
  /** Where partition data lives and how much room is left (DescribeLogDirs). */
  logDir: { path: string; space(): { totalBytes: bigint; usableBytes: bigint } };
  /** Where peers reach this node's Raft listener ('standalone' on a single node). */
  raftAddress: string;
  /** Retry the broker registration in the background instead of waiting for it. */
  registerInBackground: boolean;
  /** This broker's rack (broker.rack), registered with it. */
  rack?: string | null;
  /** Overrides of the group coordinator's settings (tests). */
  groupConfig?: Partial<GroupCoordinatorConfig>;
  /** The coordinator's storage (default: `__consumer_offsets`; tests). */
  offsetLog?: OffsetLog;
  /** Overrides of the transaction coordinator's settings (tests). */
  txnConfig?: Partial<TxnCoordinatorConfig>;
  /** The transaction coordinator's storage (default: `__transaction_state`; tests). */
  txnLog?: TxnLog;
  /**
   * Writes transaction markers on partitions led by another node (WriteTxnMarkers to it): the
   * Kafka error name per partition, keyed by `tpKey`. Absent: such partitions are retried.
   */
  remoteMarkers?: RemoteMarkers;
  /**
   * KIP-890: asks another node, the coordinator of the transactional id, whether the partition is
   * in the producer's transaction (AddPartitionsToTxn verify_only). Absent: not verified.
   */
  remoteVerify?: RemoteVerify;
  /** Handlers beyond the table (tests). */
  extraHandlers?: readonly AnyHandler[];
  /**
   * Asks other nodes for what the admin views need of them (offsets, records, groups) with Kafka
   * requests; absent on a single node.
   */
  adminCalls?: BrokerCalls;
  /** This node's Raft groups and peers for the admin views (raft-cluster). */
  raftViews?: { groups(): RaftGroupView[]; peers(): PeerView[] };
  /** How partition leadership moves on demand (ElectLeaders); absent: it cannot (a single node). */
  leadershipTransfers?: LeadershipTransfers;
  /** The moves of partitions this node leads, with their progress (GET /v1/reassignments). */
  moveProgress?(): readonly MoveProgress[];
  /** Admin routes of the mode's own operations, given the composed services. */
  adminRoutes?(services: Services): readonly AdminRoute[];
  /** Called once the services are up (a mode's own background work starts here). */
  started?(composed: Composed): void;
  /** Releases what the mode opened (stores, hosts, transports), after the services closed. */
  close(): Promise<void>;
}

export interface Composed {
  services: Services;
  partitions: PartitionManager;
  /** The metadata store (its applied state: tests and the simulator read it). */
  store: MetadataStore;
  broker: BrokerServices;
}

const REGISTRATION_RETRY_MS = 500;
/** Longest the admin views wait for another node's answer. */
const ADMIN_REMOTE_TIMEOUT_MS = 3000;
/**
 * Descriptors kept for everything that is neither a connection nor a pooled data file: the metadata
 * and Raft transports, the admin listener, short-lived opens (directory fsyncs, snapshots).
 */
const RESERVED_FDS = 256;
/** The fewest descriptors the data-file pool keeps, whatever the open-file limit. */
const MIN_DATA_FILES = 64;

/** Bytes of /proc/self/limits read at most (it is about 1.5 KiB). */
const MAX_LIMITS_BYTES = 64 * 1024;

/** The soft open-file limit of this process (Linux), or undefined when it cannot be read. */
export async function openFileLimit(fsys: FileSystem): Promise<number | undefined> {
  let text: string;
  try {
    // A /proc file reports size 0: read until the end.
    const file = await fsys.open('/proc/self/limits', 'r');
    try {
      const buf = Buffer.alloc(MAX_LIMITS_BYTES);
      let n = 0;
      while (n < buf.length) {
        const got = await file.read(buf, n, buf.length - n, n);
        if (got === 0) break;
        n += got;
      }
      text = buf.toString('utf8', 0, n);
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s+/)[3];
  return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
}

/** How a node spends its open-file limit. */
export interface DescriptorBudget {
  /**
   * Partition replicas this node may hold: --max-partitions-per-node. Their files (a Raft group's
   * log segment and state file, a standalone log's segment) go through the data-file pool, so the
   * open-file limit no longer bounds how many a node holds.
   */
  readonly replicas: number;
  /**
   * Descriptors the data-file pool keeps open (docs/design/file-handles.md): --max-open-data-files,
   * less when the open-file limit leaves less after the connections (up to half the limit) and a
   * reserve (but at least MIN_DATA_FILES of them).
   */
  readonly dataFiles: number;
}

export function descriptorBudget(config: ServerConfig, fdLimit: number | undefined): DescriptorBudget {
  const replicas = config.broker.maxPartitionsPerNode;
  const configured = config.limits.maxOpenDataFiles;
  if (fdLimit === undefined || !Number.isFinite(fdLimit)) return { replicas, dataFiles: configured };
  const connections = Math.min(config.limits.maxConnections, Math.floor(fdLimit / 2));
  const left = fdLimit - connections - RESERVED_FDS;
  return { replicas, dataFiles: Math.min(configured, Math.max(MIN_DATA_FILES, left)) };
}

/**
 * The mode's file system behind the data-file pool (a FilePool sized by the descriptor budget,
 * its counters in /metrics), and the open-file limit it was sized by.
 */
export async function poolDataFiles(
  ctx: ModeContext,
  env: ModeEnv,
): Promise<{ env: ModeEnv; pool: FilePool; openFileLimit: number | undefined }> {
  const fds = await openFileLimit(env.fs);
  const { dataFiles } = descriptorBudget(ctx.config, fds);
  if (dataFiles < ctx.config.limits.maxOpenDataFiles)
    ctx.logger.warn(
      { dataFiles, openFileLimit: fds, configured: ctx.config.limits.maxOpenDataFiles },
      'the open-file limit leaves fewer descriptors for data files than configured: files are closed and reopened more often; raise it (ulimit -n)',
    );
  const pool = new FilePool(env.fs, { maxOpenFiles: dataFiles });
  ctx.metrics.layers.filePool = () => pool.stats();
  return { env: { ...env, fs: pool }, pool, openFileLimit: fds };
}

export async function composeBroker(options: ComposeOptions): Promise<Composed> {
  const { config, logger } = options.ctx;
  const { clock, scheduler, random } = options.env;
  const nodeId = config.nodeId;
  const newTopicId = (): string => topicIdFromBytes(random.bytes(16));
  const configs = new LogConfigs(options.store.state, nodeId, config.broker);
  // The partition manager asks the transaction coordinators (KIP-890) through this verifier,
  // which finds this node's once it runs (below).
  let txn: TxnService | undefined;
  const txnVerifier: TxnVerifier = new RoutedTxnVerifier({
    nodeId,
    local: () => txn?.coordinator,
    coordinatorOf: (id) => coordinators.coordinatorId(CoordinatorKeyType.TRANSACTION, id),
    ...(options.remoteVerify !== undefined ? { remote: options.remoteVerify } : {}),
  });
  const partitions = new PartitionManager({
    nodeId,
    store: options.store,
    configs,
    factory: options.factory,
    clock,
    scheduler,
    logger: logger.child({ component: 'partitions' }),
    logDir: options.logDir,
    ...(config.broker.transactionPartitionVerification ? { txnVerifier } : {}),
  });
  const settled = (): Promise<void> => partitions.settled();
  const watch = new StateWatch(options.store.state, scheduler);
  const metadata = new MetadataCache(
    options.store,
    nodeId,
    (topicId, p) => partitions.leadership(topicId, p),
    watch,
  );
  const maxReplicasPerBroker = config.broker.maxPartitionsPerNode;
  const topics = new TopicAdmin({
    store: options.store,
    nodeId,
    maxReplicasPerBroker,
    broker: config.broker,
    configs,
    settled,
    newTopicId,
    watch,
    logger: logger.child({ component: 'topics' }),
  });
  const coordinators = new Coordinators({
    store: options.store,
    cache: metadata,
    nodeId,
    broker: config.broker,
    settled,
    newTopicId,
    logger: logger.child({ component: 'topics' }),
  });
  const producerIds = new ProducerIds(options.store, nodeId);
  const saslConfig = config.security?.sasl ?? DEFAULT_SASL;
  const securityLogger = logger.child({ component: 'security' });
  const security = new SecurityService(saslConfig, options.store, random, (session, outcome) => {
    const base = { listener: session.listener.name, mechanism: session.mechanism ?? 'none' };
    if (outcome.kind === 'success') {
      options.ctx.metrics.authentications.inc({ ...base, outcome: 'ok' });
      securityLogger.debug(
        { ...base, remote: session.remoteIp, principal: `User:${outcome.user}` },
        'SASL authentication succeeded',
      );
    } else if (outcome.kind === 'failure') {
      options.ctx.metrics.authentications.inc({
        ...base,
        outcome: outcome.rateLimited ? 'rate_limited' : 'failed',
      });
      // The reason (never a secret) for the operator; the client got the generic message.
      securityLogger.debug(
        { ...base, remote: session.remoteIp, reason: outcome.reason },
        'SASL authentication failed',
      );
    }
  });

  const metrics = options.ctx.metrics;
  // Quotas set with AlterClientQuotas live in the metadata; the network layer enforces them.
  options.ctx.clientQuotas?.attach(options.store.state);
  metrics.replicaProblems = () => partitions.replicaProblems();
  const scrubber = new LogScrubber({
    replicas: () => partitions.replicas(),
    clock,
    scheduler,
    logger: logger.child({ component: 'scrubber' }),
    bytesPerSecond: config.broker.logScrubBytesPerSec,
    onChecked: (n) => metrics.scrubbedBytes.inc(n),
    onDamage: () => metrics.scrubDamage.inc(),
  });
  const cleaner = new LogCleaner({
    replicas: () => partitions.replicas(),
    clock,
    scheduler,
    logger: logger.child({ component: 'cleaner' }),
    enabled: config.broker.logCleanerEnable,
    ioBytesPerSecond: config.broker.logCleanerIoMaxBytesPerSecond,
    dedupeBufferBytes: config.broker.logCleanerDedupeBufferSize,
    backoffMs: config.broker.logCleanerBackoffMs,
    onPass: (_p, r) => {
      metrics.cleanerPasses.inc({ outcome: r.completed ? 'completed' : 'stopped' });
      metrics.cleanerBytesRead.inc(r.bytesRead);
      metrics.cleanerBytesWritten.inc(r.bytesWritten);
      metrics.cleanerBatchesRemoved.inc(r.batchesRemoved);
    },
  });

  let registering: TimerHandle | undefined;
  let bootstrapping: TimerHandle | undefined;
  let groups: GroupService | undefined;
  const stopAll = async (): Promise<void> => {
    scrubber.close();
    await cleaner.close();
    registering?.cancel();
    bootstrapping?.cancel();
    txn?.close();
    groups?.close();
    await partitions.close();
    await options.close();
  };
  try {
    const adv = options.ctx.advertised();
    const listeners = options.ctx.listeners?.();
    const register = (): Promise<void> =>
      registerBroker(options.store, {
        nodeId,
        // The inter-broker listener's endpoint: where other nodes' requests go.
        host: adv.host,
        port: adv.port,
        ...(listeners !== undefined && !isDefaultListenerSet(listeners) ? { listeners } : {}),
        rack: options.rack ?? null,
        raftAddress: options.raftAddress,
        incarnation: random.uuid(),
        newClusterId: () => clusterIdFromBytes(random.bytes(16)),
      }).then(() => logger.info({ host: adv.host, port: adv.port }, 'broker registered in the metadata'));
    if (options.registerInBackground) {
      registering = retryUntilDone(
        scheduler,
        REGISTRATION_RETRY_MS,
        () => register().then(() => true),
        (e) =>
          logger.debug({ err: e instanceof Error ? e.message : String(e) }, 'broker registration will retry'),
      );
    } else {
      await register();
    }
    const bootstrapUser = saslConfig.bootstrapUser;
    if (bootstrapUser !== undefined) {
      const ensure = async (): Promise<boolean> => {
        const raw = await readWholeFile(options.env.fs, bootstrapUser.passwordFile);
        if (raw === undefined)
          throw new Error(`the password file ${bootstrapUser.passwordFile} does not exist`);
        // One trailing newline (as an editor or `echo` leaves it) is not part of the password.
        const password = raw.subarray(
          0,
          raw.length - (raw.toString('latin1').match(/\r?\n$/)?.[0].length ?? 0),
        );
        if (password.length === 0)
          throw new Error(`the password file ${bootstrapUser.passwordFile} is empty`);
        const created = await security.ensureUser(bootstrapUser.name, password);
        securityLogger.info(
          { user: bootstrapUser.name },
          created
            ? 'bootstrap SCRAM user created'
            : 'bootstrap SCRAM user already has credentials: left as it is',
        );
        return true;
      };
      if (options.registerInBackground)
        bootstrapping = retryUntilDone(scheduler, REGISTRATION_RETRY_MS, ensure, (e) =>
          securityLogger.debug(
            { err: e instanceof Error ? e.message : String(e) },
            'bootstrap SCRAM user will retry',
          ),
        );
      else await ensure();
    }
    await partitions.start();
    scrubber.start();
    cleaner.start();
    groups = await startGroupService({
      partitions,
      ensureOffsetsTopic: () => coordinators.ensureOffsetsTopic(),
      numPartitions: config.broker.offsetsTopicNumPartitions,
      clock,
      scheduler,
      newUuid: () => random.uuid(),
      logger: logger.child({ component: 'groups' }),
      groupConfig: {
        initialRebalanceDelayMs: config.broker.groupInitialRebalanceDelayMs,
        minSessionTimeoutMs: config.broker.groupMinSessionTimeoutMs,
        maxSessionTimeoutMs: config.broker.groupMaxSessionTimeoutMs,
        maxGroupSize: config.broker.groupMaxSize,
        offsetsRetentionMs: config.broker.offsetsRetentionMs,
        consumerHeartbeatIntervalMs: config.broker.groupConsumerHeartbeatIntervalMs,
        consumerSessionTimeoutMs: config.broker.groupConsumerSessionTimeoutMs,
        ...options.groupConfig,
      },
      consumerAssignors: config.broker.groupConsumerAssignors,
      consumerMigrationPolicy: config.broker.groupConsumerMigrationPolicy,
      // The consumer protocol's view of the topics: this node's applied metadata.
      topics: {
        topic: (name) => {
          const t = options.store.state.topic(name);
          return t === undefined
            ? undefined
            : { topicId: t.topicId, name: t.name, numPartitions: t.partitions.length, internal: t.internal };
        },
        topicById: (id) => {
          const t = options.store.state.topicById(id);
          return t === undefined
            ? undefined
            : { topicId: t.topicId, name: t.name, numPartitions: t.partitions.length, internal: t.internal };
        },
        topics: () =>
          options.store.state.topics().map((t) => ({
            topicId: t.topicId,
            name: t.name,
            numPartitions: t.partitions.length,
            internal: t.internal,
          })),
        version: () => options.store.state.appliedIndex,
      },
      ...(options.offsetLog !== undefined ? { offsetLog: options.offsetLog } : {}),
    });
    const existing = options.store.state.topic(TRANSACTION_STATE_TOPIC);
    txn = await startTxnService({
      partitions,
      ensureTopic: () => coordinators.ensureTransactionStateTopic(),
      // The topic's own partition count once it exists (as FindCoordinator maps ids with it).
      numPartitions: existing?.partitions.length ?? config.broker.transactionStateNumPartitions,
      clock,
      scheduler,
      logger: logger.child({ component: 'transactions' }),
      newProducerId: () => producerIds.allocate(),
      markers: new BrokerMarkerWriter({
        nodeId,
        leaderOf: (tp) => metadata.partitionLeader(tp.topic, tp.partition),
        writeLocal: (tp, marker, timeoutMs) => partitions.writeTxnMarker(tp, marker, timeoutMs),
        ...(options.remoteMarkers !== undefined ? { remote: options.remoteMarkers } : {}),
      }),
      partitionGone: (tp) => {
        const t = options.store.state.topic(tp.topic);
        return t === undefined || tp.partition >= t.partitions.length;
      },
      txnConfig: {
        maxTimeoutMs: config.broker.transactionMaxTimeoutMs,
        transactionalIdExpirationMs: config.broker.transactionalIdExpirationMs,
        abortTimedOutIntervalMs: config.broker.transactionAbortTimedOutIntervalMs,
        removeExpiredIntervalMs: config.broker.transactionRemoveExpiredIntervalMs,
        ...options.txnConfig,
      },
      ...(options.txnLog !== undefined ? { txnLog: options.txnLog } : {}),
    });
  } catch (e) {
    await stopAll().catch(() => undefined);
    throw e;
  }

  const services: Services = {
    metadata,
    topics,
    partitions,
    producerIds,
    coordinators,
    groups: groups.coordinator,
    txn: txn.coordinator,
    fetchSessions: new FetchSessionCache({
      maxSlots: config.broker.fetchSessionCacheSlots,
      evictionMs: config.broker.fetchSessionEvictionMs,
      clock,
      random,
    }),
    security,
    acls: new AclService(options.store),
    reassignments: new PartitionReassignments(options.store),
    elections: new LeaderElections({
      store: options.store,
      leaderOf: (topic, partition) => metadata.partitionLeader(topic, partition),
      ...(options.leadershipTransfers !== undefined ? { transfers: options.leadershipTransfers } : {}),
      clock,
      scheduler,
    }),
  };
  const shutdown = new AbortController();
  const table = createHandlerTable(
    options.extraHandlers,
    config.broker.groupRebalanceProtocols.includes('consumer') ? [] : CONSUMER_PROTOCOL_API_KEYS,
  );
  const env: HandlerEnv = {
    config,
    logger: logger.child({ component: 'kafka' }),
    metrics: options.ctx.metrics,
    clock,
    scheduler,
    shutdown: shutdown.signal,
    table: () => table,
    authorizer: authorizerOf(config.security?.authorizer, () => options.store.state.acls()),
  };
  const status = (): ClusterStatus => ({
    nodeId,
    mode: config.mode,
    clusterId: metadata.clusterId(),
    controllerId: options.store.leaderId(),
    brokers: metadata.brokers(),
    metadataGroup: options.store.status(),
  });
  const adminCalls = options.adminCalls;
  const localGroups = localReader(partitions, groups.coordinator);
  const raftViews = options.raftViews;
  const views = new AdminViews({
    nodeId,
    mode: config.mode,
    state: options.store.state,
    topicConfigs: (name) => topics.describeConfigs(ConfigResourceType.TOPIC, name, null, false),
    groupCoordinator: (id) => coordinators.coordinatorId(CoordinatorKeyType.GROUP, id),
    local: localGroups,
    ...(adminCalls !== undefined
      ? { remote: (id: number) => remoteReader(adminCalls, id, ADMIN_REMOTE_TIMEOUT_MS) }
      : {}),
    ...(raftViews !== undefined
      ? { raftGroups: () => raftViews.groups(), peers: () => raftViews.peers() }
      : {}),
    records: recordsPolicy(
      config.adminRecords ?? 'auto',
      effectiveListeners(config).map((l) => ({
        name: l.name,
        authenticates:
          usesSasl(l.securityProtocol) ||
          (usesTls(l.securityProtocol) && config.security?.tls?.clientAuth === 'required'),
      })),
      config.adminSecurity !== undefined &&
        (config.adminSecurity.tokenFile !== undefined || config.adminSecurity.tls?.clientAuth === 'required'),
    ),
    clock,
  });
  options.ctx.metrics.layers.groups = () => groups.coordinator.stats;
  const stateMetrics = new StateMetrics({
    registry: options.ctx.metrics.registry,
    views,
    partitions,
    local: localGroups,
    scheduler,
    logger: logger.child({ component: 'metrics' }),
  });
  const composed: Composed = {
    services,
    partitions,
    store: options.store,
    broker: {
      dispatcher: new KafkaDispatcher(services, env, table),
      admin: {
        cluster: status,
        partitions: () => partitions.statuses(),
        problems: () => partitions.replicaProblems(),
        views,
        routes: [
          ...reassignmentRoutes(services.reassignments, options.moveProgress),
          ...(options.adminRoutes?.(services) ?? []),
        ],
      },
      beginShutdown: () => shutdown.abort(),
      close: async () => {
        shutdown.abort();
        stateMetrics.close();
        options.ctx.metrics.layers.groups = undefined;
        views.close();
        await stopAll();
      },
    },
  };
  options.started?.(composed);
  return composed;
}
