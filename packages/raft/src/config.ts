import { RaftError, RaftErrorCode } from './errors.js';
import type { Storage } from './storage.js';
import { ReadOnlyOption, seededRng, silentLogger } from './types.js';
import type { Logger, Rng } from './types.js';

/** Options of one Raft node. Every limit has a default; `validateConfig` fills them in and checks ranges. */
export interface Config {
  /** This node's id: a positive safe integer. */
  readonly id: number;
  /** The node's log storage (read-only from the core's view). */
  readonly storage: Storage;
  /**
   * Ticks without hearing from a leader before a follower campaigns. The actual timeout is drawn
   * uniformly from [electionTick, 2 * electionTick) with `rng` at every reset. Must exceed heartbeatTick.
   */
  readonly electionTick: number;
  /** Ticks between a leader's heartbeats. */
  readonly heartbeatTick: number;
  /** Election jitter source. Default: seededRng(id) (deterministic; inject your own seeded RNG). */
  readonly rng?: Rng;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Run a pre-vote round before a real election so a partitioned node cannot disrupt the cluster (thesis 9.6). Default false. */
  readonly preVote?: boolean;
  /** A leader steps down when it has not heard from a quorum within an election timeout; followers ignore votes while they hear from a leader. Default false. */
  readonly checkQuorum?: boolean;
  /** The last applied index on restart (entries up to it are not handed out again). Default 0. */
  readonly applied?: number;
  /** Maximum bytes of entries in one MsgApp (one entry is always allowed). Default 1 MiB. */
  readonly maxSizePerMsgBytes?: number;
  /** Maximum MsgApp messages in flight to one follower in Replicate state. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Maximum entry bytes in flight to one follower; 0 = only maxInflightMsgs limits. Default 32 MiB. */
  readonly maxInflightBytes?: number;
  /** Maximum bytes of uncommitted entries in the leader's log; proposals beyond it are dropped. Default 64 MiB. */
  readonly maxUncommittedEntriesBytes?: number;
  /** Maximum bytes of committed entries handed out in one Ready. Default 64 MiB. */
  readonly maxCommittedSizePerReadyBytes?: number;
  /** How readIndex is served. LeaseBased requires checkQuorum. Default Safe. */
  readonly readOnlyOption?: ReadOnlyOption;
  /** Maximum pending readIndex requests on a leader; more are rejected with ProposalDropped. Default 4096. */
  readonly maxPendingReadIndex?: number;
}

/** A Config with every default filled in. */
export interface ResolvedConfig {
  readonly id: number;
  readonly storage: Storage;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly rng: Rng;
  readonly logger: Logger;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly applied: number;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  readonly maxUncommittedEntriesBytes: number;
  readonly maxCommittedSizePerReadyBytes: number;
  readonly readOnlyOption: ReadOnlyOption;
  readonly maxPendingReadIndex: number;
}

const MiB = 1024 * 1024;

function invalid(message: string): RaftError {
  return new RaftError(RaftErrorCode.InvalidConfig, message);
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw invalid(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0)
    throw invalid(`${name} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** Fills in defaults and checks every option; throws RaftError InvalidConfig naming the bad option. */
export function validateConfig(c: Config): ResolvedConfig {
  const id = positiveInt('id', c.id);
  if (c.storage === undefined || c.storage === null) throw invalid('storage is required');
  const heartbeatTick = positiveInt('heartbeatTick', c.heartbeatTick);
  const electionTick = positiveInt('electionTick', c.electionTick);
  if (electionTick <= heartbeatTick)
    throw invalid(`electionTick (${electionTick}) must be greater than heartbeatTick (${heartbeatTick})`);
  const maxInflightMsgs = positiveInt('maxInflightMsgs', c.maxInflightMsgs ?? 256);
  const maxSizePerMsgBytes = positiveInt('maxSizePerMsgBytes', c.maxSizePerMsgBytes ?? MiB);
  const maxInflightBytes = nonNegativeInt('maxInflightBytes', c.maxInflightBytes ?? 32 * MiB);
  if (maxInflightBytes !== 0 && maxInflightBytes < maxSizePerMsgBytes) {
    throw invalid(
      `maxInflightBytes (${maxInflightBytes}) must be 0 or at least maxSizePerMsgBytes (${maxSizePerMsgBytes})`,
    );
  }
  const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.Safe;
  if (readOnlyOption !== ReadOnlyOption.Safe && readOnlyOption !== ReadOnlyOption.LeaseBased) {
    throw invalid(`readOnlyOption must be Safe or LeaseBased, got ${String(readOnlyOption)}`);
  }
  const checkQuorum = c.checkQuorum ?? false;
  if (readOnlyOption === ReadOnlyOption.LeaseBased && !checkQuorum) {
    throw invalid(
      'readOnlyOption LeaseBased requires checkQuorum: a lease is only safe when a leader steps down on losing its quorum',
    );
  }
  if (c.rng !== undefined && typeof c.rng !== 'function')
    throw invalid('rng must be a function returning [0, 1)');
  return {
    id,
    storage: c.storage,
    electionTick,
    heartbeatTick,
    rng: c.rng ?? seededRng(id * 2654435761),
    logger: c.logger ?? silentLogger,
    preVote: c.preVote ?? false,
    checkQuorum,
    applied: nonNegativeInt('applied', c.applied ?? 0),
    maxSizePerMsgBytes,
    maxInflightMsgs,
    maxInflightBytes,
    maxUncommittedEntriesBytes: positiveInt(
      'maxUncommittedEntriesBytes',
      c.maxUncommittedEntriesBytes ?? 64 * MiB,
    ),
    maxCommittedSizePerReadyBytes: positiveInt(
      'maxCommittedSizePerReadyBytes',
      c.maxCommittedSizePerReadyBytes ?? 64 * MiB,
    ),
    readOnlyOption,
    maxPendingReadIndex: positiveInt('maxPendingReadIndex', c.maxPendingReadIndex ?? 4096),
  };
}
