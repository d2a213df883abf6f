// The records of __transaction_state in Kafka's layout: what we write (key v0, value v1 with our
// last-epoch tag), Kafka's own value v0 read back, unknown tagged fields skipped, corruption refused.
import { Writer } from '@chronik/protocol';
import {
  LAST_PRODUCER_EPOCH_TAG,
  TxnError,
  decodeTxnRecord,
  encodeTxnKey,
  encodeTxnRecord,
  encodeTxnValue,
} from '../../src/txn/index.js';
import type { StoredTxn } from '../../src/txn/index.js';

const ongoing: StoredTxn = {
  producerId: 4242n,
  lastProducerId: 17n,
  producerEpoch: 3,
  lastProducerEpoch: 2,
  timeoutMs: 60_000,
  state: 'Ongoing',
  partitions: [
    { topic: 'b', partition: 1 },
    { topic: 'a', partition: 7 },
    { topic: 'b', partition: 0 },
  ],
  lastUpdateMs: 1_700_000_000_123,
  startMs: 1_700_000_000_000,
};

it('a value round-trips, partitions grouped by topic and sorted', () => {
  const r = encodeTxnRecord({ transactionalId: 'tx-1', value: ongoing });
  const back = decodeTxnRecord(r.key, r.value);
  expect(back.transactionalId).toBe('tx-1');
  expect(back.value).toEqual({
    ...ongoing,
    partitions: [
      { topic: 'a', partition: 7 },
      { topic: 'b', partition: 0 },
      { topic: 'b', partition: 1 },
    ],
  });
});

it('the key is Kafka TransactionLogKey v0; the value Kafka TransactionLogValue v1', () => {
  expect(Buffer.from(encodeTxnKey('ab')).toString('hex')).toBe('00000002' + '6162');
  const empty: StoredTxn = {
    ...ongoing,
    state: 'Empty',
    partitions: [],
    lastProducerId: -1n,
    lastProducerEpoch: -1,
    startMs: -1,
  };
  const v = Buffer.from(encodeTxnValue(empty));
  // version 1, producer id, epoch, timeout, status 0, a null compact array, two timestamps, no tags
  const w = new Writer();
  w.int16(1);
  w.int64(4242n);
  w.int16(3);
  w.int32(60_000);
  w.int8(0);
  w.uvarint(0);
  w.int64(1_700_000_000_123n);
  w.int64(-1n);
  w.uvarint(0);
  expect(v.toString('hex')).toBe(w.toBuffer().toString('hex'));
  expect(decodeTxnRecord(encodeTxnKey('ab'), v).value).toEqual(empty);
});

it("reads Kafka's value v0 (no last epoch: -1) and skips tagged fields it does not know in v1", () => {
  const w = new Writer();
  w.int16(0);
  w.int64(9n);
  w.int16(5);
  w.int32(1000);
  w.int8(2); // PrepareCommit
  w.int32(1); // one topic
  w.string('t', false);
  w.int32(2);
  w.int32(0);
  w.int32(3);
  w.int64(20n);
  w.int64(10n);
  expect(decodeTxnRecord(encodeTxnKey('x'), w.toBuffer()).value).toEqual({
    producerId: 9n,
    lastProducerId: -1n,
    producerEpoch: 5,
    lastProducerEpoch: -1,
    timeoutMs: 1000,
    state: 'PrepareCommit',
    partitions: [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 3 },
    ],
    lastUpdateMs: 20,
    startMs: 10,
  });
  const f = new Writer();
  f.int16(1);
  f.int64(9n);
  f.int16(5);
  f.int32(1000);
  f.int8(4); // CompleteCommit
  f.uvarint(1); // an empty compact array
  f.int64(20n);
  f.int64(10n);
  f.beginTags();
  f.tag(0, (t) => t.int64(8n));
  f.tag(1, (t) => t.int64(77n)); // NextProducerId (Kafka's, unused here)
  f.tag(2, (t) => t.int16(2)); // ClientTransactionVersion
  f.tag(LAST_PRODUCER_EPOCH_TAG, (t) => t.int16(4));
  f.endTags(undefined);
  const v = decodeTxnRecord(encodeTxnKey('x'), f.toBuffer()).value;
  expect(v?.lastProducerId).toBe(8n);
  expect(v?.lastProducerEpoch).toBe(4);
  expect(v?.state).toBe('CompleteCommit');
});

it('a tombstone removes the id; corrupt records are CORRUPT_RECORD', () => {
  expect(decodeTxnRecord(encodeTxnKey('x'), null)).toEqual({ transactionalId: 'x', value: null });
  const bad = (key: Uint8Array, value: Uint8Array | null): TxnError => {
    try {
      decodeTxnRecord(key, value);
    } catch (e) {
      if (e instanceof TxnError) return e;
      throw e;
    }
    throw new Error('decoded');
  };
  expect(bad(new Uint8Array([0, 1, 0, 0]), null).code).toBe('CORRUPT_RECORD'); // key v1
  expect(bad(new Uint8Array([0, 0, 0, 9, 1]), null).code).toBe('CORRUPT_RECORD'); // truncated
  expect(bad(encodeTxnKey('x'), new Uint8Array([0, 2])).code).toBe('CORRUPT_RECORD'); // value v2
  const value = Buffer.from(encodeTxnValue(ongoing));
  expect(bad(encodeTxnKey('x'), value.subarray(0, value.length - 3)).code).toBe('CORRUPT_RECORD');
  const status = Buffer.from(value);
  status[2 + 8 + 2 + 4] = 9; // no such state
  expect(bad(encodeTxnKey('x'), status).code).toBe('CORRUPT_RECORD');
});
