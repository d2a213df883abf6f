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
