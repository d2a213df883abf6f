/**
 * Data types shared by the Raft core, its storage and its callers.
 * Indexes and terms are plain numbers (safe integers); node ids are positive integers and 0 means "none".
 */

export const EntryType = {
  Normal: 0,
  ConfChange: 1,
  ConfChangeV2: 2,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Application payload; empty for the leader's no-op entry. Never mutated after creation. */
  readonly data: Uint8Array;
}

/** The state that must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** The node voted for in `term`, or 0. */
  readonly vote: number;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  /** Voters of the outgoing configuration while in a joint configuration; empty otherwise. */
  readonly votersOutgoing: readonly number[];
  /** Voters of the outgoing config that become learners when the joint configuration is left. */
  readonly learnersNext: readonly number[];
  /** Leave the joint configuration automatically once it has committed. */
  readonly autoLeave: boolean;
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** Application-built state machine image. */
  readonly data: Uint8Array;
}

/** Injected logger; the core never writes anywhere else. Defaults to silent. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Injected randomness: returns a uniformly distributed float in [0, 1). Seed it for determinism. */
export type Rng = () => number;

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 };

/** Message kinds, named after etcd's raftpb.MessageType. "Local" kinds never cross the network. */
export const MessageType = {
  /** Local: start an election (the election timer fired, or campaign()). */
  MsgHup: 'MsgHup',
  /** Local: the leader's heartbeat timer fired. */
  MsgBeat: 'MsgBeat',
  /** Local: a proposal of entries. Never forwarded; a follower rejects it with NotLeader. */
  MsgProp: 'MsgProp',
  MsgApp: 'MsgApp',
  MsgAppResp: 'MsgAppResp',
  MsgVote: 'MsgVote',
  MsgVoteResp: 'MsgVoteResp',
  MsgPreVote: 'MsgPreVote',
  MsgPreVoteResp: 'MsgPreVoteResp',
  MsgSnap: 'MsgSnap',
  MsgHeartbeat: 'MsgHeartbeat',
  MsgHeartbeatResp: 'MsgHeartbeatResp',
  /** Local: the transport could not deliver to `from`. */
  MsgUnreachable: 'MsgUnreachable',
  /** Local: the result of sending a snapshot to `from` (`reject` = failed). */
  MsgSnapStatus: 'MsgSnapStatus',
  /** Local: the leader's check-quorum timer fired. */
  MsgCheckQuorum: 'MsgCheckQuorum',
  /** Transfer leadership to `from` (sent by the transferee's side or locally to the leader). */
  MsgTransferLeader: 'MsgTransferLeader',
  /** The leader tells the transferee to campaign at once, ignoring its election timer and lease. */
  MsgTimeoutNow: 'MsgTimeoutNow',
  MsgReadIndex: 'MsgReadIndex',
  MsgReadIndexResp: 'MsgReadIndexResp',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Message kinds that are only produced and consumed inside one node (never sent, never accepted by RawNode.step). */
export const localMessageTypes: ReadonlySet<MessageType> = new Set<MessageType>([
  MessageType.MsgHup,
  MessageType.MsgBeat,
  MessageType.MsgUnreachable,
  MessageType.MsgSnapStatus,
  MessageType.MsgCheckQuorum,
]);

/** Responses: a node accepts them whatever their term relation says about the sender's freshness. */
export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.MsgAppResp ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgHeartbeatResp ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgPreVoteResp
  );
}

/**
 * One Raft message. Every field is always present (a fixed shape keeps the hot path monomorphic);
 * unused numbers are 0, unused arrays empty, `snapshot` null when absent.
 */
export interface Message {
  readonly type: MessageType;
  readonly to: number;
  readonly from: number;
  readonly term: number;
  /** MsgApp: term of the entry at `index`; votes: the candidate's last log term. */
  readonly logTerm: number;
  /** MsgApp: index of the entry preceding `entries`; votes: the candidate's last index; MsgAppResp: the matched / rejected index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly snapshot: Snapshot | null;
  readonly reject: boolean;
  /** MsgAppResp with reject: the follower's hint for where to retry (its last index or a conflict index). */
  readonly rejectHint: number;
  /** Opaque caller context: ReadIndex request ids, campaign/transfer markers. Empty when unused. */
  readonly context: Uint8Array;
}

const emptyBytes = new Uint8Array(0);
const noEntries: readonly Entry[] = Object.freeze([]);

/** Builds a Message with every field present; fields not given take their empty value. */
export function newMessage(fields: Partial<Message> & { readonly type: MessageType }): Message {
  return {
    type: fields.type,
    to: fields.to ?? 0,
    from: fields.from ?? 0,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? noEntries,
    commit: fields.commit ?? 0,
    snapshot: fields.snapshot ?? null,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    context: fields.context ?? emptyBytes,
  };
}

/** The role of a node. */
export const StateType = {
  Follower: 'Follower',
  Candidate: 'Candidate',
  Leader: 'Leader',
  PreCandidate: 'PreCandidate',
} as const;
export type StateType = (typeof StateType)[keyof typeof StateType];

/** Volatile state, useful for logging and routing; never needs persisting. */
export interface SoftState {
  /** The known leader, 0 if none. */
  readonly lead: number;
  readonly raftState: StateType;
}

/** The answer to a readIndex(ctx) request: reads are linearizable once `index` has been applied. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

export const ConfChangeType = {
  AddNode: 'AddNode',
  RemoveNode: 'RemoveNode',
  UpdateNode: 'UpdateNode',
  AddLearnerNode: 'AddLearnerNode',
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

/** A one-at-a-time membership change (Raft thesis section 4.1). */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: number;
  /** Opaque to the core (e.g. the new node's address). */
  readonly context: Uint8Array;
}

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: number;
}

/** How a ConfChangeV2 moves between configurations. */
export const ConfChangeTransition = {
  /** A single change uses the one-at-a-time rule; several use joint consensus, left automatically. */
  Auto: 'Auto',
  /** Joint consensus, left automatically once the joint configuration committed. */
  JointImplicit: 'JointImplicit',
  /** Joint consensus, left only by an explicit empty ConfChangeV2 from the application. */
  JointExplicit: 'JointExplicit',
} as const;
export type ConfChangeTransition = (typeof ConfChangeTransition)[keyof typeof ConfChangeTransition];

/**
 * A membership change of any number of nodes (Raft thesis section 4.3, joint consensus).
 * An empty `changes` list leaves a joint configuration.
 */
export interface ConfChangeV2 {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  readonly context: Uint8Array;
}

/**
 * The work a RawNode hands to its caller. Handle one Ready completely, in this order, then call advance():
 *
 * 1. Persist, durably when `mustSync` (fsync): `snapshot` (if not null) first, then append `entries`
 *    (replacing any stored entries at or after the first one's index), then `hardState` (if not null).
 * 2. Only then send `messages`. They may depend on step 1: a MsgVoteResp grants a vote that
 *    `hardState` records, a MsgAppResp acknowledges `entries`. Sending them earlier lets a crash
 *    break election safety or lose acknowledged entries.
 * 3. Apply `snapshot` to the state machine, then apply `committedEntries` in order (for a conf change
 *    entry, call applyConfChange). Answer reads whose `readStates` index has been applied.
 * 4. Call advance(). advance() checks that the entries of this Ready are in storage.
 *
 * Fields that carry nothing are null or empty arrays; check with hasReady() before calling ready().
 */
export interface Ready {
  /** Changed soft state, or null if unchanged since the last Ready. */
  readonly softState: SoftState | null;
  /** Changed hard state to persist, or null if unchanged. */
  readonly hardState: HardState | null;
  readonly readStates: readonly ReadState[];
  /** Entries to append to stable storage before sending messages. */
  readonly entries: readonly Entry[];
  /** A snapshot to persist and apply, or null. */
  readonly snapshot: Snapshot | null;
  /** Committed entries to apply to the state machine (they are already durable). */
  readonly committedEntries: readonly Entry[];
  /** Messages to send after step 1 is durable. */
  readonly messages: readonly Message[];
  /** Whether step 1 must be fsync'd (the hard state's term/vote or new entries changed). */
  readonly mustSync: boolean;
}

/** How reads are served by readIndex. */
export const ReadOnlyOption = {
  /** Confirm leadership with a heartbeat round before answering (Raft thesis section 6.4). */
  Safe: 'Safe',
  /** Trust the leader lease (needs checkQuorum; depends on bounded clock drift). */
  LeaseBased: 'LeaseBased',
} as const;
export type ReadOnlyOption = (typeof ReadOnlyOption)[keyof typeof ReadOnlyOption];

/** The replication state of one follower as the leader sees it. */
export const ProgressState = {
  /** One message in flight until the follower's position is known. */
  Probe: 'Probe',
  /** Pipelined appends, bounded by the inflight window. */
  Replicate: 'Replicate',
  /** A snapshot is being sent; appends pause until it is reported. */
  Snapshot: 'Snapshot',
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly pendingSnapshot: number;
  readonly inflightMsgs: number;
  readonly inflightBytes: number;
}

export interface Status {
  readonly id: number;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: number;
  /** Per-peer progress on a leader, null elsewhere. */
  readonly progress: ReadonlyMap<number, ProgressStatus> | null;
  /** The target of an ongoing leadership transfer, 0 if none. */
  readonly leadTransferee: number;
  readonly config: ConfState;
  /** The group is quiescent on this node (RawNode.quiesce; docs/design/quiescence.md). */
  readonly quiescent: boolean;
}

/** A small deterministic PRNG (mulberry32) for the `rng` config option when the caller has none. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
