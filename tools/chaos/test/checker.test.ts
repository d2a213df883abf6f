// The checks against small hand-made histories: each check finds what it is named after, and a
// clean history passes.
import type { CheckInput, FinalRead, ReplicaState } from '../src/checker.js';
import { check, unavailabilityWindows } from '../src/checker.js';
import type { Op, SendOp } from '../src/history.js';

const T = 'chaos';

function send(
  value: string,
  partition: number,
  offset: number | undefined,
  extra: Partial<SendOp> = {},
): SendOp {
  const [process] = value.split('-');
  return {
    f: 'send',
    process: process ?? 'w',
    topic: T,
    partition,
    value,
    acks: 'all',
    idempotent: process === 'wi',
    invokeMs: 0,
    completeMs: 5,
    outcome: offset === undefined ? 'info' : 'ok',
    ...(offset !== undefined ? { offset } : {}),
    ...extra,
  };
}

function read(partition: number, values: string[], via = 'a', start = 0): FinalRead {
  return {
    via,
    partition,
    complete: true,
    records: values.map((value, i) => ({ offset: start + i, value })),
  };
}

function replicas(partition: number, hw: number, nodes = [1, 2, 3], leo = hw): ReplicaState[] {
  return nodes.map((node, i) => ({
    node,
    topic: T,
    partition,
    role: i === 0 ? 'leader' : 'follower',
    leader: 1,
    leaderEpoch: 2,
    highWatermark: hw,
    logEndOffset: leo,
    logStartOffset: 0,
  }));
}

function input(
  ops: Op[],
  reads: FinalRead[],
  states: ReplicaState[],
  over: Partial<CheckInput> = {},
): CheckInput {
  return {
    ops,
    topic: T,
    partitions: 1,
    finalReads: reads,
    replicas: states,
    converged: true,
    topicsPresent: [T],
    slowMs: 1000,
    ...over,
  };
}

const count = (r: ReturnType<typeof check>, name: string): number =>
  r.checks.find((c) => c.name === name)?.count ?? -1;

describe('check', () => {
  const clean: Op[] = [
    send('wi-0', 0, 0),
    send('wa-0', 0, 1),
    send('w1-0', 0, 2, { acks: '1' }),
    send('wi-1', 0, undefined),
  ];

  test('a clean history is valid; an unknown send may or may not be there', () => {
    const r = check(
      input(
        clean,
        [read(0, ['wi-0', 'wa-0', 'w1-0']), read(0, ['wi-0', 'wa-0', 'w1-0'], 'b')],
        replicas(0, 3),
      ),
    );
    expect(r.valid).toBe(true);
    expect(r.checks.every((c) => c.count === 0)).toBe(true);
    expect(r.stats.finalRecords).toBe(3);
    const r2 = check(input(clean, [read(0, ['wi-0', 'wa-0', 'w1-0', 'wi-1'])], replicas(0, 4)));
    expect(r2.valid).toBe(true);
  });

  test('lost-write: an acknowledged acks=all value missing from the final read', () => {
    const r = check(input(clean, [read(0, ['wi-0', 'w1-0'])], replicas(0, 2)));
    expect(count(r, 'lost-write')).toBe(1);
    expect(r.checks.find((c) => c.name === 'lost-write')?.details[0]).toContain('wa-0');
    expect(r.valid).toBe(false);
  });

  test('a lost acks=1 write is reported but valid', () => {
    const r = check(input(clean, [read(0, ['wi-0', 'wa-0'])], replicas(0, 2)));
    expect(count(r, 'lost-write-acks1')).toBe(1);
    expect(count(r, 'lost-write')).toBe(0);
    expect(r.valid).toBe(true);
  });

  test('duplicate: an error only for idempotent writers', () => {
    const dupIdem = check(input(clean, [read(0, ['wi-0', 'wa-0', 'w1-0', 'wi-0'])], replicas(0, 4)));
    expect(count(dupIdem, 'duplicate')).toBe(1);
    expect(dupIdem.valid).toBe(false);
    const dupOther = check(input(clean, [read(0, ['wi-0', 'wa-0', 'w1-0', 'wa-0'])], replicas(0, 4)));
    expect(count(dupOther, 'duplicate')).toBe(0);
    expect(count(dupOther, 'duplicate-non-idempotent')).toBe(1);
    expect(dupOther.valid).toBe(true);
  });

  test('inconsistent-offsets: an acks=all ack, a poll or another read disagreeing on an offset', () => {
    // wa-0 acknowledged at offset 1 but the log holds it at 2 and something else at 1
    const ops: Op[] = [send('wi-0', 0, 0), send('wa-0', 0, 1), send('wi-1', 0, undefined)];
    const r = check(input(ops, [read(0, ['wi-0', 'wi-1', 'wa-0'])], replicas(0, 3)));
    expect(count(r, 'inconsistent-offsets')).toBe(1);
    const poll: Op = {
      f: 'poll',
      process: 'c1',
      topic: T,
      partition: 0,
      offsets: [0],
      values: ['wa-0'],
      invokeMs: 1,
      completeMs: 1,
      outcome: 'ok',
    };
    const r2 = check(input([...clean, poll], [read(0, ['wi-0', 'wa-0', 'w1-0'])], replicas(0, 3)));
    expect(count(r2, 'inconsistent-offsets')).toBe(1);
    const r3 = check(
      input(
        clean,
        [read(0, ['wi-0', 'wa-0', 'w1-0']), read(0, ['wi-0', 'wa-0', 'wi-1'], 'b')],
        replicas(0, 3),
      ),
    );
    expect(count(r3, 'inconsistent-offsets')).toBe(1);
    expect(count(r3, 'replicas-identical')).toBe(1);
  });

  test('an acks=1 offset reused by another value is reported, not an inconsistency', () => {
    const ops: Op[] = [send('wi-0', 0, 0), send('w1-0', 0, 1, { acks: '1' }), send('wa-0', 0, 1)];
    const r = check(input(ops, [read(0, ['wi-0', 'wa-0'])], replicas(0, 2)));
    expect(count(r, 'acks1-offset-reused')).toBe(1);
    expect(count(r, 'inconsistent-offsets')).toBe(0);
    expect(r.valid).toBe(true);
  });

  test('failed-write-visible: a send that certainly failed must not be read', () => {
    const ops: Op[] = [...clean, { ...send('wa-1', 0, undefined), outcome: 'fail' }];
    expect(check(input(ops, [read(0, ['wi-0', 'wa-0', 'w1-0'])], replicas(0, 3))).valid).toBe(true);
    const r = check(input(ops, [read(0, ['wi-0', 'wa-0', 'w1-0', 'wa-1'])], replicas(0, 4)));
    expect(count(r, 'failed-write-visible')).toBe(1);
    expect(r.valid).toBe(false);
  });

  test('unexpected-value: a value no writer sent', () => {
    const r = check(input(clean, [read(0, ['wi-0', 'wa-0', 'w1-0', 'ghost'])], replicas(0, 4)));
    expect(count(r, 'unexpected-value')).toBe(1);
  });

  test('nonmonotonic-poll and poll-skip, reset by a reassignment', () => {
    const values = ['wi-0', 'wa-0', 'w1-0', 'wi-1'];
    const poll = (offsets: number[], at: number, process = 'c1'): Op => ({
      f: 'poll',
      process,
      topic: T,
      partition: 0,
      offsets,
      values: offsets.map((o) => values[o] ?? ''),
      invokeMs: at,
      completeMs: at,
      outcome: 'ok',
    });
    const assign: Op = {
      f: 'assign',
      process: 'c1',
      topic: T,
      partitions: [0],
      invokeMs: 3,
      completeMs: 3,
      outcome: 'ok',
    };
    const base = [...clean.slice(0, 3), send('wi-1', 0, 3)];
    const reads = [read(0, values)];
    expect(check(input([...base, poll([0, 1], 1), poll([2, 3], 2)], reads, replicas(0, 4))).valid).toBe(true);
    const back = check(input([...base, poll([0, 1], 1), poll([1, 2], 2)], reads, replicas(0, 4)));
    expect(count(back, 'nonmonotonic-poll')).toBe(1);
    const skip = check(input([...base, poll([0], 1), poll([2, 3], 2)], reads, replicas(0, 4)));
    expect(count(skip, 'poll-skip')).toBe(1);
    // after a reassignment a consumer may start again from the committed offset
    const again = check(
      input([...base, poll([0, 1], 1), assign, poll([0, 1, 2, 3], 4)], reads, replicas(0, 4)),
    );
    expect(again.valid).toBe(true);
    // another consumer's polls are tracked separately
    expect(check(input([...base, poll([0, 1], 1), poll([0], 2, 'c2')], reads, replicas(0, 4))).valid).toBe(
      true,
    );
  });

  test('committed offsets going backwards, or beyond the high watermark', () => {
    const obs = (offset: number, at: number): Op => ({
      f: 'committed',
      process: 'observer',
      group: 'g',
      topic: T,
      offsets: { '0': offset },
      invokeMs: at,
      completeMs: at,
      outcome: 'ok',
    });
    const reads = [read(0, ['wi-0', 'wa-0', 'w1-0'])];
    expect(check(input([...clean, obs(1, 1), obs(3, 2)], reads, replicas(0, 3))).valid).toBe(true);
    expect(
      count(
        check(input([...clean, obs(2, 1), obs(1, 2)], reads, replicas(0, 3))),
        'committed-offsets-regress',
      ),
    ).toBe(1);
    expect(
      count(check(input([...clean, obs(7, 1)], reads, replicas(0, 3))), 'committed-offsets-regress'),
    ).toBe(1);
  });

  test('replicas-identical: differing high watermarks, an uncommitted tail, no convergence', () => {
    const reads = [read(0, ['wi-0', 'wa-0', 'w1-0'])];
    const states = replicas(0, 3);
    const lagging = [
      ...states.slice(0, 2),
      { ...(states[2] as ReplicaState), highWatermark: 2, logEndOffset: 2 },
    ];
    expect(count(check(input(clean, reads, lagging)), 'replicas-identical')).toBe(1);
    expect(count(check(input(clean, reads, replicas(0, 3, [1, 2, 3], 4))), 'replicas-identical')).toBe(3);
    expect(count(check(input(clean, reads, states, { converged: false })), 'replicas-identical')).toBe(1);
  });

  test('final-read-complete: a read that stops short of the high watermark or never completes', () => {
    expect(
      count(check(input(clean, [read(0, ['wi-0', 'wa-0', 'w1-0'])], replicas(0, 5))), 'final-read-complete'),
    ).toBe(1);
    const broken: FinalRead = { via: 'a', partition: 0, records: [], complete: false, error: 'timed out' };
    const r = check(input(clean, [broken], replicas(0, 3)));
    expect(count(r, 'final-read-complete')).toBe(1);
    expect(r.valid).toBe(false);
  });

  test('deleted-topic-gone: an acknowledged deletion whose topic is still there', () => {
    const del: Op = {
      f: 'delete-topic',
      process: 'churn',
      topic: 'chaos-churn-0',
      invokeMs: 1,
      completeMs: 2,
      outcome: 'ok',
    };
    const reads = [read(0, ['wi-0', 'wa-0', 'w1-0'])];
    expect(check(input([...clean, del], reads, replicas(0, 3))).valid).toBe(true);
    expect(
      count(
        check(input([...clean, del], reads, replicas(0, 3), { topicsPresent: [T, 'chaos-churn-0'] })),
        'deleted-topic-gone',
      ),
    ).toBe(1);
  });

  test('fault-expectations: a wipe or disk-full fault whose node did not do what it must', () => {
    const fault = (met: boolean): Op => ({
      f: 'fault',
      process: 'nemesis',
      index: 0,
      kind: 'wipe',
      nodes: [1],
      description: 'node 1 restarted with an empty data directory',
      invokeMs: 1,
      completeMs: 2,
      outcome: 'ok',
      expectation: { what: 'a wiped voter refuses to rejoin', met, detail: 'still running after 20 s' },
    });
    const reads = [read(0, ['wi-0', 'wa-0', 'w1-0'])];
    expect(check(input([...clean, fault(true)], reads, replicas(0, 3))).valid).toBe(true);
    const r = check(input([...clean, fault(false)], reads, replicas(0, 3)));
    expect(r.valid).toBe(false);
    expect(count(r, 'fault-expectations')).toBe(1);
  });
});

describe('unavailabilityWindows', () => {
  const fault = (index: number, at: number): Op => ({
    f: 'fault',
    process: 'nemesis',
    index,
    kind: 'kill',
    nodes: [1],
    description: 'kill',
    invokeMs: at,
    completeMs: at + 10,
    outcome: 'ok',
    healedMs: at + 4000,
  });
  const s = (at: number, dur: number, ok: boolean, partition = 0): SendOp => ({
    ...send(`wa-${at}`, partition, ok ? at : undefined),
    invokeMs: at,
    completeMs: at + dur,
  });

  test('from the first bad send of a run to the next good one on that stream', () => {
    const ops: Op[] = [
      s(900, 5, true),
      fault(0, 1000),
      s(1100, 3000, false),
      s(4200, 1500, true),
      s(5800, 10, true),
      s(1200, 5, true, 1),
    ];
    const [u] = unavailabilityWindows(ops, T, 1000);
    expect(u?.windowMs).toBe(5810 - 1100);
    expect(u?.partition).toBe(0);
    expect(unavailabilityWindows([fault(0, 1000), s(1100, 5, true)], T, 1000)[0]?.windowMs).toBe(0);
  });

  test('separate runs are separate windows; a send in flight when a fault hits belongs to that fault', () => {
    const ops: Op[] = [
      fault(0, 1000),
      s(1100, 500, false),
      s(1700, 5, true),
      s(2000, 5, true),
      s(9000, 3000, true), // slow: in flight when fault 1 hits
      fault(1, 9100),
      s(12_100, 5, true),
    ];
    const [u0, u1] = unavailabilityWindows(ops, T, 1000);
    expect(u0?.windowMs).toBe(1705 - 1100);
    expect(u1?.windowMs).toBe(12_105 - 9000);
  });
});

test('the longest consumer stall is measured between polls while writes were acknowledged', () => {
  const poll = (at: number): Op => ({
    f: 'poll',
    process: 'c1',
    topic: T,
    partition: 0,
    offsets: [0],
    values: ['wi-0'],
    invokeMs: at,
    completeMs: at,
    outcome: 'ok',
  });
  const ops: Op[] = [
    send('wi-0', 0, 0, { completeMs: 10_000 }),
    poll(1000),
    poll(2000),
    poll(7000),
    poll(7500),
  ];
  const r = check(input(ops, [read(0, ['wi-0'])], replicas(0, 1)));
  expect(r.stats.longestPollGapMs).toBe(5000);
  expect(r.stats.longestPollGapAtMs).toBe(2000);
});
