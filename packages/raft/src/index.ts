// Public entry point of @chronik/raft: every public name is re-exported here explicitly.
export { RaftError, RaftErrorCode, isRaftError } from './errors.js';
export { validateConfig } from './config.js';
export type { Config, ResolvedConfig } from './config.js';
export { ENTRY_OVERHEAD_BYTES, MemoryStorage, entrySizeBytes, limitSize } from './storage.js';
export type { Storage, StorageUnderTest } from './storage.js';
export { storageConformanceCases } from './conformance.js';
export type { StorageConformanceCase } from './conformance.js';
export {
  MAX_CONF_CHANGES,
  confChangeAsV2,
  confChangeOfEntry,
  decodeConfChange,
  encodeConfChange,
  isConfChangeV2,
} from './confchange.js';
export { RawNode } from './rawnode.js';
export type { ProposalResult } from './rawnode.js';
export {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
  ProgressState,
  ReadOnlyOption,
  StateType,
  emptyConfState,
  emptyHardState,
  isResponseMessage,
  localMessageTypes,
  newMessage,
  seededRng,
  silentLogger,
} from './types.js';
export type {
  ConfChange,
  ConfChangeSingle,
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Logger,
  Message,
  ProgressStatus,
  ReadState,
  Ready,
  Rng,
  Snapshot,
  SnapshotMetadata,
  SoftState,
  Status,
} from './types.js';
