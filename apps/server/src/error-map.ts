// Every failure a Chronik package reports, mapped to the Kafka error a client is answered with — in
// this one place, by each package's error code: one exhaustive switch per code union, so that a code
// added to a package does not compile until it is mapped here. The broker's own KafkaError passes
// as it is; anything else is a bug and answers UNKNOWN_SERVER_ERROR (docs/design/architecture.md,
// "Errors").
//
// The choices follow what the failure means for the request, as Kafka answers it:
// - storage failed (an I/O error, a corrupt record read back): KAFKA_STORAGE_ERROR — retriable; the
//   client refreshes its metadata and asks again, by then possibly of another replica;
// - nothing was written and trying again is safe (overload, a timeout before the write, a peer not
//   reachable): REQUEST_TIMED_OUT;
// - leadership moved or is moving: NOT_LEADER_OR_FOLLOWER;
// - a bad batch from the client: CORRUPT_MESSAGE and its relatives.
import { isMetadataError } from '@chronik/metadata';
import type { RecordsErrorCode } from '@chronik/protocol';
import { isRecordsError } from '@chronik/protocol';
import { RaftError, RaftErrorCode } from '@chronik/raft';
import { HostError, HostErrorCode } from '@chronik/raft-host';
import { ForwardedProposalError, TransportError, TransportErrorCode } from '@chronik/raft-grpc';
import type { WalErrorCode } from '@chronik/wal';
import { isWalError } from '@chronik/wal';
import { KafkaError } from './errors.js';

/** The Kafka error name of a Raft core failure. */
function raftError(code: RaftErrorCode): string {
  switch (code) {
    case 'NotLeader':
    case 'ProposalDropped':
      return 'NOT_LEADER_OR_FOLLOWER';
    case 'Compacted':
    case 'Unavailable':
    case 'SnapshotTemporarilyUnavailable':
    case 'SnapshotOutOfDate':
    case 'InvalidMessage':
    case 'InvariantViolated':
    case 'InvalidConfig':
      return 'UNKNOWN_SERVER_ERROR';
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

/** The Kafka error name of a Raft host failure. */
function hostError(code: HostErrorCode): string {
  switch (code) {
    case 'Timeout':
    case 'Overloaded':
    case 'Unreachable':
      return 'REQUEST_TIMED_OUT';
    case 'TooLarge':
      return 'MESSAGE_TOO_LARGE';
    case 'Stopped':
      // The group broke an invariant or its storage failed: this replica serves no more.
      return 'KAFKA_STORAGE_ERROR';
    case 'Closed':
    case 'UnknownGroup':
      return 'NOT_LEADER_OR_FOLLOWER';
    case 'InvalidArgument':
      return 'UNKNOWN_SERVER_ERROR';
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

/** The Kafka error name of a Raft transport failure (a forwarded proposal that did not arrive). */
function transportError(code: TransportErrorCode): string {
  switch (code) {
    case 'UnknownPeer':
    case 'QueueFull':
    case 'Unreachable':
    case 'Closed':
      return 'REQUEST_TIMED_OUT';
    case 'InvalidMessage':
    case 'SnapshotFailed':
    case 'Listen':
      return 'UNKNOWN_SERVER_ERROR';
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

/** The Kafka error name of a write-ahead log failure. */
function walError(code: WalErrorCode): string {
  switch (code) {
    case 'Io':
    case 'Corruption':
      return 'KAFKA_STORAGE_ERROR';
    case 'Overloaded':
      return 'REQUEST_TIMED_OUT';
    case 'RecordTooLarge':
      return 'MESSAGE_TOO_LARGE';
    case 'Closed':
      return 'NOT_LEADER_OR_FOLLOWER';
    case 'Compacted':
      return 'OFFSET_OUT_OF_RANGE';
    case 'InvalidArgument':
    case 'Unavailable':
      return 'UNKNOWN_SERVER_ERROR';
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

/** The Kafka error name of a bad record batch. */
function recordsError(code: RecordsErrorCode): string {
  switch (code) {
    case 'UnsupportedMagic':
      return 'UNSUPPORTED_FOR_MESSAGE_FORMAT';
    case 'UnsupportedCompression':
      return 'UNSUPPORTED_COMPRESSION_TYPE';
    case 'TooLarge':
      return 'RECORD_LIST_TOO_LARGE';
    case 'Truncated':
    case 'InvalidVarint':
    case 'CorruptRecord':
    case 'CrcMismatch':
    case 'RecordCountMismatch':
      return 'CORRUPT_MESSAGE';
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

const RAFT_CODES: ReadonlySet<string> = new Set(Object.values(RaftErrorCode));
const HOST_CODES: ReadonlySet<string> = new Set(Object.values(HostErrorCode));
const TRANSPORT_CODES: ReadonlySet<string> = new Set(Object.values(TransportErrorCode));

/**
 * A proposal forwarded to another node failed there: the remote error's code travels as a string,
 * and is one of the codes of the Raft core, the host or the transport of that node.
 */
function forwardedError(code: string): string {
  if (RAFT_CODES.has(code)) return raftError(code as RaftErrorCode);
  if (HOST_CODES.has(code)) return hostError(code as HostErrorCode);
  if (TRANSPORT_CODES.has(code)) return transportError(code as TransportErrorCode);
  return 'UNKNOWN_SERVER_ERROR';
}

/** The Kafka error name for a failure of any package (UNKNOWN_SERVER_ERROR for anything else). */
export function kafkaErrorName(e: unknown): string {
  if (e instanceof KafkaError) return e.code;
  if (isRecordsError(e)) return recordsError(e.code);
  if (isMetadataError(e)) return e.code;
  if (isWalError(e)) return walError(e.code);
  if (e instanceof RaftError) return raftError(e.code);
  if (e instanceof HostError) return hostError(e.code);
  if (e instanceof TransportError) return transportError(e.code);
  if (e instanceof ForwardedProposalError) return forwardedError(e.code);
  return 'UNKNOWN_SERVER_ERROR';
}

/**
 * The failure as a KafkaError (a KafkaError as it is); `what` says what failed, before the cause's
 * message.
 */
export function toKafkaError(e: unknown, what?: string): KafkaError {
  if (e instanceof KafkaError) return e;
  const text = e instanceof Error ? e.message : String(e);
  return new KafkaError(kafkaErrorName(e), what === undefined ? text : `${what}: ${text}`, { cause: e });
}
