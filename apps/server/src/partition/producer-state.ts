// Idempotent-producer state of one partition: per producer id, its epoch, the last five batches
// (first/last sequence and offsets) and the coordinator epoch of its last transaction marker, as
// Kafka keeps. Derived from the batches in the log only (headers, and the markers' records), so the
// same code rebuilds it from the log on recovery. A producer with an open transaction is never
// evicted (`pinned`): its epoch must keep fencing older ones.

import type { RecordBatchHeader } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import type { ProducerStateView } from './types.js';

/** Batches remembered per producer (Kafka: 5, the max in-flight requests of an idempotent producer). */
export const BATCHES_PER_PRODUCER = 5;

interface BatchSeq {
  firstSeq: number;
  lastSeq: number;
  baseOffset: bigint;
  lastOffset: bigint;
}

interface ProducerEntry {
  epoch: number;
  batches: BatchSeq[];
  lastTimestamp: bigint;
  /** The coordinator epoch of the producer's last marker here (-1: none). */
  coordinatorEpoch: number;
}

export type SequenceCheck = { kind: 'append' } | { kind: 'duplicate'; baseOffset: bigint };

const INT32_MAX = 2147483647;

/** The sequence `count` after `seq` (sequences wrap from Int32.MAX to 0). */
export function nextSeq(seq: number, count: number): number {
  const n = seq + count;
  return n > INT32_MAX ? n - INT32_MAX - 1 : n;
}

export class ProducerStateTable {
  /** In order of last update (an update moves the entry to the end): the first is evicted first. */
  private readonly producers = new Map<bigint, ProducerEntry>();

  constructor(
    private readonly maxProducers = 100_000,
    private readonly pinned: (producerId: bigint) => boolean = () => false,
  ) {}

  get size(): number {
    return this.producers.size;
  }

  /** The producer's epoch, or undefined when it is not known here. */
  epochOf(producerId: bigint): number | undefined {
    return this.producers.get(producerId)?.epoch;
  }

  /**
   * The last offset of the producer's last batch here, or undefined when it is not known (the log
   * cleaner keeps that batch, empty if need be, so the producer's next sequence still follows).
   */
  lastOffsetOf(producerId: bigint): bigint | undefined {
    const b = this.producers.get(producerId)?.batches;
    return b === undefined || b.length === 0 ? undefined : (b[b.length - 1] as BatchSeq).lastOffset;
  }

  /** The coordinator epoch of the producer's last marker here (-1: none, or not known). */
  coordinatorEpochOf(producerId: bigint): number {
    return this.producers.get(producerId)?.coordinatorEpoch ?? -1;
  }

  /**
   * Decides what to do with a batch before it is appended: append it, answer it as a duplicate of
   * an earlier batch, or reject it (INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER).
   */
  check(h: RecordBatchHeader): SequenceCheck {
    if (h.producerId < 0n || h.isControl) return { kind: 'append' };
    const e = this.producers.get(h.producerId);
    const lastSeq = nextSeq(h.baseSequence, h.lastOffsetDelta);
    if (e === undefined) return { kind: 'append' }; // unknown (new, or state expired): accept
    if (h.producerEpoch < e.epoch) {
      throw new KafkaError(
        'INVALID_PRODUCER_EPOCH',
        `producer ${h.producerId} epoch ${h.producerEpoch} is older than ${e.epoch}`,
      );
    }
    if (h.producerEpoch > e.epoch) {
      if (h.baseSequence !== 0) {
        throw new KafkaError(
          'OUT_OF_ORDER_SEQUENCE_NUMBER',
          `producer ${h.producerId} started epoch ${h.producerEpoch} at sequence ${h.baseSequence}, not 0`,
        );
      }
      return { kind: 'append' };
    }
    if (h.baseSequence < 0) return { kind: 'append' };
    for (const b of e.batches) {
      if (b.firstSeq === h.baseSequence && b.lastSeq === lastSeq)
        return { kind: 'duplicate', baseOffset: b.baseOffset };
    }
    const last = e.batches[e.batches.length - 1];
    if (last !== undefined && h.baseSequence !== nextSeq(last.lastSeq, 1)) {
      throw new KafkaError(
        'OUT_OF_ORDER_SEQUENCE_NUMBER',
        `producer ${h.producerId}: expected sequence ${nextSeq(last.lastSeq, 1)}, got ${h.baseSequence}`,
      );
    }
    return { kind: 'append' };
  }

  /** Records an appended batch (header with its assigned base offset). */
  update(h: RecordBatchHeader, baseOffset: bigint): void {
    if (h.producerId < 0n || h.isControl) return;
    const before = this.producers.get(h.producerId);
    let e = before;
    if (e === undefined || h.producerEpoch > e.epoch)
      e = {
        epoch: h.producerEpoch,
        batches: [],
        lastTimestamp: h.maxTimestamp,
        coordinatorEpoch: before?.coordinatorEpoch ?? -1,
      };
    this.producers.delete(h.producerId);
    this.producers.set(h.producerId, e);
    e.lastTimestamp = h.maxTimestamp;
    if (h.baseSequence >= 0) {
      e.batches.push({
        firstSeq: h.baseSequence,
        lastSeq: nextSeq(h.baseSequence, h.lastOffsetDelta),
        baseOffset,
        lastOffset: baseOffset + BigInt(h.lastOffsetDelta),
      });
      if (e.batches.length > BATCHES_PER_PRODUCER) e.batches.shift();
    }
    if (this.producers.size > this.maxProducers) this.evictOldest();
  }

  /**
   * Records a transaction marker of `producerId` (stamped `timestamp`): its epoch becomes the
   * marker's when that is higher (an abort after fencing; its sequences start over) and the
   * coordinator epoch is the marker's. An unknown producer is added.
   */
  onMarker(producerId: bigint, producerEpoch: number, coordinatorEpoch: number, timestamp: bigint): void {
    const before = this.producers.get(producerId);
    const e: ProducerEntry =
      before === undefined || producerEpoch > before.epoch
        ? { epoch: producerEpoch, batches: [], lastTimestamp: timestamp, coordinatorEpoch }
        : before;
    e.coordinatorEpoch = coordinatorEpoch;
    e.lastTimestamp = timestamp;
    this.producers.delete(producerId);
    this.producers.set(producerId, e);
    if (this.producers.size > this.maxProducers) this.evictOldest();
  }

  /** The producer updated longest ago that is not pinned (none when all are). */
  private evictOldest(): void {
    for (const id of this.producers.keys()) {
      if (this.pinned(id)) continue;
      this.producers.delete(id);
      return;
    }
  }

  /** Every producer; `txnStart` gives the first offset of a producer's open transaction. */
  describe(txnStart: (producerId: bigint) => bigint | undefined = () => undefined): ProducerStateView[] {
    return [...this.producers.entries()].map(([producerId, e]) => {
      const last = e.batches[e.batches.length - 1];
      return {
        producerId,
        producerEpoch: e.epoch,
        lastSequence: last?.lastSeq ?? -1,
        lastTimestamp: e.lastTimestamp,
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnStartOffset: txnStart(producerId) ?? -1n,
      };
    });
  }

  /** Plain data for the clean-shutdown snapshot (bigints as strings). */
  toJSON(): unknown {
    return [...this.producers.entries()].map(([id, e]) => ({
      id: String(id),
      epoch: e.epoch,
      ts: String(e.lastTimestamp),
      ce: e.coordinatorEpoch,
      batches: e.batches.map((b) => [b.firstSeq, b.lastSeq, String(b.baseOffset), String(b.lastOffset)]),
    }));
  }

  /** Replaces the state with a `toJSON()` value; throws on malformed input. */
  load(data: unknown): void {
    if (!Array.isArray(data)) throw new Error('producer state is not an array');
    this.producers.clear();
    for (const p of data as Array<{
      id: string;
      epoch: number;
      ts: string;
      ce?: number;
      batches: Array<[number, number, string, string]>;
    }>) {
      this.producers.set(BigInt(p.id), {
        epoch: p.epoch,
        lastTimestamp: BigInt(p.ts),
        // Absent in state saved before transactions.
        coordinatorEpoch: p.ce ?? -1,
        batches: p.batches.map(([firstSeq, lastSeq, base, last]) => ({
          firstSeq,
          lastSeq,
          baseOffset: BigInt(base),
          lastOffset: BigInt(last),
        })),
      });
    }
  }
}
