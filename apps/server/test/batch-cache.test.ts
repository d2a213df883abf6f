// BatchCache counts the memory its views keep alive: each underlying buffer once, while any view of
// it is cached; the budget holds under eviction, replacement and deletion.
import fc from 'fast-check';
import { BatchCache } from '../src/storage/batch-cache.js';

/** A buffer with its own ArrayBuffer of exactly n bytes (not from Node's pool). */
function own(n: number): Buffer {
  return Buffer.from(new ArrayBuffer(n));
}

describe('BatchCache', () => {
  test('views of one frame count the frame once; it is released when its last view goes', () => {
    const cache = new BatchCache(10_000);
    const o = cache.owner();
    const frame = own(3000);
    cache.set(o, 1, frame.subarray(0, 1000));
    cache.set(o, 2, frame.subarray(1000, 2000));
    cache.set(o, 3, frame.subarray(2000, 3000));
    expect(cache.sizeBytes).toBe(3000);
    cache.delete(o, 1);
    cache.delete(o, 2);
    expect(cache.sizeBytes).toBe(3000);
    expect(cache.get(o, 3)?.length).toBe(1000);
    cache.delete(o, 3);
    expect(cache.sizeBytes).toBe(0);
  });

  test('oldest entries are evicted until the memory kept alive fits the budget', () => {
    const cache = new BatchCache(5000);
    const o = cache.owner();
    for (let i = 0; i < 5; i++) cache.set(o, i, own(2000));
    expect(cache.sizeBytes).toBe(4000);
    expect(cache.has(o, 3) && cache.has(o, 4)).toBe(true);
    expect(cache.has(o, 2)).toBe(false);
  });

  test('a buffer larger than the whole budget is not cached', () => {
    const cache = new BatchCache(1000);
    const o = cache.owner();
    cache.set(o, 1, own(2000).subarray(0, 10));
    expect(cache.has(o, 1)).toBe(false);
    expect(cache.sizeBytes).toBe(0);
  });

  test('any sequence of sets and deletes: size is the sum of distinct live buffers, within budget', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            del: fc.boolean(),
            index: fc.integer({ min: 0, max: 20 }),
            frame: fc.integer({ min: 0, max: 7 }),
            len: fc.integer({ min: 1, max: 100 }),
          }),
          { maxLength: 200 },
        ),
        (ops) => {
          const frames = Array.from({ length: 8 }, (_, i) => own(100 + i * 150));
          const cache = new BatchCache(1500);
          const o = cache.owner();
          for (const op of ops) {
            if (op.del) cache.delete(o, op.index);
            else cache.set(o, op.index, (frames[op.frame] as Buffer).subarray(0, op.len));
            const live = new Set<ArrayBufferLike>();
            for (let i = 0; i <= 20; i++) {
              const b = cache.get(o, i);
              if (b) live.add(b.buffer);
            }
            let expected = 0;
            for (const b of live) expected += b.byteLength;
            expect(cache.sizeBytes).toBe(expected);
            expect(cache.sizeBytes).toBeLessThanOrEqual(1500);
          }
        },
      ),
    );
  });
});
