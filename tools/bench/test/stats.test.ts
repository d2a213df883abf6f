import fc from 'fast-check';
import { LatencyHistogram, median, percentileOfSorted, throughput } from '../src/index.js';

describe('percentileOfSorted (nearest rank)', () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  it('takes the ceil(q·n)-th smallest value', () => {
    expect(percentileOfSorted(xs, 0.5)).toBe(5);
    expect(percentileOfSorted(xs, 0.51)).toBe(6);
    expect(percentileOfSorted(xs, 0.99)).toBe(10);
    expect(percentileOfSorted(xs, 0)).toBe(1);
    expect(percentileOfSorted(xs, 1)).toBe(10);
    expect(percentileOfSorted([7], 0.999)).toBe(7);
  });
  it('is NaN for no samples and rejects q outside 0..1', () => {
    expect(percentileOfSorted([], 0.5)).toBeNaN();
    expect(() => percentileOfSorted(xs, 1.5)).toThrow(RangeError);
    expect(() => percentileOfSorted(xs, Number.NaN)).toThrow(RangeError);
  });
});

describe('LatencyHistogram', () => {
  it('is exact below 128 µs', () => {
    const h = new LatencyHistogram();
    for (let us = 1; us <= 100; us++) h.record(us / 1000);
    expect(h.count).toBe(100);
    expect(h.percentileMs(0.5)).toBeCloseTo(0.05, 9);
    expect(h.percentileMs(0.99)).toBeCloseTo(0.099, 9);
    expect(h.percentileMs(1)).toBeCloseTo(0.1, 9);
    expect(h.maxMs).toBeCloseTo(0.1, 9);
    expect(h.meanMs).toBeCloseTo(0.0505, 9);
  });

  it('weights samples: one batch of 99 fast records and one slow record', () => {
    const h = new LatencyHistogram();
    h.record(1, 99);
    h.record(500, 1);
    expect(h.count).toBe(100);
    expect(h.percentileMs(0.99)).toBeCloseTo(1, 1);
    expect(h.percentileMs(0.999)).toBeCloseTo(500, -1);
  });

  it('ignores non-positive counts and non-finite values; is NaN when empty', () => {
    const h = new LatencyHistogram();
    h.record(5, 0);
    h.record(Number.NaN);
    h.record(Number.POSITIVE_INFINITY);
    expect(h.count).toBe(0);
    expect(h.percentileMs(0.5)).toBeNaN();
    expect(h.maxMs).toBeNaN();
  });

  it('agrees with the exact nearest-rank percentile within 1% (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 400 }),
        fc.constantFrom(0.5, 0.9, 0.99, 0.999, 1),
        (values, q) => {
          const h = new LatencyHistogram();
          for (const v of values) h.record(v);
          const exact = percentileOfSorted(
            [...values].sort((a, b) => a - b),
            q,
          );
          const approx = h.percentileMs(q);
          // Values are rounded to whole µs, then bucketed with ≤ 1/128 relative error.
          expect(Math.abs(approx - exact)).toBeLessThanOrEqual(exact * 0.01 + 0.001);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('merges', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.record(1, 50);
    b.record(10, 50);
    a.merge(b);
    expect(a.count).toBe(100);
    expect(a.percentileMs(0.5)).toBeCloseTo(1, 2);
    expect(a.percentileMs(0.51)).toBeCloseTo(10, 1);
    expect(a.maxMs).toBeCloseTo(10, 6);
  });
});

describe('throughput and median', () => {
  it('computes msg/s and MB/s (10^6 bytes) of the payload', () => {
    expect(throughput(1000, 1024, 2)).toEqual({ msgPerSec: 500, mbPerSec: 0.512 });
    expect(throughput(1, 1, 0).msgPerSec).toBeNaN();
  });
  it('takes the middle value, skipping non-finite ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });
});
