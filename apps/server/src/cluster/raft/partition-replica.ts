// One local replica of a partition in raft-cluster mode: the state machine of the partition's Raft
// group, and (on the group's leader) the proposer of its record batches.
//
// The partition's Raft log IS its Kafka log (DESIGN.md "A partition's log"):
// - An entry carries one Kafka record batch (magic 2) as the producer sent it, except for the base
//   offset and the partition leader epoch (= the group's term), which the leader sets when it
//   proposes, and the timestamp when the topic uses LogAppendTime. Empty entries (a new leader's
//   no-op) carry no offsets. Entries starting with 0xFF are partition control commands (a batch
//   starts with its int64 base offset, which is never negative, so the first byte of a batch is
//   never 0xFF): 0xFF 0x01 <int64 offset> moves the log start offset (DeleteRecords).
// - The leader assigns offsets following the last batch in its log, committed or not; it
//   recomputes that cursor from its log when it becomes leader. Raft's log matching keeps offsets
//   contiguous in every log; offsets of a deposed leader's truncated entries are reused, and no
//   consumer saw them because:
// - the high watermark is one past the last offset of the last applied (committed) batch, and reads
//   never go past it;
// - every node keeps an in-memory index from Kafka offset to Raft index (rebuilt on recovery, when
//   the host re-applies the committed log), so Fetch and ListOffsets never scan.
// - Idempotent producers: the per-partition producer state (last five batches per producer) is
//   updated as batches apply on every node; the leader also tracks batches it proposed that have not
//   applied yet, rebuilt from its log's uncommitted tail when it becomes leader.
//
// Acks: acks=all resolves when the entry is applied here (committed by a majority, fsync'd on each);
// acks=1 when it is durable in this leader's own log (RaftHost's onPersisted), before the commit.
//
// Snapshots and compaction (the group runs with RaftHost's snapshotPolicy 'stateMachine'): the log
// is the data, so a snapshot must never stand in for batches that are still wanted. Every replica
// keeps cheap checkpoints of its small state (next offset, log start, producer state, leader epochs,
// the max timestamp) at applied indexes, every `checkpointEveryBytes` of log or
// CHECKPOINT_EVERY_ENTRIES entries, in a bounded ring. When the log start offset moves (DeleteRecords
// or retention, both a replicated `0xFF 0x01` control entry, so every replica has the same log start)
// the replica offers, through snapshotPoint(), the newest checkpoint below the Raft index of the first
// batch still kept; the host records it as the snapshot and compacts the log to exactly that index.
// Every batch at or above the log start stays in the log: a restart restores the checkpoint and
// re-applies the entries after it (rebuilding the offset index), and a follower whose next entry was
// compacted away installs the checkpoint and receives the rest by normal replication.
// Retention (retention.ms / retention.bytes, the standalone semantics: whole batches from the front,
// never past the high watermark) is evaluated by the leader, which proposes the new log start.
import { RaftErrorCode, StateType, isRaftError } from '@chronik/raft';
import type { Entry, SnapshotMetadata } from '@chronik/raft';
import type { GroupStatus, RaftHost, StateMachine } from '@chronik/raft-host';
import type { Acks, AppendResult, ListOffsetResult, ProducerStateView, ReadResult } from '../cluster.js';
import { ListOffsetsTimestamp } from '../cluster.js';
import type { Logger } from '../../logger.js';
import type { RecordBatchHeader } from '../../protocol.js';
import {
  assignRecordBatch,
  decodeRecordBatch,
  readRecordBatchHeader,
  splitRecordBatches,
  validateRecordBatch,
} from '../../protocol.js';
import { ProducerStateTable } from '../../storage/producer-state.js';
import { groupLog } from './host-internals.js';
import { KafkaError } from '../../errors.js';

export interface ReplicaConfig {
  logAppendTime: boolean;
  maxMessageBytes: number;
  /** retention.ms; -1: no limit. */
  retentionMs: number;
  /** retention.bytes; -1: no limit. */
  retentionBytes: number;
}

export interface PartitionReplicaOptions {
  topic: string;
  topicId: string;
  partition: number;
  groupId: number;
  nodeId: number;
  host: RaftHost;
  config: ReplicaConfig;
  logger: Logger;
  nowMs: () => number;
  /** This node leads the group and has applied an entry of its term (its view is complete). */
  onLeaderReady(replica: PartitionReplica): void;
  /** This node stopped leading the group. */
  onLeaderLost(replica: PartitionReplica): void;
  /** Proposals waiting for their commit; more are refused with REQUEST_TIMED_OUT. Default 10,000. */
  maxPendingProposals?: number;
  /** Log bytes between checkpoints of the small state (the compaction granularity). Default 4 MiB. */
  checkpointEveryBytes?: number;
}

interface BatchMeta {
  raftIndex: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  epoch: number;
  bytes: number;
}

/** The small state of a partition as of a Raft index: what a snapshot of the group holds. */
interface Checkpoint {
  index: number;
  data: Uint8Array;
}

interface CheckpointState {
  v: 1;
  hw: string;
  logStart: string;
  epochs: Array<[number, string]>;
  maxTs: [string, string];
  producers: unknown;
}

interface InflightBatch {
  raftIndex: number;
  producerId: bigint;
  producerEpoch: number;
  firstSeq: number;
  lastSeq: number;
}

const CONTROL_PREFIX = 0xff;
const CONTROL_LOG_START = 0x01;
const INT32_MAX = 2147483647;
/** Bytes read from the Raft log per step when the leader rebuilds its view of the uncommitted tail. */
const TAIL_READ_BYTES = 16 * 1024 * 1024;
/** A checkpoint at least every this many applied entries (and every checkpointEveryBytes). */
const CHECKPOINT_EVERY_ENTRIES = 10_000;
/** Checkpoints kept; when more are taken, interior ones are thinned out (the oldest stays). */
const MAX_CHECKPOINTS = 32;
/** Bytes of checkpoints kept per replica (large producer state): thinned down to two beyond it. */
const MAX_CHECKPOINT_BYTES = 32 * 1024 * 1024;
/** Batches a retention check looks at per partition per call (bounded work per tick). */
const RETENTION_SCAN_BATCHES = 100_000;
/** Leader epochs remembered (older ones are dropped first). */
const MAX_EPOCHS = 10_000;

function nextSeq(seq: number, count: number): number {
  const n = seq + count;
  return n > INT32_MAX ? n - INT32_MAX - 1 : n;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Maps a RaftHost / Raft failure of a proposal to the Kafka error the client should see. */
export function proposalError(e: unknown, what: string): KafkaError {
  if (e instanceof KafkaError) return e;
  const code = (e as { code?: unknown }).code;
  const msg = `${what}: ${e instanceof Error ? e.message : String(e)}`;
  if (
    isRaftError(e, RaftErrorCode.NotLeader) ||
    code === RaftErrorCode.ProposalDropped ||
    code === 'NotLeader'
  ) {
    return new KafkaError('NOT_LEADER_OR_FOLLOWER', msg, { cause: e });
  }
  if (code === 'Timeout' || code === 'Unreachable')
    return new KafkaError('REQUEST_TIMED_OUT', msg, { cause: e });
  if (code === 'Overloaded') return new KafkaError('REQUEST_TIMED_OUT', msg, { cause: e });
  if (code === 'TooLarge') return new KafkaError('MESSAGE_TOO_LARGE', msg, { cause: e });
  if (code === 'Closed' || code === 'UnknownGroup')
    return new KafkaError('NOT_LEADER_OR_FOLLOWER', msg, { cause: e });
  return new KafkaError('UNKNOWN_SERVER_ERROR', msg, { cause: e });
}

/** The control entry that moves the log start offset: 0xFF 0x01 <int64 offset>. */
function logStartCommand(offset: bigint): Buffer {
  const cmd = Buffer.alloc(10);
  cmd[0] = CONTROL_PREFIX;
  cmd[1] = CONTROL_LOG_START;
  cmd.writeBigInt64BE(offset, 2);
  return cmd;
}

export class PartitionReplica implements StateMachine {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly groupId: number;
  config: ReplicaConfig;
  /** Current replica set (from metadata). */
  replicas: readonly number[] = [];

  // Applied state (every replica). Invariant: batches are in offset order, contiguous, all below hw.
  private readonly batches: BatchMeta[] = [];
  private hw = 0n;
  private logStart = 0n;
  private appliedIndex = 0;
  private readonly epochs: Array<{ epoch: number; startOffset: bigint }> = [];
  private readonly producers = new ProducerStateTable();
  private maxTimestampSeen: { timestamp: bigint; baseOffset: bigint } = { timestamp: -1n, baseOffset: -1n };
  private readonly watchers = new Set<() => void>();
  /** Bytes of the indexed batches (what retention.bytes counts). */
  private indexedBytes = 0;
  private checkpoints: Checkpoint[] = [];
  private checkpointBytes = 0;
  private bytesSinceCheckpoint = 0;
  private entriesSinceCheckpoint = 0;
  /** Raft index of the first entry still wanted (the first batch kept) after the log start moved. */
  private compactBelow = 0;
  /** The last snapshot point offered to the host. */
  private offeredIndex = 0;
  private retentionInFlight = false;

  // Raft role as last reported by the host.
  role: StateType = StateType.Follower;
  leaderId = 0;
  term = 0;
  /** Leader and has applied an entry of its own term. */
  leaderReady = false;

  // Leader-only state.
  private leaderTerm = -1;
  /** Next offset to assign (follows the last batch in this node's log, committed or not). */
  private cursor = 0n;
  /** Idempotent batches proposed (or found in the log tail) that have not applied yet, by raft index. */
  private inflight: InflightBatch[] = [];
  private pendingProposals = 0;
  /**
   * Rejected with NOT_LEADER_OR_FOLLOWER when this node's leadership ends; the produce requests of
   * that leadership race it (see endLeadership). Null while not leading.
   */
  private leadership: { ended: Promise<never>; end(e: KafkaError): void } | null = null;
  private closed = false;
  /** When this node last became leader (ms). */
  leaderSinceMs = 0;
  /** A leadership transfer started here: appends are refused until then (no proposal may be dropped). */
  private transferUntilMs = 0;

  constructor(private readonly o: PartitionReplicaOptions) {
    this.topic = o.topic;
    this.topicId = o.topicId;
    this.partition = o.partition;
    this.groupId = o.groupId;
    this.config = o.config;
  }

  get highWatermark(): bigint {
    return this.hw;
  }
  get logStartOffset(): bigint {
    return this.logStart;
  }
  get logEndOffset(): bigint {
    return this.isLeader() && this.cursor > this.hw ? this.cursor : this.hw;
  }
  isLeader(): boolean {
    return this.role === StateType.Leader && !this.closed;
  }

  // ------------------------------------------------------------------ state machine

  apply(entry: Entry): unknown {
    this.appliedIndex = entry.index;
    let result: unknown = undefined;
    if (entry.data.length > 0) {
      const buf = asBuffer(entry.data);
      if (buf[0] === CONTROL_PREFIX) {
        result = this.applyControl(buf, entry.index);
      } else {
        const h = readRecordBatchHeader(buf, 0);
        if (h.baseOffset !== this.hw && this.batches.length > 0) {
          this.o.logger.error(
            {
              topic: this.topic,
              partition: this.partition,
              expected: String(this.hw),
              got: String(h.baseOffset),
              index: entry.index,
            },
            'partition log: batch offset does not follow the high watermark',
          );
        }
        const lastOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
        // After a snapshot restore, the entries between the checkpoint and the first batch kept are
        // re-applied for their state only: batches wholly below the log start are not indexed.
        if (lastOffset >= this.logStart) {
          this.batches.push({
            raftIndex: entry.index,
            baseOffset: h.baseOffset,
            lastOffset,
            maxTimestamp: h.maxTimestamp,
            epoch: h.partitionLeaderEpoch,
            bytes: entry.data.length,
          });
          this.indexedBytes += entry.data.length;
        }
        const lastEpoch = this.epochs[this.epochs.length - 1];
        if (lastEpoch === undefined || h.partitionLeaderEpoch > lastEpoch.epoch) {
          this.epochs.push({ epoch: h.partitionLeaderEpoch, startOffset: h.baseOffset });
          if (this.epochs.length > MAX_EPOCHS) this.epochs.shift();
        }
        if (h.maxTimestamp > this.maxTimestampSeen.timestamp)
          this.maxTimestampSeen = { timestamp: h.maxTimestamp, baseOffset: h.baseOffset };
        if (lastOffset + 1n > this.hw) this.hw = lastOffset + 1n;
        this.producers.update(h, h.baseOffset);
        result = h.baseOffset;
        this.wake();
      }
    }
    while (this.inflight.length > 0 && (this.inflight[0] as InflightBatch).raftIndex <= entry.index)
      this.inflight.shift();
    this.bytesSinceCheckpoint += entry.data.length;
    this.entriesSinceCheckpoint++;
    if (
      this.bytesSinceCheckpoint >= (this.o.checkpointEveryBytes ?? 4 * 1024 * 1024) ||
      this.entriesSinceCheckpoint >= CHECKPOINT_EVERY_ENTRIES
    )
      this.takeCheckpoint(entry.index);
    if (
      this.role === StateType.Leader &&
      !this.leaderReady &&
      entry.term === this.term &&
      this.leaderTerm === this.term
    ) {
      this.leaderReady = true;
      queueMicrotask(() => {
        if (this.leaderReady && !this.closed) this.o.onLeaderReady(this);
      });
    }
    return result;
  }

  private applyControl(buf: Buffer, index: number): unknown {
    if (buf.length >= 10 && buf[1] === CONTROL_LOG_START) {
      const target = buf.readBigInt64BE(2);
      const bounded = target > this.hw ? this.hw : target;
      if (bounded > this.logStart) {
        this.logStart = bounded;
        let n = 0;
        while (n < this.batches.length && (this.batches[n] as BatchMeta).lastOffset < bounded) {
          this.indexedBytes -= (this.batches[n] as BatchMeta).bytes;
          n++;
        }
        if (n > 0) this.batches.splice(0, n);
        // Everything before the first batch kept may go from the log (at a checkpoint below it).
        this.compactBelow = this.batches[0]?.raftIndex ?? index + 1;
      }
      return this.logStart;
    }
    this.o.logger.warn(
      { topic: this.topic, partition: this.partition, kind: buf[1] },
      'unknown partition control entry ignored',
    );
    return undefined;
  }

  /** The small state as of the last applied entry (batches are not in it: they stay in the log). */
  private serializeState(): Uint8Array {
    const s: CheckpointState = {
      v: 1,
      hw: String(this.hw),
      logStart: String(this.logStart),
      epochs: this.epochs.map((e) => [e.epoch, String(e.startOffset)]),
      maxTs: [String(this.maxTimestampSeen.timestamp), String(this.maxTimestampSeen.baseOffset)],
      producers: this.producers.toJSON(),
    };
    return Buffer.from(JSON.stringify(s));
  }

  private takeCheckpoint(index: number): void {
    this.bytesSinceCheckpoint = 0;
    this.entriesSinceCheckpoint = 0;
    const data = this.serializeState();
    this.checkpoints.push({ index, data });
    this.checkpointBytes += data.length;
    while (
      this.checkpoints.length > 2 &&
      (this.checkpoints.length > MAX_CHECKPOINTS || this.checkpointBytes > MAX_CHECKPOINT_BYTES)
    ) {
      // Thin out: drop the interior checkpoint whose neighbours are closest, so the remaining ones
      // stay spread over the log (the oldest is kept: it is what the next compaction may need).
      let drop = 1;
      let best = Number.MAX_SAFE_INTEGER;
      for (let k = 1; k < this.checkpoints.length - 1; k++) {
        const gap =
          (this.checkpoints[k + 1] as Checkpoint).index - (this.checkpoints[k - 1] as Checkpoint).index;
        if (gap < best) {
          best = gap;
          drop = k;
        }
      }
      const [gone] = this.checkpoints.splice(drop, 1);
      this.checkpointBytes -= gone?.data.length ?? 0;
    }
  }

  /** The state as of the last applied entry (RaftHost asks only under the 'applied' policy). */
  snapshot(): Uint8Array {
    return this.serializeState();
  }

  /**
   * RaftHost's question after each cycle (snapshotPolicy 'stateMachine'): once the log start moved,
   * the newest checkpoint below the first batch kept, at which the log may be compacted.
   */
  snapshotPoint(): { index: number; data: Uint8Array } | undefined {
    if (this.compactBelow <= this.offeredIndex + 1 || this.checkpoints.length === 0) return undefined;
    let best: Checkpoint | undefined;
    for (const c of this.checkpoints) {
      if (c.index >= this.compactBelow) break;
      best = c;
    }
    if (best === undefined || best.index <= this.offeredIndex) return undefined;
    const at = best.index;
    this.offeredIndex = at;
    this.checkpoints = this.checkpoints.filter((c) => c.index > at);
    this.checkpointBytes = this.checkpoints.reduce((n, c) => n + c.data.length, 0);
    this.o.logger.debug(
      { topic: this.topic, partition: this.partition, index: at, firstKept: this.compactBelow },
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
    this.batches.length = 0;
    this.indexedBytes = 0;
    this.checkpoints = [];
    this.checkpointBytes = 0;
    this.bytesSinceCheckpoint = 0;
    this.entriesSinceCheckpoint = 0;
    this.compactBelow = 0;
    this.offeredIndex = metadata.index;
    this.epochs.length = 0;
    this.inflight = [];
    if (data.length === 0) {
      // The bootstrap snapshot (the initial voters) carries no data: an empty partition.
      this.hw = 0n;
      this.logStart = 0n;
      this.maxTimestampSeen = { timestamp: -1n, baseOffset: -1n };
      this.producers.load([]);
      return;
    }
    const s = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<CheckpointState>;
    if (s.v !== 1 || s.hw === undefined || s.logStart === undefined)
      throw new KafkaError('UNKNOWN_SERVER_ERROR', `unknown partition snapshot format at ${metadata.index}`);
    this.hw = BigInt(s.hw);
    this.logStart = BigInt(s.logStart);
    for (const [epoch, start] of s.epochs ?? []) this.epochs.push({ epoch, startOffset: BigInt(start) });
    const [ts, base] = s.maxTs ?? ['-1', '-1'];
    this.maxTimestampSeen = { timestamp: BigInt(ts), baseOffset: BigInt(base) };
    this.producers.load(s.producers ?? []);
    if (this.cursor < this.hw) this.cursor = this.hw;
    this.o.logger.info(
      {
        topic: this.topic,
        partition: this.partition,
        index: metadata.index,
        nextOffset: s.hw,
        logStartOffset: s.logStart,
      },
      'partition state restored from a snapshot; later batches follow from the log',
    );
    this.wake();
  }

  onRoleChange(role: StateType, leaderId: number, term: number): void {
    const wasLeader = this.role === StateType.Leader;
    this.role = role;
    this.leaderId = leaderId;
    this.term = term;
    if (role === StateType.Leader) {
      if (this.leaderTerm !== term) this.becomeLeader(term);
    } else if (wasLeader) {
      this.leaderReady = false;
      this.leaderTerm = -1;
      this.inflight = [];
      this.endLeadership();
      this.o.onLeaderLost(this);
    }
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
    this.leaderSinceMs = this.o.nowMs();
    this.transferUntilMs = 0;
    this.leaderReady = false;
    this.cursor = this.hw;
    this.inflight = [];
    const log = groupLog(this.o.host, this.groupId);
    if (log !== undefined) {
      let i = Math.max(this.appliedIndex + 1, log.firstIndex());
      const end = log.lastIndex() + 1;
      while (i < end) {
        const entries = log.entries(i, end, TAIL_READ_BYTES);
        if (entries.length === 0) break;
        for (const e of entries) {
          if (e.data.length > 0 && e.data[0] !== CONTROL_PREFIX && e.type === 0) {
            const h = readRecordBatchHeader(asBuffer(e.data), 0);
            const next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
            if (next > this.cursor) this.cursor = next;
            if (h.producerId >= 0n && !h.isControl && h.baseSequence >= 0) {
              this.inflight.push({
                raftIndex: e.index,
                producerId: h.producerId,
                producerEpoch: h.producerEpoch,
                firstSeq: h.baseSequence,
                lastSeq: nextSeq(h.baseSequence, h.lastOffsetDelta),
              });
            }
          }
        }
        i += entries.length;
      }
    }
    this.o.logger.info(
      {
        topic: this.topic,
        partition: this.partition,
        term,
        nextOffset: String(this.cursor),
        highWatermark: String(this.hw),
      },
      'partition leader elected',
    );
  }

  // ------------------------------------------------------------------ leader: produce

  /**
   * Hands leadership to `to` (the preferred replica). Raft refuses proposals while the transfer runs
   * (at most an election timeout, `windowMs`); appends are refused here for that long so that no
   * proposal is dropped after its offsets were assigned.
   */
  transferLeadership(to: number, windowMs: number): void {
    if (!this.isLeader()) return;
    this.transferUntilMs = this.o.nowMs() + windowMs;
    this.o.host.transferLeadership(this.groupId, to);
  }

  get transferring(): boolean {
    return this.transferUntilMs > this.o.nowMs();
  }

  /** Throws NOT_LEADER_OR_FOLLOWER unless this node leads and may append; returns the group status. */
  private checkLeader(): GroupStatus {
    if (!this.isLeader())
      throw new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${this.topic}-${this.partition} is led by ${this.leaderId}`,
      );
    if (this.transferring)
      throw new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${this.topic}-${this.partition}: leadership is moving to the preferred replica`,
      );
    const st = this.o.host.status(this.groupId);
    if (st.role !== StateType.Leader || st.term !== this.leaderTerm) {
      throw new KafkaError(
        'NOT_LEADER_OR_FOLLOWER',
        `${this.topic}-${this.partition}: leadership is changing`,
      );
    }
    return st;
  }

  /** Decides an idempotent batch: append it, answer it as a duplicate, or throw the Kafka error. */
  private sequenceCheck(
    h: RecordBatchHeader,
  ): { kind: 'append' } | { kind: 'duplicate'; baseOffset: bigint } {
    if (h.producerId < 0n || h.isControl) return { kind: 'append' };
    let last: InflightBatch | undefined;
    const lastSeq = nextSeq(h.baseSequence, h.lastOffsetDelta);
    for (const f of this.inflight) {
      if (f.producerId !== h.producerId) continue;
      if (f.producerEpoch === h.producerEpoch && f.firstSeq === h.baseSequence && f.lastSeq === lastSeq) {
        // A retry of a batch still being replicated: the producer retries again and then meets the
        // applied duplicate, answered with its offset.
        throw new KafkaError(
          'NOT_ENOUGH_REPLICAS',
          `producer ${h.producerId}: batch ${h.baseSequence} is still being replicated`,
        );
      }
      last = f;
    }
    if (last === undefined) return this.producers.check(h);
    if (h.producerEpoch < last.producerEpoch)
      throw new KafkaError(
        'INVALID_PRODUCER_EPOCH',
        `producer ${h.producerId} epoch ${h.producerEpoch} is older than ${last.producerEpoch}`,
      );
    if (h.producerEpoch > last.producerEpoch) {
      if (h.baseSequence !== 0)
        throw new KafkaError(
          'OUT_OF_ORDER_SEQUENCE_NUMBER',
          `producer ${h.producerId} started epoch ${h.producerEpoch} at sequence ${h.baseSequence}, not 0`,
        );
      return { kind: 'append' };
    }
    if (h.baseSequence === nextSeq(last.lastSeq, 1)) return { kind: 'append' };
    const applied = this.producers.check(h);
    if (applied.kind === 'duplicate') return applied;
    throw new KafkaError(
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
      `producer ${h.producerId}: expected sequence ${nextSeq(last.lastSeq, 1)}, got ${h.baseSequence}`,
    );
  }

  /**
   * Proposes the batches of one Produce partition (one Raft entry per batch) and resolves when the
   * last is committed and applied here.
   */
  async append(records: Buffer, acks: Acks, timeoutMs: number): Promise<AppendResult> {
    const { maxEntryBytes } = this.checkLeader();
    const slices = splitRecordBatches(records);
    if (slices.length === 0)
      throw new KafkaError('CORRUPT_MESSAGE', 'produce request without record batches');
    const headers: RecordBatchHeader[] = [];
    for (const s of slices) {
      if (s.bytes.length > this.config.maxMessageBytes) {
        throw new KafkaError(
          'MESSAGE_TOO_LARGE',
          `record batch of ${s.bytes.length} bytes exceeds max.message.bytes ${this.config.maxMessageBytes}`,
        );
      }
      if (s.bytes.length > maxEntryBytes) {
        throw new KafkaError(
          'MESSAGE_TOO_LARGE',
          `record batch of ${s.bytes.length} bytes exceeds this partition log's entry limit ${maxEntryBytes}`,
        );
      }
      headers.push(validateRecordBatch(s.bytes));
    }
    const max = this.o.maxPendingProposals ?? 10_000;
    if (this.pendingProposals + slices.length > max)
      throw new KafkaError(
        'REQUEST_TIMED_OUT',
        `${this.topic}-${this.partition}: ${this.pendingProposals} proposals are waiting`,
      );
    const checks = headers.map((h) => this.sequenceCheck(h));
    const now = BigInt(this.o.nowMs());
    const proposals: Array<Promise<unknown>> = [];
    // acks=1 (and acks=0, which sends no answer): done once each batch is durable in this leader's
    // log; a batch that applies first (it cannot without being durable here) or fails settles it too.
    const durable: Array<Promise<unknown>> = [];
    let firstOffset: bigint | undefined;
    for (let k = 0; k < slices.length; k++) {
      const c = checks[k] as (typeof checks)[number];
      const h = headers[k] as RecordBatchHeader;
      if (c.kind === 'duplicate') {
        firstOffset ??= c.baseOffset;
        continue;
      }
      const baseOffset = this.cursor;
      const data = assignRecordBatch((slices[k] as (typeof slices)[number]).bytes, {
        baseOffset,
        partitionLeaderEpoch: this.leaderTerm,
        ...(this.config.logAppendTime ? { logAppendTimeMs: now } : {}),
      });
      // Synchronous from the leadership check to here: the entry lands in this leader's log right
      // after the previous one, so its offsets follow the last batch in the log.
      let onPersisted: (() => void) | undefined;
      const persisted = acks === -1 ? undefined : new Promise<void>((resolve) => (onPersisted = resolve));
      const p = this.o.host.propose(this.groupId, data, timeoutMs, onPersisted ? { onPersisted } : {});
      this.cursor = baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      firstOffset ??= baseOffset;
      this.pendingProposals++;
      const tracked = p.finally(() => {
        this.pendingProposals--;
      });
      proposals.push(tracked);
      if (persisted) durable.push(Promise.race([persisted, tracked]));
      if (h.producerId >= 0n && !h.isControl && h.baseSequence >= 0) {
        // The index is not known synchronously; the host assigns the next one. Use +Infinity until it
        // is applied (pruned by producer id match below).
        this.trackInflight(h, tracked);
      }
    }
    const done = Promise.all(acks === -1 ? proposals : durable);
    try {
      await (this.leadership ? Promise.race([done, this.leadership.ended]) : done);
    } catch (e) {
      throw proposalError(e, `produce to ${this.topic}-${this.partition}`);
    }
    return {
      baseOffset: firstOffset ?? -1n,
      logAppendTimeMs: this.config.logAppendTime ? now : -1n,
      logStartOffset: this.logStart,
    };
  }

  private trackInflight(h: RecordBatchHeader, done: Promise<unknown>): void {
    const f: InflightBatch = {
      raftIndex: Number.MAX_SAFE_INTEGER,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      firstSeq: h.baseSequence,
      lastSeq: nextSeq(h.baseSequence, h.lastOffsetDelta),
    };
    this.inflight.push(f);
    const drop = (): void => {
      const i = this.inflight.indexOf(f);
      if (i >= 0) this.inflight.splice(i, 1);
    };
    done.then(drop, drop);
  }

  /** DeleteRecords: replicates a new log start offset (-1: the high watermark). */
  async deleteRecords(offset: bigint, timeoutMs: number): Promise<bigint> {
    this.checkLeader();
    const target = offset === -1n ? this.hw : offset;
    if (target < 0n || target > this.hw)
      throw new KafkaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is beyond the high watermark ${this.hw}`);
    if (target <= this.logStart) return this.logStart;
    try {
      await this.o.host.propose(this.groupId, logStartCommand(target), timeoutMs);
    } catch (e) {
      throw proposalError(e, `delete records of ${this.topic}-${this.partition}`);
    }
    return this.logStart;
  }

  /**
   * The log start offset retention asks for now (retention.ms, retention.bytes; whole batches from
   * the front, never past the high watermark, at most RETENTION_SCAN_BATCHES looked at), or
   * undefined when nothing expires.
   */
  retentionTarget(nowMs: number): bigint | undefined {
    const { retentionMs, retentionBytes } = this.config;
    if (retentionMs < 0 && retentionBytes < 0) return undefined;
    let total = this.indexedBytes;
    let n = 0;
    const limit = Math.min(this.batches.length, RETENTION_SCAN_BATCHES);
    while (n < limit) {
      const b = this.batches[n] as BatchMeta;
      if (b.lastOffset >= this.hw) break;
      const tooOld = retentionMs >= 0 && b.maxTimestamp >= 0n && b.maxTimestamp < BigInt(nowMs - retentionMs);
      const tooBig = retentionBytes >= 0 && total > retentionBytes;
      if (!tooOld && !tooBig) break;
      total -= b.bytes;
      n++;
    }
    if (n === 0) return undefined;
    const target = (this.batches[n - 1] as BatchMeta).lastOffset + 1n;
    return target > this.logStart ? target : undefined;
  }

  /**
   * On the leader: proposes the log start offset retention asks for, as the replicated control
   * entry DeleteRecords uses (one proposal in flight per partition). Never throws.
   */
  enforceRetention(nowMs: number, timeoutMs: number): void {
    if (!this.isLeader() || !this.leaderReady || this.retentionInFlight || this.transferring) return;
    const target = this.retentionTarget(nowMs);
    if (target === undefined) return;
    this.retentionInFlight = true;
    this.o.host
      .propose(this.groupId, logStartCommand(target), timeoutMs)
      .then(
        () =>
          this.o.logger.info(
            { topic: this.topic, partition: this.partition, logStartOffset: String(this.logStart) },
            'retention moved the log start offset',
          ),
        (e: unknown) =>
          this.o.logger.debug(
            { topic: this.topic, partition: this.partition, err: e instanceof Error ? e.message : String(e) },
            'retention proposal failed; retried on the next check',
          ),
      )
      .finally(() => {
        this.retentionInFlight = false;
      });
  }

  // ------------------------------------------------------------------ reads (leader)

  private wake(): void {
    if (this.watchers.size === 0) return;
    const ws = [...this.watchers];
    this.watchers.clear();
    for (const w of ws) w();
  }

  watch(onData: () => void): () => void {
    this.watchers.add(onData);
    return () => this.watchers.delete(onData);
  }

  private findBatch(offset: bigint): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.batches[mid] as BatchMeta).lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private latestEpoch(): number {
    return this.epochs[this.epochs.length - 1]?.epoch ?? -1;
  }

  /** Batches [from, to) of the index, read from the Raft log within maxBytes (the first always whole). */
  private readBatches(from: number, to: number, maxBytes: number): Buffer[] {
    const log = groupLog(this.o.host, this.groupId);
    if (log === undefined || from >= to) return [];
    const first = (this.batches[from] as BatchMeta).raftIndex;
    const last = (this.batches[to - 1] as BatchMeta).raftIndex;
    const out: Buffer[] = [];
    let bytes = 0;
    let i = first;
    while (i <= last) {
      const entries = log.entries(i, last + 1, Math.max(1, maxBytes - bytes));
      if (entries.length === 0) break;
      for (const e of entries) {
        i = e.index + 1;
        if (e.type !== 0 || e.data.length === 0 || e.data[0] === CONTROL_PREFIX) continue;
        if (out.length > 0 && bytes + e.data.length > maxBytes) return out;
        out.push(asBuffer(e.data));
        bytes += e.data.length;
      }
      if (bytes >= maxBytes) break;
    }
    return out;
  }

  read(fetchOffset: bigint, maxBytes: number): ReadResult {
    const base = {
      highWatermark: this.hw,
      lastStableOffset: this.hw,
      logStartOffset: this.logStart,
      leaderEpoch: this.term,
    };
    if (fetchOffset < this.logStart || fetchOffset > this.hw) {
      throw new KafkaError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${fetchOffset} is outside [${this.logStart}, ${this.hw}]`,
      );
    }
    if (fetchOffset === this.hw) return { ...base, chunks: [], bytes: 0 };
    const from = this.findBatch(fetchOffset);
    // Bound the index range by bytes cheaply: the log read stops at maxBytes anyway.
    const to = Math.min(this.batches.length, from + 4096);
    const chunks = this.readBatches(from, to, maxBytes);
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    return { ...base, chunks, bytes };
  }

  listOffset(timestamp: bigint): ListOffsetResult {
    const epoch = this.term;
    if (timestamp === ListOffsetsTimestamp.LATEST)
      return { offset: this.hw, timestamp: -1n, leaderEpoch: epoch };
    if (timestamp === ListOffsetsTimestamp.EARLIEST || timestamp === ListOffsetsTimestamp.EARLIEST_LOCAL) {
      return { offset: this.logStart, timestamp: -1n, leaderEpoch: this.epochAt(this.logStart) };
    }
    if (timestamp === ListOffsetsTimestamp.MAX_TIMESTAMP) {
      if (this.batches.length === 0 || this.maxTimestampSeen.baseOffset < this.logStart)
        return { offset: -1n, timestamp: -1n, leaderEpoch: -1 };
      const i = this.findBatch(this.maxTimestampSeen.baseOffset);
      return (
        this.recordAtOrAfter(i, this.maxTimestampSeen.timestamp, true) ?? {
          offset: this.maxTimestampSeen.baseOffset,
          timestamp: this.maxTimestampSeen.timestamp,
          leaderEpoch: this.epochAt(this.maxTimestampSeen.baseOffset),
        }
      );
    }
    if (timestamp < 0n)
      throw new KafkaError('INVALID_REQUEST', `unsupported ListOffsets timestamp ${timestamp}`);
    for (let i = this.findBatch(this.logStart); i < this.batches.length; i++) {
      const b = this.batches[i] as BatchMeta;
      if (b.maxTimestamp >= timestamp) {
        const found = this.recordAtOrAfter(i, timestamp, false);
        if (found) return found;
      }
    }
    return { offset: -1n, timestamp: -1n, leaderEpoch: -1 };
  }

  private recordAtOrAfter(i: number, ts: bigint, exact: boolean): ListOffsetResult | undefined {
    const b = this.batches[i] as BatchMeta | undefined;
    if (b === undefined) return undefined;
    const [data] = this.readBatches(i, i + 1, 1);
    if (data === undefined) return undefined;
    for (const r of decodeRecordBatch(data).records) {
      if (r.offset < this.logStart) continue;
      if (exact ? r.timestampMs === ts : r.timestampMs >= ts)
        return { offset: r.offset, timestamp: r.timestampMs, leaderEpoch: b.epoch };
    }
    return undefined;
  }

  private epochAt(offset: bigint): number {
    let e = -1;
    for (const x of this.epochs) if (x.startOffset <= offset) e = x.epoch;
    return e;
  }

  /** Kafka's OffsetForLeaderEpoch on the leader: the end offset of `epoch`. */
  offsetForLeaderEpoch(epoch: number): { leaderEpoch: number; endOffset: bigint } {
    const latest = this.latestEpoch();
    if (epoch >= this.term || (latest >= 0 && epoch >= latest))
      return { leaderEpoch: Math.max(this.term, latest), endOffset: this.hw };
    let found = -1;
    for (let k = 0; k < this.epochs.length; k++)
      if ((this.epochs[k] as { epoch: number }).epoch <= epoch) found = k;
    if (found < 0) return { leaderEpoch: -1, endOffset: -1n };
    const next = this.epochs[found + 1] as { startOffset: bigint } | undefined;
    return {
      leaderEpoch: (this.epochs[found] as { epoch: number }).epoch,
      endOffset: next?.startOffset ?? this.hw,
    };
  }

  describeProducers(): ProducerStateView[] {
    return this.producers.describe();
  }

  batchCount(): number {
    return this.batches.length;
  }

  close(): void {
    this.closed = true;
    this.leaderReady = false;
    this.wake();
  }
}
