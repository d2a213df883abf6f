// What a leader knows about each peer's log, and how quorums are counted.
import { RaftError, RaftErrorCode } from '../errors.js';
import { ProgressState } from '../types.js';
import type { ConfState, ProgressStatus } from '../types.js';

/**
 * The in-flight MsgApp window of one follower: a ring of (last index, bytes) per message.
 * Invariant: count <= capacity; bytes === sum of the ring's sizes.
 */
export class Inflights {
  private start = 0;
  count = 0;
  bytes = 0;
  private readonly capacity: number;
  private readonly maxBytes: number;
  private indexes: number[] = [];
  private sizes: number[] = [];

  constructor(capacity: number, maxBytes: number) {
    this.capacity = capacity;
    this.maxBytes = maxBytes;
  }

  clone(): Inflights {
    const c = new Inflights(this.capacity, this.maxBytes);
    for (let k = 0; k < this.count; k++) {
      const at = (this.start + k) % this.capacity;
      c.add(this.indexes[at] as number, this.sizes[at] as number);
    }
    return c;
  }

  add(index: number, bytes: number): void {
    if (this.full())
      throw new RaftError(RaftErrorCode.InvariantViolated, 'cannot add into a full inflights window');
    let at = this.start + this.count;
    if (at >= this.capacity) at -= this.capacity;
    // The ring grows lazily, so idle followers with large windows cost nothing.
    if (at >= this.indexes.length) {
      this.indexes.push(index);
      this.sizes.push(bytes);
    } else {
      this.indexes[at] = index;
      this.sizes[at] = bytes;
    }
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every in-flight message whose last index is <= to. */
  freeLE(to: number): void {
    if (this.count === 0 || to < (this.indexes[this.start] as number)) return;
    let idx = this.start;
    let i = 0;
    let freed = 0;
    for (; i < this.count; i++) {
      if (to < (this.indexes[idx] as number)) break;
      freed += this.sizes[idx] as number;
      idx++;
      if (idx >= this.capacity) idx -= this.capacity;
    }
    this.count -= i;
    this.bytes -= freed;
    this.start = this.count === 0 ? 0 : idx;
  }

  /** Frees the oldest in-flight message (its answer is presumed lost). */
  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.indexes[this.start] as number);
  }

  full(): boolean {
    return this.count === this.capacity || (this.maxBytes !== 0 && this.bytes >= this.maxBytes);
  }

  reset(): void {
    this.count = 0;
    this.start = 0;
    this.bytes = 0;
  }
}

/**
 * The leader's view of one follower. Invariant: match < next; in Snapshot state pendingSnapshot > 0.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** The snapshot index being sent while in Snapshot state. */
  pendingSnapshot = 0;
  /** LeaseBased: the leader's tick at which it sent the latest heartbeat this peer acknowledged (0: none). */
  leaseAckTick = 0;
  /** Heard from since the last check-quorum round; true for new peers. */
  recentActive = true;
  /** Probe state: one MsgApp was sent and its answer is awaited (or a heartbeat interval passes). */
  msgAppFlowPaused = false;
  inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records a MsgApp carrying `entries` entries of `bytes` bytes starting at `nextIndex`. */
  sentEntries(entries: number, bytes: number, nextIndex: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        const last = nextIndex + entries - 1;
        this.next = last + 1;
        this.inflights.add(last, bytes);
      }
      // An empty MsgApp (commit update) needs no window slot.
    } else if (this.state === ProgressState.Probe) {
      this.msgAppFlowPaused = true;
    } else {
      throw new RaftError(RaftErrorCode.InvariantViolated, `sending entries in state ${this.state}`);
    }
  }

  /** An acknowledgement up to n arrived. Returns whether match advanced. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the MsgApp at `rejected` arrived, hinting that the follower's log matches up to
   * about matchHint. Returns false if the rejection is stale (out of order).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false; // stale
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false; // not the probe we are waiting for
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether the leader should hold back MsgApps to this peer. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppFlowPaused;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
      pendingSnapshot: this.pendingSnapshot,
      inflightMsgs: this.inflights.count,
      inflightBytes: this.inflights.bytes,
    };
  }
}

export const VoteResult = { Pending: 'Pending', Lost: 'Lost', Won: 'Won' } as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

const scratch: number[] = [];

function valueOf(pr: Progress | undefined, lease: boolean): number {
  if (pr === undefined) return 0;
  return lease ? pr.leaseAckTick : pr.match;
}

export function majorityVoteResult(
  voters: ReadonlySet<number>,
  votes: ReadonlyMap<number, boolean>,
): VoteResult {
  if (voters.size === 0) return VoteResult.Won; // an empty config wins every vote (joint-config convention)
  let yes = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = (voters.size >> 1) + 1;
  if (yes >= q) return VoteResult.Won;
  if (yes + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

/** The membership: incoming voters, outgoing voters (non-empty only while joint), learners. */
export interface TrackerConfig {
  incoming: Set<number>;
  outgoing: Set<number>;
  learners: Set<number>;
  /** Outgoing voters that become learners when the joint config is left (never also in `learners`). */
  learnersNext: Set<number>;
  autoLeave: boolean;
}

export function cloneConfig(c: TrackerConfig): TrackerConfig {
  return {
    incoming: new Set(c.incoming),
    outgoing: new Set(c.outgoing),
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export function emptyTrackerConfig(): TrackerConfig {
  return {
    incoming: new Set(),
    outgoing: new Set(),
    learners: new Set(),
    learnersNext: new Set(),
    autoLeave: false,
  };
}

const sorted = (s: ReadonlySet<number>): number[] => [...s].sort((a, b) => a - b);

export function confStateOf(c: TrackerConfig): ConfState {
  return {
    voters: sorted(c.incoming),
    learners: sorted(c.learners),
    votersOutgoing: sorted(c.outgoing),
    learnersNext: sorted(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  /** One entry per voter and learner (incoming and outgoing). */
  progress = new Map<number, Progress>();
  votes = new Map<number, boolean>();
  readonly maxInflight: number;
  readonly maxInflightBytes: number;

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, new Inflights(this.maxInflight, this.maxInflightBytes), isLearner);
  }

  isJoint(): boolean {
    return this.config.outgoing.size > 0;
  }

  isVoter(id: number): boolean {
    return this.config.incoming.has(id) || this.config.outgoing.has(id);
  }

  /** The highest index committed by the (joint) quorum of voters. Learners never count. */
  committed(): number {
    return this.jointQuorumValue(false);
  }

  /**
   * The highest leader tick such that a (joint) quorum of voters acknowledged a heartbeat sent at or
   * after it (0 when no quorum did). The leader's own entry must be set by the caller.
   */
  quorumLeaseAckTick(): number {
    return this.jointQuorumValue(true);
  }

  private jointQuorumValue(lease: boolean): number {
    const a = this.majorityCommitted(this.config.incoming, lease);
    const b =
      this.config.outgoing.size === 0
        ? Number.MAX_SAFE_INTEGER
        : this.majorityCommitted(this.config.outgoing, lease);
    const c = Math.min(a, b);
    return c === Number.MAX_SAFE_INTEGER ? 0 : c;
  }

  /** The index a majority of `voters` has reached (MAX_SAFE_INTEGER for an empty set). Allocation-free. */
  private majorityCommitted(voters: ReadonlySet<number>, lease: boolean): number {
    const n = voters.size;
    if (n === 0) return Number.MAX_SAFE_INTEGER;
    if (n === 1) {
      for (const id of voters) return valueOf(this.progress.get(id), lease);
    }
    scratch.length = 0;
    for (const id of voters) scratch.push(valueOf(this.progress.get(id), lease));
    // Insertion sort: voter sets are small.
    for (let i = 1; i < n; i++) {
      const v = scratch[i] as number;
      let j = i - 1;
      while (j >= 0 && (scratch[j] as number) > v) {
        scratch[j + 1] = scratch[j] as number;
        j--;
      }
      scratch[j + 1] = v;
    }
    return scratch[n - ((n >> 1) + 1)] as number;
  }

  /** Whether the voters heard from recently form a quorum (check-quorum). */
  quorumActive(): boolean {
    const active = new Map<number, boolean>();
    for (const [id, pr] of this.progress) if (!pr.isLearner) active.set(id, pr.recentActive);
    return this.voteResultOf(active) === VoteResult.Won;
  }

  voteResultOf(votes: ReadonlyMap<number, boolean>): VoteResult {
    const a = majorityVoteResult(this.config.incoming, votes);
    const b = majorityVoteResult(this.config.outgoing, votes);
    if (a === b) return a;
    if (a === VoteResult.Lost || b === VoteResult.Lost) return VoteResult.Lost;
    return VoteResult.Pending;
  }

  /** Voter ids (incoming ∪ outgoing), sorted. */
  voterIds(): number[] {
    const s = new Set(this.config.incoming);
    for (const id of this.config.outgoing) s.add(id);
    return sorted(s);
  }

  isSingleton(): boolean {
    return this.config.incoming.size === 1 && this.config.outgoing.size === 0;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.voteResultOf(this.votes) };
  }

  confState(): ConfState {
    return confStateOf(this.config);
  }
}
