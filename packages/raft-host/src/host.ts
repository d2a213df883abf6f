// RaftHost: runs many Raft groups in one process.
//
// One timer ticks every group; one transport carries every group's messages; every group's log
// is a RaftLogStorage on its own Wal, and all of them share one GroupCommitter, so one flush
// cycle fsyncs the entries and hard states of every group that has work.
//
// Each cycle handles the Ready of every group that has one, in the order the durability rules
// prescribe (docs/design/durability.md, "The durability order"):
//   1. append entries, hard state and any received snapshot to the group's storage (in memory);
//   2. wait until all of that is durable (one shared group-commit fsync);
//   3. send the messages, which may depend on what was just persisted;
//   4. apply committed entries to the group's state machine (restore a snapshot first);
//   5. advance.
// Only one cycle runs at a time; inputs that arrive meanwhile (messages, proposals, ticks) are
// stepped into the groups at once and handled by the next cycle, so fsyncs are shared naturally.
//
// Errors (README, "When a group stops"): the Raft core refuses some inputs without changing any
// state — a message that is invalid or not for this node (InvalidMessage), a request this node
// cannot serve (NotLeader, ProposalDropped). A refused peer message is dropped; a refused proposal
// or read is the caller's error. Any other error out of a group's core (InvariantViolated above
// all: an append that conflicts with a committed entry) or out of its state machine's restore
// means that group's state can no longer be trusted: the group stops for good (etcd panics), logged
// at error with its terms and indexes, and tells its state machine (onRoleChange to follower, then
// onStopped). A failed fsync stops the whole host: every group stops with that error.
//
// Node ids (docs/design/node-ids.md): callers, state machines and the transport speak node ids
// (Kafka broker ids, 0 included; "no node" is NO_NODE, -1); the cores and their storage run under
// Raft ids, where 0 means "no node" and node 0 is RAFT_ID_OF_NODE_ZERO. The mapping is applied here,
// where ids cross the host's API, and only here: everything inside (Group.leaderId, Group.confState,
// the liveness table) is in Raft ids.
import path from 'node:path';
import { every, realEnv, schedulerOfTimers } from '@chronik/env';
import type { Clock, Env, FileSystem, IntervalTimers, Scheduler, TimerHandle } from '@chronik/env';
import {
  EntryType,
  MessageType,
  RaftError,
  newMessage,
  RaftErrorCode,
  RawNode,
  StateType,
  confChangeOfEntry,
  isRaftError,
  seededRng,
} from '@chronik/raft';
import type {
  ConfChange,
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Logger,
  Message,
  Ready,
  Rng,
  SnapshotMetadata,
  Status,
} from '@chronik/raft';
import { GroupCommitter } from '@chronik/wal';
import type { SyncPolicy, WalStats } from '@chronik/wal';
import { HostError } from './errors.js';
import { HostStats } from './stats.js';
import type { HostObserver } from './stats.js';
import { RaftLogStorage } from './raft-storage.js';
import {
  NO_NODE,
  RAFT_ID_OF_NODE_ZERO,
  confChangeToRaft,
  confStateOfRaft,
  isNodeId,
  messageOfRaft,
  messageToRaft,
  nodeIdOfRaft,
  nodeIdsOfRaft,
  raftIdOf,
} from './node-ids.js';

/** A group's application state, driven by committed entries. */
export interface StateMachine {
  /**
   * Applies one committed normal entry (empty entries, the leaders' no-ops, are applied too so
   * that indexes stay contiguous). Deterministic: the same entries give the same state on every
   * node. The returned value settles the proposal of that entry on the node that proposed it.
   */
  apply(entry: Entry): unknown;
  /** The state as of the last applied entry, serialized. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array, metadata: SnapshotMetadata): void;
  /** Called after a membership change was applied; `index` is the conf change entry's. */
  onConfChange?(confState: ConfState, index: number): void;
  /** Called when this node's role or the known leader changes (`leaderId` NO_NODE, -1: none known). */
  onRoleChange?(role: StateType, leaderId: number, term: number): void;
  /**
   * Called on the leader after a follower acknowledged entries (its match index may have moved),
   * whether or not the commit index moved: for a state machine that waits until more replicas
   * than a majority hold an entry (see GroupStatus.progress). Keep it cheap.
   */
  onReplicated?(): void;
  /**
   * Called once when the group stops for good: its Raft core broke an invariant, this state machine
   * could not follow the log (restore threw), or the host's storage failed. Nothing more is applied,
   * proposals are refused with HostError Stopped, and a leader was first told it no longer leads
   * (onRoleChange). The state machine should stop serving what it built from the group.
   */
  onStopped?(error: Error): void;
  /**
   * With `snapshotPolicy: 'stateMachine'`: asked after every cycle in which the group did work.
   * Returns a point the log may be compacted to — `data` is the state as of `index` (an applied
   * index), everything after it must be rebuildable from the entries after `index` — or undefined
   * (the usual answer; keep it cheap). The host records the snapshot at `index` with the membership
   * as of `index` and compacts the log to exactly `index`, so entries `index + 1…` stay in the log,
   * are re-applied after a restart, and reach a follower that installs the snapshot by normal
   * replication.
   */
  snapshotPoint?(): SnapshotPoint | undefined;
}

/** A snapshot a state machine offers (see StateMachine.snapshotPoint). */
export interface SnapshotPoint {
  /** An applied index, above the group's current snapshot index. */
  index: number;
  /** The state machine's state as of `index` (what restore() receives). */
  data: Uint8Array;
}

/**
 * When a group takes snapshots:
 * - `applied` (default): every `snapshotEveryEntries` applied entries, at the applied index, from
 *   `StateMachine.snapshot()`; the log keeps `keepEntriesAfterSnapshot` entries behind it.
 * - `stateMachine`: only when `StateMachine.snapshotPoint()` offers one, and the log is compacted to
 *   exactly that point (for state machines whose data is the log itself, such as a Kafka partition).
 */
export type SnapshotPolicy = 'applied' | 'stateMachine';

/** What the host needs of a transport (GrpcTransport fits; tests may use an in-memory one). */
export interface HostTransport {
  send(groupId: number, message: Message): boolean;
  /** Proposes on another node and resolves once applied there (GrpcTransport.forwardProposal). */
  forwardProposal?(
    toNode: number,
    groupId: number,
    data: Uint8Array,
    timeoutMs: number,
  ): Promise<{ index: number; term: number }>;
}

export interface RaftHostOptions {
  /** This node's id, 0 to 2^31 - 1 (a Kafka broker id; node 0 runs in Raft as 2^31: node-ids.ts). */
  nodeId: number;
  /** Folder holding one sub-folder per group (`group-<id>`). */
  dataDir: string;
  transport?: HostTransport;
  /**
   * Everything the host takes from the machine (`@chronik/env`); missing parts are the machine's
   * (`realEnv`). `clock.monotonicMs`: proposal deadlines; `clock.nowMs`: the WALs' segment stamps;
   * `scheduler.setTimer`: the shared tick and timeouts; `scheduler.defer`: where a cycle starts and
   * where the shared group commit flushes; `random`: the seed of the election jitter when `rng` is
   * not given; `fs`: every group's files; `logger`. With all of them and a transport injected, the
   * host reads no clock and schedules nothing of its own (tools/sim).
   */
  env?: Partial<Env>;
  /**
   * Election jitter; seed it for reproducible runs. Default: seeded from `env.random` when that is
   * given, else the Raft core's default (seeded by node id).
   */
  rng?: Rng;
  /** @deprecated `env.logger`. */
  logger?: Logger;
  /** @deprecated `env.fs`. */
  fs?: FileSystem;
  /** @deprecated `env.scheduler` (the timers before it; the tick now runs on `setTimeout`). */
  scheduler?: IntervalTimers;
  /** @deprecated `env.scheduler.defer`. */
  defer?(fn: () => void): void;
  /** @deprecated `env.clock.monotonicMs`. */
  now?(): number;
  /** @deprecated `env.clock.nowMs`. */
  clock?: Pick<Clock, 'nowMs'>;
  /** Group commit policy shared by all groups. Default: fsync every cycle. */
  syncPolicy?: SyncPolicy;
  /** Period of the shared tick. Default 100 ms. */
  tickMs?: number;
  /** Ticks without a leader's word before a follower campaigns (randomized up to twice this). Default 10. */
  electionTicks?: number;
  /** Ticks between a leader's heartbeats. Default 1. */
  heartbeatTicks?: number;
  /** Default time a proposal may wait for its commit. Default 10 000 ms. */
  proposalTimeoutMs?: number;
  /** Proposals waiting for their commit, per group; more are refused. Default 10 000. */
  maxPendingProposals?: number;
  /** Largest entry data accepted by propose(). Default 8 MiB. */
  maxProposalBytes?: number;
  /** WAL segment size of every group's log (compaction deletes whole segments). Default: the WAL's (64 MiB). */
  maxSegmentBytes?: number;
  /** Recent entry data each group keeps in memory. Default: the WAL storage's (32 MiB). */
  maxCacheBytesPerGroup?: number;
  /**
   * A hard state that differs from the stored one only in its commit index is written (and
   * fsync'd) at most once per this many ticks; term and vote changes are always written before
   * anything that depends on them is sent. Default 10. The commit index is volatile in Raft: after
   * a restart a node learns it again from the leader (or, alone, by committing an entry of its
   * new term), so a stored one that lags only means fewer entries re-applied at start.
   */
  commitPersistTicks?: number;
  /**
   * Write each group's entries with a synchronous write(2) on the event loop instead of a
   * thread-pool hand-off; the fdatasync stays in the pool (WalOptions.inlineWrites). Saves a
   * thread round trip per group per cycle. Default false.
   */
  inlineWrites?: boolean;
  /**
   * Told how long each cycle and each shared fsync took (timed on `env.clock.monotonicMs`). Default
   * none: no clock is read for it.
   */
  observer?: HostObserver;
  /**
   * Node liveness (docs/design/quiescence.md): a peer not heard from (any message, or the host's
   * liveness ping sent every tick while a group with `quiesce` is open) for this many ticks is down,
   * and the quiescent groups it is a member of wake. Default `electionTicks`.
   */
  livenessTimeoutTicks?: number;
  /**
   * Fast failover (README, "Leader loss"): when the transport reports a peer unreachable (its
   * stream failed: a killed process's connections close at once), every follower whose leader is
   * that peer forgets it (RawNode.forgetLeader) and one survivor per group campaigns at once — the
   * others a few ticks later, in turn, should it not win — instead of all waiting for an election
   * timeout. At most once per peer per election timeout, and only after the peer was heard from
   * since. Default true.
   */
  forgetUnreachableLeaders?: boolean;
}

export interface GroupOptions {
  groupId: number;
  stateMachine: StateMachine;
  /**
   * The voters of a new group. Used only when the group's folder holds no state: with existing
   * data, the stored configuration wins.
   */
  bootstrapVoters?: readonly number[];
  /** Take a snapshot and compact the log after this many applied entries. Default 10 000. */
  snapshotEveryEntries?: number;
  /** Entries kept in the log behind a snapshot, so slow followers can catch up without one. Default 1 000. */
  keepEntriesAfterSnapshot?: number;
  /** Who decides the snapshot points (see SnapshotPolicy). Default 'applied'. */
  snapshotPolicy?: SnapshotPolicy;
  /**
   * WAL segment size of this group's log (compaction frees disk in whole segments). Default: the
   * host's `maxSegmentBytes`. The largest entry the group accepts is min(16 MiB, this − 4 KiB, the
   * host's `maxProposalBytes`).
   */
  maxSegmentBytes?: number;
  /**
   * This group's election timeout in ticks (randomized up to twice this); default the host's
   * `electionTicks`. A shorter one fails over faster (Kafka partitions), a longer one rides out
   * stalls (the metadata group).
   */
  electionTicks?: number;
  /** Ticks between this group's heartbeats; default the host's `heartbeatTicks`. */
  heartbeatTicks?: number;
  /**
   * This group's `commitPersistTicks` (default the host's). 0 writes every commit advance, for a
   * group whose state should be complete at restart before a leader is elected (metadata).
   */
  commitPersistTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  /**
   * Let the group quiesce when idle (docs/design/quiescence.md): its leader stops heartbeating and
   * its members are no longer ticked until something happens; node liveness between hosts stands in
   * for the election timer meanwhile. Default false.
   */
  quiesce?: boolean;
  /** Ticks an idle leader waits before it quiesces the group. Default: the group's election ticks. */
  quiesceAfterTicks?: number;
}

/** A read-only view of a group's Raft log. */
export interface GroupLog {
  /**
   * Entries in [lo, hi), at least one when lo < hi, stopping before maxBytes would be exceeded.
   * Synchronous: entries no longer in memory are read from disk on the calling thread.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * Entries in [lo, hi) without blocking on the disk (RaftLogStorage.readEntries): from memory
   * when it holds them, otherwise with asynchronous reads. At least one when lo < hi, then as many
   * as fit in `maxBytes` of entry data. The answer is the log as of when it settles: Compacted
   * (RaftError) when lo is no longer in the log, and never an entry that was cut meanwhile.
   */
  readEntries(lo: number, hi: number, maxBytes: number): Promise<Entry[]>;
  /** The term of the entry at index (firstIndex() - 1 <= index <= lastIndex()). */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
}

export interface ProposeOptions {
  /**
   * Called synchronously, before propose() returns, when the entry was appended to this leader's
   * log (not yet durable), with its index and term. Not called when the proposal is refused
   * (too large, overloaded, not leader, dropped by the core): then nothing was appended and the
   * returned promise rejects. A caller that must know whether its entry is in the log (to assign
   * the next entry's content after it) asks here rather than waiting for the promise.
   */
  onAppended?(at: { index: number; term: number }): void;
  /**
   * Called once the entry is durable in this node's own log (appended and fsync'd), before it is
   * committed: the point at which Kafka answers acks=1. Not called if the entry never reaches this
   * node's disk (leadership lost first); the returned promise settles either way.
   */
  onPersisted?(): void;
}

export interface ProposalOutcome {
  index: number;
  term: number;
  result: unknown;
}

/** A leader's view of one voter or learner (its own entry included). */
export interface PeerProgress {
  nodeId: number;
  /** Highest index known to be in that node's log. */
  match: number;
  /** Next index the leader sends it. */
  next: number;
  /** 'Probe' | 'Replicate' | 'Snapshot'. */
  state: string;
  isLearner: boolean;
  /**
   * The node answered within the last election timeout (always true for this node; refreshed
   * every election timeout when checkQuorum is on).
   */
  recentActive: boolean;
}

export interface GroupStatus {
  groupId: number;
  role: StateType;
  /** The leader this node knows of; NO_NODE (-1) when none. Node ids here and below (node-ids.ts). */
  leaderId: number;
  term: number;
  /** The node voted for in `term`; NO_NODE (-1) when none. */
  vote: number;
  commitIndex: number;
  appliedIndex: number;
  firstIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  voters: readonly number[];
  learners: readonly number[];
  /**
   * The outgoing voters while the group is in a joint configuration (a membership change of
   * several nodes at once, Raft's joint consensus); empty otherwise.
   */
  votersOutgoing: readonly number[];
  /** Largest entry data propose() accepts for this group. */
  maxEntryBytes: number;
  /**
   * Per-node replication progress, on the leader only (empty elsewhere). In a quiescent group
   * `recentActive` is node liveness: the member's node was heard within `livenessTimeoutTicks`.
   */
  progress: readonly PeerProgress[];
  /** The group is quiescent here: not ticked, no heartbeats (GroupOptions.quiesce). */
  quiescent: boolean;
  /**
   * Why the group stopped (it takes no more work), or null while it runs. A stopped group reports
   * itself a follower that knows no leader.
   */
  failure: Error | null;
}

interface Pending {
  term: number;
  resolve(o: ProposalOutcome): void;
  reject(e: unknown): void;
  timer: TimerHandle;
}

interface ReadWaiter {
  resolve(index: number): void;
  reject(e: unknown): void;
  timer: TimerHandle;
}

class Group {
  pending = new Map<number, Pending>();
  reads = new Map<string, ReadWaiter>();
  /** Read barriers confirmed by a quorum, waiting for this node to apply up to their index. */
  appliedWaiters: { index: number; w: ReadWaiter }[] = [];
  nextReadId = 1;
  applied: number;
  snapshotIndex: number;
  role: StateType = StateType.Follower;
  leaderId = 0;
  /** The term as of the last Ready handled (starts at the stored hard state's). */
  term = 0;
  confState: ConfState;
  closed = false;
  /** Why the group stopped for good (see stopGroup), or null. */
  failure: Error | null = null;
  /** Proposals that asked to hear when their entry is durable in this node's log, by index. */
  persistWaiters = new Map<number, { term: number; notify(): void }>();
  /** Last index of this node's log known durable (entries synced in a finished cycle). */
  persistedIndex = 0;
  /** The Ready whose soft state was last taken (applyRoleChange runs once per Ready). */
  roleReady: Ready | null = null;
  /** Forwarded proposals in flight; while any are, results of applied entries are kept briefly. */
  forwarding = 0;
  recentResults = new Map<number, { term: number; result: unknown; error: unknown }>();
  /** The hard state last handed to storage. */
  storedHardState: HardState;
  /** A newer hard state differing from the stored one only in its commit index, not written yet. */
  unstoredCommit: HardState | null = null;
  /** Ticks since the stored hard state's commit index was last brought up to date. */
  ticksSinceCommitStored = 0;
  /**
   * Membership changes applied after the latest snapshot, in index order (for the membership as of
   * a state-machine-chosen snapshot point below the applied index).
   */
  confHistory: { index: number; confState: ConfState }[] = [];
  /** The host's view of RawNode.quiescent (kept in step by RaftHost.sync): quiescent groups are not ticked. */
  quiescent = false;
  /** Consecutive ticks this leader found the group idle (it quiesces at quiesceAfterTicks). */
  idleTicks = 0;

  constructor(
    readonly id: number,
    readonly node: RawNode,
    readonly storage: RaftLogStorage,
    readonly sm: StateMachine,
    readonly opts: Required<
      Pick<GroupOptions, 'snapshotEveryEntries' | 'keepEntriesAfterSnapshot' | 'snapshotPolicy'>
    > & { maxEntryBytes: number; commitPersistTicks: number; quiesce: boolean; quiesceAfterTicks: number },
    applied: number,
    confState: ConfState,
    hardState: HardState,
  ) {
    this.storedHardState = hardState;
    this.term = hardState.term;
    this.applied = applied;
    this.snapshotIndex = applied;
    this.confState = confState;
  }

  /** The membership as of `index` (at or above the snapshot index, at or below the applied one). */
  confStateAsOf(index: number): ConfState {
    let cs = this.storage.snapshot().metadata.confState;
    for (const h of this.confHistory) {
      if (h.index > index) break;
      cs = h.confState;
    }
    return cs;
  }
}

/**
 * Errors with which the Raft core refuses an input before changing any state: a message that is
 * invalid or not for this node, a request this node cannot serve. Anything else out of the core
 * means its state can no longer be trusted.
 */
/**
 * A refusal of the core as the host's callers get it: a NotLeader's leader in node ids, and its text
 * naming node 0 as 0 (RAFT_ID_OF_NODE_ZERO is outside the node ids, so no other id reads the same).
 */
function refusalOfRaft(e: RaftError): RaftError {
  if (e.code !== RaftErrorCode.NotLeader) return e;
  return new RaftError(e.code, e.message.replaceAll(String(RAFT_ID_OF_NODE_ZERO), '0'), {
    leaderId: nodeIdOfRaft(e.leaderId),
    cause: e.cause,
  });
}

function isRefusal(e: unknown): e is RaftError {
  return (
    isRaftError(e, RaftErrorCode.InvalidMessage) ||
    isRaftError(e, RaftErrorCode.NotLeader) ||
    isRaftError(e, RaftErrorCode.ProposalDropped)
  );
}

/** What a log line says about a message that broke a group. */
function describeMessage(m: Message): Record<string, unknown> {
  const first = m.entries[0];
  const last = m.entries[m.entries.length - 1];
  return {
    type: m.type,
    from: m.from,
    term: m.term,
    index: m.index,
    logTerm: m.logTerm,
    commit: m.commit,
    entries:
      first === undefined || last === undefined
        ? []
        : [
            { index: first.index, term: first.term },
            { index: last.index, term: last.term },
          ],
    ...(m.snapshot ? { snapshot: { index: m.snapshot.metadata.index, term: m.snapshot.metadata.term } } : {}),
  };
}

/** What a log line says about a Ready whose handling broke a group. */
function describeReady(rd: Ready): Record<string, unknown> {
  const range = (es: readonly Entry[]): number[] => {
    const first = es[0];
    const last = es[es.length - 1];
    return first === undefined || last === undefined ? [] : [first.index, last.index];
  };
  return {
    entries: range(rd.entries),
    committed: range(rd.committedEntries),
    hardState: rd.hardState,
    ...(rd.snapshot
      ? { snapshot: { index: rd.snapshot.metadata.index, term: rd.snapshot.metadata.term } }
      : {}),
  };
}

/** The host's environment: `env`, its missing parts the machine's, and the options before it on top. */
function hostEnv(o: RaftHostOptions): Env {
  const base = realEnv(o.env);
  const defer = o.defer ?? ((fn: () => void) => base.scheduler.defer(fn));
  let scheduler = base.scheduler;
  if (o.scheduler !== undefined) scheduler = schedulerOfTimers(o.scheduler, defer);
  else if (o.defer !== undefined)
    scheduler = { setTimer: (ms, fn) => base.scheduler.setTimer(ms, fn), defer };
  const { now, clock } = o;
  return {
    clock:
      now === undefined && clock === undefined
        ? base.clock
        : {
            nowMs: clock ? () => clock.nowMs() : () => base.clock.nowMs(),
            monotonicMs: now ?? (() => base.clock.monotonicMs()),
          },
    scheduler,
    random: base.random,
    fs: o.fs ?? base.fs,
    logger: o.logger ?? base.logger,
  };
}

/** The WAL's own limit on a record is min(16 MiB, segment − headers); 4 KiB covers the headers. */
const SEGMENT_HEADROOM_BYTES = 4096;
const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** The group id of the hosts' liveness pings (docs/design/quiescence.md); no Raft group has it. */
export const LIVENESS_GROUP_ID = 0;

/** Survivors campaign in turn this many ticks apart after their leader's node was lost (README, "Leader loss"). */
const LEADER_LOSS_CAMPAIGN_STAGGER_TICKS = 2;
/** Campaigns started per tick after a leader's node was lost (the rest wait for the next ticks). */
const MAX_LEADER_LOSS_CAMPAIGNS_PER_TICK = 1000;

/** A group whose leader's node was lost here (README, "Leader loss"). */
interface LeaderLossPlan {
  /** The lost leader (Raft id). */
  lost: number;
  /** The term the group was in when it forgot the leader; the plan ends if it moves on. */
  term: number;
  /** This node campaigns in turn (a voter, not in a joint configuration). */
  campaigns: boolean;
  /** Its campaign ran again after a late message from the lost leader interrupted it. */
  recampaigned: boolean;
  /** When this node campaigns (once; null when done or when it plans none). */
  atTick: number | null;
  /**
   * The plan ends after this tick (the last campaign's turn). Until then, a message from the lost
   * leader that makes the follower follow it again — one it sent before it died, delivered after
   * its connection's failure was reported, possibly well after on a loaded node — is forgotten
   * again. A live leader (a stream that failed while it lived) is followed again after it;
   * forgetting it meanwhile disrupts nothing (the other followers hold their lease) and stops no
   * replication.
   */
  untilTick: number;
}

/** What this host knows of a peer's liveness (node liveness, for quiescent groups). */
interface PeerLiveness {
  /** The host's tick at which anything last came from the peer. */
  lastHeardTick: number;
  /** The host's tick at which its unreachability last made followers forget it (-1: never). */
  forgottenAtTick: number;
  /** The peer's incarnation (a number drawn at its start): a new one means it restarted. */
  incarnation: number;
  /** Heard within livenessTimeoutTicks as of the last tick. */
  up: boolean;
}

export class RaftHost {
  /** This node's id (its Kafka broker id). */
  readonly nodeId: number;
  /** The id this node's Raft cores run under (raftIdOf(nodeId)). */
  private readonly raftId: number;
  private readonly groups = new Map<number, Group>();
  private readonly committer: GroupCommitter;
  private readonly env: Env;
  private readonly logger: Logger;
  private readonly scheduler: Scheduler;
  private readonly clock: Clock;
  private readonly rng: Rng | undefined;
  private readonly opts: Required<
    Pick<
      RaftHostOptions,
      | 'tickMs'
      | 'electionTicks'
      | 'heartbeatTicks'
      | 'proposalTimeoutMs'
      | 'maxPendingProposals'
      | 'maxProposalBytes'
      | 'commitPersistTicks'
    >
  >;
  private transport: HostTransport | null;
  private ticker: TimerHandle | null = null;
  private cycleRunning = false;
  private cycleRequested = false;
  private closed = false;
  private cycleError: unknown = null;
  /** Counters over every group of this host (stats.ts). */
  readonly stats = new HostStats();
  /** Groups that are not quiescent: the tick and the cycle visit these (plus `touched`). */
  private readonly active = new Set<Group>();
  /** Groups that got an input since the last cycle began (the cycle visits them once). */
  private touched = new Set<Group>();
  /** Ticks of the shared tick so far (node liveness counts in ticks, as election timers do). */
  private tickCount = 0;
  private readonly peers = new Map<number, PeerLiveness>();
  /** Peers that are members of a group with `quiesce` (pinged every tick); null: recompute. */
  private pinged: number[] | null = [];
  /** Open groups with `quiesce`. */
  private quiescing = 0;
  /** This host's incarnation (drawn when first needed; 0: not yet). */
  private incarnation = 0;
  private readonly livenessTimeoutTicks: number;
  private readonly forgetUnreachableLeaders: boolean;
  /**
   * Groups whose leader's node was lost here, and when this node campaigns in them (README, "Leader
   * loss"); dropped once done, or when the group found a leader or moved to another term meanwhile.
   */
  private readonly plannedCampaigns = new Map<Group, LeaderLossPlan>();

  constructor(private readonly options: RaftHostOptions) {
    this.nodeId = options.nodeId;
    this.raftId = raftIdOf(options.nodeId);
    this.env = hostEnv(options);
    this.logger = this.env.logger;
    this.scheduler = this.env.scheduler;
    this.clock = this.env.clock;
    const random = options.env?.random;
    this.rng = options.rng ?? (random !== undefined ? seededRng(random.bytes(4).readUInt32BE(0)) : undefined);
    this.transport = options.transport ?? null;
    this.committer = new GroupCommitter({
      policy: options.syncPolicy ?? { kind: 'batch' },
      logger: this.logger,
      scheduler: this.scheduler,
      ...(options.observer !== undefined ? { observer: options.observer, clock: this.clock } : {}),
    });
    this.opts = {
      tickMs: options.tickMs ?? 100,
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      proposalTimeoutMs: options.proposalTimeoutMs ?? 10_000,
      maxPendingProposals: options.maxPendingProposals ?? 10_000,
      maxProposalBytes: options.maxProposalBytes ?? 8 * 1024 * 1024,
      commitPersistTicks: options.commitPersistTicks ?? 10,
    };
    if (!isNodeId(this.nodeId)) {
      throw new HostError(
        'InvalidArgument',
        `node id must be an integer from 0 to 2^31 - 1, got ${this.nodeId}`,
      );
    }
    this.livenessTimeoutTicks = options.livenessTimeoutTicks ?? this.opts.electionTicks;
    this.forgetUnreachableLeaders = options.forgetUnreachableLeaders ?? true;
    if (!Number.isSafeInteger(this.livenessTimeoutTicks) || this.livenessTimeoutTicks < 1)
      throw new HostError('InvalidArgument', `livenessTimeoutTicks must be a positive integer`);
  }

  /** Counters of every group's log: bytes written, fsyncs, recovery actions (`WalStats`). */
  get walStats(): WalStats {
    return this.committer.stats;
  }

  /** Sets the transport (it is usually built after the host, because it delivers into it). */
  setTransport(transport: HostTransport): void {
    this.transport = transport;
  }

  /** Starts the shared tick. Groups may be opened before or after. */
  start(): void {
    if (this.ticker !== null || this.closed) return;
    this.ticker = every(
      this.scheduler,
      this.opts.tickMs,
      () => this.tick(),
      (e) => this.logger.error('raft tick failed', { error: String(e) }),
    );
  }

  /** Opens (recovering) or creates a group. */
  async openGroup(g: GroupOptions): Promise<void> {
    if (this.closed) throw new HostError('Closed', 'host is closed');
    if (this.cycleError !== null)
      throw new HostError('Stopped', `host stopped: ${(this.cycleError as Error).message}`, {
        cause: this.cycleError,
      });
    if (this.groups.has(g.groupId))
      throw new HostError('InvalidArgument', `group ${g.groupId} is already open`);
    const dir = path.join(this.options.dataDir, `group-${g.groupId}`);
    const voters = g.bootstrapVoters ?? [];
    const segmentBytes = g.maxSegmentBytes ?? this.options.maxSegmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 2 * SEGMENT_HEADROOM_BYTES) {
      throw new HostError('InvalidArgument', `maxSegmentBytes ${segmentBytes} is too small`);
    }
    const maxEntryBytes = Math.min(MAX_ENTRY_BYTES, segmentBytes - SEGMENT_HEADROOM_BYTES);
    const storage = await RaftLogStorage.open({
      dir,
      committer: this.committer,
      logger: this.logger,
      maxSegmentBytes: segmentBytes,
      maxEntryBytes,
      ...(this.options.inlineWrites !== undefined ? { inlineWrites: this.options.inlineWrites } : {}),
      fs: this.env.fs,
      clock: this.clock,
      ...(this.options.maxCacheBytesPerGroup !== undefined
        ? { maxCacheBytes: this.options.maxCacheBytesPerGroup }
        : {}),
      ...(voters.length > 0
        ? {
            bootstrap: {
              confState: {
                voters: voters.map(raftIdOf),
                learners: [],
                votersOutgoing: [],
                learnersNext: [],
                autoLeave: false,
              },
            },
          }
        : {}),
    });
    const initial = storage.initialState();
    const info = storage.recovery;
    // The state machine starts from the latest snapshot; entries after it are re-applied from the log.
    let applied = 0;
    const snap = storage.snapshot();
    if (snap.metadata.index > 0) {
      g.stateMachine.restore(snap.data, {
        ...snap.metadata,
        confState: confStateOfRaft(snap.metadata.confState),
      });
      applied = snap.metadata.index;
    }
    this.logger.info(
      `recovered raft group=${g.groupId} entries=${info.entries} term=${initial.hardState.term} vote=${initial.hardState.vote} commit=${initial.hardState.commit} snapshot=${snap.metadata.index}`,
      {
        group: g.groupId,
        firstIndex: info.firstIndex,
        lastIndex: info.lastIndex,
        voters: nodeIdsOfRaft(initial.confState.voters),
      },
    );
    const node = new RawNode({
      id: this.raftId,
      storage,
      electionTick: g.electionTicks ?? this.opts.electionTicks,
      heartbeatTick: g.heartbeatTicks ?? this.opts.heartbeatTicks,
      applied,
      preVote: g.preVote ?? true,
      checkQuorum: g.checkQuorum ?? true,
      logger: this.logger,
      ...(this.rng ? { rng: this.rng } : {}),
    });
    const group = new Group(
      g.groupId,
      node,
      storage,
      g.stateMachine,
      {
        snapshotEveryEntries: g.snapshotEveryEntries ?? 10_000,
        keepEntriesAfterSnapshot: g.keepEntriesAfterSnapshot ?? 1_000,
        snapshotPolicy: g.snapshotPolicy ?? 'applied',
        maxEntryBytes: Math.min(maxEntryBytes, this.opts.maxProposalBytes),
        commitPersistTicks: g.commitPersistTicks ?? this.opts.commitPersistTicks,
        quiesce: g.quiesce ?? false,
        quiesceAfterTicks: g.quiesceAfterTicks ?? g.electionTicks ?? this.opts.electionTicks,
      },
      applied,
      initial.confState,
      initial.hardState,
    );
    group.persistedIndex = storage.lastIndex();
    this.groups.set(g.groupId, group);
    this.active.add(group);
    if (group.opts.quiesce) {
      this.quiescing++;
      this.pinged = null;
    }
    this.touch(group);
  }

  /** Closes one group (its storage is synced and closed; pending proposals fail). */
  async closeGroup(groupId: number): Promise<void> {
    const g = this.groups.get(groupId);
    if (!g) return;
    this.groups.delete(groupId);
    this.active.delete(g);
    this.touched.delete(g);
    this.plannedCampaigns.delete(g);
    if (g.opts.quiesce) {
      this.quiescing--;
      this.pinged = null;
    }
    g.closed = true;
    this.sayGoodbye(g);
    this.failPending(g, new HostError('Closed', `group ${groupId} closed`));
    // A stopped group's core is not trusted: nothing it computed is written any more.
    if (g.failure === null) await this.storeCommit(g);
    await g.storage.close();
  }

  /**
   * Read-only access to a group's log (for state machines whose data is the log itself, such as a
   * Kafka partition): entries by index range and byte budget, and the range held. Answers come from
   * the group's storage: recent entries from memory, older ones by synchronous reads (`entries`) or
   * asynchronous ones (`readEntries`).
   */
  log(groupId: number): GroupLog | undefined {
    return this.groups.get(groupId)?.storage;
  }

  /** Whether the group is quiescent here (GroupOptions.quiesce); false for an unknown group. Cheap. */
  isQuiescent(groupId: number): boolean {
    return this.groups.get(groupId)?.quiescent ?? false;
  }

  hasGroup(groupId: number): boolean {
    return this.groups.has(groupId);
  }

  groupIds(): number[] {
    return [...this.groups.keys()];
  }

  /**
   * Delivers a message from the transport; never throws. Unknown groups are ignored (they may not be
   * open yet), and so are stopped ones. A message the core refuses (invalid, not for this node) is
   * dropped; any other error out of the core stops the group (see stopGroup).
   */
  receive(groupId: number, fromTransport: Message): void {
    if (this.closed) return;
    const message = messageToRaft(fromTransport);
    this.heard(message.from);
    if (groupId === LIVENESS_GROUP_ID) {
      this.notePing(message);
      return;
    }
    const g = this.groups.get(groupId);
    if (!g || g.failure !== null) return;
    try {
      g.node.step(message);
    } catch (e) {
      if (isRefusal(e)) {
        this.logger.debug('raft message refused', {
          group: groupId,
          type: message.type,
          from: fromTransport.from,
          error: e.message,
        });
      } else {
        this.stopGroup(g, e, { message: describeMessage(message) });
      }
      return;
    }
    if (message.type === MessageType.MsgAppResp && g.role === StateType.Leader) g.sm.onReplicated?.();
    if (this.plannedCampaigns.size > 0) this.reforget(g, message.from);
    this.touch(g);
  }

  /**
   * Tells every group that a peer could not be reached (the transport saw its stream fail). With
   * `forgetUnreachableLeaders`, the followers whose leader is that peer forget it and one survivor
   * per group campaigns (README, "Leader loss").
   */
  peerUnreachable(nodeId: number): void {
    if (this.closed) return;
    const peer = raftIdOf(nodeId);
    const forget = this.forgetUnreachableLeaders && this.mayForget(peer);
    let forgot = 0;
    for (const g of this.groups.values()) {
      if (g.failure !== null) continue;
      let woken = false;
      try {
        g.node.reportUnreachable(peer);
        if (forget && g.leaderId === peer && g.role !== StateType.Leader && g.node.forgetLeader(peer)) {
          forgot++;
          this.stats.leadersForgotten++;
          woken = true;
          this.planCampaign(g, peer);
        }
      } catch (e) {
        this.stopGroup(g, e, { unreachable: nodeId });
        continue;
      }
      // Informational for the core (a leader probes instead of pipelining); never wakes a group,
      // but forgetting its leader does.
      if (woken || !g.quiescent) this.touch(g);
    }
    if (forgot > 0) {
      this.logger.info(`raft peer ${nodeId} unreachable: forgot it as leader of ${forgot} groups`, {
        peer: nodeId,
        groups: forgot,
        campaignsNow: [...this.plannedCampaigns.values()].filter(
          (p) => p.atTick !== null && p.atTick <= this.tickCount,
        ).length,
      });
      this.runPlannedCampaigns();
    }
  }

  /**
   * Whether the peer's unreachability may make followers forget it now: it was heard from since the
   * last time (a dead peer's every reconnect attempt fails too) and that was an election timeout ago
   * (a flapping link).
   */
  private mayForget(peer: number): boolean {
    const p = this.peers.get(peer);
    if (p === undefined) return false;
    if (p.forgottenAtTick >= 0) {
      if (p.lastHeardTick <= p.forgottenAtTick) return false;
      if (this.tickCount - p.forgottenAtTick < this.opts.electionTicks) return false;
    }
    p.forgottenAtTick = this.tickCount;
    return true;
  }

  /**
   * After `g` forgot its leader `lost`: the surviving voters take turns, LEADER_LOSS_CAMPAIGN_STAGGER_TICKS
   * apart, in an order every survivor computes alike (sorted ids, rotated by the group id so that
   * the groups of a lost node spread over the survivors): the first campaigns now, the next only if
   * no leader came of it (its log may be behind another survivor's, whose pre-vote then wins).
   * No campaign is planned in a joint configuration or on a learner (their election timers do the
   * rest); the plan still forgets the lost leader again should a message it sent before dying arrive
   * late (reforget).
   */
  private planCampaign(g: Group, lost: number): void {
    const cs = g.confState;
    const survivors = cs.voters.filter((id) => id !== lost).sort((a, b) => a - b);
    const at = survivors.indexOf(this.raftId);
    const rank = (at - (g.id % survivors.length) + survivors.length) % survivors.length;
    const campaigns = cs.votersOutgoing.length === 0 && at >= 0;
    this.plannedCampaigns.set(g, {
      lost,
      campaigns,
      recampaigned: false,
      term: g.node.status().hardState.term,
      atTick: campaigns ? this.tickCount + rank * LEADER_LOSS_CAMPAIGN_STAGGER_TICKS : null,
      untilTick: this.tickCount + survivors.length * LEADER_LOSS_CAMPAIGN_STAGGER_TICKS + 1,
    });
  }

  /**
   * A message from `from` was stepped into `g`: if `g` lost its leader `from` a moment ago and the
   * message (sent before the leader died, delivered after its connection's failure was reported)
   * made it follow that leader again, it forgets it again — else it would ignore the survivors'
   * vote requests for an election timeout. Only until the plan ends: a live leader is followed again.
   */
  private reforget(g: Group, from: number): void {
    const plan = this.plannedCampaigns.get(g);
    if (plan === undefined || plan.lost !== from || this.tickCount > plan.untilTick) return;
    if (!g.node.forgetLeader(from)) return;
    // Its campaign, if it ran, was abandoned for that leader: it runs again (once: a live leader's
    // every heartbeat would otherwise start another).
    if (plan.campaigns && plan.atTick === null && !plan.recampaigned) {
      plan.recampaigned = true;
      plan.atTick = this.tickCount;
      this.runPlannedCampaigns();
    }
  }

  /**
   * Starts the planned campaigns that are due, at most MAX_LEADER_LOSS_CAMPAIGNS_PER_TICK: each only
   * while its group still knows no leader, runs no election and is in the term it was planned in.
   */
  private runPlannedCampaigns(): void {
    let budget = MAX_LEADER_LOSS_CAMPAIGNS_PER_TICK;
    for (const [g, plan] of this.plannedCampaigns) {
      if (g.closed || g.failure !== null || this.tickCount > plan.untilTick) {
        this.plannedCampaigns.delete(g);
        continue;
      }
      if (plan.atTick === null || plan.atTick > this.tickCount || budget === 0) continue;
      plan.atTick = null;
      const st = g.node.status();
      const role = st.softState.raftState;
      if (st.hardState.term !== plan.term) {
        this.plannedCampaigns.delete(g);
        continue;
      }
      // Following the lost leader again (a message it sent before dying): forget it again.
      if (st.softState.lead === plan.lost) g.node.forgetLeader(plan.lost);
      if (g.node.status().softState.lead !== 0) continue;
      if (role !== StateType.Follower && role !== StateType.PreCandidate) continue;
      budget--;
      try {
        g.node.campaign();
      } catch (e) {
        this.stopGroup(g, e, { campaign: 'leader loss' });
        continue;
      }
      this.stats.leaderLossCampaigns++;
      this.touch(g);
    }
  }

  /** Reports a snapshot transfer's outcome to its group. */
  snapshotStatus(groupId: number, to: number, ok: boolean): void {
    const g = this.groups.get(groupId);
    if (!g || g.failure !== null) return;
    try {
      g.node.reportSnapshot(raftIdOf(to), ok);
    } catch (e) {
      this.stopGroup(g, e, { snapshotStatus: { to, ok } });
      return;
    }
    this.touch(g);
  }

  /**
   * Proposes an entry; settles when it is applied on this node (with the state machine's result),
   * or fails with RaftError NotLeader (carrying the leader hint), ProposalDropped, or HostError
   * Timeout, or Stopped (the group stopped). A follower never crashes on a proposal.
   */
  propose(
    groupId: number,
    data: Uint8Array,
    timeoutMs = this.opts.proposalTimeoutMs,
    options: ProposeOptions = {},
  ): Promise<ProposalOutcome> {
    const g = this.group(groupId);
    if (g.failure !== null) return Promise.reject(this.stoppedError(g));
    if (data.length > g.opts.maxEntryBytes) {
      return Promise.reject(
        new HostError('TooLarge', `proposal of ${data.length} bytes exceeds ${g.opts.maxEntryBytes}`),
      );
    }
    if (g.pending.size >= this.opts.maxPendingProposals) {
      return Promise.reject(
        new HostError('Overloaded', `group ${groupId} has ${g.pending.size} proposals waiting`),
      );
    }
    let at: { index: number; term: number };
    try {
      at = g.node.propose(data);
    } catch (e) {
      return Promise.reject(isRefusal(e) ? refusalOfRaft(e) : this.stopGroup(g, e, { propose: data.length }));
    }
    this.stats.proposals++;
    this.touch(g);
    if (options.onPersisted) g.persistWaiters.set(at.index, { term: at.term, notify: options.onPersisted });
    const tracked = this.track(g, at, timeoutMs);
    options.onAppended?.(at);
    return tracked;
  }

  /**
   * Proposes on this node if it leads the group, else forwards the proposal to the leader through
   * the transport; settles once the entry is applied on this node too (so a caller reads its own
   * write here), with this node's state machine result. Follows leader hints and waits out
   * elections (one tick between attempts) until the timeout.
   */
  async proposeOrForward(
    groupId: number,
    data: Uint8Array,
    timeoutMs = this.opts.proposalTimeoutMs,
  ): Promise<ProposalOutcome> {
    const g = this.group(groupId);
    const deadline = this.clock.monotonicMs() + timeoutMs;
    let lastError: unknown = new HostError(
      'Timeout',
      `no leader for group ${groupId} within ${timeoutMs} ms`,
    );
    // Until the deadline: a leader that just died is replaced after an election timeout, and the
    // proposal should wait for its successor rather than fail while the election runs.
    const maxAttempts = Math.max(8, Math.ceil(timeoutMs / this.opts.tickMs) + 1);
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const remaining = Math.max(1, Math.round(deadline - this.clock.monotonicMs()));
      if (attempt > 0 && remaining <= 1) break;
      let leaderId: number;
      try {
        return await this.propose(groupId, data, remaining);
      } catch (e) {
        if (!isRaftError(e, RaftErrorCode.NotLeader) || !this.transport?.forwardProposal) throw e;
        lastError = e;
        leaderId = e.leaderId;
      }
      if (leaderId === NO_NODE || leaderId === this.nodeId) {
        await new Promise<void>((r) => this.scheduler.setTimer(this.opts.tickMs, r));
        continue;
      }
      g.forwarding++;
      try {
        const at = await this.transport.forwardProposal(leaderId, groupId, data, remaining);
        return await this.localOutcome(g, at, Math.max(1, Math.round(deadline - this.clock.monotonicMs())));
      } catch (e) {
        // NotLeader: the leader moved. Unreachable: it died, or its answer was lost (the entry may
        // have committed: the state machine must recognize a retry). Stopped: its group stopped
        // there, and the other nodes elect a new leader.
        const code = (e as { code?: unknown }).code;
        if (code !== RaftErrorCode.NotLeader && code !== 'Unreachable' && code !== 'Stopped') throw e;
        if (g.failure !== null) throw this.stoppedError(g);
        lastError = e;
        await new Promise<void>((r) => this.scheduler.setTimer(this.opts.tickMs, r));
      } finally {
        g.forwarding--;
        if (g.forwarding === 0) g.recentResults.clear();
      }
    }
    throw lastError;
  }

  /** Waits until this node has applied the entry at `at` and returns its local result. */
  private localOutcome(
    g: Group,
    at: { index: number; term: number },
    timeoutMs: number,
  ): Promise<ProposalOutcome> {
    if (g.applied >= at.index) {
      const r = g.recentResults.get(at.index);
      if (r && r.term !== at.term) {
        return Promise.reject(
          new RaftError(RaftErrorCode.ProposalDropped, `entry ${at.index} was replaced by term ${r.term}`),
        );
      }
      if (r?.error) return Promise.reject(r.error);
      return Promise.resolve({ index: at.index, term: at.term, result: r?.result });
    }
    return this.track(g, at, timeoutMs);
  }

  /** Proposes a membership change; settles when it is applied. */
  proposeConfChange(
    groupId: number,
    cc: ConfChange | ConfChangeV2,
    timeoutMs = this.opts.proposalTimeoutMs,
  ): Promise<ProposalOutcome> {
    const g = this.group(groupId);
    if (g.failure !== null) return Promise.reject(this.stoppedError(g));
    let at: { index: number; term: number };
    try {
      at = g.node.proposeConfChange(confChangeToRaft(cc));
    } catch (e) {
      return Promise.reject(
        isRefusal(e) ? refusalOfRaft(e) : this.stopGroup(g, e, { proposeConfChange: true }),
      );
    }
    this.touch(g);
    return this.track(g, at, timeoutMs);
  }

  /**
   * A linearizable read barrier: resolves with an index once this node has applied at least the
   * commit index that a quorum confirmed after the call (Raft's ReadIndex). Reads of the state
   * machine made after it resolves are linearizable.
   */
  readIndex(groupId: number, timeoutMs = this.opts.proposalTimeoutMs): Promise<number> {
    const g = this.group(groupId);
    if (g.failure !== null) return Promise.reject(this.stoppedError(g));
    if (g.role !== StateType.Leader) {
      return Promise.reject(
        new RaftError(RaftErrorCode.NotLeader, 'not the leader', { leaderId: nodeIdOfRaft(g.leaderId) }),
      );
    }
    const id = `${this.nodeId}:${g.nextReadId++}`;
    return new Promise<number>((resolve, reject) => {
      const timer = this.scheduler.setTimer(timeoutMs, () => {
        g.reads.delete(id);
        reject(new HostError('Timeout', `read index of group ${groupId} timed out`));
      });
      g.reads.set(id, { resolve, reject, timer });
      try {
        g.node.readIndex(new TextEncoder().encode(id));
      } catch (e) {
        g.reads.delete(id);
        timer.cancel();
        reject(isRefusal(e) ? refusalOfRaft(e) : this.stopGroup(g, e, { readIndex: id }));
        return;
      }
      this.touch(g);
    });
  }

  /** Throws RaftError NotLeader when no leader is known, HostError Stopped when the group stopped. */
  transferLeadership(groupId: number, to: number): void {
    const g = this.group(groupId);
    if (g.failure !== null) throw this.stoppedError(g);
    try {
      g.node.transferLeadership(raftIdOf(to));
    } catch (e) {
      throw isRefusal(e) ? refusalOfRaft(e) : this.stopGroup(g, e, { transferLeadership: to });
    }
    this.touch(g);
  }

  /** Starts an election in a group now (used when a node should lead without waiting); not in a stopped group. */
  campaign(groupId: number): void {
    const g = this.group(groupId);
    if (g.failure !== null) return;
    try {
      g.node.campaign();
    } catch (e) {
      this.stopGroup(g, e, { campaign: true });
      return;
    }
    this.touch(g);
  }

  status(groupId: number): GroupStatus {
    const g = this.group(groupId);
    const s: Status = g.node.status();
    const stopped = g.failure !== null;
    return {
      groupId,
      role: stopped ? StateType.Follower : s.softState.raftState,
      leaderId: stopped ? NO_NODE : nodeIdOfRaft(s.softState.lead),
      term: s.hardState.term,
      vote: nodeIdOfRaft(s.hardState.vote),
      commitIndex: s.hardState.commit,
      appliedIndex: g.applied,
      firstIndex: g.storage.firstIndex(),
      lastIndex: g.storage.lastIndex(),
      snapshotIndex: g.snapshotIndex,
      voters: nodeIdsOfRaft(s.config.voters),
      learners: nodeIdsOfRaft(s.config.learners),
      votersOutgoing: nodeIdsOfRaft(s.config.votersOutgoing),
      maxEntryBytes: g.opts.maxEntryBytes,
      progress:
        s.progress === null || stopped
          ? []
          : [...s.progress].map(([raftId, p]) => ({
              nodeId: nodeIdOfRaft(raftId),
              match: p.match,
              next: p.next,
              state: p.state,
              isLearner: p.isLearner,
              // A quiescent leader hears nothing from its followers: a follower that answered its
              // quiesce heartbeat counts as active while its node is alive.
              recentActive:
                raftId === this.raftId || (p.recentActive && (!s.quiescent || this.peerUp(raftId))),
            })),
      quiescent: s.quiescent,
      failure: g.failure,
    };
  }

  /** Stops ticking, waits for the running cycle, syncs and closes every group's storage. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ticker?.cancel();
    while (this.cycleRunning) await new Promise<void>((r) => this.scheduler.defer(r));
    for (const g of this.groups.values()) {
      g.closed = true;
      this.failPending(g, new HostError('Closed', 'host is closed'));
      if (g.failure === null) await this.storeCommit(g);
      await g.storage.close();
    }
    this.groups.clear();
    this.active.clear();
    this.touched.clear();
    this.plannedCampaigns.clear();
    await this.committer.close();
  }

  private group(groupId: number): Group {
    const g = this.groups.get(groupId);
    if (!g) throw new HostError('UnknownGroup', `group ${groupId} is not open on node ${this.nodeId}`);
    return g;
  }

  private track(g: Group, at: { index: number; term: number }, timeoutMs: number): Promise<ProposalOutcome> {
    if (g.failure !== null) return Promise.reject(this.stoppedError(g));
    this.requestCycle();
    return new Promise<ProposalOutcome>((resolve, reject) => {
      const timer = this.scheduler.setTimer(timeoutMs, () => {
        if (g.pending.get(at.index)?.timer === timer) g.pending.delete(at.index);
        if (g.persistWaiters.get(at.index)?.term === at.term) g.persistWaiters.delete(at.index);
        reject(
          new HostError(
            'Timeout',
            `proposal at index ${at.index} of group ${g.id} not applied within ${timeoutMs} ms`,
          ),
        );
      });
      // An older proposal at the same index was overwritten by a new leader: it can never apply.
      const prior = g.pending.get(at.index);
      if (prior) {
        prior.timer.cancel();
        prior.reject(
          new RaftError(RaftErrorCode.ProposalDropped, `entry ${at.index} was replaced by term ${at.term}`),
        );
      }
      g.pending.set(at.index, { term: at.term, resolve, reject, timer });
    });
  }

  private failPending(g: Group, e: unknown): void {
    g.persistWaiters.clear();
    for (const p of g.pending.values()) {
      p.timer.cancel();
      p.reject(e);
    }
    g.pending.clear();
    for (const r of g.reads.values()) {
      r.timer.cancel();
      r.reject(e);
    }
    g.reads.clear();
    // Their timers were cleared when the quorum confirmed them: nothing else would ever settle them.
    for (const { w } of g.appliedWaiters) w.reject(e);
    g.appliedWaiters = [];
  }

  /** The error a stopped group answers every request with. */
  private stoppedError(g: Group): HostError {
    const why = g.failure === null ? 'stopped' : g.failure.message;
    return new HostError('Stopped', `raft group ${g.id} on node ${this.nodeId} stopped: ${why}`, {
      cause: g.failure ?? undefined,
    });
  }

  /**
   * Stops one group for good (etcd panics here; we stop only what broke) and returns the error its
   * requests now get. Logged at error with the group's term, commit, applied and last index and
   * `context` (the message that broke it, say); `context` null when the caller already logged (a
   * host failure). Pending proposals and reads fail with HostError Stopped; a leader's state machine
   * hears it is a follower that knows no leader, then onStopped. The group stays open — status()
   * reports the failure — until closeGroup, and is never stepped, ticked or cycled again.
   */
  private stopGroup(g: Group, cause: unknown, context: Record<string, unknown> | null): HostError {
    if (g.failure !== null) return this.stoppedError(g);
    const error = cause instanceof Error ? cause : new Error(String(cause));
    g.failure = error;
    this.stats.groupsStopped++;
    if (context !== null) {
      let core: Record<string, unknown> = {};
      try {
        const st = g.node.status();
        core = {
          term: st.hardState.term,
          vote: nodeIdOfRaft(st.hardState.vote),
          commit: st.hardState.commit,
          role: st.softState.raftState,
          leader: nodeIdOfRaft(st.softState.lead),
        };
      } catch {
        // The core is broken; what the host knows below is still worth logging.
      }
      this.logger.error(`raft group ${g.id} stopped: ${error.message}`, {
        group: g.id,
        code: (error as { code?: unknown }).code,
        error: error.message,
        ...core,
        applied: g.applied,
        lastIndex: g.storage.lastIndex(),
        lastTerm: g.storage.lastIndex() > 0 ? this.termOrZero(g, g.storage.lastIndex()) : 0,
        ...context,
      });
    }
    const stopped = this.stoppedError(g);
    this.sayGoodbye(g);
    this.failPending(g, stopped);
    g.unstoredCommit = null;
    const tell = (what: string, f: () => void): void => {
      try {
        f();
      } catch (e) {
        this.logger.error(`state machine of raft group ${g.id} threw in ${what}`, {
          group: g.id,
          error: (e as Error).message,
        });
      }
    };
    if (g.role !== StateType.Follower || g.leaderId !== 0) {
      g.role = StateType.Follower;
      g.leaderId = 0;
      tell('onRoleChange', () => g.sm.onRoleChange?.(StateType.Follower, NO_NODE, g.term));
    }
    tell('onStopped', () => g.sm.onStopped?.(error));
    return stopped;
  }

  /** The term of the entry at `index` in the group's storage, 0 when it cannot be read. */
  private termOrZero(g: Group, index: number): number {
    try {
      return g.storage.term(index);
    } catch {
      return 0;
    }
  }

  private tick(): void {
    this.tickCount++;
    if (this.quiescing > 0) this.checkLiveness();
    if (this.plannedCampaigns.size > 0) this.runPlannedCampaigns();
    // Quiescent groups are not in `active`: a tick costs O(active groups).
    for (const g of this.active) {
      if (g.failure !== null) continue;
      // Before the tick, whose heartbeats would make the leader look busy.
      if (g.opts.quiesce && g.role === StateType.Leader && this.maybeQuiesce(g)) continue;
      try {
        g.node.tick();
      } catch (e) {
        this.stopGroup(g, e, { tick: true });
        continue;
      }
      g.ticksSinceCommitStored++;
    }
    this.requestCycle();
  }

  // ---- quiescence and node liveness (docs/design/quiescence.md) --------------------------------

  /** Marks a group for the next cycle and mirrors its core's quiescence (in or out of the tick). */
  private touch(g: Group): void {
    this.sync(g);
    this.touched.add(g);
    this.requestCycle();
  }

  private sync(g: Group): void {
    const q = g.failure === null && g.node.quiescent;
    if (q === g.quiescent) return;
    g.quiescent = q;
    g.idleTicks = 0;
    if (q) {
      this.active.delete(g);
      // A commit index held back (commitPersistTicks) is written now, not at the next activity.
      g.ticksSinceCommitStored = g.opts.commitPersistTicks;
      this.touched.add(g);
    } else if (!g.closed) {
      this.active.add(g);
    }
  }

  private readonly isDown = (id: number): boolean => !this.peerUp(id);

  /** Whether the peer of Raft id `id` is alive (this node always is). */
  private peerUp(id: number): boolean {
    return id === this.raftId || (this.peers.get(id)?.up ?? false);
  }

  /** An idle leader quiesces after quiesceAfterTicks idle ticks in a row. Returns whether it did. */
  private maybeQuiesce(g: Group): boolean {
    let ok: boolean;
    try {
      ok = g.node.canQuiesce(this.isDown);
      if (ok && ++g.idleTicks >= g.opts.quiesceAfterTicks) g.node.quiesce(this.isDown);
    } catch (e) {
      this.stopGroup(g, e, { quiesce: true });
      return true;
    }
    if (!ok) g.idleTicks = 0;
    this.sync(g);
    return g.quiescent;
  }

  /**
   * A follower's group closes or stops here while its node lives on: its leader, which may be
   * quiescent and hear nothing more of it, is told to wake (a rejecting heartbeat response), so that
   * its heartbeats go unanswered and the follower stops counting as active.
   */
  private sayGoodbye(g: Group): void {
    if (!g.opts.quiesce || this.transport === null || this.closed) return;
    if (g.role === StateType.Leader || g.leaderId === 0 || g.leaderId === this.raftId) return;
    this.send(
      g.id,
      newMessage({
        type: MessageType.MsgHeartbeatResp,
        from: this.raftId,
        to: g.leaderId,
        term: g.term,
        reject: true,
      }),
    );
  }

  /** Anything from a peer counts as hearing from it. */
  private heard(from: number): void {
    if (from === this.raftId) return;
    const p = this.peers.get(from);
    if (p !== undefined) {
      p.lastHeardTick = this.tickCount;
      if (!p.up && this.quiescing > 0) {
        p.up = true;
        this.peerTransition(from, 0, 'up');
      }
      return;
    }
    this.peers.set(from, { lastHeardTick: this.tickCount, forgottenAtTick: -1, incarnation: 0, up: true });
  }

  /** A liveness ping: `commit` carries the sender's incarnation. */
  private notePing(m: Message): void {
    const p = this.peers.get(m.from);
    if (p === undefined || m.commit === 0) return;
    const restarted = p.incarnation !== 0 && p.incarnation !== m.commit;
    p.incarnation = m.commit;
    if (restarted && this.quiescing > 0) this.peerTransition(m.from, 0, 'restarted');
  }

  /** Every tick while a quiescing group is open: ping the peers, and wake groups of peers that went down. */
  private checkLiveness(): void {
    if (this.pinged === null) {
      const ids = new Set<number>();
      for (const g of this.groups.values()) {
        if (!g.opts.quiesce) continue;
        const cs = g.confState;
        for (const id of cs.voters) ids.add(id);
        for (const id of cs.learners) ids.add(id);
        for (const id of cs.votersOutgoing) ids.add(id);
      }
      ids.delete(this.raftId);
      this.pinged = [...ids].sort((a, b) => a - b);
    }
    if (this.incarnation === 0) this.incarnation = this.env.random.bytes(4).readUInt32BE(0) + 1;
    if (this.transport !== null) {
      for (const to of this.pinged)
        this.send(
          LIVENESS_GROUP_ID,
          newMessage({ type: MessageType.MsgHeartbeat, from: this.raftId, to, commit: this.incarnation }),
        );
    }
    for (const [id, p] of this.peers) {
      const silent = this.tickCount - p.lastHeardTick;
      if (p.up && silent > this.livenessTimeoutTicks) {
        p.up = false;
        this.peerTransition(id, silent, 'down');
      }
    }
  }

  /**
   * A peer went down, came back or restarted: every quiescent group it is a member of wakes (its
   * leader checks its quorum and heartbeats, its followers run their election timers), and
   * followers whose leader it is count the ticks it has been silent.
   */
  private peerTransition(peer: number, silentTicks: number, what: string): void {
    let woken = 0;
    for (const g of this.groups.values()) {
      if (!g.opts.quiesce || g.failure !== null) continue;
      const leaderSilent = silentTicks > 0 && g.leaderId === peer && g.role !== StateType.Leader;
      if (!g.quiescent && !leaderSilent) continue;
      const cs = g.confState;
      if (!cs.voters.includes(peer) && !cs.learners.includes(peer) && !cs.votersOutgoing.includes(peer))
        continue;
      try {
        g.node.wake(leaderSilent ? { leaderSilentTicks: silentTicks } : {});
      } catch (e) {
        this.stopGroup(g, e, { wake: peer });
        continue;
      }
      woken++;
      this.touch(g);
    }
    const node = nodeIdOfRaft(peer);
    this.logger.info(`raft peer ${node} ${what}`, { peer: node, silentTicks, woken });
  }

  /** Writes a commit index held back by the cycle (close, closeGroup). Failures are logged. */
  private async storeCommit(g: Group): Promise<void> {
    const hs = g.unstoredCommit;
    if (hs === null || this.cycleError !== null) return;
    g.unstoredCommit = null;
    try {
      g.storage.setHardState(hs);
      g.storedHardState = hs;
      await g.storage.sync();
    } catch (e) {
      this.logger.warn('raft commit index not stored at close', {
        group: g.id,
        error: (e as Error).message,
      });
    }
  }

  /**
   * Hands a Ready's hard state to storage when it must be durable before the Ready's messages go
   * out (term or vote changed), or when the stored commit index is older than commitPersistTicks;
   * a commit-only change is otherwise kept back (etcd's MustSync: the commit index needs no fsync).
   * Returns whether storage got a write.
   */
  private storeHardState(g: Group, hs: HardState | null): boolean {
    const prev = g.storedHardState;
    const next = hs ?? g.unstoredCommit;
    if (next === null) return false;
    const mustSync = next.term !== prev.term || next.vote !== prev.vote;
    if (!mustSync && g.ticksSinceCommitStored < g.opts.commitPersistTicks) {
      if (next.commit !== prev.commit) g.unstoredCommit = next;
      return false;
    }
    if (!mustSync && next.commit === prev.commit) {
      g.unstoredCommit = null;
      return false;
    }
    g.storage.setHardState(next);
    g.storedHardState = next;
    g.unstoredCommit = null;
    g.ticksSinceCommitStored = 0;
    return true;
  }

  /** Hands a core's message to the transport, addressed in node ids. */
  /** Hands `m` (Raft ids) to the transport (node ids); false when the transport refused it. */
  private send(groupId: number, m: Message): boolean {
    return this.transport?.send(groupId, messageOfRaft(m)) ?? false;
  }

  private requestCycle(): void {
    if (this.closed) return;
    this.cycleRequested = true;
    if (this.cycleRunning) return;
    this.cycleRunning = true;
    this.scheduler.defer(() => {
      this.runCycles().catch((e: unknown) => {
        // A storage failure (disk full, I/O error) leaves Raft state unknown: stop this host's
        // progress rather than acknowledge anything that may not be durable. Every group stops
        // with it, so that their state machines stop serving and proposals are refused at once.
        this.cycleError = e;
        this.logger.error('raft host cycle failed; the host stops processing', {
          error: (e as Error).message,
          groups: this.groups.size,
        });
        for (const g of this.groups.values()) this.stopGroup(g, e, null);
      });
    });
  }

  /** The last error that stopped the host, or null. */
  get failure(): unknown {
    return this.cycleError;
  }

  private async runCycles(): Promise<void> {
    try {
      while (this.cycleRequested && !this.closed && this.cycleError === null) {
        this.cycleRequested = false;
        const observer = this.options.observer;
        const startMs = observer?.onCycle !== undefined ? this.clock.monotonicMs() : 0;
        await this.cycle();
        this.stats.cycles++;
        if (observer?.onCycle !== undefined) observer.onCycle(this.clock.monotonicMs() - startMs);
      }
    } finally {
      this.cycleRunning = false;
    }
  }

  private async cycle(): Promise<void> {
    const written: { g: Group; rd: Ready; heartbeatsSent: boolean }[] = [];
    const unwritten: { g: Group; rd: Ready }[] = [];
    const syncs: Promise<void>[] = [];
    // The groups that may have work: the awake ones, then those that got an input (not the
    // quiescent rest). No copy of the awake set: a group woken meanwhile is added to it and visited.
    const touched = this.touched;
    this.touched = new Set();
    const take = (g: Group): void => {
      if (g.failure !== null || g.closed) return;
      if (!g.node.hasReady()) {
        // A commit index held back by earlier cycles is written once it is old enough.
        if (
          g.unstoredCommit !== null &&
          g.ticksSinceCommitStored >= g.opts.commitPersistTicks &&
          this.storeHardState(g, null)
        )
          syncs.push(g.storage.sync());
        return;
      }
      let rd: Ready;
      try {
        rd = g.node.ready();
      } catch (e) {
        this.stopGroup(g, e, { ready: 'taking the Ready' });
        return;
      }
      const termOrVote =
        rd.hardState !== null &&
        (rd.hardState.term !== g.storedHardState.term || rd.hardState.vote !== g.storedHardState.vote);
      // 1. Persist in memory, in order: snapshot, entries, hard state (a change of the commit
      //    index alone may be held back: storeHardState).
      if (rd.snapshot) g.storage.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) g.storage.append(rd.entries);
      const wroteHardState = this.storeHardState(g, rd.hardState);
      if (rd.snapshot || rd.entries.length > 0 || wroteHardState) {
        syncs.push(g.storage.sync());
        written.push({ g, rd, heartbeatsSent: !termOrVote && this.transport !== null });
        // Committed entries that were durable here before this cycle (below the entries it
        // writes) are applied now: a leader under load then answers acks=all without waiting for
        // the fsync of the entries proposed since.
        if (!rd.snapshot && rd.committedEntries.length > 0) {
          const bound = Math.min(
            g.persistedIndex,
            rd.entries.length > 0 ? (rd.entries[0] as Entry).index - 1 : Number.MAX_SAFE_INTEGER,
          );
          if ((rd.committedEntries[0] as Entry).index <= bound) {
            try {
              this.applyRoleChange(g, rd);
              for (const e of rd.committedEntries) {
                if (e.index > bound) break;
                this.applyEntry(g, e);
              }
            } catch (e) {
              this.stopGroup(g, e, { ready: describeReady(rd) });
              return;
            }
          }
        }
        // Heartbeats and their responses carry nothing that waits for this write (the term is
        // already durable unless it changes in this very Ready): they go out now, so a slow
        // fsync does not look like a dead leader or follower.
        if (!termOrVote && this.transport) {
          for (const m of rd.messages)
            if (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgHeartbeatResp)
              this.send(g.id, m);
        }
      } else {
        unwritten.push({ g, rd });
      }
    };
    for (const g of this.active) take(g);
    for (const g of touched) if (!this.active.has(g)) take(g);
    // A group that wrote nothing in this cycle has nothing to wait for: everything its messages
    // and committed entries depend on became durable in an earlier cycle.
    for (const { g, rd } of unwritten) this.finishReady(g, rd, false);
    // 2. One shared fsync for every group that wrote something.
    if (syncs.length > 0) await Promise.all(syncs);
    for (const { g, rd, heartbeatsSent } of written) {
      if (g.closed || g.failure !== null) continue;
      const last = rd.entries[rd.entries.length - 1];
      if (last !== undefined) g.persistedIndex = last.index;
      else if (rd.snapshot) g.persistedIndex = Math.max(g.persistedIndex, rd.snapshot.metadata.index);
      // The entries of this Ready are durable in this node's log now (acks=1 on a Kafka leader).
      if (g.persistWaiters.size > 0) {
        for (const e of rd.entries) {
          const w = g.persistWaiters.get(e.index);
          if (!w) continue;
          g.persistWaiters.delete(e.index);
          if (w.term === e.term) w.notify();
        }
      }
      this.finishReady(g, rd, heartbeatsSent);
    }
    // Applying and advancing may have made more work ready (e.g. the next committed entries).
    // Applying and advancing may have made more work ready (the next committed entries), or woken
    // a group (a deferred transfer campaign).
    for (const { g } of [...written, ...unwritten]) {
      if (g.closed || g.failure !== null) continue;
      this.sync(g);
      if (g.node.hasReady()) {
        this.touched.add(g);
        this.cycleRequested = true;
      }
    }
  }

  /**
   * Steps 3–5 of a Ready whose writes are durable: send its messages (without the heartbeats
   * already sent), apply, advance; then snapshot when the policy says so. An error of the core
   * (advance, a membership change) or of the state machine's restore stops the group.
   */
  private finishReady(g: Group, rd: Ready, heartbeatsSent: boolean): void {
    if (g.closed || g.failure !== null) return;
    try {
      this.sendApplyAdvance(g, rd, heartbeatsSent);
    } catch (e) {
      this.stopGroup(g, e, { ready: describeReady(rd) });
      return;
    }
    this.maybeSnapshot(g);
  }

  private sendApplyAdvance(g: Group, rd: Ready, heartbeatsSent: boolean): void {
    // 3. Messages go out only now that what they depend on is durable.
    // A snapshot the transport refuses to send (its per-peer in-flight limit, an unknown address)
    // is reported failed once the Ready is advanced: the core would otherwise wait in Snapshot state
    // for an outcome that never comes, and the follower would never catch up. After the failure it
    // probes again at the next heartbeat response and sends a snapshot anew.
    const unsentSnapshots: number[] = [];
    if (this.transport) {
      for (const m of rd.messages) {
        if (
          heartbeatsSent &&
          (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgHeartbeatResp)
        )
          continue;
        const sent = this.send(g.id, m);
        if (m.type === MessageType.MsgSnap) {
          if (sent) this.stats.snapshotsSent++;
          else unsentSnapshots.push(m.to);
        }
      }
    }
    this.applyRoleChange(g, rd);
    // 4. Apply: a received snapshot replaces the state, then committed entries follow it.
    if (rd.snapshot && rd.snapshot.metadata.index > g.applied) {
      g.sm.restore(rd.snapshot.data, {
        ...rd.snapshot.metadata,
        confState: confStateOfRaft(rd.snapshot.metadata.confState),
      });
      this.stats.snapshotsInstalled++;
      g.applied = rd.snapshot.metadata.index;
      g.snapshotIndex = rd.snapshot.metadata.index;
      g.confState = rd.snapshot.metadata.confState;
      g.confHistory = [];
      for (const [index, p] of g.pending) {
        if (index <= g.applied) {
          g.pending.delete(index);
          p.timer.cancel();
          p.reject(
            new RaftError(
              RaftErrorCode.ProposalDropped,
              `entry ${index} was covered by a snapshot; its outcome is unknown here`,
            ),
          );
        }
      }
    }
    for (const e of rd.committedEntries) this.applyEntry(g, e);
    for (const rs of rd.readStates) {
      const id = new TextDecoder().decode(rs.requestCtx);
      const w = g.reads.get(id);
      if (!w) continue;
      g.reads.delete(id);
      w.timer.cancel();
      // ReadIndex: the read may proceed once the state machine has applied rs.index.
      if (g.applied >= rs.index) w.resolve(rs.index);
      else g.appliedWaiters.push({ index: rs.index, w });
    }
    // 5. Advance.
    g.node.advance();
    for (const to of unsentSnapshots) g.node.reportSnapshot(to, false);
  }

  /**
   * Takes a Ready's soft state (role, leader) and term once, before any of its entries is applied.
   * A new term alone counts too: a follower that missed an election and then hears the same leader
   * at a newer term gets no soft state, but its leader epoch changed.
   */
  private applyRoleChange(g: Group, rd: Ready): void {
    if (g.roleReady === rd) return;
    const term = rd.hardState?.term ?? g.term;
    if (!rd.softState && term === g.term) return;
    g.roleReady = rd;
    const prevRole = g.role;
    if (rd.softState) {
      if (rd.softState.lead !== g.leaderId && rd.softState.lead !== 0) this.stats.leaderChanges++;
      if (rd.softState.raftState === StateType.Leader && prevRole !== StateType.Leader)
        this.stats.leadershipsWon++;
      g.role = rd.softState.raftState;
      g.leaderId = rd.softState.lead;
    }
    // The term as of this Ready, like its soft state — not the core's current term: inputs stepped
    // while this Ready was being persisted may have moved the core to a later term, and a leader
    // of term T must never be reported as the leader of T + 1 (issue 20, `pnpm sim --seed 222`).
    g.term = term;
    if (prevRole === StateType.Leader && g.role !== StateType.Leader) {
      for (const r of g.reads.values()) {
        r.timer.cancel();
        r.reject(
          new RaftError(RaftErrorCode.NotLeader, 'lost leadership', { leaderId: nodeIdOfRaft(g.leaderId) }),
        );
      }
      g.reads.clear();
    }
    g.sm.onRoleChange?.(g.role, nodeIdOfRaft(g.leaderId), g.term);
  }

  private applyEntry(g: Group, e: Entry): void {
    if (e.index <= g.applied) return;
    let result: unknown = undefined;
    let error: unknown = null;
    if (e.type === EntryType.Normal) {
      try {
        result = g.sm.apply(e);
      } catch (err) {
        // A deterministic rejection by the state machine is the entry's outcome, not a host failure.
        error = err;
      }
    } else {
      const cc = confChangeOfEntry(e);
      if (cc) {
        g.confState = g.node.applyConfChange(cc);
        g.confHistory.push({ index: e.index, confState: g.confState });
        const cs = confStateOfRaft(g.confState);
        g.sm.onConfChange?.(cs, e.index);
        this.logger.info('raft membership changed', {
          group: g.id,
          voters: cs.voters,
          learners: cs.learners,
        });
      }
    }
    g.applied = e.index;
    if (g.persistWaiters.size > 0) g.persistWaiters.delete(e.index);
    if (g.forwarding > 0) {
      g.recentResults.set(e.index, { term: e.term, result, error });
      if (g.recentResults.size > 4096) g.recentResults.delete(g.recentResults.keys().next().value!);
    }
    const p = g.pending.get(e.index);
    if (p) {
      g.pending.delete(e.index);
      p.timer.cancel();
      if (p.term !== e.term) {
        p.reject(
          new RaftError(RaftErrorCode.ProposalDropped, `entry ${e.index} was replaced by term ${e.term}`),
        );
      } else if (error !== null) {
        p.reject(error);
      } else {
        p.resolve({ index: e.index, term: e.term, result });
      }
    }
    if (g.appliedWaiters.length > 0) {
      g.appliedWaiters = g.appliedWaiters.filter(({ index, w }) => {
        if (index > g.applied) return true;
        w.resolve(index);
        return false;
      });
    }
  }

  private maybeSnapshot(g: Group): void {
    if (g.opts.snapshotPolicy === 'stateMachine') {
      this.snapshotAtStateMachinePoint(g);
      return;
    }
    if (g.applied - g.snapshotIndex < g.opts.snapshotEveryEntries) return;
    const data = g.sm.snapshot();
    g.storage.createSnapshot(g.applied, g.confState, data);
    g.snapshotIndex = g.applied;
    g.confHistory = [];
    const compactTo = g.applied - g.opts.keepEntriesAfterSnapshot;
    if (compactTo > g.storage.firstIndex()) g.storage.compact(compactTo);
    this.logger.debug('raft snapshot taken', {
      group: g.id,
      index: g.applied,
      bytes: data.length,
      compactTo,
    });
    this.requestCycle();
  }

  /**
   * The state machine chose the point: snapshot there (with the membership as of that index) and
   * compact the log to exactly that index, so every entry after it stays in the log.
   */
  private snapshotAtStateMachinePoint(g: Group): void {
    const p = g.sm.snapshotPoint?.();
    if (p === undefined) return;
    const firstIndex = g.storage.firstIndex();
    if (p.index <= g.snapshotIndex || p.index > g.applied || p.index < firstIndex - 1) {
      this.logger.warn('raft snapshot point refused', {
        group: g.id,
        index: p.index,
        snapshotIndex: g.snapshotIndex,
        applied: g.applied,
        firstIndex,
      });
      return;
    }
    try {
      g.storage.createSnapshot(p.index, g.confStateAsOf(p.index), p.data);
    } catch (e) {
      // Refused before anything changed (e.g. larger than the storage's snapshot limit): the log
      // simply stays uncompacted.
      this.logger.error('raft snapshot at the state machine point failed', {
        group: g.id,
        index: p.index,
        error: (e as Error).message,
      });
      return;
    }
    g.snapshotIndex = p.index;
    g.confHistory = g.confHistory.filter((h) => h.index > p.index);
    if (p.index >= firstIndex) g.storage.compact(p.index);
    this.logger.debug('raft snapshot taken at the state machine point', {
      group: g.id,
      index: p.index,
      bytes: p.data.length,
      applied: g.applied,
    });
    this.requestCycle();
  }
}
