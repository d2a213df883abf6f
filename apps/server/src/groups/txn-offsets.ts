// One group's transactional offset commits (TxnOffsetCommit) waiting for their transaction's
// marker: per producer id, the offset of each partition the transaction committed, with the
// `__consumer_offsets` offset of its record. The same code runs live (as records become durable and
// markers land) and while a partition is replayed on load, so both end in the same state.
//
// Kafka's rules (GroupMetadata.completePendingTxnOffsetCommit):
// - a commit marker makes the producer's pending offsets the group's committed ones, an abort
//   marker drops them; only records written before the marker are completed by it;
// - a pending offset becomes committed only if no newer commit of that partition exists: a plain
//   commit (or deletion) written after it, or another transaction's offset written after it and
//   committed first, supersedes it (it stays pending until its marker, then is dropped).
import type { CommittedOffset } from './records.js';

export interface PendingTxnOffset {
  topic: string;
  partition: number;
  value: CommittedOffset;
  /** The `__consumer_offsets` offset of its record. */
  offset: bigint;
  /** A newer commit of the partition exists: the marker drops it even when it commits. */
  superseded: boolean;
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

export class PendingTxnOffsets {
  /** producer id → "topic\0partition" → the pending offset (a later commit replaces an earlier one). */
  private readonly byProducer = new Map<bigint, Map<string, PendingTxnOffset>>();
  /** "topic\0partition" → pending entries of it (any producer). */
  private readonly counts = new Map<string, number>();
  private total = 0;

  /** Pending entries (one per producer and partition). */
  get size(): number {
    return this.total;
  }

  has(topic: string, partition: number): boolean {
    return this.counts.has(keyOf(topic, partition));
  }

  hasProducer(producerId: bigint): boolean {
    return this.byProducer.has(producerId);
  }

  producers(): IterableIterator<bigint> {
    return this.byProducer.keys();
  }

  /** Whether adding this producer's commit of the partition would add an entry (not replace one). */
  isNew(producerId: bigint, topic: string, partition: number): boolean {
    return this.byProducer.get(producerId)?.has(keyOf(topic, partition)) !== true;
  }

  /** A transactional commit's record became durable (or was replayed) at `offset`. */
  add(producerId: bigint, topic: string, partition: number, value: CommittedOffset, offset: bigint): void {
    let m = this.byProducer.get(producerId);
    if (m === undefined) {
      m = new Map();
      this.byProducer.set(producerId, m);
    }
    const k = keyOf(topic, partition);
    if (!m.has(k)) {
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
      this.total++;
    }
    m.set(k, { topic, partition, value, offset, superseded: false });
  }

  /** A plain commit or deletion of the partition was written at `offset`: older pending ones lose. */
  supersede(topic: string, partition: number, offset: bigint): void {
    const k = keyOf(topic, partition);
    if (!this.counts.has(k)) return;
    for (const m of this.byProducer.values()) {
      const e = m.get(k);
      if (e !== undefined && e.offset < offset) e.superseded = true;
    }
  }

  /**
   * The producer's transaction ended with a marker at `markerOffset`: its entries written before
   * it are removed, and on commit those not superseded are returned, to become committed offsets
   * (each supersedes the other producers' older pending entries of its partition).
   */
  complete(producerId: bigint, commit: boolean, markerOffset: bigint): PendingTxnOffset[] {
    const m = this.byProducer.get(producerId);
    if (m === undefined) return [];
    const applied: PendingTxnOffset[] = [];
    for (const [k, e] of m) {
      if (e.offset >= markerOffset) continue; // the producer's next transaction
      m.delete(k);
      this.total--;
      const n = (this.counts.get(k) ?? 1) - 1;
      if (n <= 0) this.counts.delete(k);
      else this.counts.set(k, n);
      if (commit && !e.superseded) applied.push(e);
    }
    if (m.size === 0) this.byProducer.delete(producerId);
    for (const e of applied) this.supersede(e.topic, e.partition, e.offset);
    return applied;
  }

  /** Violations of the counters' invariants (tests). */
  invariantViolations(): string[] {
    const counts = new Map<string, number>();
    let total = 0;
    for (const m of this.byProducer.values()) {
      if (m.size === 0) return ['a producer without pending offsets is kept'];
      for (const k of m.keys()) {
        counts.set(k, (counts.get(k) ?? 0) + 1);
        total++;
      }
    }
    const v: string[] = [];
    if (total !== this.total) v.push(`pending transactional offsets ${this.total} != ${total}`);
    if (counts.size !== this.counts.size || [...counts].some(([k, n]) => this.counts.get(k) !== n))
      v.push('pending transactional offset counts disagree with the entries');
    return v;
  }
}
