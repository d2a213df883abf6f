// The transaction coordinator (KIP-98): InitProducerId with a transactional id, AddPartitionsToTxn
// (and its verify_only form, KIP-890), AddOffsetsToTxn, EndTxn, DescribeTransactions and
// ListTransactions, as a deterministic library: no sockets; time and timers come from an injected
// Clock and Scheduler (@chronik/env), storage from an injected TxnLog (`__transaction_state`), producer ids from an injected
// allocator, and markers leave through an injected MarkerWriter. It follows Kafka's
// TransactionCoordinator / TransactionStateManager / TransactionMarkerChannelManager case by case.
//
//   Empty ──AddPartitions──▶ Ongoing ──EndTxn──▶ PrepareCommit/PrepareAbort ──markers──▶ CompleteCommit/CompleteAbort
//     ▲                        │ timeout, or InitProducerId of a new producer: PrepareAbort with epoch + 1 (fence)
//     └──InitProducerId (epoch + 1; a new producer id once the epoch is exhausted)◀── Complete* / Empty
//   Empty / Complete*, idle for transactional.id.expiration.ms ──tombstone──▶ removed
//
// - A transactional id is coordinated by partition abs(javaHashCode(id)) % numPartitions of
//   `__transaction_state`; a request for an id whose partition is not loaded here gets
//   NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS while it loads. The coordinator epoch (carried by
//   markers) is that partition's leader epoch, given with loadPartition.
// - Durability order: every transition is one record (the id's whole state) appended to its
//   partition; the in-memory state changes only once it is durable, and only then is the client
//   answered. While a transition is being written the id answers CONCURRENT_TRANSACTIONS.
// - EndTxn is two-phase: Prepare* is written and the client answered; then markers are written to
//   every partition of the transaction (retried until written, or the partition is gone); then
//   Complete* is written. A coordinator that loads a partition completes its Prepare* transactions
//   the same way (markers are idempotent): the log is the source of truth, and a coordinator that
//   lost the partition stops at once (its Complete* is written by the new one, exactly once).
// - Every queue has a limit: transactional ids, partitions per transaction, writes waiting per
//   partition, marker writes in flight.
import { coordinatorPartition } from '@chronik/metadata';
import { KafkaError } from '../errors.js';
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import { every } from '@chronik/env';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { TopicPartition } from '../partition/types.js';
import { TxnError, TxnErrorCode, logErrorToKafka } from './errors.js';
import type { TxnKafkaError } from './errors.js';
import {
  MAX_PRODUCER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  TxnMetadata,
  isEpochExhausted,
} from './metadata.js';
import { decodeTxnRecord, encodeTxnRecord } from './records.js';
import type { EncodedRecord, StoredTxn, TxnLogRecord } from './records.js';
import type { TxnLog } from './txn-log.js';
import { TXN_STATES, tpKey } from './types.js';
import type {
  AddPartitionsRequest,
  DescribedTransaction,
  EndTxnRequest,
  InitProducerIdRequest,
  InitProducerIdResult,
  ListTransactionsRequest,
  ListTransactionsResult,
  MarkerWriter,
  TxnMarker,
  TxnProducer,
  TxnState,
  TxnVerifier,
  TxnVerifyRequest,
} from './types.js';

export interface TxnCoordinatorConfig {
  /** transaction.state.log.num.partitions. */
  numPartitions: number;
  /** transaction.max.timeout.ms: a longer transaction.timeout.ms is INVALID_TRANSACTION_TIMEOUT. */
  maxTimeoutMs: number;
  /** transactional.id.expiration.ms: an id idle (Empty or Complete*) this long is removed. */
  transactionalIdExpirationMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms. */
  abortTimedOutIntervalMs: number;
  /** transaction.remove.expired.transaction.cleanup.interval.ms. */
  removeExpiredIntervalMs: number;
  /** Transactional ids held by this coordinator; a new one beyond it is COORDINATOR_NOT_AVAILABLE. */
  maxTransactionalIds: number;
  /** Partitions one transaction may hold; AddPartitionsToTxn beyond it is INVALID_REQUEST. */
  maxPartitionsPerTransaction: number;
  /**
   * How long AddPartitionsToTxn for a transaction whose markers are being written waits for them
   * before it answers CONCURRENT_TRANSACTIONS (0: at once). Default 200.
   */
  completionHoldMs: number;
  /** UTF-8 bytes of a transactional id (a longer one is INVALID_REQUEST). */
  maxIdBytes: number;
  /** Writes waiting per partition; beyond it a request is COORDINATOR_NOT_AVAILABLE (retriable). */
  maxQueuedWritesPerPartition: number;
  /** A write not started within this long is answered COORDINATOR_NOT_AVAILABLE (it is never written). */
  queuedWriteTimeoutMs: number;
  /** Records per append (writes waiting behind one append are merged up to this many). */
  maxRecordsPerAppend: number;
  /** MarkerWriter calls in flight at once (one per completing transaction; the others wait their turn). */
  maxConcurrentMarkerWrites: number;
  /** How long one MarkerWriter call may take. */
  markerWriteTimeoutMs: number;
  /** Wait before writing the markers that failed again (doubling per round up to the maximum). */
  markerRetryBackoffMs: number;
  markerRetryMaxBackoffMs: number;
  /**
   * Snapshot a partition (re-state its live records, then drop the older prefix) once this many
   * records were appended since its last snapshot, and at least twice as many as it then held.
   */
  compactionMinRecords: number;
}

export const DEFAULT_TXN_CONFIG: TxnCoordinatorConfig = {
  numPartitions: 50,
  maxTimeoutMs: 900_000,
  transactionalIdExpirationMs: 7 * 24 * 3600 * 1000,
  abortTimedOutIntervalMs: 10_000,
  removeExpiredIntervalMs: 3_600_000,
  maxTransactionalIds: 100_000,
  maxPartitionsPerTransaction: 10_000,
  completionHoldMs: 200,
  maxIdBytes: 4096,
  maxQueuedWritesPerPartition: 10_000,
  queuedWriteTimeoutMs: 30_000,
  maxRecordsPerAppend: 1000,
  maxConcurrentMarkerWrites: 256,
  markerWriteTimeoutMs: 30_000,
  markerRetryBackoffMs: 100,
  markerRetryMaxBackoffMs: 5000,
  compactionMinRecords: 10_000,
};

export interface TxnCoordinatorOptions {
  log: TxnLog;
  /** Wall-clock time: transaction timestamps, timeouts, expiration. */
  clock: Clock;
  scheduler: Scheduler;
  /** A producer id never handed out before (the broker's durable blocks). */
  newProducerId: () => Promise<bigint>;
  markers: MarkerWriter;
  /** Whether a partition no longer exists (its topic was deleted): its marker is not waited for. */
  partitionGone?: (tp: TopicPartition) => boolean;
  config?: Partial<TxnCoordinatorConfig>;
  logger?: Logger;
}

interface QueuedWrite {
  record: EncodedRecord;
  started: boolean;
  timer: TimerHandle | undefined;
  /** Runs synchronously once the record is durable, before any later write or snapshot starts. */
  onDurable: () => void;
  resolve: (error: TxnKafkaError) => void;
}

/** A `__transaction_state` partition this coordinator owns. */
interface OwnedPartition {
  readonly partition: number;
  state: 'loading' | 'active';
  readonly coordinatorEpoch: number;
  readonly txns: Map<string, TxnMetadata>;
  readonly queue: QueuedWrite[];
  busy: boolean;
  snapshotQueued: boolean;
  appendedSinceSnapshot: number;
  liveAtSnapshot: number;
}

/** What `inspect` shows of one transactional id: its durable state and what is in flight. */
export interface TxnInspection extends StoredTxn {
  pending: TxnState | undefined;
  /** Prepare*, while markers are written: the partitions (tpKey) still without theirs. */
  markersPending: string[] | undefined;
  persisted: boolean;
}

const MARKER_DONE = new Set(['NONE', 'UNSUPPORTED_FOR_MESSAGE_FORMAT', 'UNSUPPORTED_VERSION']);
const MARKER_FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'TRANSACTION_COORDINATOR_FENCED']);
/** Requests held per transactional id (beyond: CONCURRENT_TRANSACTIONS at once). */
const MAX_COMPLETION_WAITERS = 16;
const EXPIRABLE: ReadonlySet<TxnState> = new Set(['Empty', 'CompleteCommit', 'CompleteAbort']);

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function initError(errorCode: TxnKafkaError): InitProducerIdResult {
  return { errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH };
}

export class TransactionCoordinator implements TxnVerifier {
  readonly config: TxnCoordinatorConfig;
  private readonly log: TxnLog;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly newProducerId: () => Promise<bigint>;
  private readonly markers: MarkerWriter;
  private readonly partitionGone: (tp: TopicPartition) => boolean;
  private readonly owned = new Map<number, OwnedPartition>();
  private txnCount = 0;
  private markerWritesInFlight = 0;
  private readonly markerWaiters: Array<() => void> = [];
  /** Requests held until a transaction's markers are written (see addPartitions). */
  private readonly completionWaiters = new Map<TxnMetadata, Array<() => void>>();
  private readonly retryTimers = new Set<TimerHandle>();
  private readonly periodic: TimerHandle[] = [];
  private closed = false;
  private expiring = false;

  constructor(options: TxnCoordinatorOptions) {
    this.config = { ...DEFAULT_TXN_CONFIG, ...options.config };
    for (const [k, v] of Object.entries(this.config)) {
      if (!Number.isInteger(v) || v < (k === 'completionHoldMs' ? 0 : 1))
        throw new TxnError(
          TxnErrorCode.INVALID_CONFIG,
          `transaction coordinator: ${k} must be a positive integer, got ${String(v)}`,
        );
    }
    if (this.config.maxTimeoutMs > 2 ** 31 - 1)
      throw new TxnError(
        TxnErrorCode.INVALID_CONFIG,
        'transaction coordinator: maxTimeoutMs exceeds an int32',
      );
    this.log = options.log;
    this.clock = options.clock;
    this.scheduler = options.scheduler;
    this.logger = options.logger ?? silentLogger;
    this.newProducerId = options.newProducerId;
    this.markers = options.markers;
    this.partitionGone = options.partitionGone ?? (() => false);
    const onError = (e: unknown): void =>
      this.logger.error({ err: e }, 'transaction coordinator task failed');
    this.periodic.push(
      every(
        this.scheduler,
        this.config.abortTimedOutIntervalMs,
        () => this.abortTimedOutTransactions(),
        onError,
      ),
      every(
        this.scheduler,
        this.config.removeExpiredIntervalMs,
        () => {
          if (this.expiring) return; // the previous run is still writing its tombstones
          this.expiring = true;
          void this.expireTransactionalIds()
            .catch(onError)
            .finally(() => {
              this.expiring = false;
            });
        },
        onError,
      ),
    );
  }

  // ---- partitions (coordinator ownership) ---------------------------------------------------

  partitionFor(transactionalId: string): number {
    return coordinatorPartition(transactionalId, this.config.numPartitions);
  }

  /** Partitions loaded or loading. */
  ownedPartitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** Whether the partition of `transactionalId` is loaded or loading here. */
  owns(transactionalId: string): boolean {
    return this.owned.has(this.partitionFor(transactionalId));
  }

  /** Transactional ids held (loaded partitions). */
  transactionalIdCount(): number {
    return this.txnCount;
  }

  /**
   * Becomes coordinator of `partition` at `coordinatorEpoch` (its leader epoch): reads it from its
   * start, rebuilds its transactional ids, then completes the transactions it finds in Prepare*
   * (markers again, then Complete*). Requests for its ids get COORDINATOR_LOAD_IN_PROGRESS
   * meanwhile. Rejects (and leaves it unowned) if the read fails or an unload or newer load
   * intervened (LOAD_ABORTED).
   */
  async loadPartition(partition: number, coordinatorEpoch: number): Promise<void> {
    if (this.closed) throw new TxnError(TxnErrorCode.CLOSED, 'transaction coordinator is closed');
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.config.numPartitions)
      throw new TxnError(
        TxnErrorCode.INVALID_CONFIG,
        `__transaction_state partition ${partition} out of range`,
      );
    if (this.owned.has(partition)) this.unloadPartition(partition);
    const ps: OwnedPartition = {
      partition,
      state: 'loading',
      coordinatorEpoch,
      txns: new Map(),
      queue: [],
      busy: false,
      snapshotQueued: false,
      appendedSinceSnapshot: 0,
      liveAtSnapshot: 0,
    };
    this.owned.set(partition, ps);
    const loaded = new Map<string, StoredTxn>();
    let records = 0;
    try {
      for await (const r of this.log.readAll(partition)) {
        if (this.owned.get(partition) !== ps)
          throw new TxnError(TxnErrorCode.LOAD_ABORTED, `load of partition ${partition} superseded`);
        records++;
        const rec = decodeTxnRecord(r.key, r.value);
        if (rec.transactionalId === '') continue; // a snapshot's mark of where the log may start
        if (this.partitionFor(rec.transactionalId) !== partition) {
          this.logger.warn(
            { partition, transactionalId: rec.transactionalId },
            'a __transaction_state record of another partition is ignored',
          );
          continue;
        }
        if (rec.value === null) loaded.delete(rec.transactionalId);
        else loaded.set(rec.transactionalId, rec.value);
      }
    } catch (e) {
      if (this.owned.get(partition) === ps) this.owned.delete(partition);
      throw e instanceof TxnError
        ? e
        : new TxnError(TxnErrorCode.LOG_FAILED, `reading __transaction_state-${partition} failed`, {
            cause: e,
          });
    }
    if (this.owned.get(partition) !== ps)
      throw new TxnError(TxnErrorCode.LOAD_ABORTED, `load of partition ${partition} superseded`);
    for (const [id, stored] of loaded) ps.txns.set(id, new TxnMetadata(id, partition, stored, true));
    this.txnCount += ps.txns.size;
    ps.state = 'active';
    ps.appendedSinceSnapshot = records;
    ps.liveAtSnapshot = ps.txns.size;
    let completing = 0;
    for (const md of ps.txns.values()) {
      if (md.state === 'PrepareCommit' || md.state === 'PrepareAbort') {
        this.completeTransaction(ps, md);
        completing++;
      }
    }
    this.maybeQueueSnapshot(ps);
    this.kick(ps);
    this.logger.info(
      { partition, coordinatorEpoch, records, transactionalIds: ps.txns.size, completing },
      'loaded __transaction_state partition',
    );
  }

  /**
   * Stops coordinating `partition` (its leadership moved): its ids are dropped from memory, writes
   * waiting are answered NOT_COORDINATOR, and its transactions' marker writing stops (the new
   * coordinator completes them).
   */
  unloadPartition(partition: number): void {
    const ps = this.owned.get(partition);
    if (ps === undefined) return;
    this.owned.delete(partition);
    this.txnCount -= ps.txns.size;
    for (const w of ps.queue.splice(0)) {
      w.timer?.cancel();
      w.resolve('NOT_COORDINATOR');
    }
    this.logger.info({ partition, transactionalIds: ps.txns.size }, 'unloaded __transaction_state partition');
  }

  /** Cancels every timer and answers every waiting request NOT_COORDINATOR. */
  close(): void {
    if (this.closed) return;
    for (const p of [...this.owned.keys()]) this.unloadPartition(p);
    for (const t of this.periodic) t.cancel();
    for (const t of this.retryTimers) t.cancel();
    this.retryTimers.clear();
    this.closed = true;
  }

  /** The error for a request on `transactionalId` before looking at its state, or undefined. */
  private coordinatorError(transactionalId: string): TxnKafkaError | undefined {
    if (this.closed) return 'NOT_COORDINATOR';
    const ps = this.owned.get(this.partitionFor(transactionalId));
    if (ps === undefined) return 'NOT_COORDINATOR';
    if (ps.state === 'loading') return 'COORDINATOR_LOAD_IN_PROGRESS';
    return undefined;
  }

  private partitionOf(transactionalId: string): OwnedPartition | undefined {
    const ps = this.owned.get(this.partitionFor(transactionalId));
    return ps?.state === 'active' ? ps : undefined;
  }

  /** The id's state if it was ever written (a new id's first InitProducerId in flight does not count). */
  private persisted(transactionalId: string): TxnMetadata | undefined {
    const md = this.partitionOf(transactionalId)?.txns.get(transactionalId);
    return md?.persisted === true ? md : undefined;
  }

  /** Whether `md` is still the one this coordinator holds (its partition not unloaded since). */
  private isCurrent(ps: OwnedPartition, md: TxnMetadata): boolean {
    return this.owned.get(ps.partition) === ps && ps.txns.get(md.transactionalId) === md;
  }

  // ---- InitProducerId -----------------------------------------------------------------------

  /**
   * InitProducerId with a transactional id: a new id gets a new producer id at epoch 0; a known one
   * an epoch bump (a new producer id once the epoch is exhausted), after its ongoing transaction is
   * aborted (the answer meanwhile is CONCURRENT_TRANSACTIONS: the client retries). KIP-360: a
   * producer id and epoch in the request must be the current ones (or a retry of the last bump),
   * else PRODUCER_FENCED.
   */
  async initProducerId(req: InitProducerIdRequest): Promise<InitProducerIdResult> {
    const id = req.transactionalId;
    if (id === '' || utf8Bytes(id) > this.config.maxIdBytes) return initError('INVALID_REQUEST');
    if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > this.config.maxTimeoutMs)
      return initError('INVALID_TRANSACTION_TIMEOUT');
    if ((req.producerId === NO_PRODUCER_ID) !== (req.producerEpoch === NO_PRODUCER_EPOCH))
      return initError('INVALID_REQUEST');
    const expected =
      req.producerId === NO_PRODUCER_ID
        ? undefined
        : { producerId: req.producerId, epoch: req.producerEpoch };
    const err = this.coordinatorError(id);
    if (err !== undefined) return initError(err);
    let ps = this.partitionOf(id) as OwnedPartition;
    let md = ps.txns.get(id);
    if (md === undefined) {
      if (this.txnCount >= this.config.maxTransactionalIds) {
        this.logger.warn({ max: this.config.maxTransactionalIds }, 'too many transactional ids');
        return initError('COORDINATOR_NOT_AVAILABLE');
      }
      let producerId: bigint;
      try {
        producerId = await this.newProducerId();
      } catch (e) {
        this.logger.warn({ err: e }, 'no producer id for a new transactional id');
        return initError('COORDINATOR_NOT_AVAILABLE');
      }
      const again = this.coordinatorError(id);
      if (again !== undefined) return initError(again);
      ps = this.partitionOf(id) as OwnedPartition;
      md = ps.txns.get(id);
      if (md === undefined) {
        if (this.txnCount >= this.config.maxTransactionalIds) return initError('COORDINATOR_NOT_AVAILABLE');
        return this.initNewId(ps, id, producerId, req.transactionTimeoutMs);
      }
    }
    if (md.pending !== undefined) return initError('CONCURRENT_TRANSACTIONS');
    if (expected !== undefined && !this.isValidProducerId(md, expected)) return initError('PRODUCER_FENCED');
    switch (md.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
        return initError('CONCURRENT_TRANSACTIONS');
      case 'Ongoing': {
        // Abort the ongoing transaction with one more epoch (fencing its producer), and let the
        // client retry: its next InitProducerId bumps the epoch again (or rotates the id).
        const error = await this.fenceAndAbort(ps, md);
        return initError(error === 'NONE' ? 'CONCURRENT_TRANSACTIONS' : error);
      }
      case 'Empty':
      case 'CompleteCommit':
      case 'CompleteAbort':
        return this.bumpEpoch(ps, md, req.transactionTimeoutMs, expected);
      case 'Dead':
      case 'PrepareEpochFence':
        throw new Error(`${id} is in ${md.state}, which is never held`);
    }
  }

  /** KIP-360: which producer may re-initialize the id (Kafka's isValidProducerId). */
  private isValidProducerId(md: TxnMetadata, expected: { producerId: bigint; epoch: number }): boolean {
    return (
      md.producerEpoch === NO_PRODUCER_EPOCH ||
      expected.producerId === md.producerId ||
      (expected.producerId === md.lastProducerId && isEpochExhausted(expected.epoch))
    );
  }

  private async initNewId(
    ps: OwnedPartition,
    id: string,
    producerId: bigint,
    timeoutMs: number,
  ): Promise<InitProducerIdResult> {
    const now = this.clock.nowMs();
    const md = new TxnMetadata(
      id,
      ps.partition,
      {
        producerId,
        lastProducerId: NO_PRODUCER_ID,
        producerEpoch: NO_PRODUCER_EPOCH,
        lastProducerEpoch: NO_PRODUCER_EPOCH,
        timeoutMs,
        state: 'Empty',
        partitions: [],
        lastUpdateMs: now,
        startMs: -1,
      },
      false,
    );
    const to: StoredTxn = { ...md.stored(), producerEpoch: 0 };
    md.prepare(to);
    ps.txns.set(id, md);
    this.txnCount++;
    const error = await this.write(ps, md, to);
    if (error !== 'NONE') {
      // Never written: the id is forgotten, as a replay of the log would forget it.
      if (this.isCurrent(ps, md) && !md.persisted) {
        ps.txns.delete(id);
        this.txnCount--;
      }
      return initError(error);
    }
    this.logger.info({ transactionalId: id, producerId: String(producerId) }, 'new transactional id');
    return { errorCode: 'NONE', producerId, producerEpoch: 0 };
  }

  /** Empty / Complete*: the next epoch (Kafka's prepareIncrementProducerEpoch / prepareProducerIdRotation). */
  private async bumpEpoch(
    ps: OwnedPartition,
    md: TxnMetadata,
    timeoutMs: number,
    expected: { producerId: bigint; epoch: number } | undefined,
  ): Promise<InitProducerIdResult> {
    const now = this.clock.nowMs();
    const base: StoredTxn = {
      ...md.stored(),
      timeoutMs,
      state: 'Empty',
      partitions: [],
      startMs: -1,
      lastUpdateMs: now,
    };
    let to: StoredTxn;
    if (
      isEpochExhausted(md.producerEpoch) &&
      (expected === undefined || expected.epoch === md.producerEpoch)
    ) {
      // A new producer id at epoch 0. Reserve the transition while the id is allocated.
      md.pending = 'Empty';
      let producerId: bigint;
      try {
        producerId = await this.newProducerId();
      } catch (e) {
        if (md.pending === 'Empty') md.pending = undefined;
        this.logger.warn({ err: e }, 'no producer id to rotate to');
        return initError('COORDINATOR_NOT_AVAILABLE');
      }
      md.pending = undefined;
      if (!this.isCurrent(ps, md)) return initError('NOT_COORDINATOR');
      to = {
        ...base,
        producerId,
        lastProducerId: md.producerId,
        producerEpoch: 0,
        lastProducerEpoch: expected === undefined ? NO_PRODUCER_EPOCH : md.producerEpoch,
      };
    } else if (expected === undefined) {
      to = { ...base, producerEpoch: md.producerEpoch + 1, lastProducerEpoch: NO_PRODUCER_EPOCH };
    } else if (md.producerEpoch === NO_PRODUCER_EPOCH || expected.epoch === md.producerEpoch) {
      to = { ...base, producerEpoch: md.producerEpoch + 1, lastProducerEpoch: md.producerEpoch };
    } else if (expected.epoch === md.lastProducerEpoch) {
      // A retry of a bump whose answer was lost: the current epoch again, not bumped.
      to = base;
    } else {
      return initError('PRODUCER_FENCED');
    }
    md.prepare(to);
    const error = await this.write(ps, md, to);
    if (error !== 'NONE') return initError(error);
    return { errorCode: 'NONE', producerId: to.producerId, producerEpoch: to.producerEpoch };
  }

  /**
   * Aborts the ongoing transaction with the epoch bumped (Kafka's prepareFenceProducerEpoch, then
   * endTransaction(abort) not from the client): PrepareAbort is written with epoch + 1, then markers
   * carry that epoch, which fences the old producer on every partition.
   */
  private async fenceAndAbort(ps: OwnedPartition, md: TxnMetadata): Promise<TxnKafkaError> {
    if (md.producerEpoch >= MAX_PRODUCER_EPOCH)
      throw new Error(`${md.transactionalId}: cannot fence epoch ${md.producerEpoch}`);
    const to: StoredTxn = {
      ...md.stored(),
      state: 'PrepareAbort',
      producerEpoch: md.producerEpoch + 1,
      lastProducerEpoch: NO_PRODUCER_EPOCH,
      lastUpdateMs: this.clock.nowMs(),
    };
    md.prepare(to);
    const error = await this.write(ps, md, to);
    if (error === 'NONE') this.completeTransaction(ps, md);
    return error;
  }

  // ---- AddPartitionsToTxn, AddOffsetsToTxn, verification ------------------------------------

  /** The error for a request of `p` on its transaction before looking at the state, or undefined. */
  private producerError(p: TxnProducer): { error: TxnKafkaError } | { md: TxnMetadata; ps: OwnedPartition } {
    if (p.transactionalId === '') return { error: 'INVALID_REQUEST' };
    const err = this.coordinatorError(p.transactionalId);
    if (err !== undefined) return { error: err };
    const md = this.persisted(p.transactionalId);
    if (md === undefined || md.producerId !== p.producerId) return { error: 'INVALID_PRODUCER_ID_MAPPING' };
    if (md.producerEpoch !== p.producerEpoch) return { error: 'PRODUCER_FENCED' };
    return { md, ps: this.partitionOf(p.transactionalId) as OwnedPartition };
  }

  /**
   * AddPartitionsToTxn (and AddOffsetsToTxn with the group's `__consumer_offsets` partition): the
   * partitions join the transaction, which becomes Ongoing; answered once recorded.
   */
  async addPartitions(req: AddPartitionsRequest, held = false): Promise<TxnKafkaError> {
    const found = this.producerError(req);
    if ('error' in found) return found.error;
    const { md, ps } = found;
    const completing = md.state === 'PrepareCommit' || md.state === 'PrepareAbort';
    if (completing && !held && this.config.completionHoldMs > 0) {
      // The next transaction's first request usually arrives while the last one's markers are
      // being written (the client was answered at Prepare*). Held until they are, briefly, instead
      // of CONCURRENT_TRANSACTIONS at once: clients back off for long after that answer (kafkajs
      // 300 ms; Kafka's Java client 20 ms for this request), which bounded a producer to a few
      // transactions a second.
      await this.untilCompleted(md, this.config.completionHoldMs);
      return this.addPartitions(req, true);
    }
    if (md.pending !== undefined) return 'CONCURRENT_TRANSACTIONS';
    if (completing) return 'CONCURRENT_TRANSACTIONS';
    if (md.state === 'Ongoing' && md.hasPartitions(req.partitions)) return 'NONE';
    const partitions = new Map(md.partitions);
    for (const tp of req.partitions) partitions.set(tpKey(tp), { topic: tp.topic, partition: tp.partition });
    if (partitions.size > this.config.maxPartitionsPerTransaction) {
      this.logger.warn(
        { transactionalId: req.transactionalId, partitions: partitions.size },
        'a transaction over its partition limit',
      );
      return 'INVALID_REQUEST';
    }
    const now = this.clock.nowMs();
    const to: StoredTxn = {
      ...md.stored(),
      state: 'Ongoing',
      partitions: [...partitions.values()],
      startMs: md.state === 'Ongoing' ? md.startMs : now,
      lastUpdateMs: now,
    };
    md.prepare(to);
    return this.write(ps, md, to);
  }

  /**
   * AddPartitionsToTxn with verify_only (KIP-890, from a partition leader): whether each partition
   * is in the producer's ongoing transaction (NONE, else INVALID_TXN_STATE), changing nothing.
   * Errors of the transaction itself are every partition's.
   */
  verifyPartitions(req: AddPartitionsRequest): Map<string, TxnKafkaError> {
    const out = new Map<string, TxnKafkaError>();
    const all = (e: TxnKafkaError): Map<string, TxnKafkaError> => {
      for (const tp of req.partitions) out.set(tpKey(tp), e);
      return out;
    };
    const found = this.producerError(req);
    if ('error' in found) return all(found.error);
    const { md } = found;
    if (md.state === 'PrepareCommit' || md.state === 'PrepareAbort') return all('CONCURRENT_TRANSACTIONS');
    for (const tp of req.partitions)
      out.set(
        tpKey(tp),
        md.state === 'Ongoing' && md.partitions.has(tpKey(tp)) ? 'NONE' : 'INVALID_TXN_STATE',
      );
    return out;
  }

  /** TxnVerifier: the partition manager's KIP-890 check, answered by this coordinator. */
  verify(req: TxnVerifyRequest): Promise<void> {
    const tp = { topic: req.topic, partition: req.partition };
    const error =
      this.verifyPartitions({ ...req, partitions: [tp] }).get(tpKey(tp)) ?? 'UNKNOWN_SERVER_ERROR';
    if (error === 'NONE') return Promise.resolve();
    // A Produce answers the older-epoch case INVALID_PRODUCER_EPOCH in every version.
    const code = error === 'PRODUCER_FENCED' ? 'INVALID_PRODUCER_EPOCH' : error;
    return Promise.reject(
      new KafkaError(
        code,
        `${req.topic}-${req.partition} is not in an ongoing transaction of ${req.transactionalId}`,
      ),
    );
  }

  // ---- EndTxn -------------------------------------------------------------------------------

  /**
   * EndTxn: Ongoing → Prepare* (recorded; then answered), then markers and Complete* in the
   * background. A retry after completion answers as the first did; the other outcome is
   * INVALID_TXN_STATE.
   */
  async endTxn(req: EndTxnRequest): Promise<TxnKafkaError> {
    const found = this.producerError(req);
    if ('error' in found) return found.error;
    const { md, ps } = found;
    if (md.pending !== undefined) return 'CONCURRENT_TRANSACTIONS';
    switch (md.state) {
      case 'Ongoing': {
        const to: StoredTxn = {
          ...md.stored(),
          state: req.commit ? 'PrepareCommit' : 'PrepareAbort',
          lastUpdateMs: this.clock.nowMs(),
        };
        md.prepare(to);
        const error = await this.write(ps, md, to);
        if (error === 'NONE') this.completeTransaction(ps, md);
        return error;
      }
      case 'CompleteCommit':
        return req.commit ? 'NONE' : 'INVALID_TXN_STATE';
      case 'CompleteAbort':
        return req.commit ? 'INVALID_TXN_STATE' : 'NONE';
      case 'PrepareCommit':
        return req.commit ? 'CONCURRENT_TRANSACTIONS' : 'INVALID_TXN_STATE';
      case 'PrepareAbort':
        return req.commit ? 'INVALID_TXN_STATE' : 'CONCURRENT_TRANSACTIONS';
      case 'Empty':
        return 'INVALID_TXN_STATE';
      case 'Dead':
      case 'PrepareEpochFence':
        throw new Error(`${md.transactionalId} is in ${md.state}, which is never held`);
    }
  }

  // ---- completing transactions: markers, then Complete* ------------------------------------

  /**
   * The transaction is in Prepare* (durable): write its markers until every partition has one (or
   * is gone), then write Complete*. Runs in the background while the partition stays owned here.
   */
  private completeTransaction(ps: OwnedPartition, md: TxnMetadata): void {
    const commit = md.state === 'PrepareCommit';
    if (!commit && md.state !== 'PrepareAbort')
      throw new Error(`${md.transactionalId}: completing ${md.state}`);
    md.pending = commit ? 'CompleteCommit' : 'CompleteAbort';
    md.markersPending = new Map(md.partitions);
    const marker: TxnMarker = {
      producerId: md.producerId,
      producerEpoch: md.producerEpoch,
      commit,
      coordinatorEpoch: ps.coordinatorEpoch,
    };
    void this.writeMarkers(ps, md, marker, this.config.markerRetryBackoffMs).catch((e: unknown) =>
      this.logger.error({ err: e, transactionalId: md.transactionalId }, 'completing a transaction failed'),
    );
  }

  private async writeMarkers(
    ps: OwnedPartition,
    md: TxnMetadata,
    marker: TxnMarker,
    backoffMs: number,
  ): Promise<void> {
    const pending = md.markersPending;
    if (!this.isCurrent(ps, md) || pending === undefined) return;
    for (const [k, tp] of pending) {
      if (this.partitionGone(tp)) {
        this.logger.info(
          { transactionalId: md.transactionalId, partition: k },
          'no marker for a deleted partition',
        );
        pending.delete(k);
      }
    }
    if (pending.size > 0) {
      await this.markerSlot();
      let result: Map<string, string>;
      try {
        result = await this.markers.write(marker, [...pending.values()], this.config.markerWriteTimeoutMs);
      } catch (e) {
        this.logger.warn(
          { err: e, transactionalId: md.transactionalId },
          'writing transaction markers failed',
        );
        result = new Map();
      } finally {
        this.releaseMarkerSlot();
      }
      if (!this.isCurrent(ps, md)) return;
      for (const [k, tp] of pending) {
        const code = result.get(k);
        if (code !== undefined && MARKER_DONE.has(code)) {
          if (code !== 'NONE')
            this.logger.warn(
              { transactionalId: md.transactionalId, partition: tpKey(tp), error: code },
              'the partition cannot hold transaction markers: not waited for',
            );
          pending.delete(k);
        } else if (code !== undefined && MARKER_FENCED.has(code)) {
          // A newer coordinator (or producer epoch) took over this transaction: stop, as Kafka does.
          this.logger.warn(
            { transactionalId: md.transactionalId, partition: tpKey(tp), error: code },
            'transaction markers fenced: this coordinator stops completing the transaction',
          );
          return;
        }
      }
      if (pending.size > 0) {
        this.logger.debug(
          { transactionalId: md.transactionalId, partitions: [...pending.keys()], retryInMs: backoffMs },
          'transaction markers not all written: retrying',
        );
        this.retryLater(backoffMs, () =>
          this.writeMarkers(ps, md, marker, Math.min(backoffMs * 2, this.config.markerRetryMaxBackoffMs)),
        );
        return;
      }
    }
    await this.writeComplete(ps, md, this.config.markerRetryBackoffMs);
  }

  /** Every marker is written: record Complete* (retried while the partition is owned here). */
  private async writeComplete(ps: OwnedPartition, md: TxnMetadata, backoffMs: number): Promise<void> {
    if (!this.isCurrent(ps, md)) return;
    const state: TxnState = md.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort';
    const to: StoredTxn = { ...md.stored(), state, partitions: [], lastUpdateMs: this.clock.nowMs() };
    const error = await this.append(
      ps,
      encodeTxnRecord({ transactionalId: md.transactionalId, value: to }),
      () => {
        if (this.isCurrent(ps, md)) md.complete(to);
        this.wakeCompletion(md);
      },
    );
    if (error === 'NONE' || !this.isCurrent(ps, md)) return;
    this.logger.warn({ transactionalId: md.transactionalId, error }, `writing ${state} failed: retrying`);
    this.retryLater(backoffMs, () =>
      this.writeComplete(ps, md, Math.min(backoffMs * 2, this.config.markerRetryMaxBackoffMs)),
    );
  }

  /** Resolves once `md`'s transaction is complete (Complete* recorded), or after `maxMs`. */
  private untilCompleted(md: TxnMetadata, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      let list = this.completionWaiters.get(md);
      if (list === undefined) this.completionWaiters.set(md, (list = []));
      if (list.length >= MAX_COMPLETION_WAITERS) return resolve();
      const timer = this.scheduler.setTimer(maxMs, () => {
        const i = list.indexOf(done);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0 && this.completionWaiters.get(md) === list) this.completionWaiters.delete(md);
        resolve();
      });
      const done = (): void => {
        timer.cancel();
        resolve();
      };
      list.push(done);
    });
  }

  private wakeCompletion(md: TxnMetadata): void {
    const list = this.completionWaiters.get(md);
    if (list === undefined) return;
    this.completionWaiters.delete(md);
    for (const w of list) w();
  }

  private retryLater(delayMs: number, f: () => Promise<void>): void {
    if (this.closed) return;
    const timer = this.scheduler.setTimer(delayMs, () => {
      this.retryTimers.delete(timer);
      void f().catch((e: unknown) => this.logger.error({ err: e }, 'completing a transaction failed'));
    });
    this.retryTimers.add(timer);
  }

  private markerSlot(): Promise<void> {
    if (this.markerWritesInFlight < this.config.maxConcurrentMarkerWrites) {
      this.markerWritesInFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.markerWaiters.push(resolve));
  }

  private releaseMarkerSlot(): void {
    const next = this.markerWaiters.shift();
    if (next !== undefined) next();
    else this.markerWritesInFlight--;
  }

  // ---- timeouts and expiration --------------------------------------------------------------

  /**
   * Aborts, with an epoch bump, every Ongoing transaction older than its timeout (runs every
   * abortTimedOutIntervalMs); the producer's next request is fenced. Returns how many it started.
   */
  abortTimedOutTransactions(): number {
    const now = this.clock.nowMs();
    let n = 0;
    for (const ps of this.owned.values()) {
      if (ps.state !== 'active') continue;
      for (const md of ps.txns.values()) {
        if (md.pending !== undefined || md.state !== 'Ongoing' || md.startMs + md.timeoutMs >= now) continue;
        n++;
        this.logger.info(
          { transactionalId: md.transactionalId, timeoutMs: md.timeoutMs },
          'aborting a transaction that timed out',
        );
        this.fenceAndAbort(ps, md).then(
          (error) => {
            if (error !== 'NONE')
              this.logger.warn(
                { transactionalId: md.transactionalId, error },
                'aborting a timed-out transaction failed',
              );
          },
          (e: unknown) => this.logger.error({ err: e }, 'aborting a timed-out transaction failed'),
        );
      }
    }
    return n;
  }

  /**
   * Removes transactional ids idle (Empty or Complete*) for transactionalIdExpirationMs: a
   * tombstone each, then they are forgotten. Runs every removeExpiredIntervalMs; returns how many.
   */
  async expireTransactionalIds(): Promise<number> {
    const cutoff = this.clock.nowMs() - this.config.transactionalIdExpirationMs;
    const writes: Array<Promise<boolean>> = [];
    for (const ps of this.owned.values()) {
      if (ps.state !== 'active') continue;
      for (const md of ps.txns.values()) {
        if (!md.persisted || md.pending !== undefined || !EXPIRABLE.has(md.state) || md.lastUpdateMs > cutoff)
          continue;
        md.pending = 'Dead';
        const record = encodeTxnRecord({ transactionalId: md.transactionalId, value: null });
        writes.push(
          this.append(ps, record, () => {
            if (!this.isCurrent(ps, md)) return;
            ps.txns.delete(md.transactionalId);
            this.txnCount--;
          }).then((error) => {
            if (error !== 'NONE' && md.pending === 'Dead') md.pending = undefined;
            return error === 'NONE';
          }),
        );
      }
    }
    const removed = (await Promise.all(writes)).filter((ok) => ok).length;
    if (removed > 0) this.logger.info({ removed }, 'expired transactional ids');
    return removed;
  }

  // ---- DescribeTransactions, ListTransactions -----------------------------------------------

  describeTransactions(transactionalIds: readonly string[]): DescribedTransaction[] {
    return transactionalIds.map((transactionalId) => {
      const none = (errorCode: TxnKafkaError): DescribedTransaction => ({
        transactionalId,
        errorCode,
        state: '',
        timeoutMs: 0,
        startTimeMs: -1,
        producerId: NO_PRODUCER_ID,
        producerEpoch: NO_PRODUCER_EPOCH,
        partitions: [],
      });
      if (transactionalId === '') return none('INVALID_REQUEST');
      const err = this.coordinatorError(transactionalId);
      if (err !== undefined) return none(err);
      const md = this.persisted(transactionalId);
      if (md === undefined || md.pending === 'Dead') return none('TRANSACTIONAL_ID_NOT_FOUND');
      return {
        transactionalId,
        errorCode: 'NONE',
        state: md.state,
        timeoutMs: md.timeoutMs,
        startTimeMs: md.startMs,
        producerId: md.producerId,
        producerEpoch: md.producerEpoch,
        partitions: [...(md.markersPending ?? md.partitions).values()],
      };
    });
  }

  listTransactions(req: ListTransactionsRequest): ListTransactionsResult {
    if (this.closed)
      return { errorCode: 'COORDINATOR_NOT_AVAILABLE', unknownStateFilters: [], transactions: [] };
    const known = new Set<string>(TXN_STATES);
    const states = new Set(req.stateFilters.filter((s) => known.has(s)));
    const unknownStateFilters = req.stateFilters.filter((s) => !known.has(s));
    const producers = new Set(req.producerIdFilters);
    const now = this.clock.nowMs();
    const transactions: ListTransactionsResult['transactions'] = [];
    let loading = false;
    for (const ps of this.owned.values()) {
      if (ps.state === 'loading') {
        loading = true;
        continue;
      }
      for (const md of ps.txns.values()) {
        if (!md.persisted || md.pending === 'Dead') continue;
        if (producers.size > 0 && !producers.has(md.producerId)) continue;
        if (req.stateFilters.length > 0 && !states.has(md.state)) continue;
        if (req.durationFilterMs >= 0 && now - md.startMs <= req.durationFilterMs) continue;
        transactions.push({
          transactionalId: md.transactionalId,
          producerId: md.producerId,
          state: md.state,
        });
      }
    }
    transactions.sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1));
    return {
      errorCode: loading ? 'COORDINATOR_LOAD_IN_PROGRESS' : 'NONE',
      unknownStateFilters,
      transactions,
    };
  }

  /** Read-only view of one transactional id for diagnostics and tests. */
  inspect(transactionalId: string): TxnInspection | undefined {
    const md = this.partitionOf(transactionalId)?.txns.get(transactionalId);
    if (md === undefined) return undefined;
    return {
      ...md.stored(),
      pending: md.pending,
      markersPending: md.markersPending === undefined ? undefined : [...md.markersPending.keys()].sort(),
      persisted: md.persisted,
    };
  }

  /** Violations of the coordinator's invariants (tests assert this stays empty). */
  invariantViolations(): string[] {
    const v: string[] = [];
    let count = 0;
    for (const [p, ps] of this.owned) {
      if (ps.partition !== p) v.push(`partition ${ps.partition} held as ${p}`);
      count += ps.txns.size;
      for (const [id, md] of ps.txns) {
        if (md.transactionalId !== id) v.push(`${md.transactionalId} held as ${id}`);
        if (md.partition !== p || this.partitionFor(id) !== p) v.push(`${id} held by partition ${p}`);
        if (
          ps.state === 'active' &&
          (md.state === 'PrepareCommit' || md.state === 'PrepareAbort') &&
          md.pending === undefined
        )
          v.push(`${id} in ${md.state} is not being completed`);
        v.push(...md.invariantViolations());
      }
    }
    if (count !== this.txnCount) v.push(`transactional id count ${this.txnCount} != ${count}`);
    return v;
  }

  // ---- storage ------------------------------------------------------------------------------

  /**
   * Writes the prepared transition `to` of `md`; resolves NONE once durable (the state changed),
   * else the answer for the failure (the transition is dropped: nothing changed).
   */
  private async write(ps: OwnedPartition, md: TxnMetadata, to: StoredTxn): Promise<TxnKafkaError> {
    const record: TxnLogRecord = { transactionalId: md.transactionalId, value: to };
    const error = await this.append(ps, encodeTxnRecord(record), () => {
      if (this.isCurrent(ps, md)) md.complete(to);
    });
    if (error !== 'NONE') {
      if (md.pending === to.state) md.pending = undefined;
      return error;
    }
    return this.isCurrent(ps, md) ? 'NONE' : 'NOT_COORDINATOR';
  }

  /**
   * Queues one record for the partition's log; resolves NONE once durable (after `onDurable` ran),
   * or the answer for the failure. A write still queued after queuedWriteTimeoutMs is dropped
   * (never written) and answered COORDINATOR_NOT_AVAILABLE.
   */
  private append(ps: OwnedPartition, record: EncodedRecord, onDurable: () => void): Promise<TxnKafkaError> {
    if (this.owned.get(ps.partition) !== ps) return Promise.resolve('NOT_COORDINATOR');
    if (ps.queue.length >= this.config.maxQueuedWritesPerPartition) {
      this.logger.warn(
        { partition: ps.partition, queued: ps.queue.length },
        '__transaction_state write queue is full',
      );
      return Promise.resolve('COORDINATOR_NOT_AVAILABLE');
    }
    return new Promise((resolve) => {
      const w: QueuedWrite = { record, started: false, timer: undefined, onDurable, resolve };
      w.timer = this.scheduler.setTimer(this.config.queuedWriteTimeoutMs, () => {
        const i = ps.queue.indexOf(w);
        if (w.started || i < 0) return;
        ps.queue.splice(i, 1);
        this.logger.warn({ partition: ps.partition }, 'a __transaction_state write waited too long: dropped');
        resolve('COORDINATOR_NOT_AVAILABLE');
      });
      ps.queue.push(w);
      this.kick(ps);
    });
  }

  /** Starts the next append (or snapshot) of the partition if none is in flight. */
  private kick(ps: OwnedPartition): void {
    if (ps.busy || this.owned.get(ps.partition) !== ps || ps.state !== 'active') return;
    if (ps.snapshotQueued) {
      ps.busy = true;
      ps.snapshotQueued = false;
      void this.snapshot(ps).finally(() => {
        ps.busy = false;
        this.kick(ps);
      });
      return;
    }
    if (ps.queue.length === 0) return;
    const batch = ps.queue.splice(0, this.config.maxRecordsPerAppend);
    for (const w of batch) {
      w.started = true;
      w.timer?.cancel();
    }
    ps.busy = true;
    this.log
      .append(
        ps.partition,
        batch.map((w) => w.record),
      )
      .then(
        () => {
          ps.appendedSinceSnapshot += batch.length;
          let broken = false;
          for (const w of batch) {
            try {
              w.onDurable();
            } catch (e) {
              broken = true;
              this.logger.error({ err: e, partition: ps.partition }, 'applying a durable transition failed');
            }
          }
          for (const w of batch) w.resolve('NONE');
          // A broken invariant: memory no longer matches the log, which is the source of truth.
          if (broken) this.reload(ps);
          else this.maybeQueueSnapshot(ps);
        },
        (e: unknown) => {
          this.logger.warn({ err: e, partition: ps.partition }, 'append to __transaction_state failed');
          const error = logErrorToKafka(e);
          for (const w of batch) w.resolve(error);
        },
      )
      .finally(() => {
        ps.busy = false;
        this.kick(ps);
      });
  }

  /** Drops the partition's state and loads it again from its log. */
  private reload(ps: OwnedPartition): void {
    if (this.owned.get(ps.partition) !== ps) return;
    this.unloadPartition(ps.partition);
    this.loadPartition(ps.partition, ps.coordinatorEpoch).catch((e: unknown) =>
      this.logger.error(
        { err: e, partition: ps.partition },
        'reloading __transaction_state partition failed',
      ),
    );
  }

  private maybeQueueSnapshot(ps: OwnedPartition): void {
    if (ps.appendedSinceSnapshot >= Math.max(this.config.compactionMinRecords, 2 * ps.liveAtSnapshot))
      ps.snapshotQueued = true;
  }

  /**
   * Compaction of `__transaction_state` by snapshot: with no other write in flight, every id's
   * durable state (exactly what a replay of the log yields) is appended again, and the log prefix
   * before it is dropped. A crash in between leaves the old prefix, which the re-stated records
   * supersede on replay.
   */
  private async snapshot(ps: OwnedPartition): Promise<void> {
    const records: EncodedRecord[] = [];
    for (const md of ps.txns.values())
      if (md.persisted)
        records.push(encodeTxnRecord({ transactionalId: md.transactionalId, value: md.stored() }));
    // With nothing live, a tombstone of an id that is not held marks where the log may start.
    if (records.length === 0) records.push(encodeTxnRecord({ transactionalId: '', value: null }));
    ps.appendedSinceSnapshot = 0;
    try {
      let start: bigint | undefined;
      for (let i = 0; i < records.length; i += this.config.maxRecordsPerAppend) {
        const base = await this.log.append(
          ps.partition,
          records.slice(i, i + this.config.maxRecordsPerAppend),
        );
        start ??= base;
        if (this.owned.get(ps.partition) !== ps) return;
      }
      if (start !== undefined) await this.log.truncateBefore(ps.partition, start);
      ps.liveAtSnapshot = records.length;
      this.logger.info(
        { partition: ps.partition, records: records.length, logStart: String(start) },
        'compacted __transaction_state partition',
      );
    } catch (e) {
      this.logger.warn(
        { err: e, partition: ps.partition },
        'snapshot of __transaction_state partition failed; the log keeps its prefix',
      );
    }
  }
}
