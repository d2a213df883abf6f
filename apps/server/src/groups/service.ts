// The group coordinator in the broker, the same in both modes: its OffsetLog is `__consumer_offsets`
// on the partition data path (acks=all appends), and it coordinates the `__consumer_offsets`
// partitions this node leads (services/coordinator-partitions.ts: loaded when led here, unloaded
// when leadership moves away, a failed load retried while the partition is still led here). Transaction markers the partition manager writes to those partitions
// complete the groups' transactional offset commits.
import { CONSUMER_OFFSETS_TOPIC } from '@chronik/metadata';
import { isKafkaError } from '../errors.js';
import type { Clock, Scheduler } from '@chronik/env';
import type { Logger } from '../logger.js';
import type { InternalLogPartitions, TransactionalAppend } from '../services/internal-log.js';
import { InternalTopicLog } from '../services/internal-log.js';
import type { TopicPartition } from '../partition/types.js';
import { followCoordinatorPartitions } from '../services/coordinator-partitions.js';
import type { LeadershipListener } from '../services/partition-manager.js';
import type { TxnMarker } from '../txn/types.js';
import type { MigrationPolicy, TopicMetadataSource } from './consumer-coordinator.js';
import type { GroupCoordinatorConfig } from './coordinator.js';
import { GroupCoordinator } from './coordinator.js';
import { GroupError, GroupErrorCode } from './errors.js';
import type { OffsetLog, OffsetLogEntry } from './offset-log.js';
import type { EncodedRecord } from './records.js';

/** What the coordinator needs of the partitions (the partition manager). */
export interface GroupPartitions extends InternalLogPartitions {
  onLeadership(listener: LeadershipListener): () => void;
  /** Markers written durably on this node's partitions (those of `__consumer_offsets` complete transactions). */
  onTxnMarker(listener: (tp: TopicPartition, marker: TxnMarker, offset: bigint) => void): () => void;
}

function appendError(e: unknown, partition: number): GroupError {
  if (e instanceof GroupError) return e;
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
    case 'INVALID_PRODUCER_EPOCH':
    case 'PRODUCER_FENCED':
    case 'INVALID_PRODUCER_ID_MAPPING':
    case 'INVALID_TXN_STATE':
    case 'CONCURRENT_TRANSACTIONS':
    case 'TRANSACTION_ABORTABLE':
    case 'OUT_OF_ORDER_SEQUENCE_NUMBER':
    case 'UNKNOWN_PRODUCER_ID':
    case 'NOT_COORDINATOR':
    case 'COORDINATOR_LOAD_IN_PROGRESS':
    case 'COORDINATOR_NOT_AVAILABLE':
      // A transaction's batch refused (fencing, or KIP-890's check with the transaction coordinator).
      return new GroupError(GroupErrorCode.OFFSET_LOG_REFUSED, message, { cause: e, kafkaError: code });
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
 * `__consumer_offsets` on the partitions (services/internal-log.ts): each append is one record
 * batch written with acks=all; a partition is read back from its log start to its high watermark,
 * transaction markers included. Failures become GroupErrors.
 */
export class PartitionOffsetLog implements OffsetLog {
  private readonly log: InternalTopicLog;

  constructor(partitions: InternalLogPartitions, options: PartitionOffsetLogOptions) {
    this.log = new InternalTopicLog(partitions, { ...options, topic: CONSUMER_OFFSETS_TOPIC });
  }

  async append(partition: number, records: readonly EncodedRecord[]): Promise<bigint> {
    try {
      return await this.log.append(partition, records);
    } catch (e) {
      throw appendError(e, partition);
    }
  }

  async appendTransactional(
    partition: number,
    records: readonly EncodedRecord[],
    txn: TransactionalAppend,
  ): Promise<bigint> {
    try {
      return await this.log.append(partition, records, txn);
    } catch (e) {
      throw appendError(e, partition);
    }
  }

  async truncateBefore(partition: number, offset: bigint): Promise<void> {
    try {
      await this.log.truncateBefore(partition, offset);
    } catch (e) {
      throw appendError(e, partition);
    }
  }

  readAll(partition: number): AsyncIterable<OffsetLogEntry> {
    return this.log.readAll(partition);
  }
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
  /** The cluster's topics, for consumer-protocol groups (KIP-848). */
  topics?: TopicMetadataSource;
  /** group.consumer.assignors (default uniform, range). */
  consumerAssignors?: readonly string[];
  /** group.consumer.migration.policy (default bidirectional). */
  consumerMigrationPolicy?: MigrationPolicy;
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
    ...(options.topics !== undefined ? { topics: options.topics } : {}),
    ...(options.consumerAssignors !== undefined ? { consumerAssignors: options.consumerAssignors } : {}),
    ...(options.consumerMigrationPolicy !== undefined
      ? { consumerMigrationPolicy: options.consumerMigrationPolicy }
      : {}),
  });
  let closed = false;
  const offMarkers = options.partitions.onTxnMarker((tp, marker, offset) => {
    if (tp.topic === CONSUMER_OFFSETS_TOPIC && !closed)
      coordinator.onTxnMarker(tp.partition, marker.producerId, marker.commit, offset);
  });
  const followed = followCoordinatorPartitions({
    partitions: options.partitions,
    topic: CONSUMER_OFFSETS_TOPIC,
    numPartitions: coordinator.config.numPartitions,
    load: (p) => coordinator.loadPartition(p),
    unload: (p) => coordinator.unloadPartition(p),
    scheduler: options.scheduler,
    logger: options.logger,
    retryFailedLoadMs: options.retryFailedLoadMs ?? 30_000,
    keys: 'groups',
  });
  await followed.ready;
  options.logger.info(
    { partitions: coordinator.ownedPartitions().length, groups: coordinator.groupCount() },
    'group coordinator ready',
  );
  return {
    coordinator,
    close: () => {
      closed = true;
      followed.close();
      offMarkers();
      coordinator.close();
    },
  };
}
