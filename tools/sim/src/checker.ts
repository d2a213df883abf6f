// The invariants, checked while the run goes (after every event, and on every answer a client gets)
// and once more over the final state. Each violation names the partition, the offsets or epochs
// involved and the virtual time, so the seed's trace can be read around it.
//
// - leader-per-epoch: at most one node leads a partition in a given leader epoch (Raft term).
// - hw-regressed: the high watermark a client was shown (or a ready leader holds) never goes back —
//   not on the same leader, not on any later one (a higher epoch).
// - committed-changed: an offset read at or below the high watermark always holds the same record.
// - acked-lost / acked-moved: every acks=all batch is readable at the offset it was acknowledged
//   with (mid-run reads and the final read).
// - offset-hole: the final log is contiguous from its start offset to the high watermark.
// - duplicate: an idempotent producer's record is in the log at most once.
// - read-past-hw: a read never returns a batch at or above the high watermark it reports.
// - out-of-range: a fetch at an offset the client was shown as published is never out of range
//   (for a client that sends its current leader epoch, KIP-320: a deposed leader that has not
//   noticed yet fences it instead; an old client sending none may meet such a leader's shorter log).
// - phantom: every record read (mid-run or in the final log) is one a client sent: nothing becomes
//   visible that was not written (acks=0 batches included: the client never learns their fate).
// - topic-reborn: a topic created again under a used name has a new topic id, and its log holds
//   only records sent to that incarnation (it starts empty at offset 0: log start 0 and no record
//   of an earlier incarnation). Each incarnation is checked as a partition of its own
//   (`incarnationKey`).
// - topic-not-deleted: after the calm, no node keeps a replica of a topic its metadata deleted.
// - log-start: ListOffsets' earliest (the log start offset) never goes back (at the same or a later
//   leader epoch) and never passes an offset the workload did not delete: only DeleteRecords moves
//   it here (retention is far off), so an earliest above it would hide acknowledged records.
// - epoch-end-offset: OffsetForLeaderEpoch(E) answers (L, O) consistent with the epochs of the
//   committed records read so far: every record written in an epoch <= E is below O, every one
//   written in a later epoch at or above O, and L (the largest epoch <= E in the log) is not below
//   the epoch of any such record.
// - liveness: with faults healed, every partition serves (a ready leader, an acks=all produce
//   answered, every replica caught up) within a bound of virtual time.
// - replica-stopped: once the faults healed and every node restarted, no replica reports a problem
//   (stopped on a broken invariant, damaged, not opened).
// - replicas-differ: after a clean stop, every Raft group's log (metadata, partitions, offsets) is
//   identical on its replicas up to the smallest stored commit index (term, type, bytes).
// - offset-regressed: committed consumer offsets never go back. Each (group, topic, partition) is a
//   register, and OffsetFetch must read it linearizably: an answer may be the last commit that took
//   effect before the fetch was sent, or one that could have taken effect later (still in flight,
//   or answered with an error: its outcome is unknown). A commit C is older than D when C took effect
//   (its acknowledgement, or the first answer that showed it) before D was sent; an answer that
//   shows C, or nothing, when such a D took effect before the fetch was sent went back. Each commit
//   carries a metadata string naming it, so an answer names the commit it shows: a client that
//   commits a lower offset on purpose is no regression.
// - offset-phantom: an OffsetFetch shows a commit no client sent, another offset than the one that
//   commit named, or a commit the coordinator refused (a stale generation, a loading coordinator).
// - group-generation: one generation of a consumer group has one leader, and the assignment a
//   member gets in SyncGroup is the one that leader wrote for that generation.
// - stale-generation: once an assignment of generation G was given out (SyncGroup answered: the
//   group's metadata is durable), no commit with a generation below G is acknowledged.
import { splitRecordBatches } from '@chronik/protocol';
import { decodeRecordBatch } from '@chronik/protocol';
import type { EventQueue } from './event-queue.js';

export type ViolationKind =
  | 'leader-per-epoch'
  | 'hw-regressed'
  | 'committed-changed'
  | 'acked-lost'
  | 'acked-moved'
  | 'offset-hole'
  | 'duplicate'
  | 'out-of-range'
  | 'read-past-hw'
  | 'log-start'
  | 'phantom'
  | 'topic-reborn'
  | 'topic-not-deleted'
  | 'epoch-end-offset'
  | 'liveness'
  | 'replica-stopped'
  | 'replicas-differ'
  | 'offset-regressed'
  | 'offset-phantom'
  | 'group-generation'
  | 'stale-generation'
  | 'crash';

export interface Violation {
  kind: ViolationKind;
  atMs: number;
  detail: string;
}

/** A record as read back: its offset and value. */
export interface ReadRecord {
  offset: bigint;
  value: string;
  producerId: bigint;
  /** The leader epoch that wrote its batch (the batch's partitionLeaderEpoch). */
  epoch: number;
}

/** An acknowledged produce (one record per batch). */
export interface Ack {
  tp: string;
  offset: bigint;
  value: string;
  acks: -1 | 1;
  idempotent: boolean;
  atMs: number;
}

/** One partition's offset in an OffsetCommit, as the checker follows it. */
interface OffsetCommit {
  /** The register: `group/topic-partition`. */
  key: string;
  /** Its metadata string, which names it. */
  id: string;
  offset: bigint;
  leaderEpoch: number;
  /** Checker ticks: when it was sent, and by when it surely took effect (its acknowledgement, or the first answer that showed it). */
  sentAt: number;
  doneAt: number;
  state: 'pending' | 'acked' | 'unknown' | 'refused';
  source: string;
}

/**
 * Errors an OffsetCommit is refused with before anything is written: such a commit never takes
 * effect. Every other error (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE after a timeout, a dropped
 * connection) leaves its outcome unknown: the append may still commit.
 */
const COMMIT_REFUSALS = new Set([
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'OFFSET_METADATA_TOO_LARGE',
  'INVALID_COMMIT_OFFSET_SIZE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_GROUP_ID',
]);

/** The assignment a group's leader hands out in the simulation: who wrote it, for which generation. */
export function encodeAssignment(leader: string, generation: number, partitions: readonly number[]): Buffer {
  return Buffer.from(`${leader}|${generation}|${partitions.join(',')}`);
}

export function decodeAssignment(
  bytes: Uint8Array,
): { leader: string; generation: number; partitions: number[] } | undefined {
  const parts = Buffer.from(bytes).toString('utf8').split('|');
  if (parts.length !== 3) return undefined;
  const [leader = '', gen = '', list = ''] = parts;
  return {
    leader,
    generation: Number(gen),
    partitions: list === '' ? [] : list.split(',').map(Number),
  };
}

/**
 * The checker's name for a partition: `topic-partition` for the run's main topic, and for a topic
 * the workload creates and deletes, the incarnation too (`topic#<first 8 hex of its id>-partition`):
 * a deleted and recreated topic is another log.
 */
export function incarnationKey(topic: string, topicId: string, partition: number, main: string): string {
  return topic === main ? `${topic}-${partition}` : `${topic}#${topicId.slice(0, 8)}-${partition}`;
}

/** Decodes the batches of a read answer into records, in log order. */
export function recordsOf(chunks: readonly Buffer[]): {
  records: ReadRecord[];
  batches: Array<[bigint, bigint]>;
} {
  const records: ReadRecord[] = [];
  const batches: Array<[bigint, bigint]> = [];
  for (const chunk of chunks)
    for (const slice of splitRecordBatches(chunk)) {
      const b = decodeRecordBatch(slice.bytes);
      const base = b.header.baseOffset;
      batches.push([base, base + BigInt(b.header.lastOffsetDelta)]);
      for (const r of b.records)
        records.push({
          offset: r.offset,
          value: r.value?.toString('utf8') ?? '',
          producerId: b.header.producerId,
          epoch: b.header.partitionLeaderEpoch,
        });
    }
  return { records, batches };
}

export class Checker {
  readonly violations: Violation[] = [];
  /** Partition → leader epoch → the node seen leading it. */
  private readonly leaders = new Map<string, Map<number, number>>();
  /** Partition → leader epoch → highest high watermark observed at that epoch. */
  private readonly hws = new Map<string, Map<number, bigint>>();
  /** Partition → offset → value read there at or below the high watermark. */
  private readonly committed = new Map<string, Map<bigint, string>>();
  /** Acknowledged acks=all batches, by partition. */
  readonly acked = new Map<string, Ack[]>();
  ackCount = { all: 0, one: 0 };
  /** Values of idempotent records (for the duplicate check). */
  readonly idempotentValues = new Set<string>();
  private readonly seenKeys = new Set<string>();
  /** Partition → leader epoch → the lowest and highest committed offset read that it wrote. */
  private readonly epochOffsets = new Map<string, Map<number, { min: bigint; max: bigint }>>();
  /** Partition → leader epoch → highest log start offset shown at that epoch. */
  private readonly starts = new Map<string, Map<number, bigint>>();
  /** Partition → the highest offset the workload asked DeleteRecords to delete below (0: none). */
  readonly deletedBelow = new Map<string, bigint>();
  /** Every record value a client sent (the phantom check). */
  private readonly sentValues = new Set<string>();
  /** Orders the group operations: a tick at every send and every answer (the queue runs one thing at a time). */
  private ticks = 0;
  /** Offset commits by register (in the order sent), and by id. */
  private readonly commits = new Map<string, OffsetCommit[]>();
  private readonly commitsById = new Map<string, OffsetCommit>();
  /** Group → generation → the leader whose assignment was given out in it. */
  private readonly generationLeaders = new Map<string, Map<number, string>>();
  /** Group → generation → the tick its first assignment was given out (the group's metadata durable). */
  private readonly durableGenerations = new Map<string, Map<number, number>>();

  constructor(private readonly queue: EventQueue) {}

  fail(kind: ViolationKind, detail: string): void {
    // One line per distinct finding: a lasting fault is reported once, not after every event.
    const key = `${kind} ${detail}`;
    if (this.seenKeys.has(key)) return;
    this.seenKeys.add(key);
    this.violations.push({ kind, atMs: this.queue.elapsed(), detail });
    this.queue.note('checker', `VIOLATION ${kind} ${detail}`);
  }

  /** Node `node` leads `tp` in `epoch`. */
  leader(tp: string, epoch: number, node: number): void {
    let m = this.leaders.get(tp);
    if (m === undefined) this.leaders.set(tp, (m = new Map()));
    const prior = m.get(epoch);
    if (prior === undefined) m.set(epoch, node);
    else if (prior !== node)
      this.fail('leader-per-epoch', `${tp} epoch ${epoch} led by node ${prior} and node ${node}`);
  }

  /** A high watermark `hw` shown at leader epoch `epoch` (by a ready leader or in a read answer). */
  hw(tp: string, epoch: number, hw: bigint, source: string): void {
    let m = this.hws.get(tp);
    if (m === undefined) this.hws.set(tp, (m = new Map()));
    for (const [e, h] of m)
      if (e <= epoch && h > hw)
        this.fail(
          'hw-regressed',
          `${tp}: ${source} shows high watermark ${hw} at epoch ${epoch}; ${h} was shown at epoch ${e}`,
        );
    if ((m.get(epoch) ?? -1n) < hw) m.set(epoch, hw);
  }

  /** The newest leader epoch seen for `tp` (what a client's fresh metadata says), or -1. */
  leaderEpoch(tp: string): number {
    let max = -1;
    for (const e of this.leaders.get(tp)?.keys() ?? []) if (e > max) max = e;
    return max;
  }

  /** Highest high watermark shown for `tp` so far (-1 if none). */
  maxHw(tp: string): bigint {
    let max = -1n;
    for (const h of this.hws.get(tp)?.values() ?? []) if (h > max) max = h;
    return max;
  }

  /** A client sends a record with value `value` (before the request leaves). */
  sent(value: string): void {
    this.sentValues.add(value);
  }

  private notPhantom(tp: string, r: ReadRecord, source: string): void {
    if (!this.sentValues.has(r.value))
      this.fail(
        'phantom',
        `${tp}: ${source} shows ${JSON.stringify(r.value)} at ${r.offset}, which no client sent`,
      );
  }

  /** Topic ids seen created, with the name they were created under. */
  private readonly topicIds = new Map<string, string>();

  /** A CreateTopics answered `topicId` for `name`: ids are never reused. */
  topicCreated(name: string, topicId: string, source: string): void {
    const prior = this.topicIds.get(topicId);
    if (prior !== undefined)
      this.fail(
        'topic-reborn',
        `${source}: topic ${name} was created with id ${topicId}, already given to ${prior}`,
      );
    this.topicIds.set(topicId, name);
  }

  /** Records read from incarnation `key` of a recreated topic: each was sent to that incarnation. */
  incarnationRead(key: string, records: readonly ReadRecord[], logStart: bigint, source: string): void {
    const prefix = key.slice(0, key.lastIndexOf('-')) + ':';
    for (const r of records)
      if (!r.value.startsWith(prefix))
        this.fail(
          'topic-reborn',
          `${key}: ${source} shows ${r.value} at ${r.offset}, sent to another incarnation`,
        );
    if (logStart !== 0n) this.fail('topic-reborn', `${key}: ${source} shows log start ${logStart}, not 0`);
  }

  ack(a: Ack): void {
    if (a.acks === 1) {
      this.ackCount.one++;
      return;
    }
    this.ackCount.all++;
    let list = this.acked.get(a.tp);
    if (list === undefined) this.acked.set(a.tp, (list = []));
    list.push(a);
    // The record's offset is committed: what was read there before must be this record.
    this.committedAt(a.tp, a.offset, a.value, `acks=all produce answered at ${a.offset}`);
  }

  private committedAt(tp: string, offset: bigint, value: string, source: string): void {
    let m = this.committed.get(tp);
    if (m === undefined) this.committed.set(tp, (m = new Map()));
    const prior = m.get(offset);
    if (prior === undefined) m.set(offset, value);
    else if (prior !== value)
      this.fail('committed-changed', `${tp} offset ${offset}: ${source} gives ${value}, earlier ${prior}`);
  }

  /** A read answer: every record is below the high watermark, so committed. */
  read(
    tp: string,
    fetchOffset: bigint,
    hw: bigint,
    epoch: number,
    chunks: readonly Buffer[],
    source: string,
  ): ReadRecord[] {
    this.hw(tp, epoch, hw, source);
    const { records, batches } = recordsOf(chunks);
    let prevLast: bigint | undefined;
    for (const [base, last] of batches) {
      if (prevLast !== undefined && base !== prevLast + 1n)
        this.fail('offset-hole', `${tp}: ${source} from ${fetchOffset} has batch ${base} after ${prevLast}`);
      if (last >= hw)
        this.fail(
          'read-past-hw',
          `${tp}: ${source} returned offset ${last} at or above its high watermark ${hw}`,
        );
      prevLast = last;
    }
    for (const r of records) {
      this.notPhantom(tp, r, source);
      this.committedAt(tp, r.offset, r.value, source);
      this.epochWrote(tp, r.epoch, r.offset);
    }
    return records;
  }

  private epochWrote(tp: string, epoch: number, offset: bigint): void {
    let m = this.epochOffsets.get(tp);
    if (m === undefined) this.epochOffsets.set(tp, (m = new Map()));
    const r = m.get(epoch);
    if (r === undefined) m.set(epoch, { min: offset, max: offset });
    else {
      if (offset < r.min) r.min = offset;
      if (offset > r.max) r.max = offset;
    }
  }

  /** ListOffsets latest: the leader's high watermark at its epoch. */
  listLatest(tp: string, epoch: number, offset: bigint, source: string): void {
    this.hw(tp, epoch, offset, `${source} (ListOffsets latest)`);
  }

  /** ListOffsets earliest: the log start offset, shown by a leader of `epoch`. */
  listEarliest(tp: string, epoch: number, offset: bigint, source: string): void {
    let m = this.starts.get(tp);
    if (m === undefined) this.starts.set(tp, (m = new Map()));
    for (const [e, s] of m)
      if (e <= epoch && s > offset)
        this.fail(
          'log-start',
          `${tp}: ${source} shows log start ${offset} at epoch ${epoch}; ${s} was shown at epoch ${e}`,
        );
    if ((m.get(epoch) ?? -1n) < offset) m.set(epoch, offset);
    const deleted = this.deletedBelow.get(tp) ?? 0n;
    if (offset > deleted) {
      const lost = (this.acked.get(tp) ?? []).find((a) => a.offset >= deleted && a.offset < offset);
      this.fail(
        'log-start',
        `${tp}: ${source} shows log start ${offset}; nothing deleted past ${deleted}${lost !== undefined ? ` (acks=all record ${lost.value} at ${lost.offset} is gone)` : ''}`,
      );
    }
  }

  /** OffsetForLeaderEpoch(`requested`) answered (`leaderEpoch`, `endOffset`) by the current leader. */
  epochEnd(tp: string, requested: number, leaderEpoch: number, endOffset: bigint, source: string): void {
    if (endOffset < 0n) return;
    const deleted = this.deletedBelow.get(tp) ?? 0n;
    for (const [e, r] of this.epochOffsets.get(tp) ?? []) {
      // Records that may have been deleted no longer bound the answer: Kafka keeps the epochs of
      // the retained log only (the first one may be moved up to the log start).
      if (r.min < deleted) continue;
      const what = `${tp}: ${source}: OffsetForLeaderEpoch(${requested}) = (epoch ${leaderEpoch}, end ${endOffset}), but epoch ${e} wrote committed offsets ${r.min}..${r.max}`;
      if (e <= requested && (r.max >= endOffset || leaderEpoch < e)) this.fail('epoch-end-offset', what);
      if (e > requested && r.min < endOffset) this.fail('epoch-end-offset', what);
    }
  }

  /** A fetch refused with OFFSET_OUT_OF_RANGE at `offset`. */
  outOfRange(tp: string, offset: bigint, source: string): void {
    // Below the log start a fetch is out of range (Kafka: the consumer resets to the earliest
    // offset); the log start may be anywhere up to the highest offset DeleteRecords was asked for.
    if (offset < (this.deletedBelow.get(tp) ?? 0n)) return;
    if (offset <= this.maxHw(tp))
      this.fail(
        'out-of-range',
        `${tp}: ${source} at ${offset} is out of range; high watermark ${this.maxHw(tp)} was shown`,
      );
  }

  /** A tick of the group operations' order (taken when a request leaves or an answer arrives). */
  tick(): number {
    return ++this.ticks;
  }

  /** Registers of committed offsets the workload wrote to. */
  offsetKeys(): string[] {
    return [...this.commits.keys()];
  }

  /** An OffsetCommit of `offset` to register `key`, named `id`, leaves now (before the coordinator sees it). */
  commitSent(key: string, id: string, offset: bigint, leaderEpoch: number, source: string): void {
    const c: OffsetCommit = {
      key,
      id,
      offset,
      leaderEpoch,
      sentAt: this.tick(),
      doneAt: Number.POSITIVE_INFINITY,
      state: 'pending',
      source,
    };
    let list = this.commits.get(key);
    if (list === undefined) this.commits.set(key, (list = []));
    list.push(c);
    this.commitsById.set(id, c);
  }

  /** The answer to commit `id`: NONE, a refusal (never takes effect), or any other error (unknown). */
  commitAnswered(id: string, error: string): void {
    const c = this.commitsById.get(id);
    if (c === undefined || c.state !== 'pending') return;
    if (error === 'NONE') {
      c.state = 'acked';
      c.doneAt = Math.min(c.doneAt, this.tick());
    } else if (COMMIT_REFUSALS.has(error)) {
      c.state = 'refused';
      if (Number.isFinite(c.doneAt))
        this.fail(
          'offset-phantom',
          `${c.key}: commit ${c.id} (offset ${c.offset}, ${c.source}) was refused with ${error}, but an OffsetFetch showed it`,
        );
    } else c.state = 'unknown';
  }

  /**
   * OffsetFetch of register `key`, sent at tick `sentAt`, answered `shown` (undefined: no committed
   * offset). See offset-regressed and offset-phantom in the header.
   */
  offsetFetched(
    key: string,
    sentAt: number,
    shown: { offset: bigint; leaderEpoch: number; metadata: string } | undefined,
    source: string,
  ): void {
    const list = this.commits.get(key) ?? [];
    const now = this.tick();
    if (shown === undefined) {
      const done = list.find((d) => d.doneAt < sentAt);
      if (done !== undefined)
        this.fail(
          'offset-regressed',
          `${key}: ${source} shows no committed offset; commit ${done.id} (offset ${done.offset}, ${done.source}) took effect before it was sent`,
        );
      return;
    }
    const c = this.commitsById.get(shown.metadata);
    if (
      c === undefined ||
      c.key !== key ||
      c.offset !== shown.offset ||
      c.leaderEpoch !== shown.leaderEpoch
    ) {
      this.fail(
        'offset-phantom',
        `${key}: ${source} shows offset ${shown.offset} (leader epoch ${shown.leaderEpoch}, metadata ${JSON.stringify(shown.metadata)}), which no client committed${c !== undefined ? ` (that commit named ${c.key} offset ${c.offset} epoch ${c.leaderEpoch})` : ''}`,
      );
      return;
    }
    if (c.state === 'refused') {
      this.fail(
        'offset-phantom',
        `${key}: ${source} shows commit ${c.id} (offset ${c.offset}, ${c.source}), which the coordinator refused`,
      );
      return;
    }
    const newer = list.find((d) => d !== c && d.sentAt > c.doneAt && d.doneAt < sentAt);
    if (newer !== undefined)
      this.fail(
        'offset-regressed',
        `${key}: ${source} shows offset ${c.offset} (commit ${c.id}, ${c.source}); commit ${newer.id} of offset ${newer.offset} (${newer.source}) was sent after that one took effect, and took effect before this fetch was sent`,
      );
    c.doneAt = Math.min(c.doneAt, now);
  }

  /**
   * Member `member` of `group` got its assignment for `generation` (SyncGroup answered NONE), having
   * been told in JoinGroup that `leader` leads it.
   */
  assignmentReceived(
    group: string,
    generation: number,
    leader: string,
    assignment: Uint8Array,
    member: string,
  ): void {
    const a = decodeAssignment(assignment);
    const where = `${group} generation ${generation}`;
    if (a === undefined || a.generation !== generation || a.leader !== leader)
      this.fail(
        'group-generation',
        `${where}: ${member} was told ${leader} leads, and got the assignment ${JSON.stringify(Buffer.from(assignment).toString('utf8'))}`,
      );
    let leaders = this.generationLeaders.get(group);
    if (leaders === undefined) this.generationLeaders.set(group, (leaders = new Map()));
    const prior = leaders.get(generation);
    if (prior === undefined) leaders.set(generation, leader);
    else if (prior !== leader)
      this.fail(
        'group-generation',
        `${where}: assignments were given out from leaders ${prior} and ${leader}`,
      );
    let durable = this.durableGenerations.get(group);
    if (durable === undefined) this.durableGenerations.set(group, (durable = new Map()));
    if (!durable.has(generation)) durable.set(generation, this.tick());
  }

  /** A commit of `group` with `generation`, sent at tick `sentAt`, was acknowledged. */
  generationCommitted(group: string, generation: number, sentAt: number, source: string): void {
    for (const [g, at] of this.durableGenerations.get(group) ?? [])
      if (g > generation && at < sentAt)
        this.fail(
          'stale-generation',
          `${group}: ${source} with generation ${generation} was acknowledged; generation ${g} had given out its assignments before it was sent`,
        );
  }

  /** The whole final log of `tp` (from its start offset), read from its leader. */
  finalLog(
    tp: string,
    logStart: bigint,
    hw: bigint,
    records: readonly ReadRecord[],
    batches: ReadonlyArray<[bigint, bigint]>,
  ): void {
    let expect = logStart;
    for (const [base, last] of batches) {
      if (base !== expect)
        this.fail('offset-hole', `${tp}: final log has batch ${base}..${last} where ${expect} was next`);
      expect = last + 1n;
    }
    if (expect !== hw) this.fail('offset-hole', `${tp}: final log ends at ${expect}, high watermark ${hw}`);
    const at = new Map<bigint, string>();
    const count = new Map<string, number>();
    for (const r of records) {
      at.set(r.offset, r.value);
      count.set(r.value, (count.get(r.value) ?? 0) + 1);
    }
    this.listEarliest(tp, Number.MAX_SAFE_INTEGER, logStart, 'the final read');
    for (const a of this.acked.get(tp) ?? []) {
      // Below the log start, acknowledged records were deleted (DeleteRecords; listEarliest checks
      // that the log start is not past what was asked for).
      if (a.offset < logStart) continue;
      const v = at.get(a.offset);
      if (v === undefined)
        this.fail(
          'acked-lost',
          `${tp}: acks=all record ${a.value} acknowledged at ${a.offset} (t=${a.atMs}ms) is not in the final log`,
        );
      else if (v !== a.value)
        this.fail(
          'acked-moved',
          `${tp}: offset ${a.offset} holds ${v}, acks=all record ${a.value} was acknowledged there`,
        );
    }
    for (const [value, n] of count)
      if (n > 1 && this.idempotentValues.has(value))
        this.fail('duplicate', `${tp}: idempotent record ${value} is in the log ${n} times`);
    const maxSeen = this.maxHw(tp);
    if (hw < maxSeen)
      this.fail('hw-regressed', `${tp}: final high watermark ${hw} is below ${maxSeen}, shown earlier`);
    for (const r of records) {
      this.notPhantom(tp, r, 'the final read');
      this.committedAt(tp, r.offset, r.value, 'the final read');
    }
  }
}
