// The group coordinator in the broker, the same in both modes: its OffsetLog is `__consumer_offsets`
// on the partition data path (acks=all appends), and it coordinates the `__consumer_offsets`
// partitions this node leads — loaded when the partition manager reports a partition led here (with
// its view complete), unloaded when leadership moves away. A load that fails is retried while the
// partition is still led here.
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import { CONSUMER_OFFSETS_TOPIC } from '@chronik/metadata';
import { buildRecordBatch, decodeRecordBatch, splitRecordBatches } from '@chronik/protocol';
import { isKafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import type {
  Acks,
  AppendResult,
  IsolationLevel,
  ListOffsetResult,
  ReadResult,
  TopicPartition,
} from '../partition/types.js';
import { ListOffsetsTimestamp } from '../partition/types.js';
import type { LeadershipListener, ReadRequest } from '../services/partition-manager.js';
import type { GroupCoordinatorConfig } from './coordinator.js';
import { GroupCoordinator } from './coordinator.js';
import { GroupError, GroupErrorCode } from './errors.js';
import type { OffsetLog } from './offset-log.js';
import type { EncodedRecord } from './records.js';

/** What the coordinator needs of the partitions (the partition manager). */
export interface GroupPartitions {
  append(tp: TopicPartition, records: Buffer, acks: Acks, timeoutMs: number): Promise<AppendResult>;
  read(req: ReadRequest): Promise<ReadResult>;
  listOffset(
    tp: TopicPartition,
    timestamp: bigint,
    isolationLevel: IsolationLevel,
    currentLeaderEpoch: number,
  ): Promise<ListOffsetResult>;
  deleteRecords(tp: TopicPartition, offset: bigint, timeoutMs: number): Promise<bigint>;
  onLeadership(listener: LeadershipListener): () => void;
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

export interface PartitionOffsetLogOptions {
  nowMs: () => number;
  /** Creates `__consumer_offsets` when it does not exist yet. */
  ensureTopic(): Promise<void>;
  /** How long an append may wait for acks=all. Default 30 s. */
  appendTimeoutMs?: number;
  /** Bytes per read while loading a partition. Default 1 MiB. */
  readChunkBytes?: number;
}

/**
 * `__consumer_offsets` on the partitions: each append is one record batch written with acks=all
 * (answered once fsync'd on one node, or committed by a majority in a cluster); a partition is read
 * back from its log start to its high watermark.
 */
export class PartitionOffsetLog implements OffsetLog {
  private readonly appendTimeoutMs: number;
  private readonly readChunkBytes: number;

  constructor(
    private readonly partitions: GroupPartitions,
    private readonly options: PartitionOffsetLogOptions,
  ) {
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
      now: this.options.nowMs,
    });
    try {
      await this.options.ensureTopic();
      return (await this.partitions.append(this.tp(partition), batch, -1, this.appendTimeoutMs)).baseOffset;
    } catch (e) {
      throw appendError(e, partition);
    }
  }

  async truncateBefore(partition: number, offset: bigint): Promise<void> {
    try {
      await this.partitions.deleteRecords(this.tp(partition), offset, this.appendTimeoutMs);
    } catch (e) {
      throw appendError(e, partition);
    }
  }

  async *readAll(partition: number): AsyncIterable<EncodedRecord> {
    const tp = this.tp(partition);
    let offset: bigint;
    let end: bigint;
    try {
      offset = (await this.partitions.listOffset(tp, ListOffsetsTimestamp.EARLIEST, 0, -1)).offset;
      end = (await this.partitions.listOffset(tp, ListOffsetsTimestamp.LATEST, 0, -1)).offset;
    } catch (e) {
      if (isKafkaError(e) && e.code === 'UNKNOWN_TOPIC_OR_PARTITION') return; // nothing committed yet
      throw e;
    }
    while (offset < end) {
      const r = await this.partitions.read({
        ...tp,
        fetchOffset: offset,
        maxBytes: this.readChunkBytes,
        minOneBatch: true,
        isolationLevel: 0,
        currentLeaderEpoch: -1,
      });
      const before = offset;
      for (const chunk of r.chunks) {
        for (const slice of splitRecordBatches(chunk, { allowPartialTail: true })) {
          const next = slice.header.baseOffset + BigInt(slice.header.lastOffsetDelta) + 1n;
          if (next <= offset) continue;
          if (!slice.header.isControl) {
            for (const rec of decodeRecordBatch(slice.bytes).records) {
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

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export interface GroupServiceOptions {
  partitions: GroupPartitions;
  /** Creates `__consumer_offsets` when it does not exist yet. */
  ensureOffsetsTopic(): Promise<void>;
  /** offsets.topic.num.partitions. */
  numPartitions: number;
  /** Wall-clock time (commit timestamps, the coordinator's). */
  clock: Clock;
  scheduler: Scheduler;
  /** Member ids are `${clientId}-${newUuid()}`. */
  newUuid: () => string;
  logger: Logger;
  /** Overrides of the coordinator's settings. */
  groupConfig?: Partial<GroupCoordinatorConfig>;
  /** Storage of the coordinator (default: `__consumer_offsets` on the partitions). */
  offsetLog?: OffsetLog;
  /** A failed load is retried after this long while the partition is still led here. Default 30 s. */
  retryFailedLoadMs?: number;
}

export interface GroupService {
  coordinator: GroupCoordinator;
  /** Stops following leadership and answers waiting group requests (NOT_COORDINATOR). */
  close(): void;
}

/**
 * Starts the coordinator and loads the `__consumer_offsets` partitions this node leads now;
 * resolves once those are loaded, so committed offsets are served from the first request.
 */
export async function startGroupService(options: GroupServiceOptions): Promise<GroupService> {
  const coordinator = new GroupCoordinator({
    offsetLog:
      options.offsetLog ??
      new PartitionOffsetLog(options.partitions, {
        nowMs: () => options.clock.nowMs(),
        ensureTopic: options.ensureOffsetsTopic,
      }),
    clock: options.clock,
    scheduler: options.scheduler,
    newUuid: options.newUuid,
    logger: options.logger,
    config: { ...options.groupConfig, numPartitions: options.numPartitions },
  });
  const retryMs = options.retryFailedLoadMs ?? 30_000;
  const leading = new Set<number>();
  const retries = new Map<number, TimerHandle>();
  let closed = false;
  const load = (p: number): Promise<void> =>
    coordinator.loadPartition(p).then(
      () => undefined,
      (e: unknown) => {
        if (closed || !leading.has(p)) return;
        // One unreadable partition leaves its groups without a coordinator (NOT_COORDINATOR),
        // never the broker down; it is loaded again later.
        options.logger.error(
          { err: e instanceof Error ? e.message : String(e), partition: p },
          `cannot load ${CONSUMER_OFFSETS_TOPIC} partition; its groups have no coordinator until it loads`,
        );
        retries.get(p)?.cancel();
        retries.set(
          p,
          options.scheduler.setTimer(retryMs, () => {
            retries.delete(p);
            if (!closed && leading.has(p)) void load(p);
          }),
        );
      },
    );
  let initial: Array<Promise<void>> | undefined = [];
  const off = options.partitions.onLeadership((topic, partition, leader) => {
    if (topic !== CONSUMER_OFFSETS_TOPIC || partition >= coordinator.config.numPartitions || closed) return;
    if (leader) {
      leading.add(partition);
      const loading = load(partition);
      initial?.push(loading);
    } else {
      leading.delete(partition);
      retries.get(partition)?.cancel();
      retries.delete(partition);
      coordinator.unloadPartition(partition);
    }
  });
  await Promise.all(initial);
  initial = undefined;
  options.logger.info(
    { partitions: coordinator.ownedPartitions().length, groups: coordinator.groupCount() },
    'group coordinator ready',
  );
  return {
    coordinator,
    close: () => {
      closed = true;
      off();
      for (const r of retries.values()) r.cancel();
      coordinator.close();
    },
  };
}
