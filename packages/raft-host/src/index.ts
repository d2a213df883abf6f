// Public entry point of @chronik/raft-host.
export { RaftHost } from './host.js';
export type {
  GroupLog,
  GroupOptions,
  GroupStatus,
  PeerProgress,
  HostTransport,
  ProposalOutcome,
  ProposeOptions,
  RaftHostOptions,
  Scheduler,
  SnapshotPoint,
  SnapshotPolicy,
  StateMachine,
} from './host.js';
export { HostError, HostErrorCode } from './errors.js';
export { RaftLogStorage } from './raft-storage.js';
export type { RaftLogStorageOptions, RaftRecoveryInfo } from './raft-storage.js';
export { MemoryNetwork, MemoryTransport } from './memory-network.js';
export type { MemoryNetworkOptions, MemoryTransportHandler } from './memory-network.js';
