// A property test of log compaction against a model of "the last value per key" (fast-check), on
// both partition strategies: random batches of keyed records and tombstones, cleaning passes (with
// key maps of random budgets, so that some passes end early), time moving past delete.retention.ms
// and restarts. After every step a read of the whole partition must hold:
// - every record read is one that was produced, at its offset, with its key and value; offsets rise;
// - nothing at or past the end of the last completed pass (the dirty part) is missing;
// - below that end, no record is read whose key has a later record below it;
// - every key's last record is read — unless it is a tombstone whose delete horizon (the time of
//   the first pass that covered it, plus delete.retention.ms) a later pass has passed.
import { buildRecordBatch, decodeRecordBatch } from '@chronik/protocol';
import fc from 'fast-check';
import type { CleanerIo } from '../../src/partition/types.js';
import type { HarnessKind, PartitionHarness } from './harness.js';
import { openPartition } from './harness.js';

jest.setTimeout(120_000);

const RETENTION_MS = 1000;

interface Produced {
  offset: number;
  key: string;
  value: string | null;
  /** When the first completed pass covered it (undefined: none yet). */
  coveredAtMs?: number;
}

type Op =
  | { kind: 'produce'; records: Array<{ key: string; value: string | null }> }
  | { kind: 'clean'; mapBytes: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('produce' as const),
      records: fc.array(
        fc.record({
          key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
          value: fc.option(fc.string({ minLength: 1, maxLength: 6 }), { nil: null, freq: 4 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('clean' as const),
      mapBytes: fc.constantFrom(150, 300, 1 << 20),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('wait' as const),
      ms: fc.integer({ min: 0, max: 2 * RETENTION_MS }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

async function runModel(kind: HarnessKind, ops: Op[]): Promise<void> {
  const h: PartitionHarness = await openPartition(kind, {
    config: { compact: true, segmentMs: 1, deleteRetentionMs: RETENTION_MS, minCleanableDirtyRatio: 0 },
  });
  try {
    let p = h.p;
    const produced: Produced[] = [];
    let cleanedTo = 0;
    /** When each completed pass ran. */
    const passes: number[] = [];
    for (const op of ops) {
      if (op.kind === 'produce') {
        const batch = buildRecordBatch({
          records: op.records.map((r) => ({
            key: Buffer.from(r.key),
            value: r.value === null ? null : Buffer.from(r.value),
            timestampMs: BigInt(h.now),
          })),
        });
        const { baseOffset } = await p.append(batch, -1, 5000);
        op.records.forEach((r, i) => produced.push({ offset: Number(baseOffset) + i, ...r }));
      } else if (op.kind === 'clean') {
        const plan = p.cleanable(h.now);
        if (plan !== undefined) {
          const io: CleanerIo = {
            throttle: async () => undefined,
            pause: async () => undefined,
            mapBytes: op.mapBytes,
          };
          const r = await p.clean(plan, h.now, io);
          expect(r.completed).toBe(true);
          cleanedTo = Number(r.endOffset);
          passes.push(h.now);
          for (const x of produced) if (x.offset < cleanedTo) x.coveredAtMs ??= h.now;
        }
      } else if (op.kind === 'wait') {
        h.now += op.ms;
      } else {
        p = await h.restart();
      }
      // The checks.
      const read = (await p.read(0n, 1 << 24, true, 0)).chunks.flatMap((c) =>
        decodeRecordBatch(c).records.map((r) => ({
          offset: Number(r.offset),
          key: r.key?.toString() ?? '',
          value: r.value === null ? null : r.value.toString(),
        })),
      );
      const byOffset = new Map(produced.map((x) => [x.offset, x]));
      let last = -1;
      for (const r of read) {
        const x = byOffset.get(r.offset);
        expect(x === undefined ? undefined : { offset: x.offset, key: x.key, value: x.value }).toEqual(r);
        expect(r.offset).toBeGreaterThan(last);
        last = r.offset;
      }
      const present = new Set(read.map((r) => r.offset));
      for (const x of produced) if (x.offset >= cleanedTo) expect(present.has(x.offset)).toBe(true);
      const lastBelow = new Map<string, number>();
      for (const x of produced) if (x.offset < cleanedTo) lastBelow.set(x.key, x.offset);
      for (const r of read) if (r.offset < cleanedTo) expect(lastBelow.get(r.key)).toBe(r.offset);
      const latest = new Map<string, Produced>();
      for (const x of produced) latest.set(x.key, x);
      for (const x of latest.values()) {
        if (present.has(x.offset)) continue;
        // Only an expired tombstone may be gone: a pass ran at or after its horizon.
        expect(x.value).toBeNull();
        const horizon = (x.coveredAtMs ?? Number.POSITIVE_INFINITY) + RETENTION_MS;
        expect(passes.some((t) => t >= horizon)).toBe(true);
      }
    }
  } finally {
    await h.close();
  }
}

describe.each<[HarnessKind, number]>([
  ['local', 40],
  ['replicated', 15],
])('%s partition: compaction against the last-value-per-key model', (kind, numRuns) => {
  test('random produces, passes, waits and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), (ops) => runModel(kind, ops)),
      { numRuns },
    );
  });
});
