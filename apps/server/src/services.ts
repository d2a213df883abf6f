// Standalone services: LocalCluster on WAL-backed partition logs, the handler table and the
// dispatcher, wired with explicit dependencies.
import type { ServicesFactory } from './broker.js';
import type { Cluster } from './cluster/cluster.js';
import { LocalCluster } from './cluster/local-cluster.js';
import { KafkaDispatcher } from './handlers/dispatcher.js';
import { createHandlerTable } from './handlers/table.js';
import type { AnyHandler, HandlerDeps } from './handlers/types.js';
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
}

export function standaloneServices(options: StandaloneOptions = {}): ServicesFactory {
  return async ({ config, dataDir, logger, metrics, advertised }) => {
    const nowMs = options.nowMs ?? Date.now;
    const walFactory = options.entryLogs === undefined ? new WalEntryLogFactory({ maxSegmentBytes: config.broker.logSegmentBytes, maxRecordBytes: MAX_BATCH_BYTES, logger: logger.child({ component: 'wal' }) }) : undefined;
    const cluster: Cluster = await LocalCluster.open({
      config,
      dataDir: dataDir.path,
      logger: logger.child({ component: 'cluster' }),
      nowMs,
      entryLogs: options.entryLogs ?? (walFactory as WalEntryLogFactory),
      advertised,
    });
    const shutdown = new AbortController();
    const table = createHandlerTable(options.extraHandlers ?? []);
    const deps: HandlerDeps = { cluster, config, logger: logger.child({ component: 'kafka' }), metrics, nowMs, shutdown: shutdown.signal, table: () => table };
    return {
      dispatcher: new KafkaDispatcher(deps, table),
      admin: { cluster: () => cluster.status(), partitions: () => cluster.partitionStatuses() },
      beginShutdown: () => shutdown.abort(),
      close: async () => {
        shutdown.abort();
        await cluster.close();
        walFactory?.close();
      },
    };
  };
}

export const createStandaloneServices: ServicesFactory = standaloneServices();
