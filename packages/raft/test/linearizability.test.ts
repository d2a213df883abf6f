// Unit tests of the WGL linearizability checker in sim/linearizability.ts on histories whose
// answer is known, plus a randomized cross-check against a brute-force search.
import fc from 'fast-check';
import {
  HistoryRecorder,
  checkOperations,
  kvModel,
  type KvInput,
  type KvOutput,
  type Operation,
} from '../sim/linearizability.js';

type Op = Operation<KvInput, KvOutput>;

const put = (clientId: number, key: string, value: string, call: number, ret?: number): Op =>
  ret === undefined
    ? { clientId, input: { kind: 'put', key, value }, call }
    : { clientId, input: { kind: 'put', key, value }, call, return: ret, output: null };
const get = (clientId: number, key: string, value: string | null, call: number, ret: number): Op => ({
  clientId,
  input: { kind: 'get', key },
  call,
  return: ret,
  output: { value },
});
const cas = (
  clientId: number,
  key: string,
  expected: string | null,
  value: string,
  swapped: boolean | undefined,
  call: number,
  ret?: number,
): Op =>
  ret === undefined || swapped === undefined
    ? { clientId, input: { kind: 'cas', key, expected, value }, call }
    : { clientId, input: { kind: 'cas', key, expected, value }, call, return: ret, output: { swapped } };

const outcome = (ops: Op[]): string => checkOperations(kvModel, ops).outcome;

describe('linearizability checker (WGL) on known histories', () => {
  it('accepts the empty history', () => {
    expect(outcome([])).toBe('ok');
  });

  it('accepts a sequential put then get of the value', () => {
    expect(outcome([put(1, 'x', 'a', 0, 1), get(2, 'x', 'a', 2, 3)])).toBe('ok');
  });

  it('rejects a get that misses a put which completed before it began', () => {
    expect(outcome([put(1, 'x', 'a', 0, 1), get(2, 'x', null, 2, 3)])).toBe('illegal');
  });

  it('accepts either value for a get concurrent with a put', () => {
    expect(outcome([put(1, 'x', 'a', 0, 3), get(2, 'x', null, 1, 2)])).toBe('ok');
    expect(outcome([put(1, 'x', 'a', 0, 3), get(2, 'x', 'a', 1, 2)])).toBe('ok');
  });

  it('rejects a stale read after a newer read (both concurrent with the write)', () => {
    // put(a) spans [0, 10]; one read sees "a" and finishes; a later read sees the old value.
    expect(outcome([put(1, 'x', 'a', 0, 10), get(2, 'x', 'a', 1, 2), get(3, 'x', null, 3, 4)])).toBe(
      'illegal',
    );
  });

  it('rejects a value that was never written', () => {
    expect(outcome([put(1, 'x', 'a', 0, 1), get(2, 'x', 'b', 2, 3)])).toBe('illegal');
  });

  it('orders two writes consistently for all readers', () => {
    // Writes of a and b overlap; reader 3 sees a then b, reader 4 sees b then a: impossible.
    const h = [
      put(1, 'x', 'a', 0, 20),
      put(2, 'x', 'b', 1, 21),
      get(3, 'x', 'a', 2, 3),
      get(3, 'x', 'b', 4, 5),
      get(4, 'x', 'b', 6, 7),
      get(4, 'x', 'a', 8, 9),
    ];
    expect(outcome(h)).toBe('illegal');
    expect(outcome(h.slice(0, 5))).toBe('ok');
  });

  it('lets an operation with unknown outcome take effect late or never', () => {
    // put(a) timed out (no return): it may apply after the first read.
    expect(outcome([put(1, 'x', 'a', 0), get(2, 'x', null, 1, 2), get(2, 'x', 'a', 3, 4)])).toBe('ok');
    // ...or never.
    expect(outcome([put(1, 'x', 'a', 0), get(2, 'x', null, 1, 2), get(2, 'x', null, 3, 4)])).toBe('ok');
    // But once seen it cannot disappear.
    expect(outcome([put(1, 'x', 'a', 0), get(2, 'x', 'a', 1, 2), get(2, 'x', null, 3, 4)])).toBe('illegal');
    // And it cannot take effect before it was invoked.
    expect(outcome([get(2, 'x', 'a', 0, 1), put(1, 'x', 'a', 2)])).toBe('illegal');
  });

  it('checks compare-and-set results against the state', () => {
    // Two concurrent CAS from null: exactly one may succeed.
    expect(outcome([cas(1, 'x', null, 'a', true, 0, 5), cas(2, 'x', null, 'b', true, 1, 6)])).toBe('illegal');
    expect(
      outcome([
        cas(1, 'x', null, 'a', true, 0, 5),
        cas(2, 'x', null, 'b', false, 1, 6),
        get(3, 'x', 'a', 7, 8),
      ]),
    ).toBe('ok');
    expect(
      outcome([
        cas(1, 'x', null, 'a', true, 0, 5),
        cas(2, 'x', null, 'b', false, 1, 6),
        get(3, 'x', 'b', 7, 8),
      ]),
    ).toBe('illegal');
    // A CAS with unknown outcome still follows the state deterministically if it took effect.
    expect(
      outcome([put(1, 'x', 'p', 0, 1), cas(2, 'x', 'q', 'r', undefined, 2), get(3, 'x', 'r', 3, 4)]),
    ).toBe('illegal');
    expect(
      outcome([put(1, 'x', 'q', 0, 1), cas(2, 'x', 'q', 'r', undefined, 2), get(3, 'x', 'r', 3, 4)]),
    ).toBe('ok');
  });

  it('checks keys independently and reports the failing key', () => {
    const h = [
      put(1, 'x', 'a', 0, 1),
      put(1, 'y', 'b', 2, 3),
      get(2, 'x', 'a', 4, 5),
      get(2, 'y', null, 6, 7),
    ];
    const r = checkOperations(kvModel, h);
    expect(r.outcome).toBe('illegal');
    expect(r.failingPartition?.every((op) => op.input.key === 'y')).toBe(true);
    expect(r.longestPrefix?.map((op) => kvModel.describe?.(op))).toEqual(['c1 put(y=b) -> null [2, 3]']);
  });

  it('gives up with "unknown" when the step budget is exhausted', () => {
    // Many concurrent writes followed by a read of a value nobody wrote: forces a full search.
    const h: Op[] = [];
    for (let i = 0; i < 11; i++) h.push(put(i, 'x', `v${i}`, i, 100 + i));
    h.push(get(99, 'x', 'never', 200, 201));
    expect(checkOperations(kvModel, h, { maxStepsPerPartition: 50 }).outcome).toBe('unknown');
    expect(checkOperations(kvModel, h).outcome).toBe('illegal');
  });

  it('handles a long sequential history quickly', () => {
    const h: Op[] = [];
    let t = 0;
    for (let i = 0; i < 5000; i++) {
      h.push(put(1, 'x', `v${i}`, t, t + 1));
      h.push(get(2, 'x', `v${i}`, t + 2, t + 3));
      t += 4;
    }
    const r = checkOperations(kvModel, h);
    expect(r.outcome).toBe('ok');
    expect(r.steps).toBeLessThan(100_000);
  });
});

describe('HistoryRecorder', () => {
  it('turns invoke/ok/fail/info events into operations', () => {
    const rec = new HistoryRecorder<KvInput, KvOutput>();
    const a = rec.invoke(1, { kind: 'put', key: 'x', value: 'a' }, 0);
    const b = rec.invoke(2, { kind: 'put', key: 'x', value: 'b' }, 1);
    const c = rec.invoke(3, { kind: 'get', key: 'x' }, 2);
    const d = rec.invoke(4, { kind: 'get', key: 'x' }, 2);
    rec.ok(a, null, 3);
    rec.fail(b, 4);
    rec.info(c, 5);
    expect(rec.openCount).toBe(1);
    expect(rec.isOpen(d)).toBe(true);
    const ops = rec.operations();
    expect(ops).toEqual([
      { clientId: 1, input: { kind: 'put', key: 'x', value: 'a' }, call: 0, return: 4, output: null },
      { clientId: 3, input: { kind: 'get', key: 'x' }, call: 2 },
      { clientId: 4, input: { kind: 'get', key: 'x' }, call: 3 },
    ]);
    expect(() => rec.ok(a, null, 9)).toThrow(/not open/);
  });
});

// Brute force: try every order consistent with real time, letting unknown-outcome operations
// take effect anywhere after their invocation or not at all.
function bruteForce(ops: readonly Op[]): boolean {
  const done = new Array<boolean>(ops.length).fill(false);
  const search = (state: string | null, remainingReturned: number): boolean => {
    if (remainingReturned === 0) return true;
    for (let i = 0; i < ops.length; i++) {
      if (done[i]) continue;
      const op = ops[i] as Op;
      // op may go next only if no pending returned operation finished before op was invoked.
      const blocked = ops.some((q, j) => !done[j] && j !== i && q.return !== undefined && q.return < op.call);
      if (blocked) continue;
      const r = kvModel.step(state, op.input, op.return === undefined ? undefined : op.output);
      if (!r.ok) continue;
      done[i] = true;
      const ok = search(r.state, remainingReturned - (op.return === undefined ? 0 : 1));
      done[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return search(null, ops.filter((o) => o.return !== undefined).length);
}

describe('linearizability checker agrees with brute force', () => {
  // A history arbitrary: each op has a kind, interval and (possibly wrong) output on one key.
  const opArb = fc.record({
    kind: fc.constantFrom('put', 'get', 'cas'),
    value: fc.constantFrom('a', 'b', 'c'),
    expected: fc.constantFrom<string | null>(null, 'a', 'b'),
    start: fc.integer({ min: 0, max: 30 }),
    length: fc.integer({ min: 1, max: 12 }),
    unknown: fc.boolean(),
    observed: fc.constantFrom<string | null>(null, 'a', 'b', 'c'),
    swapped: fc.boolean(),
  });

  it('on random small histories', () => {
    const seen = { ok: 0, illegal: 0 };
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 7 }), (raw) => {
        // Unique times: scale by the number of ops and offset by position.
        const n = raw.length;
        const ops: Op[] = raw.map((r, i) => {
          const call = r.start * n * 2 + i;
          const ret = (r.start + r.length) * n * 2 + n + i;
          if (r.kind === 'put') return put(i, 'x', `${r.value}`, call, r.unknown ? undefined : ret);
          if (r.kind === 'cas')
            return cas(i, 'x', r.expected, r.value, r.unknown ? undefined : r.swapped, call, ret);
          return get(i, 'x', r.observed, call, ret);
        });
        const expected = bruteForce(ops) ? 'ok' : 'illegal';
        seen[expected]++;
        expect(checkOperations(kvModel, ops).outcome).toBe(expected);
      }),
      { numRuns: 3000, seed: 20261126 },
    );
    // Both answers must be well represented, or the comparison proves little.
    expect(seen.ok).toBeGreaterThan(300);
    expect(seen.illegal).toBeGreaterThan(300);
  });
});
