// BatchCache copies batches into a ring of reused slabs: what it returns is always what was cached
// (never bytes of a later batch that took the slab over), memory stays within the budget, and
// eviction goes oldest slab first.
import fc from 'fast-check';
import { BatchCache } from '../src/storage/batch-cache.js';

function filled(n: number, byte: number): Buffer {
  return Buffer.alloc(n, byte);
}

describe('BatchCache', () => {
  test('a cached batch is a copy: changing the source or the returned buffer changes nothing cached', () => {
    const cache = new BatchCache(10_000, 1000);
    const o = cache.owner();
    const src = filled(100, 1);
    cache.set(o, 1, src);
    src.fill(9);
    const got = cache.get(o, 1) as Buffer;
    expect(got.equals(filled(100, 1))).toBe(true);
    got.fill(7);
    expect(cache.get(o, 1)?.equals(filled(100, 1))).toBe(true);
    expect(cache.sizeBytes).toBe(100);
  });

  test('when the ring comes back to a slab, its batches are evicted together, oldest slab first', () => {
    const cache = new BatchCache(3000, 1000);
    const o = cache.owner();
    // 400 B each: two per slab; slabs hold {0,1} {2,3} {4,5}; batch 6 reuses the first slab.
    for (let i = 0; i < 7; i++) cache.set(o, i, filled(400, i));
    expect(cache.has(o, 0) || cache.has(o, 1)).toBe(false);
    for (let i = 2; i < 7; i++) expect(cache.get(o, i)?.equals(filled(400, i))).toBe(true);
    expect(cache.sizeBytes).toBe(5 * 400);
    expect(cache.allocatedBytes).toBe(3000);
  });

  test('slabs are allocated as the ring reaches them, and never beyond the budget', () => {
    const cache = new BatchCache(64 * 1024 * 1024, 4 * 1024 * 1024);
    expect(cache.allocatedBytes).toBe(0);
    cache.set(cache.owner(), 1, filled(10, 1));
    expect(cache.allocatedBytes).toBe(4 * 1024 * 1024);
  });

  test('a batch larger than a slab, or empty, is not cached and drops an older value of its key', () => {
    const cache = new BatchCache(1000, 500);
    const o = cache.owner();
    cache.set(o, 1, filled(100, 1));
    cache.set(o, 1, filled(501, 2));
    expect(cache.has(o, 1)).toBe(false);
    cache.set(o, 2, Buffer.alloc(0));
    expect(cache.has(o, 2)).toBe(false);
    expect(cache.sizeBytes).toBe(0);
  });

  test('owners do not see each other’s batches; delete removes one batch', () => {
    const cache = new BatchCache(10_000, 1000);
    const a = cache.owner();
    const b = cache.owner();
    cache.set(a, 1, filled(10, 1));
    cache.set(b, 1, filled(10, 2));
    cache.delete(a, 1);
    expect(cache.has(a, 1)).toBe(false);
    expect(cache.get(b, 1)?.equals(filled(10, 2))).toBe(true);
  });

  test('any sequence of sets and deletes: every hit returns the last bytes set for its key, within budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.record({
            del: fc.boolean(),
            index: fc.integer({ min: 0, max: 20 }),
            len: fc.integer({ min: 0, max: 400 }),
          }),
          { maxLength: 300 },
        ),
        (slabs, ops) => {
          const cache = new BatchCache(slabs * 300, 300);
          const o = cache.owner();
          const model = new Map<number, Buffer>();
          let stamp = 0;
          for (const op of ops) {
            if (op.del) {
              cache.delete(o, op.index);
              model.delete(op.index);
            } else {
              const data = Buffer.alloc(op.len, ++stamp % 251);
              cache.set(o, op.index, data);
              model.set(op.index, data);
            }
            let live = 0;
            for (let i = 0; i <= 20; i++) {
              const got = cache.get(o, i);
              if (got === undefined) continue;
              expect(got.equals(model.get(i) as Buffer)).toBe(true);
              live += got.length;
            }
            expect(cache.sizeBytes).toBe(live);
            expect(cache.allocatedBytes).toBeLessThanOrEqual(slabs * 300);
          }
          // The most recent batch always fits (it was at most one slab) unless it was empty or too large.
          const last = ops[ops.length - 1];
          if (last && !last.del && last.len > 0 && last.len <= 300)
            expect(cache.has(o, last.index)).toBe(true);
        },
      ),
    );
  });
});
