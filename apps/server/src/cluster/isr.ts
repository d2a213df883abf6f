// In-sync replicas of the partitions this node leads (Kafka's replica.lag.time.max.ms idea, on Raft
// progress): a follower stays in the ISR while it has been caught up to the leader's log end at some
// point within the last `maxLagMs` and keeps answering; a follower outside the ISR (a new leader's
// laggard, or one that crashed and came back) joins once its log holds everything that was committed
// as of the previous check (match index >= that commit index; Kafka's "fetch offset reached the high
// watermark") and it is answering. Comparing with the commit index of this very moment would keep a
// caught-up follower out under continuous writes, where it always trails by the entries in flight.
//
// "Caught up at time t" is measured with samples of the leader's last index: each check records
// (now, lastIndex); a follower whose match index reaches a sample's lastIndex was caught up to the
// log end as of that sample's time.

/** What the leader's Raft group reports about one member (RaftHost's PeerProgress). */
export interface MemberProgress {
  nodeId: number;
  match: number;
  recentActive: boolean;
  /** A learner (a replica being rebuilt: replica-repair.ts) is never in sync: it cannot vote. */
  isLearner?: boolean;
}

export interface IsrInput {
  groupId: number;
  /** The leader's term (a new term starts a new tracking period). */
  term: number;
  nowMs: number;
  leaderId: number;
  lastIndex: number;
  commitIndex: number;
  progress: readonly MemberProgress[];
  /** The assigned replicas, in their preferred order. */
  replicas: readonly number[];
  /** The ISR the metadata holds now. */
  currentIsr: readonly number[];
  /** Whether a node answers this node's Raft traffic (transport-level liveness). */
  reachable(nodeId: number): boolean;
}

export interface IsrTrackerOptions {
  /** A follower not caught up to the log end within this long leaves the ISR. Default 10 000. */
  maxLagMs?: number;
  /**
   * A follower whose Raft progress was not marked recently active within this long counts as not
   * answering. (RaftHost's recentActive is cleared every election timeout and set again by the
   * next response, so one false reading means nothing.) Default 3 000.
   */
  activeWindowMs?: number;
}

interface GroupTrack {
  term: number;
  samples: Array<{ atMs: number; lastIndex: number; commitIndex: number }>;
  caughtUpMs: Map<number, number>;
  activeMs: Map<number, number>;
}

/** Samples kept per group (older ones than maxLagMs are dropped anyway). */
const MAX_SAMPLES = 256;

export class IsrTracker {
  private readonly groups = new Map<number, GroupTrack>();
  private readonly maxLagMs: number;
  private readonly activeWindowMs: number;

  constructor(options: IsrTrackerOptions = {}) {
    this.maxLagMs = options.maxLagMs ?? 10_000;
    this.activeWindowMs = options.activeWindowMs ?? 3000;
  }

  /** The ISR as this leader sees it now (the leader first among the replicas' order, never empty). */
  update(i: IsrInput): number[] {
    let g = this.groups.get(i.groupId);
    if (g === undefined || g.term !== i.term) {
      // A new leadership period: the members the metadata holds in sync count as caught up now
      // (Kafka resets lastCaughtUpTime the same way); the others must catch up first.
      g = { term: i.term, samples: [], caughtUpMs: new Map(), activeMs: new Map() };
      for (const id of i.currentIsr) {
        g.caughtUpMs.set(id, i.nowMs);
        g.activeMs.set(id, i.nowMs);
      }
      this.groups.set(i.groupId, g);
    }
    g.samples.push({ atMs: i.nowMs, lastIndex: i.lastIndex, commitIndex: i.commitIndex });
    while (
      g.samples.length > MAX_SAMPLES ||
      (g.samples.length > 1 && i.nowMs - (g.samples[0] as { atMs: number }).atMs > this.maxLagMs)
    )
      g.samples.shift();
    // The commit index a follower outside the ISR must reach: the previous check's (or this one's).
    const joinIndex =
      g.samples.length > 1
        ? (g.samples[g.samples.length - 2] as { commitIndex: number }).commitIndex
        : i.commitIndex;
    const isr: number[] = [];
    for (const id of i.replicas) {
      if (id === i.leaderId) {
        isr.push(id);
        continue;
      }
      const p = i.progress.find((x) => x.nodeId === id);
      if (p === undefined || p.isLearner === true) continue;
      if (p.recentActive) g.activeMs.set(id, i.nowMs);
      let caught = g.caughtUpMs.get(id) ?? 0;
      for (let k = g.samples.length - 1; k >= 0; k--) {
        const s = g.samples[k] as { atMs: number; lastIndex: number };
        if (p.match >= s.lastIndex) {
          if (s.atMs > caught) caught = s.atMs;
          break;
        }
      }
      g.caughtUpMs.set(id, caught);
      const answering =
        i.reachable(id) && i.nowMs - (g.activeMs.get(id) ?? Number.NEGATIVE_INFINITY) <= this.activeWindowMs;
      if (!answering) continue;
      if (i.currentIsr.includes(id)) {
        if (i.nowMs - caught <= this.maxLagMs) isr.push(id);
      } else if (p.match >= joinIndex) {
        g.caughtUpMs.set(id, i.nowMs);
        isr.push(id);
      }
    }
    if (!isr.includes(i.leaderId)) isr.unshift(i.leaderId);
    return isr;
  }

  /**
   * A quiescent group (docs/design/quiescence.md) was checked without update(): every member whose
   * node is alive holds the leader's whole log, so `alive` count as caught up and answering now —
   * or a write that wakes the group an hour later would find them last caught up an hour ago.
   * Returns false when the group is not tracked in this term (then call update()).
   */
  caughtUpWhileQuiescent(groupId: number, term: number, nowMs: number, alive: readonly number[]): boolean {
    const g = this.groups.get(groupId);
    if (g === undefined || g.term !== term) return false;
    for (const id of alive) {
      g.caughtUpMs.set(id, nowMs);
      g.activeMs.set(id, nowMs);
    }
    return true;
  }

  /** Drops the tracking of a group this node no longer leads. */
  forget(groupId: number): void {
    this.groups.delete(groupId);
  }

  /** Groups tracked (for tests and bounds). */
  get size(): number {
    return this.groups.size;
  }
}
