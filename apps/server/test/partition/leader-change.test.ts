// A replica that becomes leader holding entries of the previous term that it has not yet seen
// committed (its predecessor published a higher watermark than it has applied): it serves no read
// and names no serving leader until an entry of its own term applies; then its watermark is at
// least the predecessor's, OffsetForLeaderEpoch answers the old epoch's true end, and the next batch
// follows the last one in its log. On a scripted Raft group (scripted-group.ts).
import { assignRecordBatch, buildRecordBatch } from '@chronik/protocol';
import { codeOf, scriptedPartition } from './scripted-group.js';

/** A batch of `n` records at `baseOffset`, written by the leader of `epoch`. */
function batchAt(baseOffset: bigint, n: number, epoch: number): Buffer {
  const b = buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`v${i}`), timestampMs: 1000n })),
  });
  return assignRecordBatch(b, { baseOffset, partitionLeaderEpoch: epoch });
}

describe('a new leader with entries it has not seen committed', () => {
  it('serves no read and is named by no one until an entry of its own term applies', async () => {
    const { group, p, failures } = await scriptedPartition();
    // Term 1, led by node 2: five batches of two records reach this replica; it has seen the first
    // three committed (its high watermark is 6); the leader had all five committed (published 10).
    group.follow(2);
    group.append(new Uint8Array()); // node 2's no-op
    for (let i = 0; i < 5; i++) group.append(batchAt(BigInt(2 * i), 2, 1));
    group.commit(4);
    expect(p.highWatermark).toBe(6n);
    expect(p.leaderId()).toBe(2); // it applied an entry of node 2's term: node 2 serves

    // Node 2 dies; this replica wins term 2. Its no-op has not committed yet.
    group.elect();
    expect(p.isLeader()).toBe(true);
    expect(p.isLeaderReady()).toBe(false);
    expect(p.leaderId()).toBe(-1); // not named until it serves
    expect(await codeOf(p.read(6n, 1 << 20, true, 0))).toBe('OFFSET_NOT_AVAILABLE');
    expect(await codeOf(p.read(10n, 1 << 20, true, 0))).toBe('OFFSET_NOT_AVAILABLE');
    expect(await codeOf(p.listOffset(-1n, 0))).toBe('OFFSET_NOT_AVAILABLE'); // would say 6
    expect(await codeOf(() => p.offsetForLeaderEpoch(1))).toBe('OFFSET_NOT_AVAILABLE');

    // A produce meanwhile is appended after the last batch in the log, not after the watermark.
    const produced = p.append(buildRecordBatch({ records: [{ value: Buffer.from('x') }] }), -1, 5000);

    // The no-op commits (and with it everything before it): the view is complete.
    group.commit();
    expect(p.isLeaderReady()).toBe(true);
    expect(p.leaderId()).toBe(1);
    expect((await produced).baseOffset).toBe(10n);
    expect(p.highWatermark).toBe(11n);
    expect((await p.listOffset(-1n, 0)).offset).toBe(11n);
    expect(p.offsetForLeaderEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 10n });
    expect((await p.read(10n, 1 << 20, true, 0)).chunks.length).toBe(1);
    expect(failures).toEqual([]);
  });

  it('a follower names the new leader only once it has applied an entry of the new term', async () => {
    const { group, p } = await scriptedPartition();
    group.follow(2);
    group.append(new Uint8Array());
    group.commit();
    expect(p.leaderId()).toBe(2);
    group.follow(3); // node 3 elected in the next term; its no-op has not reached here committed
    expect(p.leaderId()).toBe(-1);
    group.append(new Uint8Array());
    group.commit();
    expect(p.leaderId()).toBe(3);
  });
});
