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
