// Public entry point of @chronik/raft: every public name is re-exported here explicitly.
export { RaftError, RaftErrorCode, isRaftError } from './errors.js';
export type { Storage } from './storage.js';
export { EntryType, emptyConfState, emptyHardState, silentLogger } from './types.js';
export type { ConfState, Entry, HardState, Logger, Rng, Snapshot, SnapshotMetadata } from './types.js';
