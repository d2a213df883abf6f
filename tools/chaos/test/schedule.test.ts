import { parseArgs, parseDuration } from '../src/args.js';
import {
  DEFAULT_ROLES,
  DEFAULT_SCHEDULE_TIMING,
  FAULT_KINDS,
  TXN_ROLES,
  planSchedule,
} from '../src/nemesis.js';
import { createRng } from '../src/rng.js';

describe('rng', () => {
  test('the same seed gives the same sequence; different seeds differ', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    const c = createRng(43);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  test('int stays in range and shuffle permutes', () => {
    const r = createRng(7);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(3, 5);
      expect(v >= 3 && v <= 5).toBe(true);
    }
    expect(r.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('planSchedule', () => {
  // Long enough for a round of every kind (ten, with reassign).
  const opts = { durationMs: 150_000, faults: FAULT_KINDS, nodes: 3, ...DEFAULT_SCHEDULE_TIMING };

  test('replays from the seed', () => {
    expect(planSchedule(createRng(9), opts)).toEqual(planSchedule(createRng(9), opts));
    expect(planSchedule(createRng(9), opts)).not.toEqual(planSchedule(createRng(10), opts));
  });

  test('faults do not overlap, heal before the end, and every kind appears in a long enough run', () => {
    for (let seed = 0; seed < 50; seed++) {
      const s = planSchedule(createRng(seed), opts);
      for (let i = 1; i < s.length; i++) {
        const prev = s[i - 1]!;
        expect(s[i]!.startMs).toBeGreaterThanOrEqual(
          prev.startMs + prev.holdMs + DEFAULT_SCHEDULE_TIMING.quietMinMs,
        );
      }
      const last = s[s.length - 1]!;
      expect(last.startMs + last.holdMs).toBeLessThanOrEqual(opts.durationMs - 1000);
      expect(new Set(s.map((f) => f.kind)).size).toBe(FAULT_KINDS.length);
      for (const f of s) expect(f.isolate).toBe(1);
    }
  });

  test('a five-node cluster isolates at most two nodes', () => {
    const s = planSchedule(createRng(1), { ...opts, nodes: 5 });
    expect(Math.max(...s.map((f) => f.isolate))).toBeLessThanOrEqual(2);
  });

  test('roles come from the given list; the default list is the one every seed was planned with', () => {
    expect(planSchedule(createRng(9), { ...opts, roles: DEFAULT_ROLES })).toEqual(
      planSchedule(createRng(9), opts),
    );
    const txn = planSchedule(createRng(9), { ...opts, roles: TXN_ROLES });
    expect(txn.map((f) => f.startMs)).toEqual(planSchedule(createRng(9), opts).map((f) => f.startMs));
    expect(new Set(txn.map((f) => f.role)).has('txn-coordinator')).toBe(true);
    const only = planSchedule(createRng(2), { ...opts, roles: ['txn-coordinator'] });
    expect(only.every((f) => f.role === 'txn-coordinator')).toBe(true);
    expect(() => planSchedule(createRng(2), { ...opts, roles: [] })).toThrow(RangeError);
  });

  test('only the enabled kinds', () => {
    const s = planSchedule(createRng(3), { ...opts, faults: ['pause'] });
    expect(s.length).toBeGreaterThan(3);
    expect(s.every((f) => f.kind === 'pause')).toBe(true);
  });
});

describe('parseArgs', () => {
  test('options and durations', () => {
    const o = parseArgs([
      '--seed',
      '5',
      '--duration',
      '2m',
      '--nodes=5',
      '--faults',
      'kill,pause',
      '--runs',
      '3',
      '--out',
      '/tmp/x',
    ]);
    expect(o).toMatchObject({
      seed: 5,
      durationMs: 120_000,
      nodes: 5,
      faults: ['kill', 'pause'],
      runs: 3,
      outDir: '/tmp/x',
    });
    expect(o.workloads).toEqual(['queue']);
    expect(parseArgs(['--workload', 'txn']).workloads).toEqual(['txn']);
    expect(parseArgs(['--workload=queue,txn,txn']).workloads).toEqual(['queue', 'txn']);
    expect(parseDuration('90000ms')).toBe(90_000);
    expect(parseDuration('60')).toBe(60_000);
  });

  test('bad input is a typed error', () => {
    expect(() => parseArgs(['--faults', 'kill,meteor'])).toThrow(
      expect.objectContaining({ code: 'BadArgument' }),
    );
    expect(() => parseArgs(['--nodes', '2'])).toThrow(/nodes/);
    expect(() => parseArgs(['--duration', 'soon'])).toThrow(/duration/);
    expect(() => parseArgs(['--what'])).toThrow(/unknown argument/);
    expect(() => parseArgs(['--workload', 'bank'])).toThrow(/unknown workload/);
    expect(() => parseArgs(['--workload', ','])).toThrow(/at least one/);
  });
});
