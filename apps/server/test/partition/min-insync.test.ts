// min.insync.replicas on a replicated partition (RF 3, on a scripted Raft group) and on a local one:
// acks=all refused with NOT_ENOUGH_REPLICAS while fewer replicas are in sync, nothing written;
// answered only once that many replicas hold the batch, even when a Raft majority committed it
// earlier; NOT_ENOUGH_REPLICAS_AFTER_APPEND when the in-sync replicas shrink while it waits;
// acks=1 not held to it.
import { buildRecordBatch } from '@chronik/protocol';
import { openPartition } from './harness.js';
import { codeOf, scriptedPartition } from './scripted-group.js';

const batch = (): Buffer => buildRecordBatch({ records: [{ value: Buffer.from('v') }] });

async function leading(minInsyncReplicas: number, isr: number[], voters = [1, 2, 3]) {
  const s = await scriptedPartition({ config: { minInsyncReplicas }, voters });
  s.p.isr = isr;
  s.group.lead();
  for (const v of voters) if (v !== 1) s.group.ack(v);
  return s;
}

/** Whether the promise has settled (after queued callbacks ran). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('min.insync.replicas, RF 3', () => {
  it('2 of 3 (a majority): answered at the commit', async () => {
    const { group, p } = await leading(2, [1, 2]);
    const produced = p.append(batch(), -1, 5000);
    group.ack(2);
    group.commit();
    expect((await produced).baseOffset).toBe(0n);
  });

  it('3 of 3: refused while a replica is out of sync, nothing written; acks=1 still answered', async () => {
    const { group, p } = await leading(3, [1, 2]);
    expect(await codeOf(p.append(batch(), -1, 5000))).toBe('NOT_ENOUGH_REPLICAS');
    expect(group.batchOffsets()).toEqual([]);
    const one = p.append(batch(), 1, 5000);
    expect((await one).baseOffset).toBe(0n);
  });

  it('3 of 3: answered only once the third replica holds the batch, after the majority commit', async () => {
    const { group, p } = await leading(3, [1, 2, 3]);
    const produced = p.append(batch(), -1, 5000);
    group.ack(2);
    group.commit(); // committed by a majority (1, 2)
    expect(await settled(produced)).toBe(false);
    group.ack(3);
    expect(await settled(produced)).toBe(true);
    expect((await produced).baseOffset).toBe(0n);
  });

  it('3 of 3: NOT_ENOUGH_REPLICAS_AFTER_APPEND when the in-sync replicas shrink while it waits, REQUEST_TIMED_OUT when they do not', async () => {
    const { group, p, clock } = await leading(3, [1, 2, 3]);
    const shrunk = codeOf(p.append(batch(), -1, 1000));
    group.ack(2);
    group.commit();
    p.isr = [1, 2];
    await settled(shrunk);
    clock.now += 1000;
    p.maintain(clock.now);
    expect(await shrunk).toBe('NOT_ENOUGH_REPLICAS_AFTER_APPEND');
    p.isr = [1, 2, 3];
    const slow = codeOf(p.append(batch(), -1, 1000));
    group.ack(2);
    group.commit();
    await settled(slow);
    clock.now += 1000;
    p.maintain(clock.now);
    expect(await slow).toBe('REQUEST_TIMED_OUT');
    // Both batches are in the log: the answer only says they are not held by three replicas.
    expect(group.batchOffsets()).toEqual([0n, 1n]);
  });

  it('a Produce waiting for copies is answered NOT_LEADER_OR_FOLLOWER when the leadership ends', async () => {
    const { group, p } = await leading(3, [1, 2, 3]);
    const produced = codeOf(p.append(batch(), -1, 5000));
    group.ack(2);
    group.commit();
    group.stepDown();
    expect(await produced).toBe('NOT_LEADER_OR_FOLLOWER');
  });
});

describe('min.insync.replicas, RF 5', () => {
  const RF5 = [1, 2, 3, 4, 5];

  it('3 of 5 (a majority), two replicas down: answered at the commit', async () => {
    const { group, p } = await leading(3, [1, 2, 3], RF5);
    const produced = p.append(batch(), -1, 5000);
    group.ack(2);
    group.ack(3);
    group.commit();
    expect((await produced).baseOffset).toBe(0n);
  });

  it('4 of 5: one replica down is fine, answered once a fourth holds it; two down refuse acks=all, not acks=1', async () => {
    const { group, p } = await leading(4, [1, 2, 3, 4], RF5);
    const produced = p.append(batch(), -1, 5000);
    group.ack(2);
    group.ack(3);
    group.commit();
    expect(await settled(produced)).toBe(false);
    group.ack(4);
    expect((await produced).baseOffset).toBe(0n);
    p.isr = [1, 2, 3];
    expect(await codeOf(p.append(batch(), -1, 5000))).toBe('NOT_ENOUGH_REPLICAS');
    const one = p.append(batch(), 1, 5000);
    expect((await one).baseOffset).toBe(1n);
  });
});

describe('min.insync.replicas on a single node (RF 1)', () => {
  it('2: acks=all is NOT_ENOUGH_REPLICAS, acks=1 is written', async () => {
    const h = await openPartition('local', { config: { minInsyncReplicas: 2 } });
    try {
      expect(await codeOf(h.p.append(batch(), -1, 5000))).toBe('NOT_ENOUGH_REPLICAS');
      expect((await h.p.append(batch(), 1, 5000)).baseOffset).toBe(0n);
    } finally {
      await h.close();
    }
  });
});
