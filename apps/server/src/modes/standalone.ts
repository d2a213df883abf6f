// Standalone mode: one node, no Raft. The metadata applies here and is persisted as an atomic
// snapshot (`<data>/metadata/snapshot.bin`); every partition is a LocalPartition on its own WAL
// (`<data>/partitions/<topicId>/<partition>/`), all WALs sharing one group commit; recent batches of
// every partition share one cache. This file (with raft-cluster.ts) is the only place that
// constructs infrastructure: the environment (file system, clock, scheduler, randomness) comes from
// the options' `env`, its missing parts the machine's.
import path from 'node:path';
import type { MetadataChange, PartitionInfo } from '@chronik/metadata';
import type { FileSystem } from '@chronik/env';
import { isWalError } from '@chronik/wal';
import type { WalStats } from '@chronik/wal';
import type { BrokerMode } from '../broker.js';
import { diskSpace } from '../datadir.js';
import { KafkaError, ServerError, ServerErrorCode } from '../errors.js';
import type { GroupCoordinatorConfig } from '../groups/coordinator.js';
import type { OffsetLog } from '../groups/offset-log.js';
import type { TxnCoordinatorConfig } from '../txn/coordinator.js';
import type { AnyHandler } from '../handlers/types.js';
import type { EnvOptions } from '../infra.js';
import { modeEnv } from '../infra.js';
import { LocalPartition } from '../partition/local-partition.js';
import type { PartitionFactory, PartitionSpec } from '../services/partition-manager.js';
import { LocalMetadataStore, SNAPSHOT_FILE } from '../services/metadata-store.js';
import { BatchCache } from '../storage/batch-cache.js';
import type { EntryLog, EntryLogFactory } from '../storage/entry-log.js';
import { WalEntryLogFactory } from '../storage/wal-entry-log.js';
import type { Composed } from './compose.js';
import { composeBroker, poolDataFiles } from './compose.js';

/** Largest record batch the storage accepts (bounds max.message.bytes). */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;
/** Recent batches kept in memory for all partitions together. */
const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

export interface StandaloneOptions extends EnvOptions {
  /** Storage under the partitions (default: a WAL per partition on `fs`). */
  entryLogs?: EntryLogFactory;
  /** Bytes of recent batches kept in memory for all partitions together (default 64 MiB). */
  cacheBytes?: number;
  /** Overrides of the group coordinator's settings. */
  groupConfig?: Partial<GroupCoordinatorConfig>;
  /** The coordinator's storage (default: `__consumer_offsets`). */
  offsetLog?: OffsetLog;
  /** Overrides of the transaction coordinator's settings. */
  txnConfig?: Partial<TxnCoordinatorConfig>;
  extraHandlers?: readonly AnyHandler[];
  /** Told the composed services once they are up (tests reach into them). */
  onComposed?(c: Composed): void;
}

/**
 * Whether a partition whose storage failed with `e` may work again later: an I/O error (a full
 * disk, a file-descriptor limit) may pass once the operator acts, and opening the log again runs
 * its recovery, which keeps what was written before the failure. Damaged or lost data (WAL
 * Corruption, a missing log) and broken invariants do not pass by themselves.
 */
export function storageFailureMayPass(e: Error): boolean {
  if (isWalError(e)) return e.code === 'Io';
  const code = (e as NodeJS.ErrnoException).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/** The partitions of this node the changes create. */
function newLogsOf(
  changes: readonly MetadataChange[],
  nodeId: number,
): Array<{ topicId: string; partition: number }> {
  const out: Array<{ topicId: string; partition: number }> = [];
  for (const ch of changes) {
    let created: { topicId: string; partitions: readonly PartitionInfo[] };
    if (ch.type === 'topicCreated') created = ch.topic;
    else if (ch.type === 'partitionsCreated') created = ch;
    else continue;
    for (const p of created.partitions)
      if (p.replicas.includes(nodeId)) out.push({ topicId: created.topicId, partition: p.partition });
  }
  return out;
}

/** The names in `dir`, or none when it does not exist. */
async function namesIn(fsys: FileSystem, dir: string): Promise<string[]> {
  try {
    return await fsys.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
}

/**
 * Refuses to start when partition logs exist but the metadata snapshot does not: starting would
 * begin a new, empty cluster (a fresh cluster id, no topics) and leave every log unreferenced. The
 * snapshot is written when the broker first registers, before any partition exists, so partition
 * logs without it mean it was lost.
 */
async function refuseLogsWithoutMetadata(
  fsys: FileSystem,
  metadataDir: string,
  partitionsDir: string,
): Promise<void> {
  const snapshot = path.join(metadataDir, SNAPSHOT_FILE);
  if ((await fsys.stat(snapshot)) !== undefined) return;
  let logs = 0;
  for (const topic of await namesIn(fsys, partitionsDir))
    logs += (await namesIn(fsys, path.join(partitionsDir, topic))).length;
  if (logs === 0) return;
  throw new ServerError(
    ServerErrorCode.DATA_DIR_CORRUPT,
    `the metadata snapshot ${snapshot} is missing but ${partitionsDir} holds ${logs} partition log(s): ` +
      'starting would begin a new, empty cluster and leave them unreferenced. Restore the snapshot from a ' +
      `backup; or, to start empty on purpose, move the partition logs away first (mv ${partitionsDir} ${partitionsDir}.orphaned)`,
  );
}

export function standaloneMode(options: StandaloneOptions = {}): BrokerMode {
  return async (ctx) => {
    const { config, logger } = ctx;
    // Every data file goes through one bounded pool of descriptors (docs/design/file-handles.md).
    const { env } = await poolDataFiles(ctx, modeEnv(options));
    const { fs: fsys, clock } = env;
    const dataDir = ctx.dataDir.path;
    const partitionsDir = path.join(dataDir, 'partitions');
    const metadataDir = path.join(dataDir, 'metadata');
    const wal =
      options.entryLogs === undefined
        ? new WalEntryLogFactory({
            fs: fsys,
            clock,
            scheduler: env.scheduler,
            maxSegmentBytes: config.broker.logSegmentBytes,
            maxRecordBytes: MAX_BATCH_BYTES,
            maxPendingBytes: config.limits.maxGlobalInFlightBytes + config.limits.maxRequestBytes,
            logger: logger.child({ component: 'wal' }),
            observer: ctx.metrics.layers.observer,
          })
        : undefined;
    const walStats = wal !== undefined ? (): WalStats => wal.committer.stats : undefined;
    if (walStats !== undefined) ctx.metrics.layers.walSources.add(walStats);
    const entryLogs = options.entryLogs ?? (wal as WalEntryLogFactory);
    const cache = new BatchCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES);
    const partitionLogger = logger.child({ component: 'partition' });
    const partitionDir = (topicId: string, partition: number): string =>
      path.join(partitionsDir, topicId, String(partition));
    let store: LocalMetadataStore;
    try {
      await refuseLogsWithoutMetadata(fsys, metadataDir, partitionsDir);
      store = await LocalMetadataStore.open({
        nodeId: config.nodeId,
        fs: fsys,
        dir: metadataDir,
        logger: logger.child({ component: 'metadata' }),
        // A partition the metadata file names always has a directory: a missing one was lost.
        beforeDurable: async (changes) => {
          const dirs = newLogsOf(changes, config.nodeId).map((l) => partitionDir(l.topicId, l.partition));
          if (dirs.length > 0) await entryLogs.prepare(dirs);
        },
      });
    } catch (e) {
      wal?.close();
      if (walStats !== undefined) ctx.metrics.layers.walSources.delete(walStats);
      throw e;
    }
    const openLog = async (spec: PartitionSpec): Promise<EntryLog> => {
      const dir = partitionDir(spec.topicId, spec.partition);
      await store.durable();
      if (!(await entryLogs.exists(dir)))
        throw new KafkaError(
          'KAFKA_STORAGE_ERROR',
          `${spec.topic}-${spec.partition}: its log directory ${dir} is missing, though the metadata ` +
            'has the partition: its data was lost (deleted?), not never written. It stays offline: ' +
            'restore the directory from a backup and restart, or delete the topic',
        );
      return entryLogs.open(dir);
    };
    const factory: PartitionFactory = {
      create: (spec, events) =>
        new LocalPartition({
          topic: spec.topic,
          topicId: spec.topicId,
          partition: spec.partition,
          nodeId: config.nodeId,
          leaderEpoch: Math.max(0, spec.leaderEpoch),
          openLog: () => openLog(spec),
          cache,
          config: spec.config,
          maxEntryBytes: MAX_BATCH_BYTES,
          retentionCheckIntervalMs: config.broker.retentionCheckIntervalMs,
          logger: partitionLogger,
          nowMs: () => clock.nowMs(),
          events,
        }),
      // Only once the deletion is on disk, and only if it stands (a failed write undoes it).
      remove: async (topicId, partition) => {
        await store.durable().catch(() => undefined);
        if (store.state.topicById(topicId) === undefined)
          await entryLogs.remove(partitionDir(topicId, partition));
      },
      mayReopenAfter: storageFailureMayPass,
    };
    const composed = await composeBroker({
      ctx,
      env,
      store,
      factory,
      logDir: { path: dataDir, space: () => diskSpace(dataDir) },
      // No Raft listener; the metadata wants a name there.
      raftAddress: 'standalone',
      registerInBackground: false,
      ...(options.groupConfig !== undefined ? { groupConfig: options.groupConfig } : {}),
      ...(options.offsetLog !== undefined ? { offsetLog: options.offsetLog } : {}),
      ...(options.txnConfig !== undefined ? { txnConfig: options.txnConfig } : {}),
      ...(options.extraHandlers !== undefined ? { extraHandlers: options.extraHandlers } : {}),
      close: async () => {
        await Promise.resolve();
        wal?.close();
        if (walStats !== undefined) ctx.metrics.layers.walSources.delete(walStats);
      },
    });
    options.onComposed?.(composed);
    return composed.broker;
  };
}
