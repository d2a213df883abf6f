// The partitions of this node, in either mode: which replicas exist (opened when the metadata
// assigns a partition to this node, closed and removed when its topic is deleted), the data path
// with its leader and leader-epoch checks, leadership events (the group coordinator listens), the
// leader's report to the metadata, and periodic maintenance (flush policy, retention). Transactions
// (docs/design/transactions.md): a transactional Produce's first batch in a partition is verified
// with the transaction coordinator first (KIP-890, `txnVerifier`), and transaction markers are
// written on the leader and then told to the `onTxnMarker` listeners (the group coordinator). How a
// partition is stored and replicated is the mode's PartitionFactory: LocalPartitions on this node's
// WAL (modes/standalone.ts) or ReplicatedPartitions on Raft groups (cluster/partition-groups.ts).
//
// A replica that stopped or could not be opened is a ReplicaProblem (the admin API's /health and
// /v1/partitions), answered KAFKA_STORAGE_ERROR while the metadata names this node its leader.
// When the factory says its failure may pass (standalone: an I/O error such as a full disk), the
// replica is opened again from its storage after 1 s, then 2, 4, … up to 30 s between attempts,
// and serves again once that works (ReplicaProblem.reopenAtMs); anything else (damaged or lost
// data, a broken invariant) waits for the operator and a restart.
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import { every, retryUntilDone } from '@chronik/env';
import { originalReplicas } from '@chronik/metadata';
import type { MetadataChange, PartitionInfo, TopicInfo } from '@chronik/metadata';
import { RECORD_BATCH_HEADER_BYTES, readRecordBatchHeader } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
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
  TopicPartition,
  TxnMarker,
} from '../partition/types.js';
import type { LogConfigs } from './log-config.js';
import type { LocalLeadership } from './metadata-cache.js';
import type { MetadataStore } from './metadata-store.js';

/** What a mode needs to know to create a partition's replica on this node. */
export interface PartitionSpec {
  topic: string;
  topicId: string;
  internal: boolean;
  partition: number;
  replicas: readonly number[];
  isr: readonly number[];
  /** The partition's leader epoch in the metadata (-1 before any leader). */
  leaderEpoch: number;
  config: LogConfig;
  /**
   * Open it to rebuild for this repair request (cluster only, replica-repair.ts): its copy here is
   * discarded and rebuilt from the other replicas.
   */
  rebuild?: number;
  /**
   * Where this node has no copy yet (cluster only: a new replica's group folder), whether it may
   * found the group's membership itself — with `bootstrapVoters`, the replica set it was created
   * with — or must join an existing group and learn the membership from its leader: a replica a
   * reassignment adds (a learner until it caught up), or any replica once the partition had a
   * leader (cluster/partition-groups.ts).
   */
  join?: boolean;
  /** The founding voters when it does not join (the replicas before a reassignment in progress). */
  bootstrapVoters?: readonly number[];
}

/** How a mode stores and replicates partitions. */
export interface PartitionFactory {
  /** This node's replica of a partition, not yet open. Throws a KafkaError to refuse it. */
  create(spec: PartitionSpec, events: PartitionEvents): ManagedPartition;
  /**
   * Removes the data of a replica that was closed because its topic was deleted, or because this
   * node is no longer one of the partition's replicas (a reassignment moved it away).
   */
  remove(topicId: string, partition: number): Promise<void>;
  /**
   * Whether a replica that failed with `error` (opening it, or while it served) may be opened again
   * from its storage later: the failure may pass (a full disk). Absent: never.
   */
  mayReopenAfter?(error: Error): boolean;
  /**
   * Whether a replica that failed with `error` can be rebuilt from other replicas (its copy here is
   * damaged or lost). Absent: never.
   */
  repairable?(error: Error): boolean;
  /**
   * How often its partitions check retention (their maintain() does it on leaders when this long
   * passed). Each leader is visited at least twice in this period; absent: 1000 ms.
   */
  readonly retentionCheckIntervalMs?: number;
}

export interface ReadRequest extends TopicPartition {
  fetchOffset: bigint;
  /** Byte budget for this partition, >= 0. */
  maxBytes: number;
  /** Return the first batch whole even when it is larger than maxBytes (see Partition.read). */
  minOneBatch: boolean;
  isolationLevel: IsolationLevel;
  /** -1 when the client did not send one. */
  currentLeaderEpoch: number;
}

/**
 * A replica of this node that does not serve fully: `damaged` (a read or the log scrubber met
 * damaged storage; it serves what it can), `stopped` (it broke an invariant or lost its storage;
 * it serves nothing until the node restarts), `not-opened` (opening it failed: corrupt or
 * unreadable files).
 */
export interface ReplicaProblem {
  topic: string;
  partition: number;
  state: 'damaged' | 'stopped' | 'not-opened';
  /** What went wrong, naming the file and position when storage says so. */
  error: string;
  sinceMs: number;
  /** When the node opens the replica again by itself (its storage failed in a way that may pass). */
  reopenAtMs?: number;
  /** Its copy is damaged or lost and can be rebuilt from the other replicas (PartitionFactory.repairable). */
  repairable: boolean;
  /** The repair request that answers this problem (the problem came before it). */
  repairRequest?: number;
}

/** One local replica as the admin API reports it. */
export interface PartitionStatus {
  topic: string;
  partition: number;
  /** `none`: the replica could not be opened (state `not-opened`). */
  role: 'leader' | 'follower' | 'none';
  /** `online`, or the replica's problem (ReplicaProblem). */
  state: 'online' | ReplicaProblem['state'];
  /** The problem's description, when there is one. */
  error?: string;
  /** This replica's repair, while one is under way (PartitionInfo.repairs). */
  repair?: 'requested' | 'rebuilding';
  leader: number;
  leaderEpoch: number;
  highWatermark: bigint;
  logEndOffset: bigint;
  logStartOffset: bigint;
  replicas: readonly number[];
  isr: readonly number[];
  /** While the partition is reassigned: the replicas being added and removed (PartitionInfo). */
  addingReplicas?: readonly number[];
  removingReplicas?: readonly number[];
}

export interface LogDirView {
  path: string;
  partitions: ReadonlyArray<{ topic: string; partition: number; sizeBytes: number; offsetLag: bigint }>;
  totalBytes: bigint;
  usableBytes: bigint;
}

/** Leadership of this node's replicas (`leader` false: it stopped leading). */
export type LeadershipListener = (topic: string, partition: number, leader: boolean) => void;

/** A transaction marker written on this node's leader, durable at `offset`. */
export type TxnMarkerListener = (tp: TopicPartition, m: TxnMarker, offset: bigint) => void;

/** KIP-890's question: may this producer write to this partition in its transaction? */
export interface TxnVerifyRequest {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  topic: string;
  partition: number;
}

/**
 * KIP-890 part 1: the transaction coordinator's answer (AddPartitionsToTxn verify_only) before the
 * partition accepts a transaction's first batch; Produce answers its errors as they are.
 */
export interface TxnVerifier {
  /**
   * Resolves when `producerId` at `producerEpoch` has an ongoing transaction that holds the
   * partition; rejects with a KafkaError otherwise: INVALID_TXN_STATE (not added),
   * INVALID_PRODUCER_EPOCH (an older epoch), INVALID_PRODUCER_ID_MAPPING (another producer or no
   * such transactional id), CONCURRENT_TRANSACTIONS (being completed), NOT_COORDINATOR /
   * COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE.
   */
  verify(req: TxnVerifyRequest): Promise<void>;
}

export interface PartitionManagerOptions {
  nodeId: number;
  store: MetadataStore;
  configs: LogConfigs;
  factory: PartitionFactory;
  /** Wall-clock time: maintenance, reopen backoff, replica problems' ages. */
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /** Where the partitions live and how much room is left there (DescribeLogDirs). */
  logDir: { path: string; space(): { totalBytes: bigint; usableBytes: bigint } };
  /**
   * Period of the maintenance tick (flush policy, Produce deadlines) of the partitions that have
   * such work pending. Default 100 ms.
   */
  maintenanceIntervalMs?: number;
  /** Verifies a transaction's first batch in a partition (KIP-890); absent: not verified. */
  txnVerifier?: TxnVerifier;
}

/** Retry period of a leader's report to the metadata. */
const REPORT_RETRY_MS = 500;
/** First and longest wait before a failed replica is opened again (doubling in between). */
const REOPEN_FIRST_MS = 1000;
const REOPEN_MAX_MS = 30_000;
/** A replica that fails again within this time of being re-opened keeps its backoff. */
const REOPEN_STABLE_MS = 60_000;

/** The topic id in a replica's key. */
function topicIdOfKey(k: string): string {
  return k.slice(0, k.lastIndexOf('/'));
}

/** KIP-320: a request's current leader epoch against this leader's (-1: not checked). */
export function checkLeaderEpoch(currentLeaderEpoch: number, leaderEpoch: number): void {
  if (currentLeaderEpoch < 0) return;
  if (currentLeaderEpoch > leaderEpoch)
    throw new KafkaError(
      'UNKNOWN_LEADER_EPOCH',
      `leader epoch ${currentLeaderEpoch} is newer than ${leaderEpoch}`,
    );
  if (currentLeaderEpoch < leaderEpoch)
    throw new KafkaError(
      'FENCED_LEADER_EPOCH',
      `leader epoch ${currentLeaderEpoch} is older than ${leaderEpoch}`,
    );
}

function keyOf(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}

function byTopicPartition(
  a: { topic: string; partition: number },
  b: { topic: string; partition: number },
): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The producer of the records' first batch when it is transactional; undefined otherwise, or when
 * the records do not start with a batch header (the partition's validation answers those).
 */
function transactionalProducerOf(records: Buffer): { producerId: bigint; producerEpoch: number } | undefined {
  if (records.length < RECORD_BATCH_HEADER_BYTES) return undefined;
  try {
    const h = readRecordBatchHeader(records, 0);
    return h.isTransactional && !h.isControl && h.producerId >= 0n
      ? { producerId: h.producerId, producerEpoch: h.producerEpoch }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Replicas closed at once on shutdown. */
const CLOSE_CONCURRENCY = 64;
/** Replicas opened at once by a reconciliation. */
const OPEN_CONCURRENCY = 32;
/** The retention check period when the factory does not tell it. */
const DEFAULT_RETENTION_CHECK_MS = 1000;

/** A transaction's first batch in a partition under verification (KIP-890); see `verifications`. */
interface VerificationGuard {
  /** Appends waiting for the coordinator's answer. */
  users: number;
  /** The epoch of the marker that ended the producer's transaction here meanwhile. */
  endedAtEpoch: number | undefined;
}

/**
 * After the coordinator's answer: a marker written for the producer meanwhile means the batch
 * belongs to a transaction that has ended here — INVALID_PRODUCER_EPOCH when the marker fenced the
 * producer's epoch (retriable for the client: it aborts), else INVALID_TXN_STATE, as Kafka answers.
 */
function checkVerificationGuard(tp: TopicPartition, producerEpoch: number, guard: VerificationGuard): void {
  const ended = guard.endedAtEpoch;
  if (ended === undefined) return;
  if (ended > producerEpoch)
    throw new KafkaError(
      'INVALID_PRODUCER_EPOCH',
      `${tp.topic}-${tp.partition}: producer epoch ${producerEpoch} was fenced by a marker at epoch ${ended}`,
    );
  throw new KafkaError(
    'INVALID_TXN_STATE',
    `${tp.topic}-${tp.partition}: the transaction ended here while its first batch was verified`,
  );
}

export class PartitionManager {
  private readonly partitions = new Map<string, ManagedPartition>();
  /** Replicas that broke an invariant: closed, kept out of service until the node restarts. */
  private readonly failed = new Map<string, Error>();
  /** Replicas that do not serve fully, by key (see ReplicaProblem). */
  private readonly problems = new Map<string, ReplicaProblem>();
  /**
   * Replicas to open again (see the file header): when, after how many failures in a row, and the
   * failed instance's close, which must finish first.
   */
  private readonly reopens = new Map<string, { atMs: number; attempts: number; closing: Promise<void> }>();
  /** When a replica was last opened again, and after how many failures (for the backoff). */
  private readonly reopened = new Map<string, { atMs: number; attempts: number }>();
  private readonly deletedTopics = new Set<string>();
  /** Replicas a completed reassignment moved off this node, by key: their data goes (even unopened). */
  private readonly movedAway = new Set<string>();
  /** Replicas open to rebuild: the repair request each was opened for. */
  private readonly rebuilding = new Map<string, number>();
  /** Replicas whose rebuild failed to open: the request (tried again after a restart or a new request). */
  private readonly rebuildFailed = new Map<string, number>();
  private readonly listeners = new Set<LeadershipListener>();
  private readonly markerListeners = new Set<TxnMarkerListener>();
  /**
   * KIP-890's verification guards: a transaction's first batch in a partition being verified with
   * the coordinator, by partition and producer id. A marker written for the producer meanwhile ends
   * the guard, and the batch is refused instead of opening a transaction the coordinator has closed.
   */
  private readonly verifications = new Map<string, VerificationGuard>();
  private readonly events: PartitionEvents;
  private reconciling: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  /**
   * What the next reconciliation looks at: the partitions (by key) a metadata change touched or
   * whose reopen is due since the last one, or every partition (`dirtyAll`: at start, after a
   * resync of the change feed, after a reconciliation failed).
   */
  private readonly dirty = new Set<string>();
  private dirtyAll = true;
  private unsubscribe: (() => void) | undefined;
  private maintenance: TimerHandle | undefined;
  /**
   * Maintenance (docs/design/quiescence.md, "The server's partition passes"): the replicas whose
   * maintain() has work pending (maintenanceIdle() false), run every tick until idle; the
   * replicas this node leads, swept a slice per tick so that each is visited twice per retention
   * check period (retention, and whatever became pending without passing through this manager).
   * Idle followers are not visited: their maintain() has nothing to do.
   */
  private readonly busy = new Set<ManagedPartition>();
  private readonly leading = new Set<ManagedPartition>();
  private sweep: ManagedPartition[] = [];
  private sweepNext = 0;
  private readonly retries = new Set<TimerHandle>();
  private closed = false;

  constructor(private readonly options: PartitionManagerOptions) {
    this.events = {
      leaderReady: (p) => this.onLeaderReady(p),
      leaderLost: (p) => this.emit(p, false),
      failed: (p, e) => this.onFailed(p, e),
      damaged: (p, e) => this.noteProblem(p, 'damaged', e),
      maintenanceDue: (p) => this.busy.add(p),
    };
  }

  /** Opens the replicas the metadata assigns to this node and follows its changes from then on. */
  async start(): Promise<void> {
    const state = this.options.store.state;
    this.unsubscribe = state.subscribe(state.appliedIndex, (ev) => {
      if (ev.type === 'changes') this.onChanges(ev.changes);
      else this.dirtyAll = true;
      this.scheduleReconcile();
    });
    this.scheduleReconcile();
    await this.settled();
    const logger = this.options.logger;
    this.maintenance = every(
      this.options.scheduler,
      this.options.maintenanceIntervalMs ?? 100,
      () => this.maintainTick(),
      (e) => logger.error({ err: errorText(e) }, 'partition maintenance failed'),
    );
  }

  /** One maintenance tick: O(replicas with work pending + leaders / sweep ticks), not O(replicas). */
  private maintainTick(): void {
    const now = this.options.clock.nowMs();
    const open = (p: ManagedPartition): boolean => this.partitions.get(keyOf(p.topicId, p.partition)) === p;
    for (const p of this.busy) {
      if (open(p)) p.maintain(now);
      if (!open(p) || p.maintenanceIdle()) this.busy.delete(p);
    }
    if (this.sweepNext >= this.sweep.length) {
      this.sweep = [];
      this.sweepNext = 0;
      for (const p of this.leading)
        if (open(p)) this.sweep.push(p);
        else this.leading.delete(p);
    }
    const tickMs = this.options.maintenanceIntervalMs ?? 100;
    const sweepMs = Math.max(
      tickMs,
      (this.options.factory.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_MS) / 2,
    );
    const end = Math.min(
      this.sweep.length,
      this.sweepNext + Math.ceil((this.sweep.length * tickMs) / sweepMs),
    );
    for (; this.sweepNext < end; this.sweepNext++) {
      const p = this.sweep[this.sweepNext] as ManagedPartition;
      if (this.busy.has(p) || !open(p)) continue;
      p.maintain(now);
      if (!p.maintenanceIdle()) this.busy.add(p);
    }
    for (const [k, r] of this.reopens)
      if (now >= r.atMs) {
        this.dirty.add(k);
        this.scheduleReconcile();
      }
  }

  /** Resolves once the replicas match the metadata applied so far (opened or closed). */
  settled(): Promise<void> {
    return this.reconciling;
  }

  // ---------------------------------------------------------------- lifecycle

  private onChanges(changes: readonly MetadataChange[]): void {
    let configs = false;
    const me = this.options.nodeId;
    for (const ch of changes) {
      if (ch.type === 'topicCreated')
        for (const p of ch.topic.partitions) this.dirty.add(keyOf(ch.topic.topicId, p.partition));
      if (ch.type === 'partitionsCreated')
        for (const p of ch.partitions) this.dirty.add(keyOf(ch.topicId, p.partition));
      if (ch.type === 'partitionChanged') this.dirty.add(keyOf(ch.topicId, ch.partition.partition));
      if (ch.type === 'topicDeleted') this.deletedTopics.add(ch.topicId);
      if (
        ch.type === 'partitionChanged' &&
        ch.reason === 'replicas' &&
        ch.previous.replicas.includes(me) &&
        !ch.partition.replicas.includes(me)
      )
        this.movedAway.add(keyOf(ch.topicId, ch.partition.partition));
      if (ch.type === 'topicConfigChanged' || ch.type === 'brokerConfigChanged') configs = true;
    }
    if (configs) {
      for (const p of this.partitions.values())
        if (this.options.store.state.topicById(p.topicId) !== undefined)
          p.setConfig(this.options.configs.logConfig(p.topic));
    }
  }

  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    this.reconciling = this.reconciling.then(async () => {
      this.reconcileQueued = false;
      try {
        await this.reconcile();
      } catch (e) {
        this.dirtyAll = true;
        this.options.logger.error({ err: errorText(e) }, 'opening partition replicas failed');
      }
    });
  }

  /** Every partition of the metadata. */
  private *allPartitions(): Generator<[TopicInfo, PartitionInfo]> {
    for (const t of this.options.store.state.topics()) for (const info of t.partitions) yield [t, info];
  }

  /** The partitions of these keys that the metadata holds. */
  private *partitionsOf(keys: readonly string[]): Generator<[TopicInfo, PartitionInfo]> {
    for (const k of keys) {
      const topicId = topicIdOfKey(k);
      const t = this.options.store.state.topicById(topicId);
      const info = t?.partitions[Number(k.slice(topicId.length + 1))];
      if (t !== undefined && info !== undefined) yield [t, info];
    }
  }

  /**
   * Opens and closes replicas to match the metadata: those of the partitions a change touched
   * since the last pass (`dirty`), or all of them (`dirtyAll`); O(touched), not O(partitions).
   */
  private async reconcile(): Promise<void> {
    const all = this.dirtyAll;
    this.dirtyAll = false;
    const keys = [...this.dirty];
    this.dirty.clear();
    const state = this.options.store.state;
    const gone = (topicId: string): boolean =>
      this.deletedTopics.has(topicId) || state.topicById(topicId) === undefined;
    // A replica this node no longer holds: its topic was deleted, or a completed reassignment moved
    // it away (the metadata drops a replica only once the partition's group no longer counts it).
    const movedAway = (topicId: string, partition: number): boolean => {
      const info = state.topicById(topicId)?.partitions[partition];
      return info !== undefined && !info.replicas.includes(this.options.nodeId);
    };
    const candidates: Array<[string, ManagedPartition]> =
      all || this.deletedTopics.size > 0
        ? [...this.partitions]
        : keys.flatMap((k): Array<[string, ManagedPartition]> => {
            const p = this.partitions.get(k);
            return p === undefined ? [] : [[k, p]];
          });
    for (const [k, p] of candidates) {
      if (this.partitions.get(k) !== p) continue;
      const moved = movedAway(p.topicId, p.partition);
      if (!gone(p.topicId) && !moved) continue;
      if (moved)
        this.options.logger.info(
          { topic: p.topic, partition: p.partition },
          'this node is no longer a replica of the partition: its copy here is removed',
        );
      this.partitions.delete(k);
      this.failed.delete(k);
      this.problems.delete(k);
      this.reopens.delete(k);
      this.reopened.delete(k);
      this.rebuilding.delete(k);
      this.rebuildFailed.delete(k);
      if (p.isLeader()) this.emit(p, false);
      await p.close();
      await this.options.factory.remove(p.topicId, p.partition);
    }
    // Replicas of deleted topics that were never opened: their data goes too.
    for (const [k, problem] of [...this.problems]) {
      const topicId = topicIdOfKey(k);
      if (this.partitions.has(k) || !(gone(topicId) || movedAway(topicId, problem.partition))) continue;
      this.problems.delete(k);
      await this.reopens.get(k)?.closing;
      this.reopens.delete(k);
      this.reopened.delete(k);
      await this.options.factory.remove(topicId, problem.partition);
    }
    // Replicas moved away that were not open here (a restart replayed the move's end): their data too.
    for (const k of [...this.movedAway]) {
      this.movedAway.delete(k);
      const topicId = topicIdOfKey(k);
      const partition = Number(k.slice(topicId.length + 1));
      if (this.partitions.has(k) || this.problems.has(k) || !movedAway(topicId, partition)) continue;
      await this.options.factory.remove(topicId, partition);
    }
    this.deletedTopics.clear();
    const now = this.options.clock.nowMs();
    const opens: Array<[string, PartitionSpec]> = [];
    for (const [t, info] of all ? this.allPartitions() : this.partitionsOf(keys)) {
      if (this.closed) return;
      const k = keyOf(t.topicId, info.partition);
      const repair = info.repairs.find((r) => r.brokerId === this.options.nodeId);
      if (repair !== undefined && info.replicas.includes(this.options.nodeId)) {
        // A problem from before this request is what it answers; one of the rebuild itself is not.
        const problem = this.problems.get(k);
        if (
          problem !== undefined &&
          problem.repairRequest === undefined &&
          this.rebuilding.get(k) !== repair.requestIndex &&
          this.rebuildFailed.get(k) !== repair.requestIndex
        )
          problem.repairRequest = repair.requestIndex;
        if (this.rebuildFailed.get(k) === repair.requestIndex) continue;
        if (this.rebuilding.get(k) === repair.requestIndex && this.partitions.has(k)) {
          const p = this.partitions.get(k) as ManagedPartition;
          p.replicas = info.replicas;
          p.isr = info.isr;
          continue;
        }
        // Its copy here is to be discarded: whatever instance is open stops serving; it opens
        // again to rebuild once the leader made it a learner (phase rebuilding).
        await this.closeForRepair(k, repair.requestIndex);
        if (repair.phase === 'requested') {
          // Visible while it waits (after a restart nothing else would report it).
          if (!this.problems.has(k)) {
            this.noteProblem(
              { topic: t.name, topicId: t.topicId, partition: info.partition },
              'not-opened',
              new Error(
                `waiting for its repair (request ${repair.requestIndex}): the leader makes it a learner, then it rebuilds from the others`,
              ),
            );
            (this.problems.get(k) as ReplicaProblem).repairRequest = repair.requestIndex;
          }
          continue;
        }
      } else if (this.rebuilding.has(k)) {
        // Rebuilt: a voter again, in normal service with the instance it has.
        this.rebuilding.delete(k);
      }
      const existing = this.partitions.get(k);
      const reopen = this.reopens.get(k);
      if (reopen !== undefined) {
        if (now < reopen.atMs) continue;
        // Time to open a failed replica again: its failed instance must be closed first.
        await reopen.closing;
        this.reopens.delete(k);
        this.partitions.delete(k);
        this.failed.delete(k);
      } else if (existing !== undefined) {
        existing.replicas = info.replicas;
        existing.isr = info.isr;
        continue;
      } else if (this.problems.get(k)?.state === 'not-opened' && repair?.phase !== 'rebuilding') {
        // Its files are damaged or lost: opening it again at every metadata change would only
        // scan them and log the same error again. It stays out until the node restarts.
        continue;
      }
      if (!info.replicas.includes(this.options.nodeId)) continue;
      opens.push([
        k,
        {
          topic: t.name,
          topicId: t.topicId,
          internal: t.internal,
          partition: info.partition,
          replicas: info.replicas,
          isr: info.isr,
          leaderEpoch: info.leaderEpoch,
          config: this.options.configs.logConfig(t.name),
          ...(repair?.phase === 'rebuilding' ? { rebuild: repair.requestIndex } : {}),
          join: info.addingReplicas.includes(this.options.nodeId) || info.leaderEpoch >= 0,
          bootstrapVoters: originalReplicas(info),
        },
      ]);
    }
    // New replicas open side by side: each waits mostly for its own fsyncs (a thousand-partition
    // topic opened one at a time took tens of seconds).
    for (let i = 0; i < opens.length && !this.closed; i += OPEN_CONCURRENCY)
      await Promise.all(opens.slice(i, i + OPEN_CONCURRENCY).map(([k, spec]) => this.openReplica(k, spec)));
  }

  /**
   * Closes this node's instance of a replica under repair (if one is open) and forgets its failed
   * state: the copy is to be discarded; the problem stays until the rebuilt replica opens.
   */
  private async closeForRepair(k: string, request: number): Promise<void> {
    const p = this.partitions.get(k);
    await this.reopens.get(k)?.closing;
    this.reopens.delete(k);
    this.reopened.delete(k);
    this.failed.delete(k);
    this.rebuilding.delete(k);
    if (p === undefined) return;
    this.partitions.delete(k);
    if (!this.problems.has(k)) {
      this.noteProblem(
        p,
        'stopped',
        new Error(`its copy here is replaced: rebuilt from the other replicas (repair request ${request})`),
      );
      (this.problems.get(k) as ReplicaProblem).repairRequest = request;
    }
    if (p.isLeader()) this.emit(p, false);
    await p
      .close()
      .catch((e: unknown) =>
        this.options.logger.warn(
          { topic: p.topic, partition: p.partition, err: errorText(e) },
          'closing a replica under repair',
        ),
      );
  }

  private async openReplica(k: string, spec: PartitionSpec): Promise<void> {
    const before = this.problems.get(k);
    let p: ManagedPartition;
    try {
      p = this.options.factory.create(spec, this.events);
    } catch (e) {
      this.options.logger.error(
        { topic: spec.topic, partition: spec.partition, err: errorText(e) },
        'partition replica not opened',
      );
      this.noteProblem(spec, 'not-opened', e);
      return;
    }
    p.replicas = spec.replicas;
    p.isr = spec.isr;
    this.partitions.set(k, p);
    if (spec.rebuild !== undefined) this.rebuilding.set(k, spec.rebuild);
    try {
      await p.open();
    } catch (e) {
      this.partitions.delete(k);
      this.rebuilding.delete(k);
      if (spec.rebuild !== undefined) this.rebuildFailed.set(k, spec.rebuild);
      this.options.logger.error(
        { topic: spec.topic, partition: spec.partition, err: errorText(e) },
        'opening a partition replica failed: this node does not serve it (restore or remove its data, see the README)',
      );
      this.noteProblem(spec, 'not-opened', e);
      this.scheduleReopen(
        k,
        e,
        p.close().catch(() => undefined),
      );
      return;
    }
    if (spec.rebuild !== undefined)
      this.options.logger.warn(
        { topic: spec.topic, partition: spec.partition, request: spec.rebuild },
        'partition replica discarded its copy and rebuilds from the leader (a learner until caught up)',
      );
    if (before === undefined) return;
    this.problems.delete(k);
    this.options.logger.warn(
      { topic: spec.topic, partition: spec.partition, after: before.error },
      'partition replica opened again: back in service',
    );
    if (before.reopenAtMs !== undefined)
      this.reopened.set(k, { atMs: this.options.clock.nowMs(), attempts: this.attemptsOf(k) });
  }

  /** Failures in a row of a replica: those since it was last opened again, if that was recent. */
  private attemptsOf(k: string): number {
    const last = this.reopened.get(k);
    const recent = last !== undefined && this.options.clock.nowMs() - last.atMs < REOPEN_STABLE_MS;
    return this.reopens.get(k)?.attempts ?? (recent ? last.attempts : 0);
  }

  /**
   * Opens a failed replica again later when its failure may pass (see the file header), once
   * `closing` (its failed instance's close) is done; the problem says when.
   */
  private scheduleReopen(k: string, e: unknown, closing: Promise<void>): void {
    const error = e instanceof Error ? e : new Error(String(e));
    if (this.closed || !(this.options.factory.mayReopenAfter?.(error) ?? false)) return;
    const attempts = this.attemptsOf(k) + 1;
    this.reopened.delete(k);
    const waitMs = Math.min(REOPEN_MAX_MS, REOPEN_FIRST_MS * 2 ** Math.min(attempts - 1, 16));
    const atMs = this.options.clock.nowMs() + waitMs;
    this.reopens.set(k, { atMs, attempts, closing });
    const problem = this.problems.get(k);
    if (problem !== undefined) problem.reopenAtMs = atMs;
    this.options.logger.warn(
      { topic: problem?.topic, partition: problem?.partition, reopenInMs: waitMs },
      'the replica is opened again once its storage works',
    );
  }

  /** Records a replica that does not serve fully; a stopped one stays stopped. */
  private noteProblem(
    p: { topic: string; topicId: string; partition: number },
    state: ReplicaProblem['state'],
    e: unknown,
  ): void {
    const k = keyOf(p.topicId, p.partition);
    const before = this.problems.get(k)?.state;
    if (state === 'damaged' && (before === 'stopped' || before === 'damaged')) return;
    const error = e instanceof Error ? e : new Error(String(e));
    // A replica being rebuilt holds nothing another replica lacks: whatever stopped it, it may
    // start over under a new request (a fresh start in the leader's record of it).
    const rebuild = this.rebuilding.has(k) || this.rebuildFailed.has(k);
    this.problems.set(k, {
      topic: p.topic,
      partition: p.partition,
      state,
      error: errorText(e),
      sinceMs: this.options.clock.nowMs(),
      repairable: rebuild || (this.options.factory.repairable?.(error) ?? false),
    });
  }

  private onFailed(p: ManagedPartition, e: Error): void {
    const k = keyOf(p.topicId, p.partition);
    if (this.partitions.get(k) !== p) return;
    this.failed.set(k, e);
    this.noteProblem(p, 'stopped', e);
    this.emit(p, false);
    const closing = p
      .close()
      .catch((err: unknown) =>
        this.options.logger.error(
          { topic: p.topic, partition: p.partition, err: errorText(err) },
          'closing a failed replica',
        ),
      );
    this.scheduleReopen(k, e, closing);
  }

  /**
   * A replica of this node leads with a complete view: tell the listeners, and report the leader
   * (epoch, in-sync replicas) to the metadata until it has it or a newer leader is known.
   */
  private onLeaderReady(p: ManagedPartition): void {
    this.emit(p, true);
    const epoch = p.leaderEpoch;
    const report = async (): Promise<boolean> => {
      if (this.closed || !p.isLeader() || p.leaderEpoch !== epoch) return true;
      const info = this.options.store.state.topicById(p.topicId)?.partitions[p.partition];
      if (info === undefined || info.leaderEpoch > epoch) return true;
      if (info.leader === this.options.nodeId && info.leaderEpoch === epoch) return true;
      const isr = p.inSyncReplicas().filter((id) => info.replicas.includes(id));
      const r = await this.options.store.commit({
        type: 'changeLeader',
        topicId: p.topicId,
        partition: p.partition,
        leader: this.options.nodeId,
        leaderEpoch: epoch,
        isr: isr.length > 0 ? isr : [this.options.nodeId],
      });
      if (!r.ok && r.error.code !== 'FENCED_LEADER_EPOCH') throw r.error;
      return true;
    };
    this.retry(`report leader of ${p.topic}-${p.partition}`, report);
  }

  /** Runs `f` until it returns true, every REPORT_RETRY_MS, while the manager is open. */
  private retry(what: string, f: () => Promise<boolean>): void {
    if (this.closed) return;
    const h = retryUntilDone(
      this.options.scheduler,
      REPORT_RETRY_MS,
      async () => {
        const done = this.closed || (await f());
        if (done) this.retries.delete(h);
        return done;
      },
      (e) => this.options.logger.debug({ task: what, err: errorText(e) }, 'metadata report will retry'),
    );
    this.retries.add(h);
  }

  /** Subscribes to leadership changes; the replicas leading now are reported at once. */
  onLeadership(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    for (const p of this.partitions.values()) if (this.isReady(p)) listener(p.topic, p.partition, true);
    return () => this.listeners.delete(listener);
  }

  private isReady(p: ManagedPartition): boolean {
    return p.isLeaderReady();
  }

  private emit(p: ManagedPartition, leader: boolean): void {
    if (leader) this.leading.add(p);
    else this.leading.delete(p);
    for (const l of this.listeners) {
      try {
        l(p.topic, p.partition, leader);
      } catch (e) {
        this.options.logger.error({ err: errorText(e) }, 'leadership listener failed');
      }
    }
  }

  /** What this node's replica knows of the partition's leadership (for the metadata cache). */
  leadership(topicId: string, partition: number): LocalLeadership | undefined {
    const k = keyOf(topicId, partition);
    const p = this.partitions.get(k);
    // A replica that could not be opened serves nothing: like a stopped one, never named leader.
    if (p === undefined)
      return this.problems.get(k)?.state === 'not-opened'
        ? { leaderId: -1, leaderEpoch: -1, isLeader: false }
        : undefined;
    return { leaderId: p.leaderId(), leaderEpoch: p.leaderEpoch, isLeader: this.isReady(p) };
  }

  // ---------------------------------------------------------------- data path

  /**
   * The partition, led here: UNKNOWN_TOPIC_OR_PARTITION when the metadata has no such partition,
   * NOT_LEADER_OR_FOLLOWER when this node does not lead it, KAFKA_STORAGE_ERROR when its replica
   * here has stopped.
   */
  leader(tp: TopicPartition): ManagedPartition {
    const t = this.options.store.state.topic(tp.topic);
    const info = t?.partitions[tp.partition];
    if (t === undefined || info === undefined)
      throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${tp.topic}-${tp.partition}`);
    const k = keyOf(t.topicId, tp.partition);
    const failure = this.failed.get(k);
    if (failure !== undefined)
      throw new KafkaError(
        'KAFKA_STORAGE_ERROR',
        `${tp.topic}-${tp.partition} stopped on this node: ${failure.message}`,
      );
    const p = this.partitions.get(k);
    const problem = this.problems.get(k);
    // A replica that could not be opened, where the metadata has no other leader for it (a single
    // node leads every partition): the client is told its storage is the trouble.
    if (
      p === undefined &&
      problem?.state === 'not-opened' &&
      (info.leader === this.options.nodeId || info.leader < 0)
    )
      throw new KafkaError(
        'KAFKA_STORAGE_ERROR',
        `${tp.topic}-${tp.partition} could not be opened on this node: ${problem.error}`,
      );
    if (p === undefined || !p.isLeader()) {
      const leader = p !== undefined && p.leaderId() >= 0 ? p.leaderId() : info.leader;
      throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `${tp.topic}-${tp.partition} is led by ${leader}`);
    }
    return p;
  }

  /**
   * Appends a Produce partition's records on the leader. With a transactional id, a transactional
   * first batch whose producer has no ongoing transaction here at that epoch is verified with the
   * coordinator first (KIP-890: only a transaction's first batch in a partition is), and the
   * verifier's error is the answer. Without one (internal writers) nothing is verified.
   */
  async append(
    tp: TopicPartition,
    records: Buffer,
    acks: Acks,
    timeoutMs: number,
    transactionalId?: string | null,
  ): Promise<AppendResult> {
    const p = this.leader(tp);
    const verifier = this.options.txnVerifier;
    const producer =
      verifier !== undefined && transactionalId !== undefined && transactionalId !== null
        ? transactionalProducerOf(records)
        : undefined;
    if (
      verifier === undefined ||
      transactionalId === undefined ||
      transactionalId === null ||
      producer === undefined ||
      p.hasOngoingTxn(producer.producerId, producer.producerEpoch)
    )
      return p.append(records, acks, timeoutMs);
    const key = `${tp.topic}\0${tp.partition}\0${producer.producerId}`;
    const guard = this.verifications.get(key) ?? { users: 0, endedAtEpoch: undefined };
    this.verifications.set(key, guard);
    guard.users++;
    const leaderEpoch = p.leaderEpoch;
    try {
      await verifier.verify({ transactionalId, ...producer, topic: tp.topic, partition: tp.partition });
    } finally {
      if (--guard.users === 0 && this.verifications.get(key) === guard) this.verifications.delete(key);
    }
    checkVerificationGuard(tp, producer.producerEpoch, guard);
    // Leadership may have moved while the coordinator answered, and a marker written by another
    // leader meanwhile would not have ended the guard here: the producer retries and is verified anew.
    const now = this.leader(tp);
    if (now !== p || now.leaderEpoch !== leaderEpoch)
      throw new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${tp.topic}-${tp.partition}: leadership changed while the transaction was verified`,
      );
    return now.append(records, acks, timeoutMs);
  }

  /**
   * Writes a transaction marker on the partition's leader here (leader()'s errors, then the
   * partition's) and resolves with its offset once it is durable (as acks=all); the `onTxnMarker`
   * listeners are told first.
   */
  async writeTxnMarker(tp: TopicPartition, m: TxnMarker, timeoutMs: number): Promise<bigint> {
    const key = `${tp.topic}\0${tp.partition}\0${m.producerId}`;
    const guard = this.verifications.get(key);
    if (guard !== undefined) {
      guard.endedAtEpoch = m.producerEpoch;
      this.verifications.delete(key);
    }
    const offset = await this.leader(tp).writeTxnMarker(m, timeoutMs);
    for (const l of this.markerListeners) {
      try {
        l(tp, m, offset);
      } catch (e) {
        this.options.logger.error({ err: errorText(e) }, 'transaction marker listener failed');
      }
    }
    return offset;
  }

  /** Subscribes to the transaction markers written on this node's leaders (once durable). */
  onTxnMarker(listener: TxnMarkerListener): () => void {
    this.markerListeners.add(listener);
    return () => this.markerListeners.delete(listener);
  }

  /**
   * The partition, led here, for reads: leader()'s errors, then the leader epoch check. The
   * partition itself refuses reads while a new leader's view is incomplete (OFFSET_NOT_AVAILABLE).
   */
  private reader(tp: TopicPartition, currentLeaderEpoch: number): ManagedPartition {
    const p = this.leader(tp);
    checkLeaderEpoch(currentLeaderEpoch, p.leaderEpoch);
    return p;
  }

  async read(req: ReadRequest): Promise<ReadResult> {
    return this.reader(req, req.currentLeaderEpoch).read(
      req.fetchOffset,
      req.maxBytes,
      req.minOneBatch,
      req.isolationLevel,
    );
  }

  async listOffset(
    tp: TopicPartition,
    timestamp: bigint,
    isolationLevel: IsolationLevel,
    currentLeaderEpoch: number,
  ): Promise<ListOffsetResult> {
    return this.reader(tp, currentLeaderEpoch).listOffset(timestamp, isolationLevel);
  }

  async deleteRecords(tp: TopicPartition, offset: bigint, timeoutMs: number): Promise<bigint> {
    return this.leader(tp).deleteRecords(offset, timeoutMs);
  }

  async offsetForLeaderEpoch(
    tp: TopicPartition,
    leaderEpoch: number,
    currentLeaderEpoch: number,
  ): Promise<EpochEndOffset> {
    return this.reader(tp, currentLeaderEpoch).offsetForLeaderEpoch(leaderEpoch);
  }

  describeProducers(tp: TopicPartition): ProducerStateView[] {
    return this.leader(tp).describeProducers();
  }

  /** Calls `onData` (at most once) when any of the partitions gets new readable data; returns a cancel. */
  watch(tps: readonly TopicPartition[], onData: () => void): () => void {
    let fired = false;
    const cancels: Array<() => void> = [];
    const once = (): void => {
      if (fired) return;
      fired = true;
      for (const c of cancels) c();
      onData();
    };
    for (const tp of tps) {
      const t = this.options.store.state.topic(tp.topic);
      const p = t ? this.partitions.get(keyOf(t.topicId, tp.partition)) : undefined;
      if (p) cancels.push(p.watch(once));
    }
    return () => {
      fired = true;
      for (const c of cancels) c();
    };
  }

  // ---------------------------------------------------------------- views

  /**
   * This node's replicas whose copy is damaged or lost (ReplicaProblem.repairable) and that no
   * repair request answers yet (cluster/replica-repair.ts asks for one).
   */
  repairsWanted(): Array<ReplicaProblem & { topicId: string }> {
    const out: Array<ReplicaProblem & { topicId: string }> = [];
    for (const [k, problem] of this.problems) {
      if (!problem.repairable || problem.repairRequest !== undefined) continue;
      const topicId = topicIdOfKey(k);
      const info = this.options.store.state.topicById(topicId)?.partitions[problem.partition];
      if (info === undefined || !info.replicas.includes(this.options.nodeId)) continue;
      const current = info.repairs.find((r) => r.brokerId === this.options.nodeId);
      // Already asked, and not yet taken up by the leader: asking again changes nothing.
      if (current?.phase === 'requested') continue;
      out.push({ ...problem, topicId });
    }
    return out.sort(byTopicPartition);
  }

  /** The replicas of this node that do not serve fully (see ReplicaProblem), by topic and partition. */
  replicaProblems(): ReplicaProblem[] {
    return [...this.problems.values()].sort(byTopicPartition);
  }

  statuses(): PartitionStatus[] {
    const out: PartitionStatus[] = [];
    for (const [k, p] of this.partitions) {
      const info = this.options.store.state.topicById(p.topicId)?.partitions[p.partition];
      const leader = p.leaderId();
      const problem = this.problems.get(k);
      out.push({
        topic: p.topic,
        partition: p.partition,
        role: p.isLeader() ? 'leader' : 'follower',
        state: problem?.state ?? 'online',
        ...(problem !== undefined ? { error: problem.error } : {}),
        ...this.repairOf(info),
        leader,
        leaderEpoch: p.leaderEpoch,
        highWatermark: p.highWatermark,
        logEndOffset: p.logEndOffset,
        logStartOffset: p.logStartOffset,
        replicas: info?.replicas ?? p.replicas,
        isr: info?.isr ?? [],
        ...this.moveOf(info),
      });
    }
    // Replicas assigned here that could not be opened: no log to report.
    for (const [k, problem] of this.problems) {
      if (this.partitions.has(k)) continue;
      const t = this.options.store.state.topic(problem.topic);
      const info = t?.partitions[problem.partition];
      out.push({
        topic: problem.topic,
        partition: problem.partition,
        role: 'none',
        state: problem.state,
        error: problem.error,
        ...this.repairOf(info),
        leader: info?.leader ?? -1,
        leaderEpoch: info?.leaderEpoch ?? -1,
        highWatermark: -1n,
        logEndOffset: -1n,
        logStartOffset: -1n,
        replicas: info?.replicas ?? [],
        isr: info?.isr ?? [],
        ...this.moveOf(info),
      });
    }
    return out.sort(byTopicPartition);
  }

  private moveOf(info: PartitionInfo | undefined): {
    addingReplicas?: readonly number[];
    removingReplicas?: readonly number[];
  } {
    if (info === undefined || (info.addingReplicas.length === 0 && info.removingReplicas.length === 0))
      return {};
    return { addingReplicas: info.addingReplicas, removingReplicas: info.removingReplicas };
  }

  private repairOf(info: PartitionInfo | undefined): { repair?: 'requested' | 'rebuilding' } {
    const r = info?.repairs.find((x) => x.brokerId === this.options.nodeId);
    return r === undefined ? {} : { repair: r.phase };
  }

  logDirs(): LogDirView[] {
    const { totalBytes, usableBytes } = this.options.logDir.space();
    const partitions = [...this.partitions.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
      sizeBytes: p.sizeBytes(),
      offsetLag: 0n,
    }));
    return [{ path: this.options.logDir.path, partitions, totalBytes, usableBytes }];
  }

  /** The replicas this node has open (the cluster's supervisor and the log scrubber look at them). */
  replicas(): IterableIterator<ManagedPartition> {
    return this.partitions.values();
  }

  /** Stops maintenance and closes every replica (their data stays). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.maintenance?.cancel();
    for (const h of this.retries) h.cancel();
    this.retries.clear();
    this.unsubscribe?.();
    await this.reconciling.catch(() => undefined);
    await Promise.all([...this.reopens.values()].map((r) => r.closing));
    const all = [...this.partitions.values()];
    this.partitions.clear();
    // A few at a time: each close syncs its log, and the shared committer bounds its waiters.
    for (let i = 0; i < all.length; i += CLOSE_CONCURRENCY)
      await Promise.all(all.slice(i, i + CLOSE_CONCURRENCY).map((p) => p.close().catch(() => undefined)));
  }
}
