// The Raft algorithm as a state machine: step(message) and tick() in, messages and log changes out.
// Each role installs its own step and tick functions (becomeFollower / becomeCandidate / ...).
import type { ResolvedConfig } from '../config.js';
import {
  confChangeAsV2,
  decodeConfChange,
  encodeConfChange,
  enterJointOf,
  isConfChangeV2,
  leaveJointOf,
} from '../confchange.js';
import { RaftError, RaftErrorCode, isRaftError } from '../errors.js';
import { entrySizeBytes } from '../storage.js';
import { EntryType, MessageType, ProgressState, ReadOnlyOption, StateType, newMessage } from '../types.js';
import type {
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Logger,
  Message,
  ReadState,
  Rng,
  Snapshot,
  SoftState,
} from '../types.js';
import { Changer, restoreConfig } from './confchange.js';
import type { ChangeResult } from './confchange.js';
import { RaftLog } from './log.js';
import { ReadOnly } from './readonly.js';
import { ProgressTracker, VoteResult } from './tracker.js';
import type { Progress } from './tracker.js';

const CampaignPreElection = 'CampaignPreElection';
const CampaignElection = 'CampaignElection';
const CampaignTransfer = 'CampaignTransfer';
type CampaignType = typeof CampaignPreElection | typeof CampaignElection | typeof CampaignTransfer;

/** Context of a MsgVote sent because of a leadership transfer: it bypasses the receivers' leader lease. */
const transferContext = new Uint8Array([0x54, 0x52, 0x41, 0x4e, 0x53, 0x46, 0x45, 0x52]); // "TRANSFER"
const emptyBytes = new Uint8Array(0);
const noEntries: readonly Entry[] = Object.freeze([]);

function isTransferContext(ctx: Uint8Array): boolean {
  if (ctx.byteLength !== transferContext.byteLength) return false;
  for (let i = 0; i < ctx.byteLength; i++) if (ctx[i] !== transferContext[i]) return false;
  return true;
}

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.MsgVote ? MessageType.MsgVoteResp : MessageType.MsgPreVoteResp;
}

function payloadBytes(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += e.data.byteLength;
  return s;
}

type StepFn = (r: Raft, m: Message) => void;
type MessageFields = Partial<Message> & { readonly type: MessageType; readonly to: number };

export class Raft {
  readonly id: number;
  /** Current term; never decreases. Persisted in HardState. */
  term = 0;
  /** The node voted for in `term`, or 0. Persisted in HardState. */
  vote = 0;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  state: StateType = StateType.Follower;
  /** True when this node is a learner in the current configuration. */
  isLearner = false;
  /** Messages produced since the last Ready. */
  msgs: Message[] = [];
  /** The known leader of `term`, or 0. */
  lead = 0;
  /** The target of an ongoing leadership transfer, or 0. */
  leadTransferee = 0;
  /**
   * Index of the latest conf change entry in the log (leader only). A new one is accepted only once
   * applied >= pendingConfIndex: one change pending at a time.
   */
  pendingConfIndex = 0;
  /** Payload bytes of uncommitted entries appended by this leader (bounded by maxUncommittedEntriesBytes). */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** Proposals were appended since the last broadcast (leader only); see flush. */
  proposalsPending = false;
  /** Safe reads arrived since the last heartbeat round (leader only); see flush. */
  readsPending = false;
  /** A MsgTimeoutNow of this term arrived while conf changes were unapplied; campaign once they are. */
  transferCampaignPending = false;
  /** Reads that arrived before this leader committed an entry of its term; answered after that commit. */
  pendingReadIndexMessages: Message[] = [];
  /** Ticks since the last election timeout reset (followers/candidates) or check-quorum round (leader). */
  electionElapsed = 0;
  /** Ticks since the last heartbeat (leader only). */
  heartbeatElapsed = 0;
  /**
   * Ticks since this node started, plus one (0 means "never"). LeaseBased heartbeats carry the value at
   * which they were sent and followers echo it, so the leader knows when each follower's election timer
   * was reset at the latest (see leaseValid).
   */
  tickCount = 1;
  /**
   * This leader sent a MsgTimeoutNow in its term: the transferee may campaign at any later moment and
   * voters then ignore their lease, so lease reads are off for the rest of the term.
   */
  leaseRevoked = false;
  /**
   * LeaseBased: this voter restarted as a member of a group (a non-zero term). It may have acknowledged
   * a leader's heartbeat just before it crashed, so until an election timeout passes (or its role or
   * term changes) it ignores vote requests as if it had heard from a leader: the leader's lease counts
   * on it.
   */
  restartLease = false;
  /**
   * The group is idle and its members stopped ticking (docs/design/quiescence.md): a quiescent node's
   * tick() only counts the tick — no election timer, no heartbeats, no check-quorum — until an input
   * or wake() wakes it. Entered by a leader's quiesce() and by a follower that steps its leader's
   * quiesce heartbeat with a log ending at the same entry; any change of term or role ends it.
   */
  quiescent = false;
  /**
   * The latest vote or pre-vote request this follower ignored within its leader's lease (one message:
   * bounded), answered if forgetLeader() is called before its term or role changes.
   */
  ignoredVoteRequest: Message | null = null;
  randomizedElectionTimeout = 0;
  readonly cfg: ResolvedConfig;
  readonly logger: Logger;
  private readonly rng: Rng;
  private stepFn: StepFn = stepFollower;
  private tickFn: () => void = () => this.tickElection();

  constructor(cfg: ResolvedConfig) {
    this.cfg = cfg;
    this.id = cfg.id;
    this.logger = cfg.logger;
    this.rng = cfg.rng;
    this.raftLog = new RaftLog(cfg.storage, cfg.logger, cfg.maxCommittedSizePerReadyBytes);
    this.trk = new ProgressTracker(cfg.maxInflightMsgs, cfg.maxInflightBytes);
    const { hardState, confState } = cfg.storage.initialState();
    const restored = restoreConfig(this.trk, confState, this.raftLog.lastIndex());
    this.switchToConfig(restored);
    if (hardState.term !== 0 || hardState.vote !== 0 || hardState.commit !== 0) this.loadState(hardState);
    if (cfg.applied > 0) this.raftLog.appliedTo(cfg.applied);
    this.becomeFollower(this.term, 0);
    this.restartLease =
      cfg.checkQuorum && cfg.readOnlyOption === ReadOnlyOption.LeaseBased && hardState.term > 0;
    this.raftLog.assertInvariants();
    this.logger.info('raft node started', {
      id: this.id,
      term: this.term,
      commit: this.raftLog.committed,
      applied: this.raftLog.applied,
      lastIndex: this.raftLog.lastIndex(),
      lastTerm: this.raftLog.lastTerm(),
    });
  }

  private loadState(hs: HardState): void {
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new RaftError(
        RaftErrorCode.InvariantViolated,
        `hard state commit ${hs.commit} is beyond the last index ${this.raftLog.lastIndex()}: committed entries were lost`,
      );
    }
    // A commit index below the snapshot (firstIndex() - 1, committed by definition) is simply stale.
    this.raftLog.committed = Math.max(this.raftLog.committed, hs.commit);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---- sending -------------------------------------------------------------------------------

  send(f: MessageFields): void {
    let term = f.term ?? 0;
    const t = f.type;
    if (
      t === MessageType.MsgVote ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVote ||
      t === MessageType.MsgPreVoteResp
    ) {
      if (term === 0) throw new RaftError(RaftErrorCode.InvariantViolated, `term must be set for ${t}`);
    } else {
      if (term !== 0) throw new RaftError(RaftErrorCode.InvariantViolated, `term must not be set for ${t}`);
      // Forwarded transfer / read requests carry no term: the leader accepts them at any term.
      if (t !== MessageType.MsgReadIndex && t !== MessageType.MsgTransferLeader) term = this.term;
    }
    this.msgs.push({
      type: t,
      to: f.to,
      from: this.id,
      term,
      logTerm: f.logTerm ?? 0,
      index: f.index ?? 0,
      entries: f.entries ?? noEntries,
      commit: f.commit ?? 0,
      snapshot: f.snapshot ?? null,
      reject: f.reject ?? false,
      rejectHint: f.rejectHint ?? 0,
      context: f.context ?? emptyBytes,
    });
  }

  /** Sends a MsgApp (or MsgSnap) to `to` if its flow control allows. Returns whether something was sent. */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const log = this.raftLog;
    if (prevIndex < log.firstIndex() - 1) return this.maybeSendSnapshot(to, pr);
    const prevTerm = log.termOrZero(prevIndex);
    let ents: Entry[];
    try {
      ents =
        pr.state === ProgressState.Replicate || pr.state === ProgressState.Probe
          ? log.entriesFrom(pr.next, this.cfg.maxSizePerMsgBytes)
          : [];
    } catch (e) {
      if (isRaftError(e, RaftErrorCode.Compacted)) return this.maybeSendSnapshot(to, pr);
      throw e;
    }
    if (prevTerm === 0 && prevIndex > 0 && log.firstIndex() - 1 !== prevIndex) {
      // Compacted between the two reads (snapshot racing compaction): fall back to a snapshot.
      return this.maybeSendSnapshot(to, pr);
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of ents) bytes += entrySizeBytes(e);
    this.send({
      type: MessageType.MsgApp,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: log.committed,
    });
    pr.sentEntries(ents.length, bytes, pr.next);
    return true;
  }

  private maybeSendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug('not sending a snapshot to an inactive follower', { to });
      return false;
    }
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      if (isRaftError(e, RaftErrorCode.SnapshotTemporarilyUnavailable)) {
        this.logger.debug('snapshot temporarily unavailable', { to });
        return false;
      }
      throw e;
    }
    if (snap.metadata.index === 0)
      throw new RaftError(
        RaftErrorCode.InvariantViolated,
        'need a non-empty snapshot to catch up a follower',
      );
    this.logger.debug('sending snapshot', { to, index: snap.metadata.index, term: snap.metadata.term });
    pr.becomeSnapshot(snap.metadata.index);
    this.send({ type: MessageType.MsgSnap, to, snapshot: snap });
    return true;
  }

  /** `logTerm` > 0 makes it a quiesce heartbeat (the term of the leader's last entry: see quiesce). */
  private sendHeartbeat(to: number, ctx: Uint8Array, logTerm = 0): void {
    const pr = this.trk.progress.get(to) as Progress;
    // Never tell a follower to commit beyond what it is known to hold.
    const commit = Math.min(pr.match, this.raftLog.committed);
    const index = this.cfg.readOnlyOption === ReadOnlyOption.LeaseBased ? this.tickCount : 0;
    this.send({ type: MessageType.MsgHeartbeat, to, commit, context: ctx, index, logTerm });
  }

  /**
   * Sends what proposals and read requests made since the last call need (RawNode calls it before
   * building a Ready): one append per follower carrying every new entry, and one heartbeat round
   * confirming leadership for every pending read.
   */
  flush(): void {
    if (this.state !== StateType.Leader) {
      this.proposalsPending = false;
      this.readsPending = false;
      return;
    }
    if (this.proposalsPending) {
      this.proposalsPending = false;
      // Followers that already received the new entries (an acknowledgement triggered an append) get nothing.
      for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    }
    if (this.readsPending) {
      this.readsPending = false;
      this.bcastHeartbeat(null); // carries the latest pending request's context, which acknowledges all earlier ones
    }
  }

  bcastAppend(): void {
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, true);
  }

  private bcastHeartbeat(ctx: Uint8Array | null): void {
    const c = ctx ?? this.readOnly.lastPendingRequestCtx() ?? emptyBytes;
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.sendHeartbeat(id, c);
  }

  // ---- log -----------------------------------------------------------------------------------

  /** Appends entries as the leader; returns false (appending nothing) if the uncommitted limit would be exceeded. */
  private appendEntry(es: readonly Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    const size = payloadBytes(es);
    if (
      this.uncommittedSize > 0 &&
      size > 0 &&
      this.uncommittedSize + size > this.cfg.maxUncommittedEntriesBytes
    )
      return false;
    const stamped: Entry[] = new Array<Entry>(es.length);
    for (let i = 0; i < es.length; i++) {
      const e = es[i] as Entry;
      stamped[i] = { term: this.term, index: li + 1 + i, type: e.type, data: e.data };
    }
    this.uncommittedSize += size;
    const last = this.raftLog.append(stamped);
    // The leader counts its own entry at once: it is persisted before any message that carries it is sent.
    this.trk.progress.get(this.id)?.maybeUpdate(last);
    // The leader's match is the highest of all, so raising it can move a majority only in a
    // configuration (or joint half) of one voter.
    if (this.trk.config.incoming.size === 1 || this.trk.config.outgoing.size === 1) this.maybeCommit();
    return true;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSize === 0) return;
    const s = payloadBytes(ents);
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  /** Advances the commit index to what a quorum of voters holds, if that entry is from this term (section 5.4.2). */
  maybeCommit(): boolean {
    const committed = this.raftLog.maybeCommit(this.trk.committed(), this.term);
    if (
      committed &&
      this.state === StateType.Leader &&
      this.pendingReadIndexMessages.length > 0 &&
      this.committedEntryInCurrentTerm()
    ) {
      const pending = this.pendingReadIndexMessages;
      this.pendingReadIndexMessages = [];
      // Released inside another message's handling: a refusal must not throw here.
      for (const m of pending) this.sendMsgReadIndexResponse(m, false);
    }
    return committed;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  /** Called from advance(): the application applied up to `index`. */
  appliedTo(index: number): void {
    const old = this.raftLog.applied;
    this.raftLog.appliedTo(Math.max(old, index));
    if (
      this.transferCampaignPending &&
      this.state === StateType.Follower &&
      !this.hasUnappliedConfChanges()
    ) {
      this.transferCampaignPending = false;
      this.hup(CampaignTransfer);
    }
    if (this.trk.config.autoLeave && index >= this.pendingConfIndex && this.state === StateType.Leader) {
      // The joint configuration committed and was applied: propose leaving it (thesis 4.3).
      const { type, data } = encodeConfChange({ transition: 'Auto', changes: [], context: emptyBytes });
      if (this.appendEntry([{ term: 0, index: 0, type, data }])) {
        this.pendingConfIndex = this.raftLog.lastIndex();
        this.bcastAppend();
        this.logger.info('proposed leaving the joint configuration', { index: this.pendingConfIndex });
      }
    }
  }

  // ---- roles ---------------------------------------------------------------------------------

  private reset(term: number): void {
    this.quiescent = false;
    this.ignoredVoteRequest = null;
    if (this.term !== term) {
      this.term = term;
      this.vote = 0;
      this.transferCampaignPending = false;
    }
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = 0;
    this.leaseRevoked = false;
    this.restartLease = false;
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      const fresh = this.trk.newProgress(last + 1, pr.isLearner);
      if (id === this.id) fresh.match = last;
      this.trk.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.rng();
    const jitter = Math.floor((r >= 0 && r < 1 ? r : 0) * this.cfg.electionTick);
    this.randomizedElectionTimeout = this.cfg.electionTick + jitter;
  }

  becomeFollower(term: number, lead: number): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = this.tickElectionBound;
    this.lead = lead;
    this.state = StateType.Follower;
    this.logger.debug('became follower', { id: this.id, term, lead });
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader)
      throw new RaftError(RaftErrorCode.InvariantViolated, 'invalid transition leader -> candidate');
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = this.tickElectionBound;
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.logger.debug('became candidate', { id: this.id, term: this.term });
  }

  becomePreCandidate(): void {
    if (this.state === StateType.Leader)
      throw new RaftError(RaftErrorCode.InvariantViolated, 'invalid transition leader -> pre-candidate');
    // Pre-vote changes neither term nor vote: a partitioned node cannot inflate the cluster's term.
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tickFn = this.tickElectionBound;
    this.lead = 0;
    this.quiescent = false;
    this.ignoredVoteRequest = null;
    this.state = StateType.PreCandidate;
    this.logger.debug('became pre-candidate', { id: this.id, term: this.term });
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower)
      throw new RaftError(RaftErrorCode.InvariantViolated, 'invalid transition follower -> leader');
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = this.tickHeartbeatBound;
    this.lead = this.id;
    this.state = StateType.Leader;
    const self = this.trk.progress.get(this.id) as Progress;
    self.becomeReplicate();
    self.recentActive = true;
    // Conf changes in the uncommitted tail may be pending; be conservative.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The no-op entry of the new term: committing it commits everything before it (section 5.4.2).
    if (!this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: emptyBytes }])) {
      throw new RaftError(RaftErrorCode.InvariantViolated, 'empty entry was dropped');
    }
    // The no-op entry does not count against the uncommitted limit.
    this.logger.info('became leader', { id: this.id, term: this.term });
  }

  private promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && this.raftLog.unstable.snapshot === null;
  }

  private hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    let lo = Math.max(log.applied + 1, log.firstIndex());
    const hi = log.committed + 1;
    while (lo < hi) {
      const ents = log.slice(lo, hi, 1 << 20);
      for (const e of ents) if (e.type !== EntryType.Normal) return true;
      lo += ents.length;
    }
    return false;
  }

  hup(t: CampaignType): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) {
      this.logger.warn('not promotable: not campaigning', { id: this.id });
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      if (t === CampaignTransfer) {
        // The leader asked us to take over, typically right after a membership change that we have not
        // applied yet: campaign as soon as it is applied (appliedTo), still in this term.
        this.transferCampaignPending = true;
        this.logger.info('transfer campaign deferred until committed conf changes are applied', {
          id: this.id,
        });
        return;
      }
      this.logger.warn('committed but unapplied conf changes: not campaigning', { id: this.id });
      return;
    }
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    let voteMsg: MessageType;
    let term: number;
    if (t === CampaignPreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      term = this.term + 1; // the term we would campaign in
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    // Our own vote (persisted with the hard state before the requests go out).
    if (this.poll(this.id, voteRespType(voteMsg), true) === VoteResult.Won) {
      if (t === CampaignPreElection) this.campaign(CampaignElection);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voterIds()) {
      if (id === this.id) continue;
      this.send({
        type: voteMsg,
        to: id,
        term,
        index: lastIndex,
        logTerm: lastTerm,
        context: t === CampaignTransfer ? transferContext : emptyBytes,
      });
    }
  }

  poll(id: number, t: MessageType, granted: boolean): VoteResult {
    this.logger.debug('vote response', { id: this.id, from: id, type: t, granted, term: this.term });
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- ticks ---------------------------------------------------------------------------------

  tick(): void {
    this.tickCount++;
    if (this.quiescent) return;
    this.tickFn();
  }

  // ---- quiescence (docs/design/quiescence.md) ------------------------------------------------

  /**
   * Whether this leader's group is idle: nothing to send, commit, apply or confirm, every member
   * holds the whole log, and no transfer or membership change is under way.
   */
  canQuiesce(isDown?: (id: number) => boolean): boolean {
    if (this.state !== StateType.Leader || this.quiescent) return false;
    if (this.leadTransferee !== 0 || this.leaderRemoved() || this.trk.isJoint()) return false;
    const log = this.raftLog;
    const last = log.lastIndex();
    if (log.committed !== last || log.applied !== last || this.pendingConfIndex > last) return false;
    if (log.unstable.entries.length > 0 || log.unstable.snapshot !== null) return false;
    if (log.lastTerm() !== this.term) return false;
    if (this.msgs.length > 0 || this.proposalsPending || this.readsPending || this.readStates.length > 0)
      return false;
    if (this.readOnly.queue.length > 0 || this.pendingReadIndexMessages.length > 0) return false;
    // Members the runtime knows to be down need not be caught up (they wake the group when they come
    // back); the others must be, and must form a quorum with this leader.
    const caughtUp = new Map<number, boolean>();
    for (const [id, pr] of this.trk.progress) {
      if (id === this.id) {
        caughtUp.set(id, true);
        continue;
      }
      if (isDown?.(id) === true) {
        caughtUp.set(id, false);
        continue;
      }
      // It must also have answered lately (its group may be closed on a node that is up).
      if (
        pr.match !== last ||
        pr.state !== ProgressState.Replicate ||
        pr.inflights.count > 0 ||
        !pr.recentActive
      )
        return false;
      caughtUp.set(id, true);
    }
    return this.trk.voteResultOf(caughtUp) === VoteResult.Won;
  }

  /** Quiesces an idle leader's group: one quiesce heartbeat to every member; false (nothing done) if not idle. */
  quiesce(isDown?: (id: number) => boolean): boolean {
    if (!this.canQuiesce(isDown)) return false;
    this.quiescent = true;
    const lastTerm = this.raftLog.lastTerm();
    // recentActive now means "answered the quiesce heartbeat" (the runtime reports it while quiescent).
    for (const [id, pr] of this.trk.progress) {
      if (id === this.id) continue;
      pr.recentActive = false;
      this.sendHeartbeat(id, emptyBytes, lastTerm);
    }
    this.logger.debug('quiesced', { id: this.id, term: this.term, index: this.raftLog.lastIndex() });
    return true;
  }

  /**
   * Ends quiescence (see the design note). `leaderSilentTicks`: the runtime knows nothing came from
   * this follower's leader for that many ticks; its election timer counts them (up to electionTick,
   * so the randomized part still spreads candidates), whether it was quiescent or not.
   * `tellLeader`: a follower that wakes for a reason its leader cannot know tells it, so that the
   * leader heartbeats again.
   */
  wake(leaderSilentTicks: number, tellLeader: boolean): void {
    if (this.state !== StateType.Leader && leaderSilentTicks > 0)
      this.electionElapsed = Math.max(
        this.electionElapsed,
        Math.min(leaderSilentTicks, this.cfg.electionTick),
      );
    if (!this.quiescent) return;
    this.quiescent = false;
    if (this.state === StateType.Leader) {
      // A check-quorum period starts now: the followers must answer again within an election
      // timeout (they are heartbeated from the next tick), and no lease survives the quiescence.
      this.electionElapsed = 0;
      this.heartbeatElapsed = this.cfg.heartbeatTick;
      for (const [id, pr] of this.trk.progress) {
        if (id === this.id) continue;
        pr.recentActive = false;
        pr.leaseAckTick = 0;
      }
    } else if (tellLeader && this.lead !== 0) {
      this.send({ type: MessageType.MsgHeartbeatResp, to: this.lead, reject: true });
    }
    this.logger.debug('woke', { id: this.id, term: this.term, state: this.state });
  }

  /**
   * Forgets this follower's leader (etcd's ForgetLeader): it stays a follower in its term and does
   * not campaign, but knows no leader, so the check-quorum lease no longer makes it ignore vote
   * requests — a candidate whose pre-vote reaches it is answered at once instead of after an election
   * timeout. The runtime calls it when it has good reason to think the leader is dead (its node's
   * connections closed); a live leader is re-learnt from its next heartbeat or append. A quiescent
   * follower wakes first and tells its leader, which (if alive) heartbeats at once. Refused — false,
   * nothing changed — on a leader or candidate, without a known leader, when `leaderId` (non-zero)
   * is not the known leader, and with LeaseBased reads
   * (the leader's lease counts on this follower honouring its own). The election timer is untouched.
   */
  forgetLeader(leaderId = 0): boolean {
    if (this.state !== StateType.Follower || this.lead === 0) return false;
    if (leaderId !== 0 && this.lead !== leaderId) return false;
    if (this.cfg.readOnlyOption === ReadOnlyOption.LeaseBased) return false;
    if (this.quiescent) this.wake(0, true);
    this.logger.debug('forgot the leader', { id: this.id, term: this.term, lead: this.lead });
    this.lead = 0;
    // A candidate that asked while the lease held (its node saw the leader's go a moment earlier)
    // is answered now instead of waiting for its next campaign.
    const ignored = this.ignoredVoteRequest;
    this.ignoredVoteRequest = null;
    if (ignored !== null && ignored.term > this.term) this.step(ignored);
    return true;
  }

  /** Whether `m` wakes this quiescent node before it is handled (see the design note). */
  private wakesOn(m: Message): boolean {
    // The transport's word on a peer: failure detection of quiescent groups is the runtime's (wake).
    if (m.type === MessageType.MsgUnreachable) return false;
    if (this.state === StateType.Leader)
      return !(
        (m.type === MessageType.MsgHeartbeatResp || m.type === MessageType.MsgAppResp) &&
        m.term === this.term &&
        !m.reject
      );
    if (m.type === MessageType.MsgProp) return false;
    return !(
      m.type === MessageType.MsgHeartbeat &&
      m.term === this.term &&
      m.from === this.lead &&
      m.logTerm > 0
    );
  }

  private readonly tickElectionBound = (): void => this.tickElection();
  private readonly tickHeartbeatBound = (): void => this.tickHeartbeat();

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) this.restartLease = false;
    if (this.electionElapsed >= this.randomizedElectionTimeout && this.promotable()) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgHup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step(newMessage({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that has not finished within an election timeout is abandoned (a removed leader retries).
      if (this.state === StateType.Leader && this.leadTransferee !== 0) this.leadTransferee = 0;
      if (this.leaderRemoved()) this.handOver();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgBeat, from: this.id }));
    }
  }

  // ---- step ----------------------------------------------------------------------------------

  /** Feeds one message. Throws RaftError NotLeader / ProposalDropped for proposals that cannot be accepted. */
  step(m: Message): void {
    if (!this.quiescent) {
      this.stepAwake(m);
      return;
    }
    if (this.wakesOn(m)) {
      // A message from the leader itself needs no wake-up call back to it.
      const fromLeader = m.from === this.lead && m.term === this.term;
      this.wake(0, !fromLeader && m.type !== MessageType.MsgHup);
      this.stepAwake(m);
      return;
    }
    // An answer to this leader's last messages: quiescent still, unless it made the leader send.
    const sent = this.msgs.length;
    this.stepAwake(m);
    if (this.quiescent && this.state === StateType.Leader && this.msgs.length > sent) this.wake(0, false);
  }

  private stepAwake(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = isTransferContext(m.context);
        const inLease =
          this.cfg.checkQuorum &&
          (this.lead !== 0 || this.restartLease) &&
          this.electionElapsed < this.cfg.electionTick;
        if (!force && inLease) {
          // We heard from a leader within the minimum election timeout: do not let this candidate disrupt it (thesis 4.2.3).
          this.logger.debug('ignoring vote request within the leader lease', {
            id: this.id,
            from: m.from,
            term: m.term,
          });
          // A follower remembers the latest one it ignored: if the runtime makes it forget its leader
          // (forgetLeader), it answers it then, as if it had arrived a moment later.
          if (this.state === StateType.Follower) this.ignoredVoteRequest = m;
          return;
        }
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // We will bump our term when a quorum grants the pre-vote; a rejection at a higher term is handled below.
      } else if (
        m.type === MessageType.MsgApp ||
        m.type === MessageType.MsgHeartbeat ||
        m.type === MessageType.MsgSnap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, 0);
      }
    } else if (m.term < this.term) {
      if (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp) {
        // A stale leader (cut off and healed, or removed and handing over) learns our term from this and
        // steps down; with check-quorum or pre-vote nothing else would ever tell it.
        this.send({ type: MessageType.MsgAppResp, to: m.from });
      } else if (m.type === MessageType.MsgPreVote || m.type === MessageType.MsgVote) {
        // Reject with our term (section 5.1: the candidate updates its term and steps down). Without this a
        // candidate that never hears from us otherwise (we do not count it as a peer, or we are not a
        // leader) keeps campaigning at terms we ignore, and neither of us can ever win. It changes nothing
        // on our side, so it cannot disrupt a leader.
        this.send({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.cfg.preVote ? CampaignPreElection : CampaignElection);
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === 0 && this.lead === 0) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // Grant (section 5.2 / 5.4.1). The vote is persisted in the hard state before this reply is sent.
          this.send({ type: voteRespType(m.type), to: m.from, term: m.term });
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true });
        }
        return;
      }
      default:
        this.stepFn(this, m);
    }
  }

  // ---- handlers shared by roles --------------------------------------------------------------

  handleAppendEntries(m: Message): void {
    const log = this.raftLog;
    if (m.index < log.committed) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: log.committed });
      return;
    }
    const lastNew = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: lastNew });
      return;
    }
    // Reject, with a hint: the largest index <= m.index whose term is <= m.logTerm, so the leader
    // skips a whole term of mismatching entries per round trip.
    const hint = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm);
    this.send({
      type: MessageType.MsgAppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  handleHeartbeat(m: Message): void {
    const log = this.raftLog;
    log.commitTo(m.commit);
    // A quiesce heartbeat (logTerm > 0): quiesce when our log ends at the leader's last entry (log
    // matching: then it is the leader's log); otherwise stay awake and say so, which wakes the leader.
    let reject = false;
    if (m.logTerm > 0) {
      if (
        this.state === StateType.Follower &&
        log.lastIndex() === m.commit &&
        log.committed === m.commit &&
        log.termOrZero(m.commit) === m.logTerm &&
        log.unstable.snapshot === null
      )
        this.quiescent = true;
      else reject = true;
    } else {
      this.quiescent = false;
    }
    // Echo the leader's send tick (LeaseBased): it dates the reset of our election timer.
    this.send({ type: MessageType.MsgHeartbeatResp, to: m.from, context: m.context, index: m.index, reject });
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === null) {
      this.logger.warn('MsgSnap without a snapshot', { from: m.from });
      return;
    }
    if (this.restore(s)) {
      this.logger.info('restored snapshot', { id: this.id, index: s.metadata.index, term: s.metadata.term });
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed });
    }
  }

  /** Installs a snapshot from the leader. Returns false if it is stale or we already have its entries. */
  restore(s: Snapshot): boolean {
    const { index, term, confState } = s.metadata;
    if (index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Only a follower receives snapshots; defensively become one at a higher term.
      this.becomeFollower(this.term + 1, 0);
      return false;
    }
    // A snapshot whose configuration lacks this node is still installed: the node was added after the
    // application took that snapshot, and its addition follows in the log. Until a configuration that
    // contains it is applied, it is not promotable: it never campaigns and never counts in a quorum.
    if (this.raftLog.matchTerm(index, term)) {
      // We already have the snapshot's entries: fast-forward the commit index instead.
      this.raftLog.commitTo(index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk.progress.clear();
    const r = restoreConfig(this.trk, confState, this.raftLog.lastIndex());
    this.switchToConfig(r);
    this.trk.progress.get(this.id)?.maybeUpdate(index);
    return true;
  }

  // ---- configuration -------------------------------------------------------------------------

  /** True on a leader that the applied configuration no longer counts as a voter. */
  leaderRemoved(): boolean {
    const pr = this.trk.progress.get(this.id);
    return this.state === StateType.Leader && (pr === undefined || pr.isLearner);
  }

  /**
   * A leader that was removed (or demoted to learner) cannot lead the new configuration, yet stepping
   * down at once could strand it: the remaining voters may not know that the change committed, and
   * without this node's vote they could not elect anyone. So it stays in charge just long enough to
   * hand over: it keeps replicating (refusing proposals) and transfers leadership to the most up-to-date
   * voter of the new configuration, retrying each election timeout until a new leader deposes it.
   */
  handOver(): void {
    let target = 0;
    let best = -1;
    for (const id of [...this.trk.config.incoming].sort((a, b) => a - b)) {
      const p = this.trk.progress.get(id);
      if (id === this.id || p === undefined || p.isLearner) continue;
      if (p.match > best) {
        best = p.match;
        target = id;
      }
    }
    if (target === 0) {
      this.logger.warn('removed leader has no voter to hand over to: stepping down', { id: this.id });
      this.becomeFollower(this.term, 0);
      return;
    }
    this.logger.info('leader removed from the configuration: handing over', {
      id: this.id,
      term: this.term,
      to: target,
    });
    this.leadTransferee = target;
    this.electionElapsed = 0;
    this.bcastAppend(); // every remaining member learns the commit index
    const pr = this.trk.progress.get(target) as Progress;
    if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(target);
  }

  applyConfChange(cc: ConfChangeV2): ConfState {
    return this.switchToConfig(this.computeConfChange(cc));
  }

  /** The configuration `cc` leads to from the current one; throws RaftError InvalidMessage if it is invalid. */
  private computeConfChange(cc: ConfChangeV2): ChangeResult {
    const changer = new Changer(this.trk, this.raftLog.lastIndex());
    if (leaveJointOf(cc)) return changer.leaveJoint();
    const { useJoint, autoLeave } = enterJointOf(cc);
    return useJoint ? changer.enterJoint(autoLeave, cc.changes) : changer.simple(cc.changes);
  }

  private switchToConfig(r: ChangeResult): ConfState {
    this.trk.config = r.config;
    this.trk.progress = r.progress;
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if (this.state === StateType.Leader && (pr === undefined || this.isLearner)) {
      this.handOver();
      return cs;
    }
    if (this.state !== StateType.Leader || cs.voters.length === 0) return cs;
    if (this.maybeCommit()) {
      // The new configuration can commit more (e.g. a removed voter no longer counts).
      this.bcastAppend();
    } else {
      for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    }
    if (this.leadTransferee !== 0 && !this.trk.isVoter(this.leadTransferee)) this.leadTransferee = 0;
    return cs;
  }

  // ---- reads ---------------------------------------------------------------------------------

  sendTimeoutNow(to: number): void {
    this.leaseRevoked = true;
    this.send({ type: MessageType.MsgTimeoutNow, to });
  }

  /**
   * Whether this leader may answer a read from its lease (LeaseBased). A follower's election timer was
   * reset no earlier than the leader sent the heartbeat it acknowledged (tick S), and the follower
   * neither votes for another candidate (check-quorum) nor campaigns until electionTick of its own ticks
   * have passed — at least electionTick - 1 tick periods after S, its first tick possibly coming at
   * once. Any quorum that elects another leader contains one of the acknowledging quorum, so no other
   * leader can exist (nor have committed anything) while, on the leader's clock, fewer than
   * electionTick - 1 ticks have passed since the quorum's S; counting ticks, that is
   * `tickCount - S < electionTick - 1` (the current tick period is still running). This assumes every
   * node's tick has the same period (bounded clock drift must be absorbed by a larger electionTick).
   * A pending or attempted leadership transfer voids the lease: the transferee's election bypasses it.
   */
  leaseValid(): boolean {
    if (this.leadTransferee !== 0 || this.leaseRevoked) return false;
    const self = this.trk.progress.get(this.id);
    if (self === undefined || self.isLearner) return false;
    self.leaseAckTick = this.tickCount;
    const since = this.trk.quorumLeaseAckTick();
    return since > 0 && this.tickCount - since < this.cfg.electionTick - 1;
  }

  sendMsgReadIndexResponse(m: Message, mayThrow = true): void {
    if (this.cfg.readOnlyOption === ReadOnlyOption.Safe || !this.leaseValid()) {
      // Safe ReadIndex, also for LeaseBased when the lease cannot be trusted right now.
      if (this.readOnly.queue.length >= this.cfg.maxPendingReadIndex) {
        this.refuseRead(m, mayThrow);
        return;
      }
      if (!this.readOnly.addRequest(this.raftLog.committed, m)) return;
      this.readOnly.recvAck(this.id, m.context);
      this.readsPending = true;
    } else {
      this.responseToReadIndexReq(m, this.raftLog.committed);
    }
  }

  /** Too many pending reads: a local caller gets ProposalDropped; a forwarded request is dropped (the follower's caller times out). */
  private refuseRead(m: Message, mayThrow: boolean): void {
    if (mayThrow && (m.from === this.id || m.from === 0)) {
      throw new RaftError(
        RaftErrorCode.ProposalDropped,
        `more than ${this.cfg.maxPendingReadIndex} pending read requests`,
      );
    }
    this.logger.debug('dropping a read request: too many pending', { from: m.from });
  }

  responseToReadIndexReq(req: Message, readIndex: number): void {
    if (req.from === 0 || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.context });
      return;
    }
    this.send({ type: MessageType.MsgReadIndexResp, to: req.from, index: readIndex, context: req.context });
  }

  /** Proposes conf change entries; validates one-pending-at-a-time. */
  checkConfChangeProposal(e: Entry, index: number): void {
    const cc = decodeConfChange(e.data);
    const v2 = confChangeAsV2(cc);
    const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
    const alreadyJoint = this.trk.isJoint();
    const wantsLeaveJoint = isConfChangeV2(cc) && leaveJointOf(v2);
    let refused = '';
    if (alreadyPending)
      refused = `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.raftLog.applied})`;
    else if (alreadyJoint && !wantsLeaveJoint)
      refused = 'must transition out of the joint configuration first';
    else if (!alreadyJoint && wantsLeaveJoint) refused = 'not in a joint configuration';
    if (refused !== '') throw new RaftError(RaftErrorCode.ProposalDropped, `conf change refused: ${refused}`);
    // With one change pending at a time, the configuration it will be applied to is the current one:
    // validate it now, so that a committed conf change entry is always applicable.
    try {
      this.computeConfChange(v2);
    } catch (e) {
      throw new RaftError(
        RaftErrorCode.ProposalDropped,
        `conf change refused: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    this.pendingConfIndex = index;
  }

  // ---- leader step ---------------------------------------------------------------------------

  stepLeaderLocal(m: Message): boolean {
    switch (m.type) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat(null);
        return true;
      case MessageType.MsgCheckQuorum:
        if (!this.trk.quorumActive()) {
          this.logger.warn('stepping down: no quorum heard within an election timeout', {
            id: this.id,
            term: this.term,
          });
          this.becomeFollower(this.term, 0);
        }
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return true;
      case MessageType.MsgProp: {
        if (m.entries.length === 0) throw new RaftError(RaftErrorCode.InvariantViolated, 'empty proposal');
        if (this.leaderRemoved()) {
          throw new RaftError(
            RaftErrorCode.ProposalDropped,
            'this leader was removed from the configuration and is handing over',
          );
        }
        if (this.leadTransferee !== 0) {
          throw new RaftError(
            RaftErrorCode.ProposalDropped,
            `leadership is being transferred to ${this.leadTransferee}`,
          );
        }
        const base = this.raftLog.lastIndex();
        const savedPending = this.pendingConfIndex;
        for (let i = 0; i < m.entries.length; i++) {
          const e = m.entries[i] as Entry;
          if (e.type !== EntryType.Normal) {
            try {
              this.checkConfChangeProposal(e, base + i + 1);
            } catch (err) {
              this.pendingConfIndex = savedPending;
              throw err;
            }
          }
        }
        if (!this.appendEntry(m.entries)) {
          this.pendingConfIndex = savedPending;
          throw new RaftError(
            RaftErrorCode.ProposalDropped,
            `uncommitted entries exceed maxUncommittedEntriesBytes (${this.cfg.maxUncommittedEntriesBytes})`,
          );
        }
        // Batching: the appends go out when the caller next asks for a Ready, carrying every
        // proposal made since (flush).
        this.proposalsPending = true;
        return true;
      }
      case MessageType.MsgReadIndex:
        if (this.leaderRemoved()) {
          // Handing over: the new configuration may already have elected a leader with newer commits.
          this.refuseRead(m, true);
        } else if (this.trk.isSingleton() && this.trk.config.incoming.has(this.id)) {
          this.responseToReadIndexReq(m, this.raftLog.committed);
        } else if (!this.committedEntryInCurrentTerm()) {
          // The leader's commit index is only known to be current once it committed an entry of its term (thesis 6.4).
          if (this.pendingReadIndexMessages.length >= this.cfg.maxPendingReadIndex) {
            this.refuseRead(m, true);
            return true;
          }
          this.pendingReadIndexMessages.push(m);
        } else {
          this.sendMsgReadIndexResponse(m);
        }
        return true;
      default:
        return false;
    }
  }
}

// ---- role step functions ------------------------------------------------------------------------

function stepLeader(r: Raft, m: Message): void {
  if (r.stepLeaderLocal(m)) return;
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case MessageType.MsgAppResp: {
      pr.recentActive = true;
      if (m.reject) {
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) {
          // The follower told us its term at rejectHint; skip every entry of ours with a higher term.
          nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
        }
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          r.maybeSendAppend(m.from, true);
        }
        return;
      }
      const oldPaused = pr.isPaused();
      if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
        if (pr.state === ProgressState.Probe) {
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= r.raftLog.firstIndex()) {
          // The follower caught up past our first index (from the snapshot or otherwise): resume appends.
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Replicate) {
          pr.inflights.freeLE(m.index);
        }
        if (r.maybeCommit()) {
          r.bcastAppend();
        } else if (oldPaused) {
          r.maybeSendAppend(m.from, true);
        }
        // Pipelining: keep the window full while there are entries to send.
        while (r.maybeSendAppend(m.from, false)) {
          /* batches of up to maxSizePerMsgBytes each */
        }
        if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
          r.logger.info('sending MsgTimeoutNow: the transferee caught up', { to: m.from });
          r.sendTimeoutNow(m.from);
        }
      }
      return;
    }
    case MessageType.MsgHeartbeatResp: {
      // A rejecting one is a follower's wake-up call (quiescence), sent also when its group closes
      // on that node: only answers to heartbeats count as signs of life.
      if (!m.reject) pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // A full window with the follower alive means appends were lost: free one slot so that the next
      // append goes out; the follower's rejection of it (if any) moves us back to probing.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.raftLog.lastIndex() || pr.state === ProgressState.Probe)
        r.maybeSendAppend(m.from, true);
      if (m.index > 0 && r.cfg.readOnlyOption === ReadOnlyOption.LeaseBased) {
        // A response dates from the heartbeat it answers (never from the future).
        pr.leaseAckTick = Math.max(pr.leaseAckTick, Math.min(m.index, r.tickCount));
      }
      if (m.context.byteLength === 0) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (acks === null || r.trk.voteResultOf(acks) !== VoteResult.Won) return;
      for (const rs of r.readOnly.advance(m.context)) r.responseToReadIndexReq(rs.req, rs.index);
      return;
    }
    case MessageType.MsgSnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = 0;
      // On success next = pendingSnapshot + 1; on failure probe from match + 1.
      pr.becomeProbe();
      // Wait for a MsgAppResp or a heartbeat response before sending more.
      pr.msgAppFlowPaused = true;
      return;
    case MessageType.MsgUnreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.MsgTransferLeader: {
      if (pr.isLearner) {
        r.logger.info('ignoring leadership transfer to a learner', { to: m.from });
        return;
      }
      const transferee = m.from;
      if (r.leadTransferee !== 0) {
        if (r.leadTransferee === transferee) return;
        r.leadTransferee = 0;
      }
      if (transferee === r.id) return;
      // The transfer must finish within an election timeout (tickHeartbeat abandons it).
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      if (pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(transferee);
      else r.maybeSendAppend(transferee, true);
      return;
    }
    default:
      return;
  }
}

function stepCandidate(r: Raft, m: Message): void {
  const myVoteResp =
    r.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgProp:
      throw new RaftError(RaftErrorCode.NotLeader, `node ${r.id} is a ${r.state}: no leader to propose to`, {
        leaderId: 0,
      });
    case MessageType.MsgApp:
      r.becomeFollower(m.term, m.from);
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case MessageType.MsgReadIndex:
      if (m.from !== r.id) return; // a stale forward from a node that thinks we lead: it times out and retries
      throw new RaftError(RaftErrorCode.NotLeader, `node ${r.id} is a ${r.state}: no leader to read from`, {
        leaderId: 0,
      });
    case myVoteResp: {
      const result = r.poll(m.from, m.type, !m.reject);
      if (result === VoteResult.Won) {
        if (r.state === StateType.PreCandidate) {
          r.campaign(CampaignElection);
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (result === VoteResult.Lost) {
        // A pre-candidate that lost goes back to follower at its unchanged term.
        r.becomeFollower(r.term, 0);
      }
      return;
    }
    default:
      return;
  }
}

function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgProp:
      throw new RaftError(
        RaftErrorCode.NotLeader,
        r.lead === 0
          ? `node ${r.id} is a follower and knows no leader`
          : `node ${r.id} is a follower; the leader is ${r.lead}`,
        { leaderId: r.lead },
      );
    case MessageType.MsgApp:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === 0) {
        r.logger.info('no leader: dropping a leadership transfer request', { id: r.id, transferee: m.from });
        return;
      }
      r.msgs.push(newMessage({ ...m, to: r.lead, term: 0 }));
      return;
    case MessageType.MsgTimeoutNow:
      // The leader asked us to take over: campaign at once, with a real election even when pre-vote is on.
      r.logger.info('received MsgTimeoutNow: campaigning', { id: r.id, term: r.term, from: m.from });
      r.hup(CampaignTransfer);
      return;
    case MessageType.MsgReadIndex:
      if (m.from !== r.id) return; // a stale forward from a node that thinks we lead
      if (r.lead === 0) {
        throw new RaftError(RaftErrorCode.NotLeader, `node ${r.id} knows no leader to read from`, {
          leaderId: 0,
        });
      }
      r.msgs.push(newMessage({ ...m, to: r.lead, from: r.id, term: 0 }));
      return;
    case MessageType.MsgReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
    default:
      return;
  }
}
