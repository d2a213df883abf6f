// Public entry point of @chronik/raft-grpc. The transport itself (issue: Raft across real
// processes) builds on these generated wire types and the RaftTransport service definition.
export {
  Batch,
  BatchAck,
  ConfState,
  Entry,
  EntryType,
  GroupMessage,
  Heartbeat,
  RaftMessage,
  RaftTransportClient,
  RaftTransportService,
  SnapshotChunk,
  SnapshotMetadata,
  SnapshotResult,
  ProposeRequest,
  ProposeResponse,
  IdentifyRequest,
  IdentifyResponse,
  JoinRequest,
  JoinResponse,
  Member,
} from './generated/raft.js';
export type { RaftTransportServer } from './generated/raft.js';
export { ForwardedProposalError, GrpcTransport, defaultTransportLimits } from './transport.js';
export type {
  GrpcTransportOptions,
  IdentityAnswer,
  IdentityQuestion,
  JoinAnswer,
  JoinQuestion,
  PeerStats,
  TransportHandler,
  TransportLimits,
  TransportTls,
} from './transport.js';
// The timers GrpcTransportOptions takes, from the environment seam.
export type { Timers } from '@chronik/env';
export { TransportError, TransportErrorCode } from './errors.js';
export { messageFromWire, messageToWire, messageTypeFromWire, messageTypeToWire } from './codec.js';
