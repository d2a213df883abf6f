// The transactions of a partition's Kafka log, below both strategies (txn-state.ts, kafka-log.ts):
// the last stable offset against the high watermark and the log start, transactions whose marker is
// not yet below the high watermark, the aborted-transaction index (its overlap query, its bound on
// the scan, dropping below the log start) and the state as data.
import { buildControlBatch, ControlRecordType, readRecordBatchHeader } from '@chronik/protocol';
import { KafkaLog } from '../../src/partition/kafka-log.js';
import { TxnState, readMarker } from '../../src/partition/txn-state.js';
import { txnBatch } from './harness.js';

/** A Kafka log whose batches are indexed by hand; the test moves the high watermark. */
function log(): { kafka: KafkaLog; put(b: Buffer): bigint } {
  const kafka = new KafkaLog(
    { readBatches: () => [], verifyBatches: () => undefined, readEntry: () => undefined },
    't-0',
  );
  let position = 0;
  return {
    kafka,
    put(b: Buffer): bigint {
      const offset = kafka.nextOffset;
      b.writeBigInt64BE(offset, 0);
      kafka.index(readRecordBatchHeader(b, 0), position++, b);
      return offset;
    },
  };
}

function markerBytes(producerId: bigint, commit: boolean, coordinatorEpoch = 0): Buffer {
  return buildControlBatch({
    type: commit ? ControlRecordType.Commit : ControlRecordType.Abort,
    producerId,
    producerEpoch: 0,
    coordinatorEpoch,
    timestampMs: 1n,
  });
}

describe('the last stable offset', () => {
  test('is min(first offset of the oldest open transaction, high watermark), and never past the high watermark', () => {
    const { kafka, put } = log();
    put(txnBatch(2, { producerId: 1n, seq: 0 })); // 0-1: indexed, not yet below the high watermark
    expect([kafka.highWatermark, kafka.lastStableOffset]).toEqual([0n, 0n]);
    kafka.advanceHighWatermark(2n);
    expect(kafka.lastStableOffset).toBe(0n);
    put(txnBatch(1, { producerId: 2n, seq: 0 })); // 2
    put(markerBytes(1n, true)); // 3
    // Producer 1's marker is indexed but not readable yet: its transaction still holds the LSO.
    kafka.advanceHighWatermark(3n);
    expect(kafka.lastStableOffset).toBe(0n);
    kafka.advanceHighWatermark(4n);
    expect(kafka.lastStableOffset).toBe(2n); // producer 2's transaction
    put(markerBytes(2n, false)); // 4
    kafka.advanceHighWatermark(5n);
    expect(kafka.lastStableOffset).toBe(5n);
    expect(kafka.txns.abortedTxns()).toEqual([{ producerId: 2n, firstOffset: 2n, lastOffset: 4n }]);
  });

  test('is at least the log start, which may pass an open transaction', () => {
    const { kafka, put } = log();
    put(txnBatch(1, { producerId: 1n, seq: 0 })); // 0
    put(txnBatch(1, { producerId: 2n, seq: 0 })); // 1
    kafka.advanceHighWatermark(2n);
    kafka.moveLogStart(1n);
    expect(kafka.lastStableOffset).toBe(1n);
    kafka.moveLogStart(2n);
    expect(kafka.lastStableOffset).toBe(2n);
  });
});

describe('TxnState', () => {
  test('a transactional batch opens a transaction once; a marker without one changes nothing', () => {
    const t = new TxnState();
    t.onTransactionalBatch(1n, 5n);
    t.onTransactionalBatch(1n, 9n);
    expect(t.firstOffsetOf(1n)).toBe(5n);
    t.onMarker(2n, false, 10n, 0n);
    expect([t.openCount, t.abortedCount]).toEqual([1, 0]);
    t.onMarker(1n, false, 11n, 0n);
    t.onMarker(1n, false, 12n, 0n); // a retry
    expect(t.abortedTxns()).toEqual([{ producerId: 1n, firstOffset: 5n, lastOffset: 11n }]);
  });

  test('abortedIn answers the transactions overlapping [from, to), in marker order', () => {
    const t = new TxnState();
    const abortAt = (id: bigint, first: bigint, last: bigint): void => {
      t.onTransactionalBatch(id, first);
      t.onMarker(id, false, last, 0n);
    };
    abortAt(1n, 0n, 3n);
    abortAt(2n, 4n, 6n);
    abortAt(3n, 2n, 9n); // long: began before producer 2's
    abortAt(4n, 10n, 11n);
    const ids = (from: bigint, to: bigint): bigint[] => t.abortedIn(from, to).map((a) => a.producerId);
    expect(ids(0n, 1n)).toEqual([1n]);
    expect(ids(3n, 5n)).toEqual([1n, 2n, 3n]);
    expect(ids(4n, 5n)).toEqual([2n, 3n]);
    expect(ids(7n, 10n)).toEqual([3n]);
    expect(ids(10n, 100n)).toEqual([4n]);
    expect(ids(12n, 100n)).toEqual([]);
    expect(t.abortedIn(0n, 1n)).toEqual([{ producerId: 1n, firstOffset: 0n }]);
  });

  test('dropBelow keeps the transactions whose marker is at or above the log start; a marker below it never enters', () => {
    const t = new TxnState();
    for (let i = 0n; i < 3000n; i++) {
      t.onTransactionalBatch(i, 2n * i);
      t.onMarker(i, false, 2n * i + 1n, 0n);
    }
    t.dropBelow(4001n); // markers 1, 3, ..., 3999 go
    expect(t.abortedCount).toBe(1000);
    expect(t.abortedTxns()[0]).toEqual({ producerId: 2000n, firstOffset: 4000n, lastOffset: 4001n });
    expect(t.abortedIn(4001n, 4002n)).toEqual([{ producerId: 2000n, firstOffset: 4000n }]);
    t.onTransactionalBatch(9n, 100n);
    t.onMarker(9n, false, 101n, 6000n);
    expect(t.abortedCount).toBe(1000);
    t.dropBelow(1_000_000n);
    expect(t.abortedCount).toBe(0);
  });

  test('round-trips as data; a state saved before transactions loads empty', () => {
    const t = new TxnState();
    t.onTransactionalBatch(7n, 1n);
    t.onTransactionalBatch(3n, 2n);
    t.onTransactionalBatch(5n, 4n);
    t.onMarker(5n, false, 6n, 0n);
    const copy = new TxnState();
    copy.load(JSON.parse(JSON.stringify(t.toJSON())));
    expect(copy.toJSON()).toEqual(t.toJSON());
    expect(copy.firstUnstableOffset()).toBe(1n);
    expect(copy.abortedIn(0n, 10n)).toEqual([{ producerId: 5n, firstOffset: 4n }]);
    copy.load(undefined);
    expect([copy.openCount, copy.abortedCount, copy.firstUnstableOffset()]).toEqual([0, 0, undefined]);
    expect(() => copy.load({ open: 'x' })).toThrow(/malformed/);
  });

  test('readMarker reads commit and abort markers, and nothing else', () => {
    const at = (b: Buffer) => readMarker(readRecordBatchHeader(b, 0), b);
    expect(at(markerBytes(1n, true, 7))).toEqual({ commit: true, coordinatorEpoch: 7 });
    expect(at(markerBytes(1n, false, 0))).toEqual({ commit: false, coordinatorEpoch: 0 });
    expect(at(txnBatch(1, { producerId: 1n, seq: 0 }))).toBeUndefined();
  });
});
