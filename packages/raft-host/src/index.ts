// Public entry point of @chronik/raft-host.
export { LIVENESS_GROUP_ID, RaftHost } from './host.js';
export type {
  GroupLog,
  GroupOptions,
  GroupStatus,
  PeerProgress,
  HostTransport,
  ProposalOutcome,
  ProposeOptions,
  RaftHostOptions,
  SnapshotPoint,
  SnapshotPolicy,
  StateMachine,
} from './host.js';
// The environment the host takes (RaftHostOptions.env), from the seam; `IntervalTimers` is the
// shape its `scheduler` option took before it.
export type { Clock, Env, IntervalTimers, Scheduler, TimerHandle } from '@chronik/env';
export { MAX_NODE_ID, NO_NODE, RAFT_ID_OF_NODE_ZERO, isNodeId, nodeIdOfRaft, raftIdOf } from './node-ids.js';
export { HostError, HostErrorCode } from './errors.js';
export { HostStats } from './stats.js';
export type { HostObserver } from './stats.js';
export { RaftLogStorage } from './raft-storage.js';
export type { RaftLogStorageOptions, RaftRecoveryInfo } from './raft-storage.js';
export { MemoryNetwork, MemoryTransport } from './memory-network.js';
export type {
  MemoryJoinAnswer,
  MemoryJoinQuestion,
  MemoryNetworkOptions,
  MemoryTransportHandler,
} from './memory-network.js';
