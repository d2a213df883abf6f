// Standalone services: LocalCluster on WAL-backed partition logs, the handler table and the
// dispatcher, wired with explicit dependencies.
import type { BrokerServices, ServicesFactory } from './broker.js';
import type { ServerMetrics } from './metrics.js';
import type { Cluster } from './cluster/cluster.js';
import { LocalCluster } from './cluster/local-cluster.js';
import { KafkaDispatcher } from './handlers/dispatcher.js';
import { createHandlerTable } from './handlers/table.js';
import type { AnyHandler, HandlerDeps } from './handlers/types.js';
import { startGroupServices } from './groups/service.js';
import type { Logger } from './logger.js';
import type { ServerConfig } from './config.js';
import type { EntryLogFactory } from './storage/entry-log.js';
import { WalEntryLogFactory } from './storage/wal-entry-log.js';

/** Largest record batch the storage accepts (bounds max.message.bytes). */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

export interface StandaloneOptions {
  /** Storage under the partitions (default: @chronik/wal). */
  entryLogs?: EntryLogFactory;
  /** Handlers added to the core table (consumer groups). */
  extraHandlers?: readonly AnyHandler[];
  nowMs?: () => number;
  /**
   * Consumer groups (src/groups): started once the cluster is open; their handlers join the table
   * and `close` runs before the cluster closes. Default: the group coordinator on __consumer_offsets.
   * `null`: no group APIs.
   */
  groups?: GroupsFactory | null;
}

export type GroupsFactory = (ctx: {
  cluster: Cluster;
  config: ServerConfig;
  logger: Logger;
}) => Promise<{ handlers: readonly AnyHandler[]; close(): void | Promise<void> }>;

const defaultGroups: GroupsFactory = ({ cluster, config, logger }) =>
  startGroupServices({ cluster, config, logger });

export function standaloneServices(options: StandaloneOptions = {}): ServicesFactory {
  return async ({ config, dataDir, logger, metrics, advertised }) => {
    const nowMs = options.nowMs ?? Date.now;
    const walFactory =
      options.entryLogs === undefined
        ? new WalEntryLogFactory({
            maxSegmentBytes: config.broker.logSegmentBytes,
            maxRecordBytes: MAX_BATCH_BYTES,
            maxPendingBytes: config.limits.maxGlobalInFlightBytes + config.limits.maxRequestBytes,
            logger: logger.child({ component: 'wal' }),
          })
        : undefined;
    const cluster: Cluster = await LocalCluster.open({
      config,
      dataDir: dataDir.path,
      logger: logger.child({ component: 'cluster' }),
      nowMs,
      entryLogs: options.entryLogs ?? (walFactory as WalEntryLogFactory),
      advertised,
    });
    const groupsFactory = options.groups === undefined ? defaultGroups : options.groups;
    let groups: Awaited<ReturnType<GroupsFactory>> | undefined;
    try {
      groups =
        groupsFactory === null
          ? undefined
          : await groupsFactory({ cluster, config, logger: logger.child({ component: 'groups' }) });
    } catch (e) {
      await cluster.close();
      walFactory?.close();
      throw e;
    }
    return brokerServices({
      cluster,
      config,
      logger,
      metrics,
      nowMs,
      handlers: [...(options.extraHandlers ?? []), ...(groups?.handlers ?? [])],
      close: async () => {
        await groups?.close();
        await cluster.close();
        walFactory?.close();
      },
    });
  };
}

/**
 * What a Broker runs on, in either mode: the handler table over `cluster` (the standard handlers plus
 * `handlers`), its dispatcher, the admin views and shutdown. `close` releases what the mode opened,
 * after long polls were told to return.
 */
export function brokerServices(o: {
  cluster: Cluster;
  config: ServerConfig;
  logger: Logger;
  metrics: ServerMetrics;
  nowMs: () => number;
  handlers: readonly AnyHandler[];
  close(): Promise<void>;
}): BrokerServices {
  const shutdown = new AbortController();
  const table = createHandlerTable([...o.handlers]);
  const deps: HandlerDeps = {
    cluster: o.cluster,
    config: o.config,
    logger: o.logger.child({ component: 'kafka' }),
    metrics: o.metrics,
    nowMs: o.nowMs,
    shutdown: shutdown.signal,
    table: () => table,
  };
  return {
    dispatcher: new KafkaDispatcher(deps, table),
    admin: { cluster: () => o.cluster.status(), partitions: () => o.cluster.partitionStatuses() },
    beginShutdown: () => shutdown.abort(),
    close: async () => {
      shutdown.abort();
      await o.close();
    },
  };
}

export const createStandaloneServices: ServicesFactory = standaloneServices();
