// The transaction coordinator in the broker, the same in both modes: its TxnLog is
// `__transaction_state` on the partition data path (acks=all appends); it coordinates the
// `__transaction_state` partitions this node leads (services/coordinator-partitions.ts, as the
// group coordinator does; a partition's leader epoch is its coordinator epoch). Also here: the
// MarkerWriter that writes markers on this node's partitions (the partition manager) or asks the
// partition's leader elsewhere, and the TxnVerifier the partition manager asks (KIP-890), which
// answers from this coordinator or asks the transactional id's coordinator elsewhere.
import { TRANSACTION_STATE_TOPIC } from '@chronik/metadata';
import { KafkaError } from '../errors.js';
import { kafkaErrorName } from '../error-map.js';
import type { Clock, Scheduler } from '@chronik/env';
import type { Logger } from '../logger.js';
import type { TopicPartition } from '../partition/types.js';
import type { InternalLogPartitions } from '../services/internal-log.js';
import { InternalTopicLog } from '../services/internal-log.js';
import { followCoordinatorPartitions } from '../services/coordinator-partitions.js';
import type { LeadershipListener } from '../services/partition-manager.js';
import type { TxnCoordinatorConfig } from './coordinator.js';
import { TransactionCoordinator } from './coordinator.js';
import type { EncodedRecord } from './records.js';
import type { TxnLog } from './txn-log.js';
import { tpKey } from './types.js';
import type { MarkerWriter, TxnMarker, TxnVerifier, TxnVerifyRequest } from './types.js';

/** `__transaction_state` on the partitions (services/internal-log.ts); failures pass as they are. */
export class PartitionTxnLog implements TxnLog {
  private readonly log: InternalTopicLog;

  constructor(
    partitions: InternalLogPartitions,
    options: { nowMs: () => number; ensureTopic(): Promise<void>; appendTimeoutMs?: number },
  ) {
    this.log = new InternalTopicLog(partitions, { ...options, topic: TRANSACTION_STATE_TOPIC });
  }

  append(partition: number, records: readonly EncodedRecord[]): Promise<bigint> {
    return this.log.append(partition, records);
  }

  truncateBefore(partition: number, offset: bigint): Promise<void> {
    return this.log.truncateBefore(partition, offset);
  }

  async *readAll(partition: number): AsyncIterable<EncodedRecord> {
    for await (const e of this.log.readAll(partition))
      if (e.kind === 'record') yield { key: e.key, value: e.value };
  }
}

/** Writes markers on another node's partitions (its WriteTxnMarkers): the error name per tpKey. */
export type RemoteMarkers = (
  nodeId: number,
  marker: TxnMarker,
  partitions: readonly TopicPartition[],
  timeoutMs: number,
) => Promise<Map<string, string>>;

export interface BrokerMarkerWriterOptions {
  nodeId: number;
  /** The partition's leader as this node knows it (-1: none known). */
  leaderOf(tp: TopicPartition): number;
  /** Writes the marker on this node's leader replica (PartitionManager.writeTxnMarker). */
  writeLocal(tp: TopicPartition, marker: TxnMarker, timeoutMs: number): Promise<bigint>;
  /** Absent: a partition led elsewhere is answered NOT_LEADER_OR_FOLLOWER (retried later). */
  remote?: RemoteMarkers;
}

/**
 * The MarkerWriter of a broker: each partition on its leader — this node's partition manager, or
 * another node through `remote`. A partition whose leader is unknown is LEADER_NOT_AVAILABLE; a
 * failed remote call leaves its partitions out of the answer (the coordinator retries them).
 */
export class BrokerMarkerWriter implements MarkerWriter {
  constructor(private readonly options: BrokerMarkerWriterOptions) {}

  async write(
    marker: TxnMarker,
    partitions: readonly TopicPartition[],
    timeoutMs: number,
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const remote = new Map<number, TopicPartition[]>();
    const local: Array<Promise<void>> = [];
    for (const tp of partitions) {
      const leader = this.options.leaderOf(tp);
      if (leader === this.options.nodeId) {
        local.push(
          this.options.writeLocal(tp, marker, timeoutMs).then(
            () => void out.set(tpKey(tp), 'NONE'),
            (e: unknown) => void out.set(tpKey(tp), kafkaErrorName(e)),
          ),
        );
      } else if (leader < 0) {
        out.set(tpKey(tp), 'LEADER_NOT_AVAILABLE');
      } else {
        const list = remote.get(leader) ?? [];
        list.push(tp);
        remote.set(leader, list);
      }
    }
    const calls = [...remote].map(async ([nodeId, tps]) => {
      if (this.options.remote === undefined) {
        for (const tp of tps) out.set(tpKey(tp), 'NOT_LEADER_OR_FOLLOWER');
        return;
      }
      try {
        const answers = await this.options.remote(nodeId, marker, tps, timeoutMs);
        for (const tp of tps) {
          const code = answers.get(tpKey(tp));
          if (code !== undefined) out.set(tpKey(tp), code);
        }
      } catch {
        // Unreachable or failed: these partitions are retried.
      }
    });
    await Promise.all([...local, ...calls]);
    return out;
  }
}

/** Asks the transactional id's coordinator on another node (AddPartitionsToTxn verify_only). */
export type RemoteVerify = (nodeId: number, req: TxnVerifyRequest) => Promise<void>;

export interface RoutedTxnVerifierOptions {
  nodeId: number;
  /** This node's coordinator, once it runs. */
  local(): TransactionCoordinator | undefined;
  /** The node coordinating the transactional id as the metadata names it (-1: none). */
  coordinatorOf(transactionalId: string): number;
  /** Absent: a transaction coordinated elsewhere is not verified (accepted). */
  remote?: RemoteVerify;
}

/**
 * The partition manager's TxnVerifier: this node's coordinator when it coordinates the id (loaded or
 * loading, or named by the metadata), else the coordinator elsewhere through `remote`.
 */
export class RoutedTxnVerifier implements TxnVerifier {
  constructor(private readonly options: RoutedTxnVerifierOptions) {}

  verify(req: TxnVerifyRequest): Promise<void> {
    const local = this.options.local();
    if (local?.owns(req.transactionalId) === true) return local.verify(req);
    const node = this.options.coordinatorOf(req.transactionalId);
    if (node === this.options.nodeId && local !== undefined) return local.verify(req);
    if (node < 0 || node === this.options.nodeId)
      return Promise.reject(
        new KafkaError(
          'COORDINATOR_NOT_AVAILABLE',
          `no coordinator for transactional id ${req.transactionalId}`,
        ),
      );
    return this.options.remote === undefined ? Promise.resolve() : this.options.remote(node, req);
  }
}

/** What the transaction service needs of the partitions (the partition manager). */
export interface TxnPartitions extends InternalLogPartitions {
  onLeadership(listener: LeadershipListener): () => void;
  /** This node's leader replica of the partition (throws when it does not lead it). */
  leader(tp: TopicPartition): { leaderEpoch: number };
}

export interface TxnServiceOptions {
  partitions: TxnPartitions;
  /** Creates `__transaction_state` when it does not exist yet. */
  ensureTopic(): Promise<void>;
  /** transaction.state.log.num.partitions. */
  numPartitions: number;
  /** Wall-clock time (the coordinator's, and the log's record timestamps). */
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  newProducerId: () => Promise<bigint>;
  markers: MarkerWriter;
  partitionGone?: (tp: TopicPartition) => boolean;
  /** Overrides of the coordinator's settings. */
  txnConfig?: Partial<TxnCoordinatorConfig>;
  /** Storage of the coordinator (default: `__transaction_state` on the partitions). */
  txnLog?: TxnLog;
  /** A failed load is retried after this long while the partition is still led here. Default 30 s. */
  retryFailedLoadMs?: number;
}

export interface TxnService {
  coordinator: TransactionCoordinator;
  /** Stops following leadership; waiting requests are answered NOT_COORDINATOR. */
  close(): void;
}

/**
 * Starts the coordinator and loads the `__transaction_state` partitions this node leads now;
 * resolves once those are loaded.
 */
export async function startTxnService(options: TxnServiceOptions): Promise<TxnService> {
  const coordinator = new TransactionCoordinator({
    log:
      options.txnLog ??
      new PartitionTxnLog(options.partitions, {
        nowMs: () => options.clock.nowMs(),
        ensureTopic: options.ensureTopic,
      }),
    clock: options.clock,
    scheduler: options.scheduler,
    newProducerId: options.newProducerId,
    markers: options.markers,
    ...(options.partitionGone !== undefined ? { partitionGone: options.partitionGone } : {}),
    logger: options.logger,
    config: { ...options.txnConfig, numPartitions: options.numPartitions },
  });
  const followed = followCoordinatorPartitions({
    partitions: options.partitions,
    topic: TRANSACTION_STATE_TOPIC,
    numPartitions: coordinator.config.numPartitions,
    load: (p) => {
      let epoch: number;
      try {
        epoch = options.partitions.leader({ topic: TRANSACTION_STATE_TOPIC, partition: p }).leaderEpoch;
      } catch {
        return Promise.resolve(); // no longer led here: its leadership event follows
      }
      return coordinator.loadPartition(p, epoch);
    },
    unload: (p) => coordinator.unloadPartition(p),
    scheduler: options.scheduler,
    logger: options.logger,
    retryFailedLoadMs: options.retryFailedLoadMs ?? 30_000,
    keys: 'transactional ids',
  });
  await followed.ready;
  options.logger.info(
    {
      partitions: coordinator.ownedPartitions().length,
      transactionalIds: coordinator.transactionalIdCount(),
    },
    'transaction coordinator ready',
  );
  return {
    coordinator,
    close: () => {
      followed.close();
      coordinator.close();
    },
  };
}
