// A replicated leader's view of transactions before its entries apply, on a scripted Raft group
// (scripted-group.ts): the transactional batches and markers it proposed count for hasOngoingTxn and
// for fencing as soon as they are in its log, a new leader rebuilds them from its uncommitted tail,
// and the state a follower built by applying is what it serves once it leads.
import { assignRecordBatch, buildControlBatch, buildRecordBatch, ControlRecordType } from '@chronik/protocol';
import { marker, readCommitted, txnBatch } from './harness.js';
import { codeOf, scriptedPartition } from './scripted-group.js';

const txn = (producerId: bigint, seq: number, epoch = 0): Buffer =>
  txnBatch(1, { producerId, seq, epoch, prefix: `p${producerId}e${epoch}s${seq}-` });

describe('a replicated leader, before its entries apply', () => {
  it('counts its transactional batches and markers in flight: hasOngoingTxn, fencing by a marker, INVALID_TXN_STATE', async () => {
    const { group, p, failures } = await scriptedPartition();
    group.lead();
    const first = p.append(txn(1n, 0), -1, 5000); // proposed, not applied
    expect(p.hasOngoingTxn(1n, 0)).toBe(true);
    const plain = buildRecordBatch({
      records: [{ value: Buffer.from('x') }],
      producerId: 1n,
      producerEpoch: 0,
      baseSequence: 1,
    });
    expect(await codeOf(p.append(plain, -1, 5000))).toBe('INVALID_TXN_STATE');
    // The coordinator fences the producer: an abort one epoch up, in flight.
    const fence = p.writeTxnMarker(marker(1n, false, { epoch: 1, coordinatorEpoch: 3 }), 5000);
    expect(p.hasOngoingTxn(1n, 0)).toBe(false);
    expect(await codeOf(p.append(txn(1n, 1), -1, 5000))).toBe('INVALID_PRODUCER_EPOCH'); // the zombie
    expect(await codeOf(p.writeTxnMarker(marker(1n, true, { epoch: 0, coordinatorEpoch: 3 }), 5000))).toBe(
      'INVALID_PRODUCER_EPOCH',
    );
    expect(await codeOf(p.writeTxnMarker(marker(1n, false, { epoch: 1, coordinatorEpoch: 2 }), 5000))).toBe(
      'TRANSACTION_COORDINATOR_FENCED',
    );
    const next = p.append(txn(1n, 0, 2), -1, 5000); // the producer's new epoch, from sequence 0
    expect(p.hasOngoingTxn(1n, 2)).toBe(true);
    expect(p.highWatermark).toBe(0n);
    expect(await readCommitted(p, 0n)).toMatchObject({ lastStableOffset: 0n, highWatermark: 0n });
    group.commit();
    expect((await first).baseOffset).toBe(0n);
    expect(await fence).toBe(1n);
    expect((await next).baseOffset).toBe(2n);
    expect(await readCommitted(p, 0n)).toMatchObject({
      highWatermark: 3n,
      lastStableOffset: 2n,
      abortedTransactions: [{ producerId: 1n, firstOffset: 0n }],
    });
    expect(p.describeProducers()).toEqual([
      expect.objectContaining({
        producerId: 1n,
        producerEpoch: 2,
        coordinatorEpoch: 3,
        currentTxnStartOffset: 2n,
      }),
    ]);
    expect(failures).toEqual([]);
  });

  it('a new leader rebuilds the markers in its uncommitted tail; what it applied as a follower it serves as leader', async () => {
    const { group, p, failures } = await scriptedPartition();
    group.follow(2);
    group.append(new Uint8Array()); // node 2's no-op
    group.append(assignRecordBatch(txn(1n, 0), { baseOffset: 0n, partitionLeaderEpoch: 1 }));
    group.append(
      buildControlBatch({
        type: ControlRecordType.Abort,
        producerId: 1n,
        producerEpoch: 1,
        coordinatorEpoch: 3,
        timestampMs: 1n,
        baseOffset: 1n,
        partitionLeaderEpoch: 1,
      }),
    );
    group.commit(2); // the no-op and the batch apply here; the marker has not
    expect(p.hasOngoingTxn(1n, 0)).toBe(false); // not the leader
    group.elect();
    expect(p.hasOngoingTxn(1n, 0)).toBe(false); // the marker in its tail closes it
    expect(await codeOf(p.append(txn(1n, 1), -1, 5000))).toBe('INVALID_PRODUCER_EPOCH');
    expect(await codeOf(p.writeTxnMarker(marker(1n, false, { epoch: 1, coordinatorEpoch: 2 }), 5000))).toBe(
      'TRANSACTION_COORDINATOR_FENCED',
    );
    group.commit();
    expect(await readCommitted(p, 0n)).toMatchObject({
      highWatermark: 2n,
      lastStableOffset: 2n,
      abortedTransactions: [{ producerId: 1n, firstOffset: 0n }],
    });
    expect(failures).toEqual([]);
  });
});
