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
import { TRANSACTION_STATE_TOPIC, clusterIdFromBytes, topicIdFromBytes } from '@chronik/metadata';
import type { AdminRoute } from '../admin/http.js';
import type { MoveProgress } from '../admin/cluster-routes.js';
import { reassignmentRoutes } from '../admin/cluster-routes.js';
import type { BrokerServices, ModeContext } from '../broker.js';
import type { ServerConfig } from '../config.js';
import type { GroupCoordinatorConfig } from '../groups/coordinator.js';
import type { OffsetLog } from '../groups/offset-log.js';
import { startGroupService } from '../groups/service.js';
import type { GroupService } from '../groups/service.js';
import { KafkaDispatcher } from '../handlers/dispatcher.js';
import { createHandlerTable } from '../handlers/table.js';
import type { AnyHandler, HandlerEnv, Services } from '../handlers/types.js';
import type { ModeEnv } from '../infra.js';
import { CoordinatorKeyType, Coordinators } from '../services/coordinators.js';
import { LogConfigs } from '../services/log-config.js';
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
import { TopicAdmin } from '../services/topic-admin.js';
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
  /** This process's open-file limit (default: read from /proc/self/limits through `env.fs`; undefined where unknown). */
  openFileLimit?: number;
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
/** File descriptors one partition replica holds (its log's open segment and directory). */
const FDS_PER_REPLICA = 2;
/** Descriptors kept for everything that is not a connection or a replica (metadata, Raft, admin). */
const RESERVED_FDS = 256;

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

/**
 * Partition replicas this node may hold: --max-partitions-per-node, within what its open-file
 * limit leaves after the connections (up to half the limit) and a reserve, at 2 per replica.
 */
export function replicaBudget(config: ServerConfig, fdLimit: number | undefined): number {
  const configured = config.broker.maxPartitionsPerNode;
  if (fdLimit === undefined || !Number.isFinite(fdLimit)) return configured;
  const connections = Math.min(config.limits.maxConnections, Math.floor(fdLimit / 2));
  const byFds = Math.floor((fdLimit - connections - RESERVED_FDS) / FDS_PER_REPLICA);
  return Math.max(1, Math.min(configured, byFds));
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
  const metadata = new MetadataCache(options.store, nodeId, (topicId, p) =>
    partitions.leadership(topicId, p),
  );
  const fds = 'openFileLimit' in options ? options.openFileLimit : await openFileLimit(options.env.fs);
  const maxReplicasPerBroker = replicaBudget(config, fds);
  if (maxReplicasPerBroker < config.broker.maxPartitionsPerNode)
    logger.warn(
      { maxReplicasPerBroker, openFileLimit: fds, configured: config.broker.maxPartitionsPerNode },
      'the open-file limit allows fewer partition replicas than configured: raise it (ulimit -n) to hold more',
    );
  const topics = new TopicAdmin({
    store: options.store,
    nodeId,
    maxReplicasPerBroker,
    broker: config.broker,
    configs,
    settled,
    newTopicId,
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

  const metrics = options.ctx.metrics;
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

  let registering: TimerHandle | undefined;
  let groups: GroupService | undefined;
  const stopAll = async (): Promise<void> => {
    scrubber.close();
    registering?.cancel();
    txn?.close();
    groups?.close();
    await partitions.close();
    await options.close();
  };
  try {
    const adv = options.ctx.advertised();
    const register = (): Promise<void> =>
      registerBroker(options.store, {
        nodeId,
        host: adv.host,
        port: adv.port,
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
    await partitions.start();
    scrubber.start();
    groups = await startGroupService({
      partitions,
      ensureOffsetsTopic: () => coordinators.ensureOffsetsTopic(),
      numPartitions: config.broker.offsetsTopicNumPartitions,
      clock,
      scheduler,
      newUuid: () => random.uuid(),
      logger: logger.child({ component: 'groups' }),
      ...(options.groupConfig !== undefined ? { groupConfig: options.groupConfig } : {}),
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
  const table = createHandlerTable(options.extraHandlers);
  const env: HandlerEnv = {
    config,
    logger: logger.child({ component: 'kafka' }),
    metrics: options.ctx.metrics,
    clock,
    scheduler,
    shutdown: shutdown.signal,
    table: () => table,
  };
  const status = (): ClusterStatus => ({
    nodeId,
    mode: config.mode,
    clusterId: metadata.clusterId(),
    controllerId: options.store.leaderId(),
    brokers: metadata.brokers(),
    metadataGroup: options.store.status(),
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
        routes: [
          ...reassignmentRoutes(services.reassignments, options.moveProgress),
          ...(options.adminRoutes?.(services) ?? []),
        ],
      },
      beginShutdown: () => shutdown.abort(),
      close: async () => {
        shutdown.abort();
        await stopAll();
      },
    },
  };
  options.started?.(composed);
  return composed;
}
