// Wiring of the group coordinator into the broker: an OffsetLog on the cluster's partition append
// path (acks=all) for `__consumer_offsets`, the coordinator loading the partitions this node
// leads, and the ten group handlers bound to it.
//
// The broker's services call `startGroupServices` once the cluster is open, add `handlers` to
// the handler table, and call `close()` before closing the cluster.
import type { Cluster, TopicPartition } from '../cluster/cluster.js';
import { ListOffsetsTimestamp } from '../cluster/cluster.js';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { buildRecordBatch, decodeRecordBatch, splitRecordBatches } from '../protocol.js';
import type { AnyHandler } from '../handlers/types.js';
import { createDeleteGroupsHandler } from '../handlers/delete-groups.js';
import { createDescribeGroupsHandler } from '../handlers/describe-groups.js';
import { createHeartbeatHandler } from '../handlers/heartbeat.js';
import { createJoinGroupHandler } from '../handlers/join-group.js';
import { createLeaveGroupHandler } from '../handlers/leave-group.js';
import { createListGroupsHandler } from '../handlers/list-groups.js';
import { createOffsetCommitHandler } from '../handlers/offset-commit.js';
import { createOffsetDeleteHandler } from '../handlers/offset-delete.js';
import { createOffsetFetchHandler } from '../handlers/offset-fetch.js';
import { createSyncGroupHandler } from '../handlers/sync-group.js';
import type { GroupCoordinatorConfig } from './coordinator.js';
import { GroupCoordinator } from './coordinator.js';
import { GroupError, GroupErrorCode } from './errors.js';
import { asBuffer } from './handler-util.js';
import type { OffsetLog } from './offset-log.js';
import { CONSUMER_OFFSETS_TOPIC } from './partitioning.js';
import type { EncodedRecord } from './records.js';
import type { GroupScheduler } from './scheduler.js';
import { systemScheduler } from './scheduler.js';
import { isKafkaError } from '../errors.js';

export interface ClusterOffsetLogOptions {
  nowMs?: () => number;
  /** How long an append may wait for acks=all. */
  appendTimeoutMs?: number;
  /** Bytes per read while loading a partition. */
  readChunkBytes?: number;
}

function appendError(e: unknown, partition: number): GroupError {
  const code = isKafkaError(e) ? e.code : '';
  const message = `append to ${CONSUMER_OFFSETS_TOPIC}-${partition} failed: ${e instanceof Error ? e.message : String(e)}`;
  switch (code) {
    case 'NOT_LEADER_OR_FOLLOWER':
    case 'FENCED_LEADER_EPOCH':
    case 'KAFKA_STORAGE_ERROR':
      return new GroupError(GroupErrorCode.OFFSET_LOG_NOT_LEADER, message, { cause: e });
    case 'MESSAGE_TOO_LARGE':
    case 'RECORD_LIST_TOO_LARGE':
    case 'INVALID_FETCH_SIZE':
      return new GroupError(GroupErrorCode.OFFSET_LOG_TOO_LARGE, message, { cause: e });
    case 'UNKNOWN_TOPIC_OR_PARTITION':
    case 'LEADER_NOT_AVAILABLE':
    case 'NOT_ENOUGH_REPLICAS':
    case 'NOT_ENOUGH_REPLICAS_AFTER_APPEND':
    case 'REQUEST_TIMED_OUT':
      return new GroupError(GroupErrorCode.OFFSET_LOG_UNAVAILABLE, message, { cause: e });
    default:
      return new GroupError(GroupErrorCode.OFFSET_LOG_FAILED, message, { cause: e });
  }
}

/**
 * `__consumer_offsets` on the cluster: each append is one record batch written with acks=all
 * (answered once fsync'd here, or committed by a majority in a cluster); a partition is read back
 * from its log start to its high watermark.
 */
export class ClusterOffsetLog implements OffsetLog {
  private readonly nowMs: () => number;
  private readonly appendTimeoutMs: number;
  private readonly readChunkBytes: number;

  constructor(
    private readonly cluster: Cluster,
    options: ClusterOffsetLogOptions = {},
  ) {
    this.nowMs = options.nowMs ?? Date.now;
    this.appendTimeoutMs = options.appendTimeoutMs ?? 30_000;
    this.readChunkBytes = options.readChunkBytes ?? 1024 * 1024;
  }

  private tp(partition: number): TopicPartition {
    return { topic: CONSUMER_OFFSETS_TOPIC, partition };
  }

  async append(partition: number, records: readonly EncodedRecord[]): Promise<bigint> {
    if (records.length === 0)
      throw new GroupError(GroupErrorCode.OFFSET_LOG_FAILED, 'an append needs at least one record');
    const batch = buildRecordBatch({
      records: records.map((r) => ({
        key: asBuffer(r.key),
        value: r.value === null ? null : asBuffer(r.value),
      })),
      now: this.nowMs,
    });
    if (this.cluster.topic(CONSUMER_OFFSETS_TOPIC) === undefined) {
      // The topic is created on the first coordinator lookup; make sure it exists.
      try {
        await this.cluster.findCoordinator(0, '');
      } catch (e) {
        throw appendError(e, partition);
      }
    }
    try {
      return (await this.cluster.append(this.tp(partition), batch, -1, this.appendTimeoutMs)).baseOffset;
    } catch (e) {
      throw appendError(e, partition);
    }
  }

  async truncateBefore(partition: number, offset: bigint): Promise<void> {
    try {
      await this.cluster.deleteRecords(this.tp(partition), offset, this.appendTimeoutMs);
    } catch (e) {
      throw appendError(e, partition);
    }
  }

  async *readAll(partition: number): AsyncIterable<EncodedRecord> {
    if (this.cluster.topic(CONSUMER_OFFSETS_TOPIC) === undefined) return;
    const tp = this.tp(partition);
    let offset = (await this.cluster.listOffset(tp, ListOffsetsTimestamp.EARLIEST, 0, -1)).offset;
    const end = (await this.cluster.listOffset(tp, ListOffsetsTimestamp.LATEST, 0, -1)).offset;
    while (offset < end) {
      const r = await this.cluster.read({
        ...tp,
        fetchOffset: offset,
        maxBytes: this.readChunkBytes,
        isolationLevel: 0,
        currentLeaderEpoch: -1,
      });
      const before = offset;
      for (const chunk of r.chunks) {
        for (const slice of splitRecordBatches(chunk, { allowPartialTail: true })) {
          const next = slice.header.baseOffset + BigInt(slice.header.lastOffsetDelta) + 1n;
          if (next <= offset) continue;
          if (!slice.header.isControl) {
            const batch = decodeRecordBatch(slice.bytes);
            for (const rec of batch.records) {
              if (rec.offset < offset || rec.offset >= end || rec.key === null) continue;
              yield { key: rec.key, value: rec.value };
            }
          }
          offset = next;
        }
      }
      if (offset === before) {
        throw new GroupError(
          GroupErrorCode.OFFSET_LOG_FAILED,
          `reading ${CONSUMER_OFFSETS_TOPIC}-${partition} made no progress at offset ${offset} (high watermark ${end})`,
        );
      }
    }
  }
}

/** The ten consumer-group handlers, bound to `coordinator`. */
export function createGroupHandlers(coordinator: GroupCoordinator): AnyHandler[] {
  return [
    createOffsetCommitHandler(coordinator),
    createOffsetFetchHandler(coordinator),
    createJoinGroupHandler(coordinator),
    createHeartbeatHandler(coordinator),
    createLeaveGroupHandler(coordinator),
    createSyncGroupHandler(coordinator),
    createDescribeGroupsHandler(coordinator),
    createListGroupsHandler(coordinator),
    createDeleteGroupsHandler(coordinator),
    createOffsetDeleteHandler(coordinator),
  ];
}

export interface GroupServices {
  coordinator: GroupCoordinator;
  handlers: AnyHandler[];
  /**
   * Loads the `__consumer_offsets` partitions this node now leads and unloads those it no longer
   * leads (cluster mode: leadership moves). Runs every `leadershipCheckIntervalMs` by itself; the
   * broker may also call it when it learns of a leadership change. Resolves when the loads finish.
   */
  reconcile(): Promise<void>;
  /** Stops timers and answers waiting group requests (NOT_COORDINATOR). Call before closing the cluster. */
  close(): void;
}

export interface GroupServicesOptions {
  cluster: Cluster;
  config: ServerConfig;
  logger?: Logger;
  scheduler?: GroupScheduler;
  /** Overrides of the coordinator's settings (offsets.topic.num.partitions comes from `config`). */
  groupConfig?: Partial<GroupCoordinatorConfig>;
  offsetLog?: OffsetLog;
  /** How often leadership of `__consumer_offsets` partitions is checked (default 1000 ms; 0 = never). */
  leadershipCheckIntervalMs?: number;
}

/**
 * Which `__consumer_offsets` partitions this node should coordinate: those it leads; before the
 * topic exists, all of them in standalone mode (the topic will be created here) and none in a cluster.
 */
export function partitionsToCoordinate(cluster: Cluster, numPartitions: number): number[] {
  const topic = cluster.topic(CONSUMER_OFFSETS_TOPIC);
  const out: number[] = [];
  for (let p = 0; p < numPartitions; p++) {
    if (
      topic === undefined
        ? cluster.status().mode === 'standalone'
        : topic.partitions[p]?.leaderId === cluster.nodeId
    )
      out.push(p);
  }
  return out;
}

/**
 * Creates the coordinator and loads the `__consumer_offsets` partitions this node leads (in
 * standalone: all of them; the topic may not exist yet, then there is nothing to load).
 * Resolves once they are loaded, so committed offsets are served from the first request.
 */
export async function startGroupServices(options: GroupServicesOptions): Promise<GroupServices> {
  const { cluster, config } = options;
  const logger = options.logger ?? silentLogger;
  const scheduler = options.scheduler ?? systemScheduler;
  const coordinator = new GroupCoordinator({
    offsetLog: options.offsetLog ?? new ClusterOffsetLog(cluster, { nowMs: () => scheduler.now() }),
    scheduler,
    logger,
    config: { ...options.groupConfig, numPartitions: config.broker.offsetsTopicNumPartitions },
  });
  const loading = new Set<number>();
  /** Partitions whose load failed, and when: retried after `retryFailedLoadMs`. */
  const failedAt = new Map<number, number>();
  const retryFailedLoadMs = 30_000;
  let closed = false;
  const reconcile = async (): Promise<void> => {
    if (closed) return;
    const want = new Set(partitionsToCoordinate(cluster, coordinator.config.numPartitions));
    for (const p of coordinator.ownedPartitions()) {
      if (!want.has(p) && !loading.has(p)) coordinator.unloadPartition(p);
    }
    const now = scheduler.now();
    const owned = new Set(coordinator.ownedPartitions());
    const toLoad = [...want].filter(
      (p) => !loading.has(p) && !owned.has(p) && now - (failedAt.get(p) ?? -Infinity) >= retryFailedLoadMs,
    );
    await Promise.all(
      toLoad.map(async (p) => {
        loading.add(p);
        try {
          await coordinator.loadPartition(p);
          failedAt.delete(p);
        } catch (e) {
          // One unreadable partition leaves its groups without a coordinator (NOT_COORDINATOR),
          // never the broker down; it is retried later.
          failedAt.set(p, scheduler.now());
          logger.error(
            { err: e, partition: p },
            `cannot load ${CONSUMER_OFFSETS_TOPIC} partition; its groups have no coordinator until it loads`,
          );
        } finally {
          loading.delete(p);
        }
      }),
    );
  };
  await reconcile();
  let timer: ReturnType<GroupScheduler['setTimer']> | undefined;
  const intervalMs = options.leadershipCheckIntervalMs ?? 1000;
  const tick = (): void => {
    timer = scheduler.setTimer(intervalMs, () => {
      if (closed) return;
      reconcile().then(tick, (e: unknown) => {
        logger.warn({ err: e }, 'loading __consumer_offsets partitions failed; retrying');
        tick();
      });
    });
  };
  if (intervalMs > 0) tick();
  logger.info(
    { partitions: coordinator.ownedPartitions().length, groups: coordinator.groupCount() },
    'group coordinator ready',
  );
  return {
    coordinator,
    handlers: createGroupHandlers(coordinator),
    reconcile,
    close: () => {
      closed = true;
      timer?.cancel();
      coordinator.close();
    },
  };
}
