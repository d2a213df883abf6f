import fc from 'fast-check';
import { BatchIndex } from '../../src/partition/batch-index.js';

describe('BatchIndex', () => {
  test('behaves like an array of batches under pushes, front drops and lookups', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ push: fc.integer({ min: 1, max: 5 }) }),
            fc.record({ drop: fc.integer({ min: 0, max: 7 }) }),
          ),
          { maxLength: 300 },
        ),
        (ops) => {
          const idx = new BatchIndex();
          const model: Array<{ base: number; last: number; entry: number; bytes: number }> = [];
          let next = 0;
          let entry = 1;
          for (const op of ops) {
            if ('push' in op) {
              const m = { base: next, last: next + op.push - 1, entry: entry++, bytes: op.push * 10 };
              next += op.push;
              model.push(m);
              idx.push({
                entryIndex: m.entry,
                inner: 0,
                baseOffset: BigInt(m.base),
                lastOffset: BigInt(m.last),
                maxTimestamp: BigInt(m.base),
                epoch: 0,
                bytes: m.bytes,
              });
            } else {
              const dropped = idx.dropFront(op.drop);
              expect(dropped).toEqual(model.splice(0, op.drop).map((m) => m.entry));
            }
            expect(idx.length).toBe(model.length);
            expect(idx.totalBytes).toBe(model.reduce((s, m) => s + m.bytes, 0));
          }
          for (let o = 0; o <= next; o++) {
            const i = idx.findByOffset(BigInt(o));
            const expected = model.findIndex((m) => m.last >= o);
            expect(i).toBe(expected < 0 ? model.length : expected);
            if (expected >= 0) expect(idx.at(i).baseOffset).toBe(BigInt(model[expected]?.base ?? -1));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('BatchIndex with compaction', () => {
  test('behaves like a sorted map of batches under upserts (replace, or insert below the last row), removals, pushes and front drops', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ push: fc.integer({ min: 1, max: 3 }) }),
            fc.record({ upsert: fc.nat(), inner: fc.integer({ min: 1, max: 1000 }) }),
            fc.record({ remove: fc.nat() }),
            fc.record({ drop: fc.integer({ min: 0, max: 3 }) }),
          ),
          { maxLength: 400 },
        ),
        (ops) => {
          const idx = new BatchIndex();
          // Batches are the offset ranges [3k, 3k+2]: their base offsets are multiples of 3.
          const model = new Map<number, { entry: number; inner: number; bytes: number }>();
          let next = 0;
          let entry = 1;
          let dropped = 0; // offsets below are gone (front drops)
          const meta = (base: number, inner: number, bytes: number, e: number) => ({
            entryIndex: e,
            inner,
            baseOffset: BigInt(base),
            lastOffset: BigInt(base + 2),
            maxTimestamp: 0n,
            epoch: 0,
            bytes,
          });
          for (const op of ops) {
            if ('push' in op) {
              for (let k = 0; k < op.push; k++) {
                const e = entry++;
                idx.push(meta(next, 0, 70, e));
                model.set(next, { entry: e, inner: 0, bytes: 70 });
                next += 3;
              }
            } else if ('upsert' in op) {
              if (next === 0) continue;
              const base = 3 * (op.upsert % (next / 3));
              if (base < dropped) continue;
              const e = entry++;
              idx.upsert(meta(base, op.inner, 60 + (op.inner % 10), e));
              model.set(base, { entry: e, inner: op.inner, bytes: 60 + (op.inner % 10) });
            } else if ('remove' in op) {
              if (next === 0) continue;
              const base = 3 * (op.remove % (next / 3));
              idx.remove(BigInt(base));
              model.delete(base);
            } else {
              const n = Math.min(op.drop, idx.length);
              const cut = n === 0 ? dropped : idx.lastOffsetAt(n - 1) + 1;
              idx.dropFront(n);
              for (const b of [...model.keys()]) if (b < cut) model.delete(b);
              dropped = Math.max(dropped, cut);
            }
            const live = [...model.entries()].sort((a, b) => a[0] - b[0]);
            expect(idx.liveCount).toBe(live.length);
            expect(idx.totalBytes).toBe(live.reduce((s, [, m]) => s + m.bytes, 0));
            const rows: Array<[number, number, number, number]> = [];
            for (let i = idx.nextLive(0); i < idx.length; i = idx.nextLive(i + 1))
              rows.push([idx.baseOffsetAt(i), idx.entryIndexAt(i), idx.innerAt(i), idx.bytesAt(i)]);
            expect(rows).toEqual(live.map(([b, m]) => [b, m.entry, m.inner, m.bytes]));
            expect(idx.minEntryIndex()).toBe(
              live.length === 0 ? undefined : Math.min(...live.map(([, m]) => m.entry)),
            );
          }
          const copy = BatchIndex.fromBuffer(idx.toBuffer());
          expect(copy.liveCount).toBe(idx.liveCount);
          expect(copy.totalBytes).toBe(idx.totalBytes);
        },
      ),
      { numRuns: 200 },
    );
  });
});
