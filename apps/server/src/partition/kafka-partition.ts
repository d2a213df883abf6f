// What both replication strategies answer the same way, from the Kafka log (kafka-log.ts): reads
// (read_committed up to the last stable offset, with the aborted transactions), ListOffsets,
// OffsetForLeaderEpoch, watermarks, producer state, and stopping for good on a broken invariant. A
// strategy (local-partition.ts, replicated-partition.ts) adds how batches are stored and made
// durable (transaction markers included), its leader epoch and log end, and where the stored
// batches are read from.
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { toKafkaError } from '../error-map.js';
import type { CleanerIo, PassResult } from './cleaner.js';
import { runCleaningPass } from './cleaner.js';
import type { CleaningPlan, CompactionConfig } from './compaction.js';
import { planCleaning } from './compaction.js';
import { KafkaLog, ReadDamage } from './kafka-log.js';
import type {
  Acks,
  AppendResult,
  EpochEndOffset,
  IsolationLevel,
  ListOffsetResult,
  LogConfig,
  ManagedPartition,
  PartitionEvents,
  ProducerStateView,
  ReadResult,
  TxnMarker,
} from './types.js';

export interface KafkaPartitionOptions {
  topic: string;
  topicId: string;
  partition: number;
  nodeId: number;
  config: LogConfig;
  logger: Logger;
  events: PartitionEvents;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export abstract class KafkaPartition implements ManagedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];
  protected readonly nodeId: number;
  protected config: LogConfig;
  protected readonly kafka: KafkaLog;
  protected readonly logger: Logger;
  protected readonly events: PartitionEvents;
  /** Set when the partition broke an invariant or lost its storage: it serves nothing more. */
  protected failure: Error | null = null;

  constructor(options: KafkaPartitionOptions) {
    this.topic = options.topic;
    this.topicId = options.topicId;
    this.partition = options.partition;
    this.nodeId = options.nodeId;
    this.config = options.config;
    this.logger = options.logger;
    this.events = options.events;
    this.kafka = new KafkaLog(
      {
        readBatches: (from, to, totalBytes) => this.readBatches(from, to, totalBytes),
        verifyBatches: (from, to, totalBytes) => this.verifyBatches(from, to, totalBytes),
        readEntry: (position, fromStorage) => this.readEntry(position, fromStorage),
      },
      `${options.topic}-${options.partition}`,
    );
  }

  abstract readonly leaderEpoch: number;
  abstract readonly logEndOffset: bigint;
  abstract isLeader(): boolean;
  abstract leaderId(): number;
  abstract isLeaderReady(): boolean;
  abstract inSyncReplicas(): readonly number[];
  abstract open(): Promise<void>;
  abstract append(records: Buffer, acks: Acks, timeoutMs: number): Promise<AppendResult>;
  abstract writeTxnMarker(m: TxnMarker, timeoutMs: number): Promise<bigint>;
  abstract hasOngoingTxn(producerId: bigint, producerEpoch: number): boolean;
  abstract deleteRecords(offset: bigint, timeoutMs: number): Promise<bigint>;
  abstract maintain(nowMs: number): void;
  abstract maintenanceIdle(): boolean;
  abstract close(): Promise<void>;
  /** The stored batches at positions [from, to] (see BatchReader). */
  protected abstract readBatches(from: number, to: number, totalBytes: number): Promise<Buffer[]> | Buffer[];
  /** Reads positions [from, to] from storage to check them (see BatchReader.verifyBatches). */
  protected abstract verifyBatches(from: number, to: number, totalBytes: number): Promise<void> | void;
  /** The whole entry at `position` (see BatchReader.readEntry). */
  protected abstract readEntry(
    position: number,
    fromStorage: boolean,
  ): Promise<Buffer | undefined> | Buffer | undefined;
  /** Throws the Kafka error that answers a request this partition cannot serve now. */
  protected abstract checkServing(): void;
  /**
   * Throws the Kafka error that answers a read (Fetch, ListOffsets, OffsetForLeaderEpoch) this
   * partition cannot serve now: checkServing()'s, or one for a leader whose view is not complete.
   */
  protected checkReadable(): void {
    this.checkServing();
  }

  get highWatermark(): bigint {
    return this.kafka.highWatermark;
  }
  get logStartOffset(): bigint {
    return this.kafka.logStartOffset;
  }
  sizeBytes(): number {
    return this.kafka.sizeBytes;
  }
  setConfig(config: LogConfig): void {
    this.config = config;
  }

  /** In-sync replicas, this leader included (the metadata's ISR may lag behind a new leader). */
  protected inSyncCount(): number {
    return this.isr.includes(this.nodeId) ? this.isr.length : this.isr.length + 1;
  }

  /**
   * acks=all with fewer replicas in sync than min.insync.replicas: NOT_ENOUGH_REPLICAS before
   * anything is written, as Kafka answers. acks 0 and 1 are not held to it.
   */
  protected checkMinInsync(acks: Acks): void {
    if (acks !== -1) return;
    const inSync = this.inSyncCount();
    if (inSync < this.config.minInsyncReplicas)
      throw new KafkaError(
        'NOT_ENOUGH_REPLICAS',
        `${this.topic}-${this.partition}: ${inSync} replicas in sync, min.insync.replicas is ${this.config.minInsyncReplicas}`,
      );
  }

  async read(
    fetchOffset: bigint,
    maxBytes: number,
    minOneBatch: boolean,
    isolationLevel: IsolationLevel,
  ): Promise<ReadResult> {
    this.checkReadable();
    let chunks: Buffer[];
    try {
      chunks = await this.kafka.read(fetchOffset, maxBytes, minOneBatch, this.logEndOffset, isolationLevel);
    } catch (e) {
      if (!(e instanceof ReadDamage)) throw e;
      // The batches before the damage are answered; a read that starts at it gets the error.
      this.onReadDamage(e);
      if (e.batches.length === 0)
        throw toKafkaError(e.cause, `${this.topic}-${this.partition}: reading at offset ${fetchOffset}`);
      chunks = e.batches;
    }
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    return {
      highWatermark: this.kafka.highWatermark,
      lastStableOffset: this.kafka.lastStableOffset,
      logStartOffset: this.kafka.logStartOffset,
      ...(isolationLevel === 1
        ? { abortedTransactions: this.kafka.abortedTransactions(fetchOffset, chunks) }
        : {}),
      chunks,
      bytes,
      leaderEpoch: this.leaderEpoch,
    };
  }

  async listOffset(timestamp: bigint, isolationLevel: IsolationLevel): Promise<ListOffsetResult> {
    this.checkReadable();
    try {
      return await this.kafka.listOffset(timestamp, this.leaderEpoch, isolationLevel);
    } catch (e) {
      if (!(e instanceof ReadDamage)) throw e;
      this.onReadDamage(e);
      throw toKafkaError(e.cause, `${this.topic}-${this.partition}: ListOffsets at ${timestamp}`);
    }
  }

  offsetForLeaderEpoch(leaderEpoch: number): EpochEndOffset {
    this.checkReadable();
    return this.kafka.offsetForLeaderEpoch(leaderEpoch, this.leaderEpoch, this.logEndOffset);
  }

  /**
   * The log scrubber's step: checks the stored batches from `offset` (see KafkaLog.verify) and
   * returns the offset to check next. Damage found is reported as a reader's would be
   * (onReadDamage) and returned; a stopped partition is not checked.
   */
  async verify(offset: bigint, maxBytes: number): Promise<{ next: bigint; bytes: number; damage?: Error }> {
    if (this.failure !== null) return { next: offset, bytes: 0 };
    try {
      return await this.kafka.verify(offset, maxBytes);
    } catch (e) {
      if (!(e instanceof ReadDamage)) throw e;
      this.onReadDamage(e);
      return { next: offset, bytes: 0, damage: e.cause instanceof Error ? e.cause : e };
    }
  }

  watch(onData: () => void): () => void {
    return this.kafka.watch(onData);
  }

  // ---------------------------------------------------------------- log compaction

  private compactionConfig(): CompactionConfig {
    const c = this.config;
    return {
      deleteRetentionMs: c.deleteRetentionMs,
      minCompactionLagMs: c.minCompactionLagMs,
      maxCompactionLagMs: c.maxCompactionLagMs,
      minCleanableDirtyRatio: c.minCleanableDirtyRatio,
      segmentBytes: c.segmentBytes,
      segmentMs: c.segmentMs,
    };
  }

  cleanable(nowMs: number): CleaningPlan | undefined {
    if (!this.config.compact || this.failure !== null || !this.mayClean()) return undefined;
    const plan = planCleaning(this.kafka, this.compactionConfig(), nowMs);
    if (plan === undefined) return undefined;
    return plan.overdue || plan.dirtyRatio >= this.config.minCleanableDirtyRatio ? plan : undefined;
  }

  /**
   * Runs one cleaning pass (partition/cleaner.ts) through the strategy's relocate(); once it
   * completed, the strategy may drop the entries it freed (afterCleaningPass).
   */
  async clean(plan: CleaningPlan, nowMs: number, io: CleanerIo): Promise<PassResult> {
    const result = await runCleaningPass(
      {
        log: this.kafka,
        maxEntryBytes: this.maxRelocationBytes(),
        active: () => this.failure === null && this.config.compact && this.mayClean(),
        relocate: (entry) => this.relocate(entry),
      },
      this.compactionConfig(),
      plan,
      nowMs,
      io,
    );
    if (result.completed) await this.afterCleaningPass();
    return result;
  }

  /** Whether this replica may run the cleaner now (it writes the log: a ready leader). */
  protected abstract mayClean(): boolean;
  /** Largest relocation entry the strategy's log stores. */
  protected abstract maxRelocationBytes(): number;
  /**
   * Stores a relocation entry the way the strategy stores batches and resolves once applied here:
   * its position, or undefined when it was stale (see CleanerTarget.relocate).
   */
  protected abstract relocate(entry: Buffer): Promise<number | undefined>;
  /** After a completed pass: drop what the log no longer needs (standalone; a cluster does it on apply). */
  protected async afterCleaningPass(): Promise<void> {}

  describeProducers(): ProducerStateView[] {
    return this.kafka.describeProducers();
  }

  /**
   * Stops the partition for good: it serves nothing more, its waiting readers return, and the
   * partition manager is told (after the current call stack: this may run inside a Raft cycle).
   */
  protected fail(e: unknown): void {
    if (this.failure !== null) return;
    this.failure = e instanceof Error ? e : new Error(String(e));
    this.logger.error(
      { topic: this.topic, partition: this.partition, err: this.failure.message },
      'partition stopped: it serves no more requests',
    );
    this.onFailed();
    this.kafka.wake();
    const failure = this.failure;
    queueMicrotask(() => this.events.failed(this, failure));
  }

  /** What the strategy does when the partition stops (leadership ends, waiting produces are answered). */
  protected onFailed(): void {}

  /**
   * A read met damaged storage (answered with the batches before it, or KAFKA_STORAGE_ERROR). Logged
   * here; a replicated strategy also stops its replica, whose log another replica holds intact.
   */
  protected onReadDamage(e: ReadDamage): void {
    this.logger.error(
      { topic: this.topic, partition: this.partition, err: e.message },
      'partition read met damaged storage',
    );
    const cause = e.cause instanceof Error ? e.cause : e;
    queueMicrotask(() => this.events.damaged(this, cause));
  }
}
