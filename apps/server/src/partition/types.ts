// What a Kafka partition is to the rest of the broker: one interface, two replication strategies
// under it (partition/local-partition.ts on this node's WAL, partition/replicated-partition.ts on a
// Raft group), both built on one Kafka log index (partition/kafka-log.ts) and one batch-preparation
// step (partition/prepare.ts). The decisions behind it are in docs/design/partitions.md.
//
// Failures are KafkaErrors (src/errors.ts). Offsets and timestamps are bigint (Kafka int64).

import type { CleanerIo, PassResult } from './cleaner.js';
import type { CleaningPlan } from './compaction.js';

export type IsolationLevel = 0 | 1; // 0 read_uncommitted, 1 read_committed
export type Acks = -1 | 0 | 1;

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface AppendResult {
  /** Offset of the first batch (of the original, for an idempotent duplicate). */
  baseOffset: bigint;
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  /** Records in the request's batches (as their headers count them). */
  recordCount: number;
}

/** An aborted transaction as a read_committed Fetch answers it (the client drops its records). */
export interface AbortedTransaction {
  producerId: bigint;
  /** The offset of the transaction's first batch in the partition. */
  firstOffset: bigint;
}

/**
 * A commit or abort marker (KIP-98) for one producer's transaction, as the transaction coordinator
 * writes it to each partition of the transaction (WriteTxnMarkers).
 */
export interface TxnMarker {
  producerId: bigint;
  /** The epoch the coordinator holds: the producer's, or one above it (an abort after fencing). */
  producerEpoch: number;
  commit: boolean;
  /** The coordinator's epoch (the leader epoch of its `__transaction_state` partition). */
  coordinatorEpoch: number;
}

export interface ReadResult {
  highWatermark: bigint;
  /**
   * The last stable offset: below it no transaction is open (min(first offset of every open
   * transaction, high watermark), never below the log start). read_committed reads stop at it.
   */
  lastStableOffset: bigint;
  logStartOffset: bigint;
  /**
   * read_committed reads only: the aborted transactions whose offsets overlap the batches returned
   * (from the fetch offset to the last batch's last offset), in the order of their markers; none when
   * no batch is returned.
   */
  abortedTransactions?: readonly AbortedTransaction[];
  /** Whole record batches as stored, ready to be written to the socket. */
  chunks: readonly Buffer[];
  bytes: number;
  /** Leader epoch of the partition when read. */
  leaderEpoch: number;
}

export interface ListOffsetResult {
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

/** OffsetForLeaderEpoch's answer: the end offset of an epoch (-1/-1 when unknown). */
export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: bigint;
}

/** Special timestamps of ListOffsets. */
export const ListOffsetsTimestamp = {
  LATEST: -1n,
  EARLIEST: -2n,
  MAX_TIMESTAMP: -3n,
  EARLIEST_LOCAL: -4n,
  LATEST_TIERED: -5n,
} as const;

export interface ProducerStateView {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  coordinatorEpoch: number;
  currentTxnStartOffset: bigint;
}

/** A partition's log settings, resolved from its topic's configs (services/log-config.ts). */
export interface LogConfig {
  /** message.timestamp.type=LogAppendTime. */
  logAppendTime: boolean;
  /** max.message.bytes. */
  maxMessageBytes: number;
  /** retention.ms; -1: no limit (and without cleanup.policy=delete, or for internal topics). */
  retentionMs: number;
  /** retention.bytes; -1: no limit. */
  retentionBytes: number;
  /** segment.bytes. */
  segmentBytes: number;
  /**
   * cleanup.policy includes compact: the log cleaner keeps the last record of each key
   * (docs/design/compaction.md), and records without a key are refused (INVALID_RECORD).
   */
  compact: boolean;
  /** segment.ms: with segment.bytes, the newest batches a cleaner leaves alone (the active segment). */
  segmentMs: number;
  /** delete.retention.ms: how long a compacted topic keeps tombstones (and transaction markers). */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio */
  minCleanableDirtyRatio: number;
  /** flush.messages: sync after this many unflushed messages; undefined: never by count. */
  flushMessages: number | undefined;
  /** flush.ms: sync unflushed data at least this often. */
  flushMs: number;
  /**
   * Start a background sync (not awaited by the produce) once this many bytes are unflushed;
   * undefined: never by size. Keeps each fdatasync small: appends that meet a large one in
   * progress wait for it, so flushing a second of data at once stalls producers for tens of ms.
   */
  flushBackgroundBytes: number | undefined;
  /**
   * min.insync.replicas: acks=all is refused with NOT_ENOUGH_REPLICAS (nothing written) while fewer
   * replicas are in sync, and answered only once this many replicas (the leader included) hold the
   * batch — besides the Raft majority every commit needs.
   */
  minInsyncReplicas: number;
}

// How dirty a compacted partition is (compaction.ts), what a cleaning pass needs from the log
// cleaner service and what it did (cleaner.ts).
export type { CleaningPlan, CleanerIo, PassResult };

/** One partition as the Kafka handlers use it (through services/partition-manager.ts). */
export interface Partition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  /**
   * This node leads the partition: it may append. It serves reads once its view of the log is
   * complete (ManagedPartition.isLeaderReady).
   */
  isLeader(): boolean;
  /**
   * The leader that serves the partition, as this replica knows it: this node once it is a ready
   * leader; another node once this replica has applied an entry of that leader's epoch (so its
   * first entry committed and it serves); -1 while none is known to serve.
   */
  leaderId(): number;
  /** The current leader epoch (a Raft term in a cluster). */
  readonly leaderEpoch: number;
  readonly highWatermark: bigint;
  readonly logStartOffset: bigint;
  /** One past the last offset in this replica's log (batches not yet committed included). */
  readonly logEndOffset: bigint;
  /** Bytes of the batches the log holds (what retention.bytes counts). */
  sizeBytes(): number;

  /**
   * Validates and appends the batches of one Produce partition; resolves when they are as durable
   * as `acks` promises. An idempotent producer's duplicate is answered with the original offset.
   * Transactional batches open (or continue) their producer's transaction; a producer's batch of an
   * older epoch is INVALID_PRODUCER_EPOCH, a non-transactional one while its transaction is open
   * INVALID_TXN_STATE, and control batches from a client INVALID_RECORD.
   */
  append(records: Buffer, acks: Acks, timeoutMs: number): Promise<AppendResult>;
  /**
   * Whole batches from fetchOffset, never past the high watermark (read_committed: never at or past
   * the last stable offset), at most maxBytes (>= 0) of them —
   * except that with minOneBatch the first batch is returned whole even when larger (Kafka's
   * minOneMessage, KIP-74); without it a first batch larger than maxBytes gives an empty answer.
   * An offset between the high watermark and the log end gets an empty answer; outside
   * [log start, log end] it is OFFSET_OUT_OF_RANGE. The reads (read, listOffset,
   * offsetForLeaderEpoch) answer OFFSET_NOT_AVAILABLE while a new leader has not applied an entry
   * of its own epoch (its high watermark is not established).
   */
  read(
    fetchOffset: bigint,
    maxBytes: number,
    minOneBatch: boolean,
    isolationLevel: IsolationLevel,
  ): Promise<ReadResult>;
  /** read_committed: `latest` is the last stable offset, and nothing at or past it is found. */
  listOffset(timestamp: bigint, isolationLevel: IsolationLevel): Promise<ListOffsetResult>;
  /** Kafka's OffsetForLeaderEpoch on the leader (KIP-101/320). */
  offsetForLeaderEpoch(leaderEpoch: number): EpochEndOffset;
  /** Moves the log start offset to `offset` (-1: the high watermark); resolves with the new one. */
  deleteRecords(offset: bigint, timeoutMs: number): Promise<bigint>;
  /** `onData` runs once, when the high watermark next moves (or the partition closes). Returns a cancel. */
  watch(onData: () => void): () => void;
  /** The producer state, with each producer's open transaction (currentTxnStartOffset) if any. */
  describeProducers(): ProducerStateView[];
}

/** What the partition manager needs of a partition besides the data path. */
export interface ManagedPartition extends Partition {
  /** The assigned replicas (from the metadata), preferred leader first. */
  replicas: readonly number[];
  /** The in-sync replicas as the metadata holds them (the leader's reports). */
  isr: readonly number[];
  /** Opens (recovers) the replica; leadership events follow. */
  open(): Promise<void>;
  /** Leads, and has applied an entry of its own epoch: its view of the log is complete. */
  isLeaderReady(): boolean;
  /** The replicas a new leader reports as in sync. */
  inSyncReplicas(): readonly number[];
  /** Applies new topic configs. */
  setConfig(config: LogConfig): void;
  /**
   * The log scrubber's step: reads the stored batches from `offset` (at least one, up to maxBytes,
   * below the high watermark) to check them; the offset to check next (unchanged at the end), the
   * bytes read, and the damage found, which the partition reported as a reader's
   * (PartitionEvents.damaged).
   */
  verify(offset: bigint, maxBytes: number): Promise<{ next: bigint; bytes: number; damage?: Error }>;
  /** Periodic work: the flush policy, retention by time and size. Never throws. */
  maintain(nowMs: number): void;
  /**
   * Whether maintain() has nothing to do before the next retention check: no unflushed records
   * (flush policy), no Produce waiting for room or for copies. The partition manager calls
   * maintain() every tick only on partitions that are not idle, and on leaders once per sweep.
   */
  maintenanceIdle(): boolean;
  /**
   * The log cleaner's question: for a compacted partition this node may clean now (a ready leader,
   * or the standalone partition) that is due — its dirty part at least min.cleanable.dirty.ratio
   * of what may be cleaned, or older than max.compaction.lag.ms — what a pass at `nowMs` would
   * cover and how dirty it is; undefined otherwise.
   */
  cleanable(nowMs: number): CleaningPlan | undefined;
  /** Runs one cleaning pass over `plan` (partition/cleaner.ts). */
  clean(plan: CleaningPlan, nowMs: number, io: CleanerIo): Promise<PassResult>;
  /**
   * Writes a transaction marker (a control batch) on this leader, as durably as acks=all, and
   * resolves with its offset. It closes the producer's open transaction here (an abort adds it to
   * the aborted-transaction index); without one it is written all the same (markers are idempotent:
   * a retry after a lost answer) and changes only the producer's epoch. A marker epoch below the
   * producer's is INVALID_PRODUCER_EPOCH; a coordinator epoch below the last marker's
   * TRANSACTION_COORDINATOR_FENCED.
   */
  writeTxnMarker(m: TxnMarker, timeoutMs: number): Promise<bigint>;
  /**
   * Whether `producerId` has an open transaction in this partition at `producerEpoch`, as this
   * leader sees it (batches on their way into the log included). KIP-890: only the first batch of a
   * transaction in a partition is verified with the coordinator.
   */
  hasOngoingTxn(producerId: bigint, producerEpoch: number): boolean;
  /** Syncs and releases the partition's storage (its data stays). */
  close(): Promise<void>;
}

/** Leadership events of the partitions of this node (the partition manager listens). */
export interface PartitionEvents {
  /** This node leads the partition and its view is complete (an entry of its term was applied). */
  leaderReady(p: ManagedPartition): void;
  /** This node stopped leading the partition. */
  leaderLost(p: ManagedPartition): void;
  /** The partition broke an invariant and stopped: it must not serve or replicate any more. */
  failed(p: ManagedPartition, error: Error): void;
  /**
   * A read or the log scrubber met damaged storage in the partition's log (a corrupt record, an I/O
   * error). The partition serves what it can (a replicated one stops: failed follows).
   */
  damaged(p: ManagedPartition, error: Error): void;
  /**
   * maintain() has work now (maintenanceIdle() turned false: unflushed records, a Produce waiting
   * for room or for copies): the partition manager maintains it every tick until it is idle again.
   */
  maintenanceDue?(p: ManagedPartition): void;
}
