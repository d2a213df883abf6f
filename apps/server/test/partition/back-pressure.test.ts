// A replicated partition leader under load and through refusals, on a scripted Raft group whose
// commits, refusals and timeouts the test decides: offsets stay contiguous (a refused proposal
// burns none; a Produce waiting for room is admitted in arrival order, or refused untouched when
// its timeout passes), and an idempotent batch whose proposal timed out is never appended twice.
import { buildRecordBatch } from '@chronik/protocol';
import { RaftError, RaftErrorCode } from '@chronik/raft';
import { HostError } from '@chronik/raft-host';
import { KafkaError } from '../../src/errors.js';
import { AppendAdmission } from '../../src/partition/admission.js';
import type { AppendResult } from '../../src/partition/types.js';
import type { ScriptedPartition } from './scripted-group.js';
import { codeOf, scriptedPartition } from './scripted-group.js';

function batch(n: number, idempotent?: { producerId: bigint; seq: number }): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(100, i), timestampMs: 1000n })),
    ...(idempotent
      ? { producerId: idempotent.producerId, producerEpoch: 0, baseSequence: idempotent.seq }
      : {}),
  });
}

const BATCH_BYTES = batch(2).length;

async function started(o: { maxUncommittedBytes?: number } = {}): Promise<ScriptedPartition> {
  const s = await scriptedPartition(o);
  s.group.lead();
  return s;
}

/** Lets queued microtasks (admission of waiting Produce requests) run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('replicated partition back-pressure', () => {
  it('admits a Produce beyond the uncommitted budget in arrival order as entries apply', async () => {
    const { group, p, failures } = await started({ maxUncommittedBytes: 2 * BATCH_BYTES });
    const answers: Array<Promise<AppendResult>> = [];
    for (let i = 0; i < 5; i++) answers.push(p.append(batch(2), -1, 30_000));
    await settle();
    expect(group.batchOffsets()).toEqual([0n, 2n]); // two fit; three wait
    group.commit();
    await settle();
    expect(group.batchOffsets()).toEqual([0n, 2n, 4n, 6n]);
    group.commit();
    await settle();
    group.commit();
    const results = await Promise.all(answers);
    expect(results.map((r) => r.baseOffset)).toEqual([0n, 2n, 4n, 6n, 8n]);
    expect(group.batchOffsets()).toEqual([0n, 2n, 4n, 6n, 8n]);
    expect(p.highWatermark).toBe(10n);
    expect(failures).toEqual([]);
  });

  it('burns no offset for a proposal Raft refused: the next batch takes its offsets', async () => {
    const { group, p, failures } = await started();
    const first = p.append(batch(3), -1, 30_000);
    group.refuseNext = new RaftError(RaftErrorCode.ProposalDropped, 'leadership is being transferred');
    expect(await codeOf(p.append(batch(3), -1, 30_000))).toBe('NOT_LEADER_OR_FOLLOWER');
    group.refuseNext = new HostError('Overloaded', 'too many proposals waiting');
    expect(await codeOf(p.append(batch(3), -1, 30_000))).toBe('REQUEST_TIMED_OUT');
    const last = p.append(batch(3), -1, 30_000);
    group.commit();
    expect((await first).baseOffset).toBe(0n);
    expect((await last).baseOffset).toBe(3n);
    expect(group.batchOffsets()).toEqual([0n, 3n]);
    expect(p.highWatermark).toBe(6n);
    expect(failures).toEqual([]); // no batch applied out of place
  });

  it('refuses a Produce that waited past its timeout before anything of it is written', async () => {
    const { group, p, clock } = await started({ maxUncommittedBytes: BATCH_BYTES });
    const first = p.append(batch(2), -1, 30_000);
    const late = codeOf(p.append(batch(2), -1, 1000));
    const patient = p.append(batch(2), -1, 30_000);
    await settle();
    clock.now += 1001;
    p.maintain(clock.now);
    expect(await late).toBe('REQUEST_TIMED_OUT');
    expect(group.batchOffsets()).toEqual([0n]);
    group.commit();
    await settle();
    group.commit();
    expect((await first).baseOffset).toBe(0n);
    expect((await patient).baseOffset).toBe(2n);
    expect(group.batchOffsets()).toEqual([0n, 2n]);
  });

  it('answers the Produce requests waiting for room with NOT_LEADER_OR_FOLLOWER when the leadership ends', async () => {
    const { group, p } = await started({ maxUncommittedBytes: BATCH_BYTES });
    const first = codeOf(p.append(batch(2), -1, 30_000));
    const waiting = codeOf(p.append(batch(2), -1, 30_000));
    await settle();
    group.stepDown();
    expect(await first).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(await waiting).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(group.batchOffsets()).toEqual([0n]);
  });

  it('never appends an idempotent batch twice when its proposal timed out and the producer retries', async () => {
    const { group, p } = await started();
    const pid = { producerId: 42n, seq: 0 };
    const original = codeOf(p.append(batch(2, pid), -1, 1000));
    group.timeOut(2); // entry 1 is the no-op; the batch is entry 2, still in the log
    expect(await original).toBe('REQUEST_TIMED_OUT');
    // The retry while the entry is in flight: retriable, nothing appended.
    expect(await codeOf(p.append(batch(2, pid), -1, 1000))).toBe('NOT_ENOUGH_REPLICAS');
    expect(group.batchOffsets()).toEqual([0n]);
    group.commit();
    // Once applied, the retry is answered as the duplicate it is, with the original's offset.
    expect((await p.append(batch(2, pid), -1, 1000)).baseOffset).toBe(0n);
    const next = p.append(batch(2, { producerId: 42n, seq: 2 }), -1, 1000);
    group.commit();
    expect((await next).baseOffset).toBe(2n);
    expect(group.batchOffsets()).toEqual([0n, 2n]);
  });
});

describe('AppendAdmission', () => {
  const waiter = (bytes: number, log: string[], name: string, deadlineMs = 1000) => ({
    bytes,
    entries: 1,
    deadlineMs,
    run: () => log.push(`run ${name}`),
    fail: (e: KafkaError) => log.push(`fail ${name} ${e.code}`),
  });

  it('admits one Produce however large when nothing is uncommitted, and queues behind a waiting one', () => {
    const a = new AppendAdmission({ maxUncommittedBytes: 100, maxUncommittedEntries: 10, maxWaiting: 2 });
    const log: string[] = [];
    a.admit(waiter(500, log, 'big'));
    a.appended(1, 500);
    a.admit(waiter(10, log, 'small')); // no room: 500 uncommitted
    a.admit(waiter(10, log, 'later'));
    expect(() => a.admit(waiter(10, log, 'overflow'))).toThrow(KafkaError);
    expect(log).toEqual(['run big']);
    expect(a.applied(1)).toBe(true);
    a.drain();
    expect(log).toEqual(['run big', 'run small', 'run later']);
  });

  it('expires waiting Produce requests and fails them all when the leadership ends', () => {
    const a = new AppendAdmission({ maxUncommittedBytes: 100, maxUncommittedEntries: 10, maxWaiting: 10 });
    const log: string[] = [];
    a.appended(5, 100);
    a.admit(waiter(10, log, 'a', 50));
    a.admit(waiter(10, log, 'b', 500));
    a.expire(100);
    expect(log).toEqual(['fail a REQUEST_TIMED_OUT']);
    a.clear(new KafkaError('NOT_LEADER_OR_FOLLOWER', 'lost'));
    expect(log).toEqual(['fail a REQUEST_TIMED_OUT', 'fail b NOT_LEADER_OR_FOLLOWER']);
    expect(a.uncommittedBytes).toBe(0);
  });
});
