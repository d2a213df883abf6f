// RawNode: the public, synchronous driver of one Raft group member. The caller owns the loop:
// tick() on its timer, step() for each received message, propose()/readIndex() for clients,
// and handles each Ready in the order its documentation prescribes before calling advance().
import { validateConfig } from './config.js';
import type { Config } from './config.js';
import { confChangeAsV2, encodeConfChange } from './confchange.js';
import { RaftError, RaftErrorCode } from './errors.js';
import { Raft } from './internal/raft.js';
import { EntryType, MessageType, StateType, localMessageTypes, newMessage } from './types.js';
import type {
  ConfChange,
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Message,
  ProgressStatus,
  Ready,
  SoftState,
  Status,
} from './types.js';

const noEntries: readonly Entry[] = Object.freeze([]);
const noMessages: readonly Message[] = Object.freeze([]);
const knownTypes: ReadonlySet<string> = new Set(Object.values(MessageType));

/** Where a successful proposal landed in the leader's log (it is committed once applied entries reach it). */
export interface ProposalResult {
  readonly index: number;
  readonly term: number;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** The Ready handed out and not yet advanced. */
  private pending: Ready | null = null;

  /** Throws RaftError InvalidConfig for a bad option, or a storage error while loading the initial state. */
  constructor(config: Config) {
    this.raft = new Raft(validateConfig(config));
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances the logical clock by one tick (election and heartbeat timers count ticks). */
  tick(): void {
    this.raft.tick();
  }

  /**
   * Quiesces an idle group (leader only; docs/design/quiescence.md): when nothing is pending, everything
   * is committed and applied (advance() called), and every member not reported down by `isDown` holds
   * the whole log (they and this leader a quorum), the leader sends each member a quiesce heartbeat,
   * stops heartbeating and returns true. Its followers quiesce when that heartbeat finds their log
   * ending at the same entry. Returns false, doing nothing, otherwise. A quiescent node's tick() only
   * counts the tick; any input that needs the group wakes it, and so does wake(). Failure detection is
   * the caller's while a group is quiescent: call wake() when a member's node may be down.
   */
  quiesce(isDown?: (id: number) => boolean): boolean {
    return this.raft.quiesce(isDown);
  }

  /** Whether quiesce() would quiesce now (no side effect). */
  canQuiesce(isDown?: (id: number) => boolean): boolean {
    return this.raft.canQuiesce(isDown);
  }

  /** Whether the group is quiescent on this node (tick() then does nothing). */
  get quiescent(): boolean {
    return this.raft.quiescent;
  }

  /**
   * Ends quiescence: a leader restarts its check-quorum period and heartbeats from its next tick; a
   * follower's election timer runs again, and it tells its leader to wake. `leaderSilentTicks`: the
   * caller knows nothing arrived from this follower's leader (its node) for that many ticks — the
   * election timer counts them, up to electionTick (so the randomized rest still spreads candidates);
   * this applies to an awake follower too. Never pass more than the ticks since the leader's node was
   * last heard: the check-quorum lease (and LeaseBased reads) count on followers' timers.
   */
  wake(options: { leaderSilentTicks?: number } = {}): void {
    const silent = options.leaderSilentTicks ?? 0;
    if (!Number.isSafeInteger(silent) || silent < 0)
      throw new RaftError(
        RaftErrorCode.InvalidMessage,
        `leaderSilentTicks must be a non-negative integer, got ${silent}`,
      );
    this.raft.wake(silent, true);
  }

  /**
   * Forgets this follower's leader (etcd's ForgetLeader): it stays a follower in its term, without
   * campaigning, but knows no leader, so it grants pre-votes and votes at once instead of ignoring
   * them for an election timeout (the check-quorum lease). Call it when the leader's node is known to
   * be gone (its connections closed): once a quorum of followers forgot it, one of them can campaign
   * (campaign()) and win without waiting for an election timeout. A live leader is re-learnt from
   * its next heartbeat or append, and while the other followers hold their lease it cannot be
   * disrupted. A vote or pre-vote request it ignored within the lease (the latest one) is answered
   * now. Wakes a quiescent follower (which tells its leader). `leaderId`: forget the leader
   * only if it is that node (the one whose node is gone), not a newer one learnt meanwhile. Returns
   * false and changes nothing unless this node is a follower that knows a leader (that one), or with
   * `readOnlyOption` LeaseBased (a lease leader counts on its followers' timers). The election timer
   * is not reset.
   */
  forgetLeader(leaderId?: number): boolean {
    if (leaderId !== undefined && (!Number.isSafeInteger(leaderId) || leaderId < 0))
      throw new RaftError(RaftErrorCode.InvalidMessage, `leaderId must be a node id, got ${leaderId}`);
    return this.raft.forgetLeader(leaderId ?? 0);
  }

  /** Starts an election now (pre-vote first when enabled). */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.MsgHup, from: this.raft.id }));
  }

  /**
   * Proposes `data` as a new entry. Only the leader accepts: a follower or candidate throws RaftError
   * NotLeader with `leaderId` set to the known leader (0 if none). A leader throws ProposalDropped when a
   * leadership transfer is in progress or the uncommitted limit is reached. Returns the entry's index and term.
   */
  propose(data: Uint8Array): ProposalResult {
    return this.proposeEntry(EntryType.Normal, data);
  }

  /**
   * Proposes a membership change. Throws like propose(), and ProposalDropped while another change is
   * pending (not yet applied), or when the change does not fit the joint state (leave a joint
   * configuration with an empty ConfChangeV2 before starting another change).
   */
  proposeConfChange(cc: ConfChange | ConfChangeV2): ProposalResult {
    const { type, data } = encodeConfChange(cc);
    return this.proposeEntry(type, data);
  }

  private proposeEntry(type: EntryType, data: Uint8Array): ProposalResult {
    const r = this.raft;
    r.step(
      newMessage({ type: MessageType.MsgProp, from: r.id, entries: [{ term: 0, index: 0, type, data }] }),
    );
    const index = r.raftLog.lastIndex();
    return { index, term: r.term };
  }

  /**
   * Feeds a message received from a peer. Local-only kinds (MsgHup, MsgBeat, ...) and proposals are
   * rejected with RaftError InvalidMessage; so are messages addressed to another node.
   * Messages from unknown peers and stale messages are ignored.
   */
  step(m: Message): void {
    if (localMessageTypes.has(m.type)) {
      throw new RaftError(
        RaftErrorCode.InvalidMessage,
        `${m.type} is local: use the RawNode method instead of step()`,
      );
    }
    if (m.type === MessageType.MsgProp) {
      throw new RaftError(
        RaftErrorCode.InvalidMessage,
        'proposals are not forwarded: call propose() on the leader',
      );
    }
    if (m.to !== this.raft.id) {
      throw new RaftError(
        RaftErrorCode.InvalidMessage,
        `message for node ${m.to} delivered to node ${this.raft.id}`,
      );
    }
    if (!knownTypes.has(m.type))
      throw new RaftError(RaftErrorCode.InvalidMessage, `unknown message type ${String(m.type)}`);
    // Only forwarded requests travel without a term; anything else with term 0 would bypass the term rules.
    if (m.term === 0 && m.type !== MessageType.MsgReadIndex && m.type !== MessageType.MsgTransferLeader) {
      throw new RaftError(RaftErrorCode.InvalidMessage, `${m.type} from ${m.from} carries no term`);
    }
    this.raft.step(m);
  }

  /**
   * Requests a linearizable read. `ctx` (non-empty, unique per request) comes back in
   * Ready.readStates with the index to wait for: once applied >= index, reading the state machine is
   * linearizable. A follower forwards the request to its leader; without a known leader it throws
   * NotLeader. The answer may never come (leader change): time out and retry in the caller.
   */
  readIndex(ctx: Uint8Array): void {
    if (ctx.byteLength === 0)
      throw new RaftError(RaftErrorCode.InvalidMessage, 'readIndex needs a non-empty request context');
    this.raft.step(newMessage({ type: MessageType.MsgReadIndex, from: this.raft.id, context: ctx }));
  }

  /**
   * Asks the leader to hand leadership to `transferee`: it brings the transferee up to date and sends it
   * MsgTimeoutNow; proposals are refused meanwhile; abandoned after an election timeout. On a follower
   * the request is forwarded to the leader; without a known leader it throws NotLeader.
   */
  transferLeadership(transferee: number): void {
    const r = this.raft;
    if (r.state !== StateType.Leader && r.lead === 0) {
      throw new RaftError(
        RaftErrorCode.NotLeader,
        `node ${r.id} knows no leader to transfer leadership from`,
        { leaderId: 0 },
      );
    }
    r.step(newMessage({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  /** The transport failed to reach `id`: the leader stops pipelining to it and probes instead. */
  reportUnreachable(id: number): void {
    this.raft.step(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** Reports whether the snapshot last sent to `id` was delivered (ok) or failed. */
  reportSnapshot(id: number, ok: boolean): void {
    this.raft.step(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject: !ok }));
  }

  /**
   * Applies a committed conf change entry's change to the membership; call it while applying the entry
   * (decode the entry with decodeConfChange). Returns the new configuration, to record with the state.
   */
  applyConfChange(cc: ConfChange | ConfChangeV2): ConfState {
    return this.raft.applyConfChange(confChangeAsV2(cc));
  }

  /** Whether ready() has anything to hand out. Cheap: no allocation. */
  hasReady(): boolean {
    const r = this.raft;
    if (this.pending !== null) return false;
    if (r.proposalsPending || r.readsPending) return true;
    if (r.msgs.length > 0) return true;
    const log = r.raftLog;
    if (log.unstable.entries.length > 0 || log.unstable.snapshot !== null) return true;
    if (log.hasNextCommittedEnts()) return true;
    if (r.readStates.length > 0) return true;
    if (r.lead !== this.prevSoftState.lead || r.state !== this.prevSoftState.raftState) return true;
    const hs = this.prevHardState;
    return r.term !== hs.term || r.vote !== hs.vote || log.committed !== hs.commit;
  }

  /**
   * Returns the work to do; handle it as the Ready type documents and call advance() before the next
   * ready(). Throws InvariantViolated if the previous Ready was not advanced.
   */
  ready(): Ready {
    if (this.pending !== null)
      throw new RaftError(RaftErrorCode.InvariantViolated, 'ready() called again before advance()');
    const r = this.raft;
    r.flush();
    const log = r.raftLog;
    const ss = r.softState();
    const softState =
      ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState ? ss : null;
    const phs = this.prevHardState;
    const changedHs = r.term !== phs.term || r.vote !== phs.vote || log.committed !== phs.commit;
    const hardState = changedHs ? r.hardState() : null;
    const entries = log.unstable.entries.length > 0 ? log.unstable.entries.slice() : noEntries;
    const snapshot = log.unstable.snapshot;
    const committedEntries = log.nextCommittedEnts();
    if (committedEntries.length > 0)
      log.acceptApplying((committedEntries[committedEntries.length - 1] as Entry).index);
    const messages = r.msgs.length > 0 ? r.msgs : noMessages;
    if (r.msgs.length > 0) r.msgs = [];
    const readStates = r.readStates;
    if (readStates.length > 0) r.readStates = [];
    const mustSync =
      entries.length > 0 ||
      snapshot !== null ||
      (hardState !== null && (hardState.term !== phs.term || hardState.vote !== phs.vote));
    const rd: Ready = {
      softState,
      hardState,
      readStates,
      entries,
      snapshot,
      committedEntries,
      messages,
      mustSync,
    };
    this.pending = rd;
    return rd;
  }

  /**
   * Acknowledges the last Ready: its snapshot and entries are persisted, its messages sent and its
   * committed entries applied. Throws InvariantViolated if storage does not hold the Ready's entries,
   * snapshot or new term/vote (they must be durable before the messages that depend on them are sent).
   */
  advance(): void {
    const rd = this.pending;
    if (rd === null)
      throw new RaftError(RaftErrorCode.InvariantViolated, 'advance() without a pending Ready');
    const r = this.raft;
    const storage = r.cfg.storage;
    // The caller may have compacted past these indexes meanwhile; then they were certainly persisted.
    const compactedTo = storage.firstIndex() - 1;
    if (rd.snapshot !== null) {
      const idx = rd.snapshot.metadata.index;
      if (compactedTo < idx || (compactedTo === idx && storage.term(idx) !== rd.snapshot.metadata.term)) {
        throw new RaftError(
          RaftErrorCode.InvariantViolated,
          `advance(): Ready.snapshot at ${idx} was not applied to storage`,
        );
      }
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined && last.index >= compactedTo) {
      const stored = storage.lastIndex() >= last.index ? storage.term(last.index) : -1;
      if (stored !== last.term) {
        throw new RaftError(
          RaftErrorCode.InvariantViolated,
          `advance(): Ready.entries up to ${last.index} (term ${last.term}) are not in storage`,
        );
      }
    }
    const hs = rd.hardState;
    if (hs !== null && (hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote)) {
      // A new term or vote is what a MsgVoteResp in this Ready promises: it must be durable (rare, so cheap).
      const stored = storage.initialState().hardState;
      if (stored.term !== hs.term || stored.vote !== hs.vote) {
        throw new RaftError(
          RaftErrorCode.InvariantViolated,
          `advance(): Ready.hardState (term ${hs.term}, vote ${hs.vote}) is not in storage (term ${stored.term}, vote ${stored.vote})`,
        );
      }
    }
    this.pending = null;
    if (rd.softState !== null) this.prevSoftState = rd.softState;
    if (rd.hardState !== null) this.prevHardState = rd.hardState;
    if (rd.snapshot !== null) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      r.raftLog.appliedTo(Math.max(r.raftLog.applied, rd.snapshot.metadata.index));
    }
    if (last !== undefined) r.raftLog.stableTo(last.index, last.term);
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      r.reduceUncommittedSize(rd.committedEntries);
      r.appliedTo(lastCommitted.index);
    }
    r.raftLog.assertInvariants();
  }

  /** A snapshot of the node's state, for monitoring. */
  status(): Status {
    const r = this.raft;
    let progress: Map<number, ProgressStatus> | null = null;
    if (r.state === StateType.Leader) {
      progress = new Map();
      for (const [id, pr] of r.trk.progress) progress.set(id, pr.status());
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      progress,
      leadTransferee: r.leadTransferee,
      config: r.trk.confState(),
      quiescent: r.quiescent,
    };
  }

  /** The node's id. */
  get id(): number {
    return this.raft.id;
  }
}
