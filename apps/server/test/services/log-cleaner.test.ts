// The log cleaner service (src/services/log-cleaner.ts) on a manual clock, over stand-in
// partitions: it takes the overdue partition first and then the dirtiest, waits its backoff when
// none is due and goes on at once after a completed pass, holds a pass to its I/O rate, and a close
// ends a pass that waits for the rate.
import { ManualScheduler } from '@chronik/env';
import { silentLogger } from '../../src/logger.js';
import type { CleanerIo, CleaningPlan, ManagedPartition, PassResult } from '../../src/partition/types.js';
import { LogCleaner } from '../../src/services/log-cleaner.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

interface Fake {
  p: ManagedPartition;
  plan: CleaningPlan | undefined;
  cleaned: number;
  /** What a pass does with the io (default: nothing). */
  work?: (io: CleanerIo) => Promise<void>;
}

function plan(dirtyRatio: number, overdue = false): CleaningPlan {
  return {
    logStart: 0n,
    firstDirty: 0n,
    firstUncleanable: 10n,
    dirtyBytes: 100,
    cleanableBytes: 100,
    dirtyRatio,
    overdue,
  };
}

function fake(name: string, p: CleaningPlan | undefined, order: string[]): Fake {
  const f: Fake = { p: undefined as unknown as ManagedPartition, plan: p, cleaned: 0 };
  f.p = {
    topic: name,
    partition: 0,
    cleanable: () => f.plan,
    clean: async (_plan: CleaningPlan, _now: number, io: CleanerIo): Promise<PassResult> => {
      order.push(name);
      f.cleaned++;
      await f.work?.(io);
      f.plan = undefined; // clean now
      return {
        completed: true,
        endOffset: 10n,
        bytesRead: 0,
        bytesWritten: 0,
        batchesRead: 0,
        batchesRemoved: 0,
        batchesRewritten: 0,
      };
    },
  } as unknown as ManagedPartition;
  return f;
}

function cleaner(s: ManualScheduler, fakes: Fake[], ioBytesPerSecond = 1_000_000): LogCleaner {
  return new LogCleaner({
    replicas: () => fakes.map((f) => f.p),
    clock: s,
    scheduler: s,
    logger: silentLogger,
    enabled: true,
    ioBytesPerSecond,
    dedupeBufferBytes: 1 << 20,
    backoffMs: 1000,
  });
}

test('overdue first, then the dirtiest; a completed pass looks again at once, nothing due waits the backoff', async () => {
  const s = new ManualScheduler();
  const order: string[] = [];
  const fakes = [fake('a', plan(0.6), order), fake('b', plan(0.9), order), fake('c', plan(0.2, true), order)];
  const c = cleaner(s, fakes);
  c.start();
  s.advance(999);
  await turns();
  expect(order).toEqual([]);
  s.advance(1);
  await turns();
  s.advance(0);
  await turns();
  s.advance(0);
  await turns();
  expect(order).toEqual(['c', 'b', 'a']);
  s.advance(0); // the look after the last pass finds nothing due
  await turns();
  fakes[0]!.plan = plan(0.7);
  s.advance(0);
  await turns();
  expect(order).toHaveLength(3); // nothing was due: the backoff
  s.advance(1000);
  await turns();
  expect(order).toEqual(['c', 'b', 'a', 'a']);
  await c.close();
});

test('a pass is held to the I/O rate; a close ends a pass that waits for it', async () => {
  const s = new ManualScheduler();
  const order: string[] = [];
  const f = fake('a', plan(1), order);
  const waited: number[] = [];
  let failure: unknown;
  f.work = async (io) => {
    const t0 = s.monotonicMs();
    await io.throttle(500_000); // half a second at 1 MB/s
    waited.push(s.monotonicMs() - t0);
    try {
      await io.throttle(2_000_000);
    } catch (e) {
      failure = e;
      throw e;
    }
  };
  const c = cleaner(s, [f]);
  c.start();
  s.advance(1000);
  await turns();
  s.advance(499);
  await turns();
  expect(waited).toEqual([]);
  s.advance(1);
  await turns();
  expect(waited).toEqual([500]);
  // Waiting for the next 2 MB: the close ends it.
  await c.close();
  expect(failure).toBeInstanceOf(Error);
  expect((failure as Error).message).toMatch(/closing/);
});
