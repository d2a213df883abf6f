// A partition replicated by its own Raft group: the state machine of the group on every replica, and
// on the group's leader the proposer of its record batches. The Kafka log (kafka-log.ts) is built
// by applying committed entries; the group's Raft log holds the batches themselves
// (docs/design/partitions.md):
// - An entry carries one Kafka record batch as the producer sent it, except for the base offset and
//   the partition leader epoch (= the group's term), which the leader sets when it proposes, and the
//   timestamp when the topic uses LogAppendTime. Empty entries (a new leader's no-op) carry no
//   offsets. Entries starting with 0xFF are partition control commands (a batch starts with its
//   int64 base offset, never negative, so never with 0xFF): 0xFF 0x01 <int64 offset> moves the log
//   start offset (DeleteRecords and retention); 0xFF 0x02 is a relocation entry of the log cleaner
//   (relocation.ts): the leader cleans, every replica applies the batches it carries the same way
//   (docs/design/compaction.md).
// - The leader assigns offsets following the last batch in its log, committed or not (`cursor`),
//   recomputed from its log when it becomes leader; the cursor moves only past entries Raft appended,
//   and what the leader has proposed and not applied is bounded (admission.ts: a Produce beyond
//   waits, in order). Raft's log matching keeps offsets contiguous in
//   every log; offsets of a deposed leader's truncated entries are reused — no consumer saw them,
//   because the high watermark (one past the last applied batch) bounds every read.
// - Idempotent producers and transactions: the producer state, the open transactions and the
//   aborted-transaction index are updated as batches apply on every replica; the leader also tracks
//   the idempotent batches and transaction markers it proposed that have not applied yet
//   (`inflight`), rebuilt from its log's uncommitted tail when it becomes leader, and decides each
//   new batch or marker against both.
// - A transaction marker is a control batch, proposed like any batch and answered as acks=all.
// - A new leader serves reads once it applied an entry of its own term (`ready`); before, reads are
//   OFFSET_NOT_AVAILABLE (its high watermark may be behind its predecessor's).
// Acks: acks=all resolves when the entry is applied here (committed by a majority, each fsync'd) and
// min.insync.replicas replicas hold it; acks=1 (and acks=0) when it is durable in this leader's own
// log (onPersisted), before the commit.
//
// Snapshots and compaction (snapshotPolicy 'stateMachine'): the log is the data, so a snapshot must
// never stand in for batches still wanted. Every replica keeps checkpoints of its small state
// (checkpoints.ts; producers, open and aborted transactions included); once the log start moves,
// snapshotPoint() offers the newest checkpoint below the first batch still kept, and the host
// compacts the log exactly to it; a completed cleaning pass moves it too (to the first entry a live
// batch is still stored in). A restart restores the checkpoint and re-applies the entries after
// it (rebuilding the index); a follower whose next entry was compacted away installs it and receives
// the rest by normal replication. Retention (retention.ms / retention.bytes) is evaluated by the
// leader, which proposes the new log start.
import { readRecordBatchHeader } from '@chronik/protocol';
import { RaftError, RaftErrorCode, StateType } from '@chronik/raft';
import type { ConfChange, ConfChangeV2, ConfState, Entry, SnapshotMetadata } from '@chronik/raft';
import type {
  GroupLog,
  GroupStatus,
  ProposalOutcome,
  ProposeOptions,
  SnapshotPoint,
  StateMachine,
} from '@chronik/raft-host';
import { WalErrorCode, isWalError } from '@chronik/wal';
import { toKafkaError } from '../error-map.js';
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { CheckpointRing } from './checkpoints.js';
import { AppendAdmission } from './admission.js';
import { InvariantError, ReadDamage } from './kafka-log.js';
import type { CleanerState } from './kafka-log.js';
import { KafkaPartition, errorText } from './kafka-partition.js';
import type { IncomingBatch, InflightBatch } from './prepare.js';
import {
  assignOffsets,
  decideBatches,
  inflightOf,
  markerBatch,
  recordCountOf,
  splitAndValidate,
  txnOf,
} from './prepare.js';
import { CONTROL_RELOCATE, relocationPassEnd } from './relocation.js';
import { readMarker } from './txn-state.js';
import type { Acks, AppendResult, LogConfig, PartitionEvents, TxnMarker } from './types.js';

/** What a replicated partition needs of its Raft group (cluster/partition-groups.ts provides it on RaftHost). */
export interface PartitionGroup {
  readonly groupId: number;
  /** Opens (or recovers) the group with `stateMachine`. */
  open(stateMachine: StateMachine): Promise<void>;
  /** Proposes an entry here (this node must lead); settles once it is applied here. */
  propose(data: Uint8Array, timeoutMs: number, options?: ProposeOptions): Promise<ProposalOutcome>;
  /** Proposes a membership change here (this node must lead); settles once it is applied here. */
  proposeConfChange(cc: ConfChange | ConfChangeV2, timeoutMs: number): Promise<ProposalOutcome>;
  status(): GroupStatus;
  /** The group's log, or undefined when it is not open. */
  log(): GroupLog | undefined;
  transferLeadership(to: number): void;
  close(): Promise<void>;
}

export interface ReplicatedPartitionOptions {
  topic: string;
  topicId: string;
  partition: number;
  nodeId: number;
  group: PartitionGroup;
  config: LogConfig;
  /** How often the leader evaluates retention. */
  retentionCheckIntervalMs: number;
  /** Time a retention proposal may take. */
  proposalTimeoutMs: number;
  logger: Logger;
  nowMs: () => number;
  events: PartitionEvents;
  /**
   * Back-pressure (admission.ts): entries this leader proposed and has not applied yet before a
   * Produce waits. Default 10,000.
   */
  maxPendingProposals?: number;
  /** Bytes this leader proposed and has not applied yet before a Produce waits. Default 32 MiB. */
  maxUncommittedBytes?: number;
  /** Produce requests waiting for room; more are refused with REQUEST_TIMED_OUT. Default 1,000. */
  maxWaitingAppends?: number;
  /** Log bytes between checkpoints of the small state (the compaction granularity). Default 4 MiB. */
  checkpointEveryBytes?: number;
  /**
   * The repair request this replica was opened to rebuild for (cluster/replica-repair.ts): its
   * damaged copy was discarded and it rebuilds from the leader as a learner.
   */
  rebuild?: number;
}

/** The partition's state as a snapshot holds it (format 1, JSON). */
interface CheckpointState {
  v: 1;
  /** The next offset (the high watermark of the replica that took it). */
  hw: string;
  logStart: string;
  epochs: Array<[number, string]>;
  maxTs: [string, string];
  producers: unknown;
  /** Open and aborted transactions (absent in checkpoints taken before transactions). */
  txns?: unknown;
  /** The cleaner's state (absent in checkpoints taken before compaction). */
  cleaner?: CleanerState;
}

interface TrackedBatch extends InflightBatch {
  /** The batch's entry in the group's log. */
  raftIndex: number;
}

/** A Produce partition's batches as proposed (synchronously, once admitted). */
interface Proposed {
  /** Settles when the batches are as durable as the acks ask (for acks=all: committed). */
  done: Promise<unknown>;
  /** The Raft index of the last entry appended, or 0 when none was (only duplicates). */
  lastIndex: number;
  /** The first batch's offset (a duplicate's original), or undefined when none was written. */
  firstOffset: bigint | undefined;
  appendTime: bigint | undefined;
}

/** An acks=all Produce waiting until min.insync.replicas replicas hold its last entry. */
interface CopyWaiter {
  index: number;
  deadlineMs: number;
  resolve(): void;
  reject(e: KafkaError): void;
}

/** Default bound on the bytes a leader has proposed and not applied: half the Raft core's own limit. */
const DEFAULT_MAX_UNCOMMITTED_BYTES = 32 * 1024 * 1024;

const CONTROL_PREFIX = 0xff;
const CONTROL_LOG_START = 0x01;
/** Bytes read from the Raft log per step when the leader rebuilds its view of the uncommitted tail. */
const TAIL_READ_BYTES = 16 * 1024 * 1024;
/** A checkpoint at least every this many applied entries (and every checkpointEveryBytes). */
const CHECKPOINT_EVERY_ENTRIES = 10_000;
/** Batches a retention check looks at per call (bounded work per check). */
const RETENTION_SCAN_BATCHES = 100_000;

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Whether a read of the group's log failed because the log no longer holds the entries — compacted
 * or cut while the read waited for the disk (RaftError Compacted / Unavailable), or closed under it
 * — rather than because its storage is damaged: the read answers what it has, nothing is wrong.
 */
function goneFromLog(e: unknown): boolean {
  if (e instanceof RaftError)
    return e.code === RaftErrorCode.Compacted || e.code === RaftErrorCode.Unavailable;
  return isWalError(e, WalErrorCode.Closed);
}

/** The control entry that moves the log start offset: 0xFF 0x01 <int64 offset>. */
function logStartCommand(offset: bigint): Buffer {
  const cmd = Buffer.alloc(10);
  cmd[0] = CONTROL_PREFIX;
  cmd[1] = CONTROL_LOG_START;
  cmd.writeBigInt64BE(offset, 2);
  return cmd;
}

export class ReplicatedPartition extends KafkaPartition implements StateMachine {
  readonly group: PartitionGroup;
  private appliedIndex = 0;
  private readonly checkpoints = new CheckpointRing();
  private bytesSinceCheckpoint = 0;
  private entriesSinceCheckpoint = 0;
  /** Raft index of the first entry still wanted (the first batch kept) after the log start moved. */
  private compactBelow = 0;
  /** The last snapshot point offered to the host. */
  private offeredIndex = 0;

  // Raft role as last reported by the host.
  private role: StateType = StateType.Follower;
  private knownLeader = -1;
  /** The group's current term: the partition's leader epoch. */
  term = 0;
  /** Leader, and has applied an entry of its own term (its view is complete). */
  private ready = false;
  /** The term of the last entry applied here. */
  private appliedTerm = 0;
  /** When this node last became leader (ms). */
  leaderSinceMs = 0;

  // Leader-only state.
  private leaderTerm = -1;
  /** Next offset to assign (follows the last batch in this node's log, committed or not). */
  private cursor = 0n;
  /**
   * Idempotent batches in this leader's log that have not applied yet, oldest first: proposed here,
   * or found in the log's tail on becoming leader. A batch leaves when its entry applies — not when
   * its proposal times out, since the entry stays in the log and may still commit — and all leave
   * when the leadership ends.
   */
  private inflight: TrackedBatch[] = [];
  /** Back-pressure on this leader's proposals (admission.ts). */
  private readonly admission: AppendAdmission;
  private drainQueued = false;
  /** acks=all Produce requests waiting for more copies than a majority (min.insync.replicas). */
  private copyWaiters: CopyWaiter[] = [];
  /**
   * Rejected with NOT_LEADER_OR_FOLLOWER when this node's leadership ends; the produce requests of
   * that leadership race it (see endLeadership). Null while not leading.
   */
  private leadership: { ended: Promise<never>; end(e: KafkaError): void } | null = null;
  /** A leadership transfer started here: appends are refused until then (no proposal may be dropped). */
  private transferUntilMs = 0;
  private retentionInFlight = false;
  private lastRetentionMs = 0;
  private closed = false;
  /** Learners of the group, by the index of the conf change that made them learners (as applied here). */
  private readonly learnersSince = new Map<number, number>();

  constructor(private readonly options: ReplicatedPartitionOptions) {
    super(options);
    this.group = options.group;
    this.admission = new AppendAdmission({
      maxUncommittedBytes: options.maxUncommittedBytes ?? DEFAULT_MAX_UNCOMMITTED_BYTES,
      maxUncommittedEntries: options.maxPendingProposals ?? 10_000,
      maxWaiting: options.maxWaitingAppends ?? 1_000,
    });
  }

  /** Opens the partition's Raft group (recovering its log); leadership follows by election. */
  open(): Promise<void> {
    return this.group.open(this);
  }

  /** The repair request this replica rebuilds for, if it was opened to rebuild (see the options). */
  get rebuild(): number | undefined {
    return this.options.rebuild;
  }

  /**
   * The index of the conf change that made `nodeId` a learner, as applied here; 0 when this replica
   * did not apply it (it restored a snapshot after it, or the node restarted since).
   */
  learnerSince(nodeId: number): number {
    return this.learnersSince.get(nodeId) ?? 0;
  }

  /** RaftHost: a membership change was applied. */
  onConfChange(confState: ConfState, index: number): void {
    for (const id of [...this.learnersSince.keys()])
      if (!confState.learners.includes(id)) this.learnersSince.delete(id);
    for (const id of confState.learners) if (!this.learnersSince.has(id)) this.learnersSince.set(id, index);
  }

  get leaderEpoch(): number {
    return this.term;
  }
  get logEndOffset(): bigint {
    return this.isLeader() && this.cursor > this.kafka.nextOffset ? this.cursor : this.kafka.nextOffset;
  }
  isLeader(): boolean {
    return this.role === StateType.Leader && !this.closed && this.failure === null;
  }
  isLeaderReady(): boolean {
    return this.ready && this.isLeader();
  }
  inSyncReplicas(): readonly number[] {
    return this.group.status().voters.filter((v) => this.replicas.includes(v));
  }
  leaderId(): number {
    if (this.isLeader()) return this.ready ? this.options.nodeId : -1;
    const other = this.knownLeader >= 0 && this.knownLeader !== this.options.nodeId;
    return other && this.appliedTerm === this.term ? this.knownLeader : -1;
  }
  batchCount(): number {
    return this.kafka.batchCount;
  }

  // ------------------------------------------------------------------ state machine

  apply(entry: Entry): unknown {
    this.appliedIndex = entry.index;
    this.appliedTerm = entry.term;
    if (this.failure !== null) return undefined;
    let result: unknown = undefined;
    try {
      if (entry.data.length > 0) {
        const buf = asBuffer(entry.data);
        if (buf[0] === CONTROL_PREFIX) result = this.applyControl(buf, entry.index);
        else {
          const h = readRecordBatchHeader(buf, 0);
          this.kafka.index(h, entry.index, buf);
          this.kafka.advanceHighWatermark(this.kafka.nextOffset);
          result = h.baseOffset;
        }
      }
    } catch (e) {
      // A committed entry that cannot be applied (a broken invariant, an unreadable batch): this
      // replica's state can no longer follow the others'.
      this.fail(e);
      return undefined;
    }
    while (this.inflight.length > 0 && (this.inflight[0] as TrackedBatch).raftIndex <= entry.index)
      this.inflight.shift();
    if (this.admission.applied(entry.index)) this.queueDrain();
    this.bytesSinceCheckpoint += entry.data.length;
    this.entriesSinceCheckpoint++;
    if (
      this.bytesSinceCheckpoint >= (this.options.checkpointEveryBytes ?? 4 * 1024 * 1024) ||
      this.entriesSinceCheckpoint >= CHECKPOINT_EVERY_ENTRIES
    )
      this.takeCheckpoint(entry.index);
    if (
      this.role === StateType.Leader &&
      !this.ready &&
      entry.term === this.term &&
      this.leaderTerm === this.term
    ) {
      this.ready = true;
      queueMicrotask(() => {
        if (this.ready && this.isLeader()) this.events.leaderReady(this);
      });
    }
    return result;
  }

  private applyControl(buf: Buffer, index: number): unknown {
    if (buf.length >= 10 && buf[1] === CONTROL_LOG_START) {
      const before = this.kafka.logStartOffset;
      this.kafka.moveLogStart(buf.readBigInt64BE(2));
      // Everything before the first batch kept may go from the log (at a checkpoint below it).
      if (this.kafka.logStartOffset > before) this.compactBelow = this.kafka.minLivePosition() ?? index + 1;
      return this.kafka.logStartOffset;
    }
    if (buf[1] === CONTROL_RELOCATE) {
      const applied = this.kafka.applyRelocation(buf, index);
      // A pass done: every entry below the first one still holding a live batch may go.
      if (applied && relocationPassEnd(buf) >= 0n)
        this.compactBelow = this.kafka.minLivePosition() ?? index + 1;
      return applied;
    }
    // Written by newer code: applying on would leave this replica's state different from others'.
    throw new InvariantError(
      `${this.topic}-${this.partition}: unknown control entry kind ${buf[1]} at index ${index}`,
    );
  }

  /**
   * Damaged storage under this replica's log: it stops (leadership ends), and a replica whose copy
   * is intact leads and serves the batches.
   */
  protected override onReadDamage(e: ReadDamage): void {
    super.onReadDamage(e);
    this.fail(e.cause);
  }

  /** A stopped replica leads no more: waiting produces are answered at once. */
  protected override onFailed(): void {
    this.ready = false;
    this.endLeadership();
  }

  protected checkServing(): void {
    if (this.failure !== null)
      throw new KafkaError(
        'KAFKA_STORAGE_ERROR',
        `${this.topic}-${this.partition} stopped: ${this.failure.message}`,
      );
    if (!this.isLeader())
      throw new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${this.topic}-${this.partition} is led by ${this.leaderId()}`,
      );
  }

  /**
   * A new leader serves reads once it has applied an entry of its own term: until then its high
   * watermark and leader-epoch cache may be behind what its predecessor published (entries it
   * holds but has not yet seen committed), and answers from them would show the watermark going
   * back, a fetch position out of range, or a log truncated under a KIP-320 consumer. Kafka's
   * OFFSET_NOT_AVAILABLE ("the leader's high watermark is not caught up") is retriable; every
   * client refreshes its metadata and asks again.
   */
  protected override checkReadable(): void {
    this.checkServing();
    if (!this.ready)
      throw new KafkaError(
        'OFFSET_NOT_AVAILABLE',
        `${this.topic}-${this.partition}: the new leader's high watermark is not established yet`,
      );
  }

  /** The small state as of the last applied entry (batches are not in it: they stay in the log). */
  private serializeState(): Uint8Array {
    const s = this.kafka.state();
    const c: CheckpointState = {
      v: 1,
      hw: String(s.nextOffset),
      logStart: String(s.logStartOffset),
      epochs: s.epochs,
      maxTs: s.maxTimestamp,
      producers: s.producers,
      txns: s.txns,
      ...(s.cleaner !== undefined ? { cleaner: s.cleaner } : {}),
    };
    return Buffer.from(JSON.stringify(c));
  }

  private takeCheckpoint(index: number): void {
    this.bytesSinceCheckpoint = 0;
    this.entriesSinceCheckpoint = 0;
    this.checkpoints.add(index, this.serializeState());
  }

  /** The state as of the last applied entry (RaftHost asks only under the 'applied' policy). */
  snapshot(): Uint8Array {
    return this.serializeState();
  }

  /**
   * RaftHost's question after each cycle (snapshotPolicy 'stateMachine'): once the log start moved,
   * the newest checkpoint below the first batch kept, at which the log may be compacted.
   */
  snapshotPoint(): SnapshotPoint | undefined {
    if (this.compactBelow <= this.offeredIndex + 1 || this.checkpoints.length === 0) return undefined;
    const best = this.checkpoints.takeBelow(this.compactBelow, this.offeredIndex);
    if (best === undefined) return undefined;
    this.offeredIndex = best.index;
    this.logger.debug(
      { topic: this.topic, partition: this.partition, index: best.index, firstKept: this.compactBelow },
      'partition log compacted at a checkpoint',
    );
    return best;
  }

  /**
   * Replaces the state with a checkpoint's (on open from the group's latest snapshot, or when the
   * leader sent one). The batches from the checkpoint on are re-applied from the log afterwards,
   * which rebuilds the offset index.
   */
  restore(data: Uint8Array, metadata: SnapshotMetadata): void {
    this.appliedIndex = metadata.index;
    this.appliedTerm = metadata.term;
    this.checkpoints.clear();
    this.bytesSinceCheckpoint = 0;
    this.entriesSinceCheckpoint = 0;
    this.compactBelow = 0;
    this.offeredIndex = metadata.index;
    this.inflight = [];
    if (data.length === 0) {
      // The bootstrap snapshot (the initial voters) carries no data: an empty partition.
      this.kafka.restore({
        nextOffset: 0n,
        logStartOffset: 0n,
        epochs: [],
        maxTimestamp: ['-1', '-1'],
        producers: [],
      });
      return;
    }
    const s = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<CheckpointState>;
    if (s.v !== 1 || s.hw === undefined || s.logStart === undefined)
      throw new KafkaError('UNKNOWN_SERVER_ERROR', `unknown partition snapshot format at ${metadata.index}`);
    this.kafka.restore({
      nextOffset: BigInt(s.hw),
      logStartOffset: BigInt(s.logStart),
      epochs: s.epochs ?? [],
      maxTimestamp: s.maxTs ?? ['-1', '-1'],
      producers: s.producers ?? [],
      txns: s.txns,
      ...(s.cleaner !== undefined ? { cleaner: s.cleaner } : {}),
    });
    if (this.cursor < this.kafka.nextOffset) this.cursor = this.kafka.nextOffset;
    this.logger.info(
      {
        topic: this.topic,
        partition: this.partition,
        index: metadata.index,
        nextOffset: s.hw,
        logStartOffset: s.logStart,
      },
      'partition state restored from a snapshot; later batches follow from the log',
    );
    this.kafka.wake();
  }

  onRoleChange(role: StateType, leaderId: number, term: number): void {
    const wasLeader = this.role === StateType.Leader;
    this.role = role;
    this.knownLeader = leaderId;
    this.term = term;
    if (role === StateType.Leader) {
      if (this.leaderTerm !== term) this.becomeLeader(term);
    } else if (wasLeader) {
      this.ready = false;
      this.leaderTerm = -1;
      this.inflight = [];
      this.endLeadership();
      this.events.leaderLost(this);
    }
  }

  /**
   * The Raft group stopped for good (a broken invariant of the Raft core, a snapshot this replica
   * cannot restore, a failed disk; RaftHost told onRoleChange first): the replica stops as it does
   * for a committed entry it cannot apply, and the partition manager closes it.
   */
  onStopped(error: Error): void {
    this.fail(error);
  }

  /**
   * A leader that stepped down answers the produce requests still waiting with
   * NOT_LEADER_OR_FOLLOWER at once, as Kafka does, instead of holding them until the entries' fate
   * is known — a cut-off leader would hold them for as long as the cut lasts. Their outcome is
   * unknown to the client: the batches may still commit under the next leader (an idempotent
   * producer's retry is then answered as a duplicate).
   */
  private endLeadership(): void {
    this.leadership?.end(
      new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${this.topic}-${this.partition}: leadership lost while the batch was being replicated`,
      ),
    );
    this.leadership = null;
    const copyWaiters = this.copyWaiters;
    this.copyWaiters = [];
    for (const w of copyWaiters)
      w.reject(
        new KafkaError(
          'NOT_LEADER_OR_FOLLOWER',
          `${this.topic}-${this.partition}: leadership lost before min.insync.replicas replicas held the batch`,
        ),
      );
    this.admission.clear(
      new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${this.topic}-${this.partition}: leadership lost while the batch waited to be replicated`,
      ),
    );
  }

  /** Admits waiting Produce requests after the current Raft cycle (entries just applied made room). */
  private queueDrain(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    queueMicrotask(() => {
      this.drainQueued = false;
      this.admission.drain();
    });
  }

  /** Rebuilds the leader's cursor and in-flight idempotent batches from its log's uncommitted tail. */
  private becomeLeader(term: number): void {
    if (this.leadership === null) {
      let end!: (e: KafkaError) => void;
      const ended = new Promise<never>((_, reject) => (end = reject));
      ended.catch(() => undefined); // rejected whether or not a request is waiting
      this.leadership = { ended, end };
    }
    this.leaderTerm = term;
    this.leaderSinceMs = this.options.nowMs();
    this.transferUntilMs = 0;
    this.ready = false;
    this.cursor = this.kafka.nextOffset;
    this.inflight = [];
    this.admission.clear(
      new KafkaError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition}: a new leadership began`),
    );
    const log = this.group.log();
    if (log !== undefined) {
      let i = Math.max(this.appliedIndex + 1, log.firstIndex());
      const end = log.lastIndex() + 1;
      while (i < end) {
        const entries = log.entries(i, end, TAIL_READ_BYTES);
        if (entries.length === 0) break;
        for (const e of entries) {
          if (e.data.length > 0 && e.data[0] !== CONTROL_PREFIX && e.type === 0) {
            const buf = asBuffer(e.data);
            const h = readRecordBatchHeader(buf, 0);
            const next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
            if (next > this.cursor) this.cursor = next;
            const f = inflightOf(h, h.isControl ? this.markerIn(h, buf) : undefined);
            if (f !== undefined) this.inflight.push({ ...f, raftIndex: e.index });
          }
        }
        i += entries.length;
      }
    }
    this.logger.info(
      {
        topic: this.topic,
        partition: this.partition,
        term,
        nextOffset: String(this.cursor),
        highWatermark: String(this.kafka.highWatermark),
      },
      'partition leader elected',
    );
  }

  /**
   * The marker a control batch in this leader's tail carries (undefined when it cannot be read:
   * applying it will stop the replica).
   */
  private markerIn(
    h: ReturnType<typeof readRecordBatchHeader>,
    buf: Buffer,
  ): { coordinatorEpoch: number } | undefined {
    try {
      return readMarker(h, buf);
    } catch {
      return undefined;
    }
  }

  // ------------------------------------------------------------------ leader: produce

  /**
   * Hands leadership to `to` (the preferred replica). Raft refuses proposals while the transfer runs
   * (at most an election timeout, `windowMs`); appends are refused here for that long so that no
   * proposal is dropped after its offsets were assigned.
   */
  transferLeadership(to: number, windowMs: number): void {
    if (!this.isLeader()) return;
    this.transferUntilMs = this.options.nowMs() + windowMs;
    this.group.transferLeadership(to);
  }

  get transferring(): boolean {
    return this.transferUntilMs > this.options.nowMs();
  }

  /** Throws NOT_LEADER_OR_FOLLOWER unless this node leads and may append; returns the group status. */
  private checkLeader(): GroupStatus {
    this.checkServing();
    if (this.transferring)
      throw new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${this.topic}-${this.partition}: leadership is moving to the preferred replica`,
      );
    const st = this.group.status();
    if (st.role !== StateType.Leader || st.term !== this.leaderTerm)
      throw new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${this.topic}-${this.partition}: leadership is changing`,
      );
    return st;
  }

  /**
   * Proposes the batches of one Produce partition (one Raft entry per batch) and resolves when the
   * last is committed and applied here (acks=all) or durable in this leader's log (acks 0 and 1).
   * Waits for room first when this leader has too much proposed and not applied (admission.ts).
   */
  async append(records: Buffer, acks: Acks, timeoutMs: number): Promise<AppendResult> {
    const { maxEntryBytes } = this.checkLeader();
    this.checkMinInsync(acks);
    const batches = splitAndValidate(records, {
      maxMessageBytes: this.config.maxMessageBytes,
      maxEntryBytes,
      requireKeys: this.config.compact,
      name: `${this.topic}-${this.partition}`,
    });
    return this.appendBatches(batches, records.length, acks, timeoutMs);
  }

  /** Proposes a transaction marker like a batch, answered as acks=all; resolves with its offset. */
  async writeTxnMarker(m: TxnMarker, timeoutMs: number): Promise<bigint> {
    this.checkLeader();
    this.checkMinInsync(-1);
    const b = markerBatch(m, this.options.nowMs());
    return (await this.appendBatches([b], b.bytes.length, -1, timeoutMs)).baseOffset;
  }

  /** The applied state, then the batches and markers this leader proposed that have not applied. */
  hasOngoingTxn(producerId: bigint, producerEpoch: number): boolean {
    if (!this.isLeader()) return false;
    const t = txnOf(producerId, this.kafka, this.inflight);
    return t.open && t.epoch === producerEpoch;
  }

  /** Admits validated batches (a Produce partition's, or a marker) and proposes them; see append. */
  private async appendBatches(
    batches: readonly IncomingBatch[],
    bytes: number,
    acks: Acks,
    timeoutMs: number,
  ): Promise<AppendResult> {
    const startMs = this.options.nowMs();
    const term = this.leaderTerm;
    const proposed = await new Promise<Proposed>((resolve, reject) => {
      this.admission.admit({
        bytes,
        entries: batches.length,
        deadlineMs: startMs + timeoutMs,
        run: () => {
          try {
            const waited = this.options.nowMs() - startMs;
            resolve(this.proposeBatches(batches, acks, Math.max(1, timeoutMs - waited)));
          } catch (e) {
            if (e instanceof InvariantError) this.fail(e);
            reject(e);
          }
        },
        fail: reject,
      });
      if (this.admission.waitingCount > 0) this.events.maintenanceDue?.(this);
    });
    try {
      await (this.leadership ? Promise.race([proposed.done, this.leadership.ended]) : proposed.done);
    } catch (e) {
      throw toKafkaError(e, `produce to ${this.topic}-${this.partition}`);
    }
    if (acks === -1 && proposed.lastIndex > 0)
      await this.copies(term, proposed.lastIndex, startMs + timeoutMs);
    return {
      baseOffset: proposed.firstOffset ?? -1n,
      logAppendTimeMs: proposed.appendTime ?? -1n,
      logStartOffset: this.kafka.logStartOffset,
      recordCount: recordCountOf(batches),
    };
  }

  /**
   * Checks the batches' sequences and proposes them, synchronously from the leadership check to
   * the last proposal: each entry lands in this leader's log right after the previous one, so its
   * offsets follow the last batch in the log. The cursor moves past a batch only once its entry is
   * in the log; a proposal refused (nothing appended) ends the request there with its error, and
   * the next batch proposed anywhere takes the offsets the refused one would have had.
   */
  private proposeBatches(batches: readonly IncomingBatch[], acks: Acks, timeoutMs: number): Proposed {
    this.checkLeader();
    const decisions = decideBatches(batches, this.kafka, this.inflight);
    const appendTime = this.config.logAppendTime ? BigInt(this.options.nowMs()) : undefined;
    const proposals: Array<Promise<unknown>> = [];
    // acks=1 (and acks=0, which sends no answer): done once each batch is durable in this leader's
    // log; a batch that applies first (it cannot without being durable here) or fails settles it too.
    const durable: Array<Promise<unknown>> = [];
    let firstOffset: bigint | undefined;
    let lastIndex = 0;
    for (let k = 0; k < batches.length; k++) {
      const d = decisions[k] as (typeof decisions)[number];
      if (d.check.kind === 'duplicate') {
        firstOffset ??= d.check.baseOffset;
        continue;
      }
      const a = assignOffsets(batches[k] as IncomingBatch, this.cursor, this.leaderTerm, appendTime);
      let onPersisted: (() => void) | undefined;
      const persisted = acks === -1 ? undefined : new Promise<void>((resolve) => (onPersisted = resolve));
      let at: { index: number; term: number } | undefined;
      const p = this.group.propose(a.data, timeoutMs, {
        onAppended: (x) => (at = x),
        ...(onPersisted ? { onPersisted } : {}),
      });
      p.catch(() => undefined); // observed through `done`, unless an earlier return leaves it
      if (at === undefined) {
        // Refused: nothing of this batch is in the log. Earlier batches of the request may be; the
        // client learns the request failed and retries it (an idempotent producer's retry of those
        // is answered as a duplicate).
        return { done: p, lastIndex: 0, firstOffset, appendTime };
      }
      firstOffset ??= this.cursor;
      this.cursor += BigInt(a.header.lastOffsetDelta) + 1n;
      this.admission.appended(at.index, a.data.length);
      lastIndex = at.index;
      if (d.inflight !== undefined) this.inflight.push({ ...d.inflight, raftIndex: at.index });
      proposals.push(p);
      if (persisted) durable.push(Promise.race([persisted, p]));
    }
    return { done: Promise.all(acks === -1 ? proposals : durable), lastIndex, firstOffset, appendTime };
  }

  /**
   * Replicas (this leader included) whose log holds the entry at `index`, among the assigned ones.
   * The leader holds every entry it applied.
   */
  private holders(index: number): number {
    let n = 1;
    for (const p of this.group.status().progress)
      if (p.nodeId !== this.nodeId && p.match >= index && this.replicas.includes(p.nodeId)) n++;
    return n;
  }

  /**
   * Resolves once min.insync.replicas replicas hold the entry at `index` (committed already, in
   * this leader's term `term`; NOT_LEADER_OR_FOLLOWER if the leadership ended since): at
   * once when that is no more than a Raft majority, which every commit has. Past `deadlineMs`,
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the in-sync replicas fell below the minimum (as Kafka
   * answers), else REQUEST_TIMED_OUT; either way the batch is in the log and may be read.
   */
  private copies(term: number, index: number, deadlineMs: number): Promise<void> {
    if (this.leaderTerm !== term || !this.isLeader())
      return Promise.reject(
        new KafkaError(
          'NOT_LEADER_OR_FOLLOWER',
          `${this.topic}-${this.partition}: leadership lost before min.insync.replicas replicas held the batch`,
        ),
      );
    const need = this.config.minInsyncReplicas;
    const voters = this.group.status().voters.length;
    if (need <= Math.floor(voters / 2) + 1 || this.holders(index) >= need) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.copyWaiters.push({ index, deadlineMs, resolve, reject });
      this.events.maintenanceDue?.(this);
    });
  }

  /** Answers the Produce requests waiting for copies that have them, or whose deadline passed. */
  private checkCopies(nowMs: number): void {
    if (this.copyWaiters.length === 0) return;
    const need = this.config.minInsyncReplicas;
    const waiting: CopyWaiter[] = [];
    for (const w of this.copyWaiters) {
      if (this.holders(w.index) >= need) w.resolve();
      else if (nowMs >= w.deadlineMs)
        w.reject(
          this.inSyncCount() < need
            ? new KafkaError(
                'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
                `${this.topic}-${this.partition}: written, but only ${this.inSyncCount()} replicas are in sync (min.insync.replicas ${need})`,
              )
            : new KafkaError(
                'REQUEST_TIMED_OUT',
                `${this.topic}-${this.partition}: written, but not held by ${need} replicas within the timeout`,
              ),
        );
      else waiting.push(w);
    }
    this.copyWaiters = waiting;
  }

  /** RaftHost: a follower acknowledged entries (its match index may have moved). */
  onReplicated(): void {
    if (this.copyWaiters.length > 0) this.checkCopies(this.options.nowMs());
  }

  /** DeleteRecords: replicates a new log start offset (-1: the high watermark). */
  async deleteRecords(offset: bigint, timeoutMs: number): Promise<bigint> {
    this.checkLeader();
    const target = this.kafka.deleteRecordsTarget(offset);
    if (target <= this.kafka.logStartOffset) return this.kafka.logStartOffset;
    try {
      await this.group.propose(logStartCommand(target), timeoutMs);
    } catch (e) {
      throw toKafkaError(e, `delete records of ${this.topic}-${this.partition}`);
    }
    return this.kafka.logStartOffset;
  }

  /** The log start offset retention asks for now, or undefined when nothing expires. */
  retentionTarget(nowMs: number): bigint | undefined {
    return this.kafka.retentionTarget(
      nowMs,
      this.config.retentionMs,
      this.config.retentionBytes,
      RETENTION_SCAN_BATCHES,
    );
  }

  /**
   * On the leader, every retentionCheckIntervalMs: proposes the log start offset retention asks
   * for, as the replicated control entry DeleteRecords uses (one proposal in flight). Never throws.
   */
  maintenanceIdle(): boolean {
    return this.copyWaiters.length === 0 && this.admission.waitingCount === 0;
  }

  maintain(nowMs: number): void {
    this.admission.expire(nowMs);
    this.checkCopies(nowMs);
    if (!this.isLeader() || !this.ready || this.retentionInFlight || this.transferring) return;
    if (nowMs - this.lastRetentionMs < this.options.retentionCheckIntervalMs) return;
    this.lastRetentionMs = nowMs;
    const target = this.retentionTarget(nowMs);
    if (target === undefined) return;
    this.retentionInFlight = true;
    this.group
      .propose(logStartCommand(target), this.options.proposalTimeoutMs)
      .then(
        () =>
          this.logger.info(
            {
              topic: this.topic,
              partition: this.partition,
              logStartOffset: String(this.kafka.logStartOffset),
            },
            'retention moved the log start offset',
          ),
        (e: unknown) =>
          this.logger.debug(
            { topic: this.topic, partition: this.partition, err: errorText(e) },
            'retention proposal failed; retried on the next check',
          ),
      )
      .finally(() => {
        this.retentionInFlight = false;
      });
  }

  // ------------------------------------------------------------------ reads (leader)

  // ------------------------------------------------------------------ log compaction (leader)

  /** The leader cleans (its view complete, no transfer under way); followers apply what it writes. */
  protected mayClean(): boolean {
    return this.isLeaderReady() && !this.transferring;
  }

  protected maxRelocationBytes(): number {
    return this.group.status().maxEntryBytes;
  }

  /** Proposes a relocation entry; resolves with its Raft index once applied here, undefined if stale. */
  protected async relocate(entry: Buffer): Promise<number | undefined> {
    this.checkLeader();
    try {
      const out = await this.group.propose(entry, this.options.proposalTimeoutMs);
      return out.result === true ? out.index : undefined;
    } catch (e) {
      throw toKafkaError(e, `compaction of ${this.topic}-${this.partition}`);
    }
  }

  /** The whole entry at Raft index `position` (a relocation entry), or undefined once compacted away. */
  protected async readEntry(position: number): Promise<Buffer | undefined> {
    const log = this.group.log();
    if (log === undefined || position < log.firstIndex()) return undefined;
    let entries: Entry[];
    try {
      entries = await log.readEntries(position, position + 1, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      if (goneFromLog(e)) return undefined;
      throw new ReadDamage([], e);
    }
    const e = entries[0];
    return e === undefined ? undefined : asBuffer(e.data);
  }

  /** Reads Raft indexes [from, to] from the group's log to check them (the log scrubber). */
  protected async verifyBatches(from: number, to: number, totalBytes: number): Promise<void> {
    await this.readBatches(from, to, totalBytes);
  }

  /**
   * Batches at Raft indexes [from, to], read from the group's log without blocking on the disk
   * (control and empty entries skipped). Stops early where the log no longer holds them (compacted
   * or cut while the read waited: the caller answers what was read); damaged storage throws
   * ReadDamage with the batches before the damage.
   */
  protected async readBatches(from: number, to: number, totalBytes: number): Promise<Buffer[]> {
    const log = this.group.log();
    if (log === undefined || from > to) return [];
    const out: Buffer[] = [];
    let bytes = 0;
    let i = from;
    while (i <= to) {
      if (i < log.firstIndex() || i > log.lastIndex()) break;
      let entries: Entry[];
      try {
        entries = await log.readEntries(
          i,
          Math.min(to, log.lastIndex()) + 1,
          Math.max(1, totalBytes - bytes),
        );
      } catch (e) {
        if (goneFromLog(e)) break;
        // Damaged storage: the entry at i, or one after it, cannot be read. One at a time from i.
        try {
          entries = await log.readEntries(i, i + 1, 1);
        } catch (e2) {
          if (goneFromLog(e2)) break;
          throw new ReadDamage(out, e2);
        }
      }
      if (entries.length === 0) break;
      for (const e of entries) {
        i = e.index + 1;
        if (e.type !== 0 || e.data.length === 0 || e.data[0] === CONTROL_PREFIX) continue;
        out.push(asBuffer(e.data));
        bytes += e.data.length;
      }
    }
    return out;
  }

  /** Stops serving and closes the group (its data stays). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.endLeadership();
    this.kafka.wake();
    await this.group.close();
  }
}
