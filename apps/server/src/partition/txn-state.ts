// The transactions of one partition (KIP-98) as both replication strategies keep them: derived from
// the batches indexed into the Kafka log (kafka-log.ts), like the producer state, so the same code
// rebuilds them on recovery, on every replica, and from a checkpoint plus the entries after it.
//
// - Open transactions: per producer id, the offset of its first transactional batch not yet
//   followed by a marker. A transaction enters with its first batch and batches are indexed in
//   offset order, so the map's insertion order is the order of first offsets.
// - Closing transactions: their marker is indexed but not yet below the high watermark (a standalone
//   partition indexes a batch when it starts writing it; a replicated one only once it is committed,
//   so it never has any). They hold the last stable offset back until the marker can be read, as
//   Kafka's unreplicated transactions do: a read_committed consumer never reads a transaction's
//   records before the marker that decides them. Never saved: a saved state's high watermark is its
//   next offset, past every marker.
// - The aborted-transaction index: (producer id, first offset, marker offset) per aborted
//   transaction whose marker is at or above the log start, in marker order — one entry per aborted
//   transaction kept in the log.
//
// Last stable offset = min(first offset of every open or closing transaction, high watermark), never
// below the log start (KafkaLog.lastStableOffset).
import type { RecordBatchHeader } from '@chronik/protocol';
import {
  ControlRecordType,
  decodeControlRecordKey,
  decodeEndTxnMarker,
  decodeRecordBatch,
} from '@chronik/protocol';
import type { AbortedTransaction } from './types.js';

/** An aborted transaction in the index: its producer, first offset and marker offset. */
export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
  /** The offset of its abort marker. */
  lastOffset: bigint;
}

/** What a marker batch says (see readMarker). */
export interface MarkerRecord {
  commit: boolean;
  coordinatorEpoch: number;
}

/**
 * The commit or abort marker a control batch carries (key: int16 version, int16 type 0 abort / 1
 * commit; value: int16 version, int32 coordinator epoch), or undefined for a batch that is not one
 * (not control, not transactional, no producer, another control record type). Throws the record
 * decoder's error on a malformed control batch.
 */
export function readMarker(h: RecordBatchHeader, data: Buffer): MarkerRecord | undefined {
  if (!h.isControl || !h.isTransactional || h.producerId < 0n) return undefined;
  const [record] = decodeRecordBatch(data).records;
  if (record === undefined) return undefined;
  const { type } = decodeControlRecordKey(record.key);
  if (type !== ControlRecordType.Abort && type !== ControlRecordType.Commit) return undefined;
  return {
    commit: type === ControlRecordType.Commit,
    coordinatorEpoch: decodeEndTxnMarker(record.value).coordinatorEpoch,
  };
}

/** The state as data (bigints as strings): open [producer id, first offset], aborted [id, first, last]. */
interface TxnStateData {
  open: Array<[string, string]>;
  aborted: Array<[string, string, string]>;
}

export class TxnState {
  /** Producer id → the first offset of its open transaction, in order of first offset. */
  private readonly open = new Map<bigint, bigint>();
  /** Transactions whose marker is indexed at or above the high watermark. */
  private closing: Array<{ firstOffset: bigint; markerOffset: bigint }> = [];
  /** The aborted-transaction index from `abortedHead` on, in marker order. */
  private aborted: AbortedTxn[] = [];
  private abortedHead = 0;
  /**
   * The largest (marker offset - first offset) of any entry the index held: no entry whose marker is
   * more than this past an offset started before it (bounds the scan of abortedIn).
   */
  private maxSpan = 0n;

  get openCount(): number {
    return this.open.size;
  }
  get abortedCount(): number {
    return this.aborted.length - this.abortedHead;
  }

  /** The first offset of the producer's open transaction, or undefined. */
  firstOffsetOf(producerId: bigint): bigint | undefined {
    return this.open.get(producerId);
  }

  isOpen(producerId: bigint): boolean {
    return this.open.has(producerId);
  }

  /** A transactional batch of `producerId` at `baseOffset`: opens its transaction unless it is open. */
  onTransactionalBatch(producerId: bigint, baseOffset: bigint): void {
    if (!this.open.has(producerId)) this.open.set(producerId, baseOffset);
  }

  /**
   * A marker of `producerId` at `offset` closes its open transaction (none open: nothing changes);
   * an aborted one enters the index unless its marker is below `logStart` (a batch re-read after a
   * snapshot restore).
   */
  onMarker(producerId: bigint, commit: boolean, offset: bigint, logStart: bigint): void {
    const firstOffset = this.open.get(producerId);
    if (firstOffset === undefined) return;
    this.open.delete(producerId);
    this.closing.push({ firstOffset, markerOffset: offset });
    if (commit || offset < logStart) return;
    this.aborted.push({ producerId, firstOffset, lastOffset: offset });
    if (offset - firstOffset > this.maxSpan) this.maxSpan = offset - firstOffset;
  }

  /** The high watermark is now `hw`: closing transactions whose marker is below it are done. */
  onHighWatermark(hw: bigint): void {
    if (this.closing.length > 0) this.closing = this.closing.filter((c) => c.markerOffset >= hw);
  }

  /** The first offset of the oldest open or closing transaction, or undefined when there is none. */
  firstUnstableOffset(): bigint | undefined {
    let first: bigint | undefined;
    for (const offset of this.open.values()) {
      first = offset;
      break;
    }
    for (const c of this.closing) if (first === undefined || c.firstOffset < first) first = c.firstOffset;
    return first;
  }

  /** Drops the aborted transactions whose marker is below `logStart` (retention, DeleteRecords). */
  dropBelow(logStart: bigint): void {
    while (
      this.abortedHead < this.aborted.length &&
      (this.aborted[this.abortedHead] as AbortedTxn).lastOffset < logStart
    )
      this.abortedHead++;
    if (this.abortedHead === this.aborted.length) {
      this.aborted = [];
      this.abortedHead = 0;
    } else if (this.abortedHead > 1024 && this.abortedHead * 2 > this.aborted.length) {
      this.aborted = this.aborted.slice(this.abortedHead);
      this.abortedHead = 0;
    }
  }

  /**
   * The cleaner removed the batch at `offset`: when it was an abort marker, its transaction leaves
   * the index (the cleaner removes a marker only once no record of its transaction is left).
   */
  dropAbortedMarker(offset: bigint): void {
    let lo = this.abortedHead;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.aborted[mid] as AbortedTxn).lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.aborted.length && (this.aborted[lo] as AbortedTxn).lastOffset === offset)
      this.aborted.splice(lo, 1);
  }

  /**
   * The aborted transactions overlapping offsets [from, to): marker at or after `from`, first
   * offset before `to` — Kafka's collectAbortedTransactions. In marker order.
   */
  abortedIn(from: bigint, to: bigint): AbortedTransaction[] {
    const out: AbortedTransaction[] = [];
    // The first entry whose marker is at or after `from` (markers rise).
    let lo = this.abortedHead;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.aborted[mid] as AbortedTxn).lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i] as AbortedTxn;
      // Every later entry's first offset is at least its marker minus maxSpan.
      if (a.lastOffset - this.maxSpan >= to) break;
      if (a.firstOffset < to) out.push({ producerId: a.producerId, firstOffset: a.firstOffset });
    }
    return out;
  }

  /** The aborted-transaction index (for tests and the admin view). */
  abortedTxns(): AbortedTxn[] {
    return this.aborted.slice(this.abortedHead);
  }

  /** Plain data for checkpoints and snapshots (closing transactions are not kept: see the header). */
  toJSON(): TxnStateData {
    return {
      open: [...this.open].map(([id, first]) => [String(id), String(first)]),
      aborted: this.abortedTxns().map((a) => [
        String(a.producerId),
        String(a.firstOffset),
        String(a.lastOffset),
      ]),
    };
  }

  /**
   * Replaces the state with a `toJSON()` value (undefined: empty, a state saved before
   * transactions); throws on malformed input.
   */
  load(data: unknown): void {
    this.open.clear();
    this.closing = [];
    this.aborted = [];
    this.abortedHead = 0;
    this.maxSpan = 0n;
    if (data === undefined) return;
    const d = data as Partial<TxnStateData>;
    if (!Array.isArray(d.open) || !Array.isArray(d.aborted))
      throw new Error('transaction state is malformed');
    for (const [id, first] of d.open) this.open.set(BigInt(id), BigInt(first));
    for (const [id, first, last] of d.aborted) {
      const a = { producerId: BigInt(id), firstOffset: BigInt(first), lastOffset: BigInt(last) };
      this.aborted.push(a);
      if (a.lastOffset - a.firstOffset > this.maxSpan) this.maxSpan = a.lastOffset - a.firstOffset;
    }
  }
}
