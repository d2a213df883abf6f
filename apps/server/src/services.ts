// Standalone services: LocalCluster on WAL-backed partition logs, the handler table and the
// dispatcher, wired with explicit dependencies.
import type { ServicesFactory } from './broker.js';
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
    const shutdown = new AbortController();
    const table = createHandlerTable([...(options.extraHandlers ?? []), ...(groups?.handlers ?? [])]);
    const deps: HandlerDeps = {
      cluster,
      config,
      logger: logger.child({ component: 'kafka' }),
      metrics,
      nowMs,
      shutdown: shutdown.signal,
      table: () => table,
    };
    return {
      dispatcher: new KafkaDispatcher(deps, table),
      admin: { cluster: () => cluster.status(), partitions: () => cluster.partitionStatuses() },
      beginShutdown: () => shutdown.abort(),
      close: async () => {
        shutdown.abort();
        await groups?.close();
        await cluster.close();
        walFactory?.close();
      },
    };
  };
}

export const createStandaloneServices: ServicesFactory = standaloneServices();
