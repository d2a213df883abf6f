// Applies membership changes to a copy of the tracker's configuration and progress map,
// validating the result before the caller switches to it (Raft thesis sections 4.1 and 4.3).
import { RaftError, RaftErrorCode } from '../errors.js';
import { ConfChangeType } from '../types.js';
import type { ConfChangeSingle, ConfState } from '../types.js';
import { Progress, cloneConfig, emptyTrackerConfig } from './tracker.js';
import type { ProgressTracker, TrackerConfig } from './tracker.js';

export interface ChangeResult {
  config: TrackerConfig;
  progress: Map<number, Progress>;
}

function bad(message: string): RaftError {
  return new RaftError(RaftErrorCode.InvalidMessage, `invalid configuration change: ${message}`);
}

function cloneProgress(pr: Progress): Progress {
  const c = new Progress(pr.next, pr.inflights.clone(), pr.isLearner);
  c.match = pr.match;
  c.state = pr.state;
  c.pendingSnapshot = pr.pendingSnapshot;
  c.recentActive = pr.recentActive;
  c.msgAppFlowPaused = pr.msgAppFlowPaused;
  return c;
}

export class Changer {
  private readonly tracker: ProgressTracker;
  private readonly lastIndex: number;

  constructor(tracker: ProgressTracker, lastIndex: number) {
    this.tracker = tracker;
    this.lastIndex = lastIndex;
  }

  private start(): ChangeResult {
    const progress = new Map<number, Progress>();
    for (const [id, pr] of this.tracker.progress) progress.set(id, cloneProgress(pr));
    return { config: cloneConfig(this.tracker.config), progress };
  }

  /** Enters a joint configuration: outgoing = current voters, incoming = current voters with `ccs` applied. */
  enterJoint(autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ChangeResult {
    const r = this.start();
    if (r.config.outgoing.size > 0) throw bad('configuration is already joint');
    if (r.config.incoming.size === 0) throw bad('cannot make a zero-voter configuration joint');
    r.config.outgoing = new Set(r.config.incoming);
    this.apply(r, ccs);
    r.config.autoLeave = autoLeave;
    this.check(r);
    return r;
  }

  /** Leaves the joint configuration: outgoing voters not in incoming are dropped or become learners (learnersNext). */
  leaveJoint(): ChangeResult {
    const r = this.start();
    if (r.config.outgoing.size === 0) throw bad('cannot leave a non-joint configuration');
    for (const id of r.config.learnersNext) {
      r.config.learners.add(id);
      const pr = r.progress.get(id);
      if (pr !== undefined) pr.isLearner = true;
    }
    r.config.learnersNext.clear();
    for (const id of r.config.outgoing) {
      if (!r.config.incoming.has(id) && !r.config.learners.has(id)) r.progress.delete(id);
    }
    r.config.outgoing.clear();
    r.config.autoLeave = false;
    this.check(r);
    return r;
  }

  /** A change of at most one voter, outside joint consensus. */
  simple(ccs: readonly ConfChangeSingle[]): ChangeResult {
    const r = this.start();
    if (r.config.outgoing.size > 0) throw bad('cannot apply a simple change in a joint configuration');
    this.apply(r, ccs);
    let diff = 0;
    for (const id of r.config.incoming) if (!this.tracker.config.incoming.has(id)) diff++;
    for (const id of this.tracker.config.incoming) if (!r.config.incoming.has(id)) diff++;
    if (diff > 1) throw bad('more than one voter changed without joint consensus');
    this.check(r);
    return r;
  }

  private apply(r: ChangeResult, ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      if (cc.nodeId === 0) continue; // etcd convention: a change of node 0 is a no-op
      switch (cc.type) {
        case ConfChangeType.AddNode:
          this.makeVoter(r, cc.nodeId);
          break;
        case ConfChangeType.AddLearnerNode:
          this.makeLearner(r, cc.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          this.remove(r, cc.nodeId);
          break;
        case ConfChangeType.UpdateNode:
          break;
        default:
          throw bad(`unknown change type ${String(cc.type)}`);
      }
    }
    if (r.config.incoming.size === 0) throw bad('removed all voters');
  }

  private initProgress(r: ChangeResult, id: number, isLearner: boolean): void {
    if (isLearner) r.config.learners.add(id);
    else r.config.incoming.add(id);
    // Probe from the leader's last index; the first rejection moves next back to where the follower is.
    r.progress.set(id, this.tracker.newProgress(Math.max(this.lastIndex, 1), isLearner));
  }

  private makeVoter(r: ChangeResult, id: number): void {
    const pr = r.progress.get(id);
    if (pr === undefined) {
      this.initProgress(r, id, false);
      return;
    }
    pr.isLearner = false;
    r.config.learners.delete(id);
    r.config.learnersNext.delete(id);
    r.config.incoming.add(id);
  }

  private makeLearner(r: ChangeResult, id: number): void {
    const pr = r.progress.get(id);
    if (pr === undefined) {
      this.initProgress(r, id, true);
      return;
    }
    if (pr.isLearner) return;
    // A voter being demoted: drop it from incoming; if it is still an outgoing voter it becomes a learner
    // only when the joint configuration is left.
    this.remove(r, id);
    r.progress.set(id, pr);
    if (r.config.outgoing.has(id)) {
      r.config.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      r.config.learners.add(id);
    }
  }

  private remove(r: ChangeResult, id: number): void {
    if (!r.progress.has(id)) return;
    r.config.incoming.delete(id);
    r.config.learners.delete(id);
    r.config.learnersNext.delete(id);
    if (!r.config.outgoing.has(id)) r.progress.delete(id);
  }

  private check(r: ChangeResult): void {
    const c = r.config;
    for (const id of [...c.incoming, ...c.outgoing, ...c.learners, ...c.learnersNext]) {
      if (!r.progress.has(id)) throw bad(`no progress for ${id}`);
    }
    for (const id of c.learnersNext) {
      if (!c.outgoing.has(id)) throw bad(`${id} is in learnersNext but not an outgoing voter`);
      if ((r.progress.get(id) as Progress).isLearner)
        throw bad(`${id} is in learnersNext but already a learner`);
    }
    for (const id of c.learners) {
      if (c.incoming.has(id) || c.outgoing.has(id)) throw bad(`${id} is both a learner and a voter`);
      if (!(r.progress.get(id) as Progress).isLearner)
        throw bad(`${id} is a learner without the learner flag`);
    }
    if (c.outgoing.size === 0 && c.autoLeave) throw bad('autoLeave set outside a joint configuration');
  }
}

/** Builds the tracker configuration described by a ConfState (on restart or snapshot restore). */
export function restoreConfig(tracker: ProgressTracker, cs: ConfState, lastIndex: number): ChangeResult {
  const config = emptyTrackerConfig();
  const progress = new Map<number, Progress>();
  const next = Math.max(lastIndex, 1);
  for (const id of cs.votersOutgoing) config.outgoing.add(id);
  for (const id of cs.voters) config.incoming.add(id);
  for (const id of cs.learners) config.learners.add(id);
  for (const id of cs.learnersNext) config.learnersNext.add(id);
  config.autoLeave = cs.autoLeave && config.outgoing.size > 0;
  for (const id of [...config.incoming, ...config.outgoing, ...config.learnersNext]) {
    if (!progress.has(id)) progress.set(id, tracker.newProgress(next, false));
  }
  for (const id of config.learners) {
    if (config.incoming.has(id) || config.outgoing.has(id)) throw bad(`${id} is both a learner and a voter`);
    progress.set(id, tracker.newProgress(next, true));
  }
  for (const id of config.learnersNext) {
    if (!config.outgoing.has(id)) throw bad(`${id} is in learnersNext but not an outgoing voter`);
  }
  return { config, progress };
}
