// One transactional id's state (Kafka's TransactionMetadata): the durable fields, exactly what its
// last record in `__transaction_state` says, and the transition being written, if any. No timers
// and no I/O here: the coordinator prepares a transition, writes its record, and completes it once
// the record is durable — the durable fields change only then.
//
// Invariants (checked where they change, and by invariantViolations for the tests):
//   pending !== undefined  <=>  a record of this id is being written (or markers are: Complete*)
//   Empty => no partitions, startMs = -1;   Ongoing => at least one partition, startMs >= 0
//   Complete* => no partitions;   markersPending ⊆ partitions, defined only in Prepare*
//   a persisted id has producerEpoch in [0, 32767]; state is never Dead or PrepareEpochFence
//   (Dead is only ever a pending transition: the tombstone of an expiring id; the epoch fence is
//   written as PrepareAbort with the bumped epoch, as Kafka does)
import type { TopicPartition } from '../partition/types.js';
import type { StoredTxn } from './records.js';
import type { TxnState } from './types.js';
import { tpKey } from './types.js';

/** Kafka's TransactionState.validPreviousStates. */
const VALID_PREVIOUS: Record<TxnState, readonly TxnState[]> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing', 'PrepareEpochFence'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareEpochFence: ['Ongoing'],
};

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const MAX_PRODUCER_EPOCH = 32767;

/**
 * Kafka never hands out the last epoch (Short.MaxValue): a producer at 32766 gets a new producer id
 * at its next InitProducerId, so the coordinator can always fence it with one more bump.
 */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= MAX_PRODUCER_EPOCH - 1;
}

export class TxnMetadata {
  producerId: bigint;
  lastProducerId: bigint;
  producerEpoch: number;
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** tpKey → partition. */
  readonly partitions = new Map<string, TopicPartition>();
  startMs: number;
  lastUpdateMs: number;
  /** The transition being written (its record not yet durable), or markers being written (Complete*). */
  pending: TxnState | undefined;
  /** Prepare*, while markers are written: the partitions still without theirs. */
  markersPending: Map<string, TopicPartition> | undefined;
  /** A record of this id is durable (false for a new id until its first InitProducerId is written). */
  persisted: boolean;

  constructor(
    readonly transactionalId: string,
    /** Its `__transaction_state` partition. */
    readonly partition: number,
    stored: StoredTxn,
    persisted: boolean,
  ) {
    this.producerId = stored.producerId;
    this.lastProducerId = stored.lastProducerId;
    this.producerEpoch = stored.producerEpoch;
    this.lastProducerEpoch = stored.lastProducerEpoch;
    this.timeoutMs = stored.timeoutMs;
    this.state = stored.state;
    for (const tp of stored.partitions) this.partitions.set(tpKey(tp), tp);
    this.startMs = stored.startMs;
    this.lastUpdateMs = stored.lastUpdateMs;
    this.persisted = persisted;
  }

  /** The durable state, as its last record holds it. */
  stored(): StoredTxn {
    return {
      producerId: this.producerId,
      lastProducerId: this.lastProducerId,
      producerEpoch: this.producerEpoch,
      lastProducerEpoch: this.lastProducerEpoch,
      timeoutMs: this.timeoutMs,
      state: this.state,
      partitions: [...this.partitions.values()],
      lastUpdateMs: this.lastUpdateMs,
      startMs: this.startMs,
    };
  }

  hasPartitions(partitions: readonly TopicPartition[]): boolean {
    return partitions.every((tp) => this.partitions.has(tpKey(tp)));
  }

  /**
   * Starts a transition to `to` (its record is about to be written): throws if one is already
   * pending or Kafka does not allow it (a bug in the caller, never a client's doing).
   */
  prepare(to: StoredTxn): void {
    if (this.pending !== undefined)
      throw new Error(`${this.transactionalId}: transition to ${to.state} while ${this.pending} is pending`);
    if (!VALID_PREVIOUS[to.state].includes(this.state))
      throw new Error(`${this.transactionalId}: illegal transition ${this.state} -> ${to.state}`);
    if (to.state !== 'Dead' && (to.producerEpoch < 0 || to.producerEpoch > MAX_PRODUCER_EPOCH))
      throw new Error(`${this.transactionalId}: illegal producer epoch ${to.producerEpoch}`);
    this.pending = to.state;
  }

  /** The prepared transition's record is durable: the durable fields become `to` (checked as Kafka's completeTransitionTo). */
  complete(to: StoredTxn): void {
    if (this.pending !== to.state)
      throw new Error(
        `${this.transactionalId}: completing ${to.state} while ${String(this.pending)} is pending`,
      );
    const problem = this.transitionProblem(to);
    if (problem !== undefined)
      throw new Error(`${this.transactionalId}: transition ${this.state} -> ${to.state}: ${problem}`);
    this.producerId = to.producerId;
    this.lastProducerId = to.lastProducerId;
    this.producerEpoch = to.producerEpoch;
    this.lastProducerEpoch = to.lastProducerEpoch;
    this.timeoutMs = to.timeoutMs;
    this.state = to.state;
    this.partitions.clear();
    for (const tp of to.partitions) this.partitions.set(tpKey(tp), tp);
    this.startMs = to.startMs;
    this.lastUpdateMs = to.lastUpdateMs;
    this.pending = undefined;
    this.markersPending = undefined;
    this.persisted = true;
  }

  private transitionProblem(to: StoredTxn): string | undefined {
    const sameProducer = to.producerId === this.producerId && to.producerEpoch === this.producerEpoch;
    switch (to.state) {
      case 'Empty': {
        const bumped =
          to.producerEpoch === this.producerEpoch + 1 ||
          to.producerEpoch === this.producerEpoch || // a KIP-360 retry of a bump
          (to.producerEpoch === 0 && to.producerId !== this.producerId);
        if (!bumped) return `epoch ${this.producerEpoch} -> ${to.producerEpoch}`;
        if (to.partitions.length > 0 || to.startMs !== -1) return 'an empty transaction with partitions';
        return undefined;
      }
      case 'Ongoing':
        if (!sameProducer) return 'another producer';
        if (to.timeoutMs !== this.timeoutMs) return 'another timeout';
        if (![...this.partitions.keys()].every((k) => to.partitions.some((tp) => tpKey(tp) === k)))
          return 'partitions removed';
        return undefined;
      case 'PrepareCommit':
      case 'PrepareAbort': {
        // The epoch fence (a timeout, or InitProducerId of a new producer) aborts with one more epoch.
        const fenced =
          to.state === 'PrepareAbort' &&
          to.producerId === this.producerId &&
          to.producerEpoch === this.producerEpoch + 1;
        if (!sameProducer && !fenced) return 'another producer';
        if (to.partitions.length !== this.partitions.size || !this.hasPartitions(to.partitions))
          return 'other partitions';
        if (to.timeoutMs !== this.timeoutMs || to.startMs !== this.startMs) return 'another timeout or start';
        return undefined;
      }
      case 'CompleteCommit':
      case 'CompleteAbort':
        if (!sameProducer) return 'another producer';
        if (to.partitions.length > 0 || to.startMs === -1) return 'partitions left, or never started';
        return undefined;
      case 'Dead':
      case 'PrepareEpochFence':
        return 'never written as a state';
    }
  }

  /** Violations of the invariants stated at the top of this file. */
  invariantViolations(): string[] {
    const v: string[] = [];
    if (this.state === 'Dead' || this.state === 'PrepareEpochFence') v.push(`in state ${this.state}`);
    if (this.state === 'Empty' && (this.partitions.size > 0 || this.startMs !== -1))
      v.push('Empty with partitions or a start');
    if (this.state === 'Ongoing' && (this.partitions.size === 0 || this.startMs < 0))
      v.push('Ongoing without partitions or start');
    if ((this.state === 'CompleteCommit' || this.state === 'CompleteAbort') && this.partitions.size > 0)
      v.push(`${this.state} with partitions`);
    if (this.markersPending !== undefined) {
      if (this.state !== 'PrepareCommit' && this.state !== 'PrepareAbort')
        v.push(`markers pending in ${this.state}`);
      for (const k of this.markersPending.keys())
        if (!this.partitions.has(k)) v.push(`marker pending for ${k}, not in the transaction`);
    }
    if (this.persisted && (this.producerEpoch < 0 || this.producerEpoch > MAX_PRODUCER_EPOCH))
      v.push(`producer epoch ${this.producerEpoch}`);
    if (!this.persisted && this.pending === undefined) v.push('never written and nothing pending');
    return v.map((x) => `transactional id ${this.transactionalId}: ${x}`);
  }
}
