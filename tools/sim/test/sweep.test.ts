// The CI sweep: a few seeds of the whole-product simulation, each run twice to prove it replays
// exactly (same trace hash). Longer sweeps: `pnpm sim --seeds 1..1000 --steps 2000` (README.md).
import { formatResult, runSeed } from '../src/index.js';

const SEEDS = Number(process.env.CHRONIK_SIM_SEEDS ?? 16);
const STEPS = Number(process.env.CHRONIK_SIM_STEPS ?? 1000);

// About 15 s on an idle 2-core machine; a loaded one may take several times that.
jest.setTimeout(300_000);

test(`seeds 1..${SEEDS} (${STEPS} steps each) keep every invariant`, async () => {
  const failures: string[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = await runSeed(seed, { steps: STEPS });
    if (!r.ok) failures.push(formatResult(r));
  }
  expect(failures).toEqual([]);
});

/**
 * The consumer-group clients and reassignments off, the nodes 1, 2, 3: a seed recorded before they
 * were drawn replays its old schedule.
 */
const WITHOUT_GROUPS = {
  groups: { committers: 0, members: 0, rebalanceTimeoutMs: 1000 },
  reassignRate: 0,
  firstNodeId: 1,
};

// Seeds that once failed, kept as regression tests (README.md, "Findings"), on the schedule that
// found them.
test.each([
  [222, 1500],
  [131, 1000],
])('seed %i (%i steps) keeps every invariant', async (seed, steps) => {
  const r = await runSeed(seed, { steps, params: WITHOUT_GROUPS });
  expect(r.ok ? '' : formatResult(r)).toBe('');
});

test('a seed replays exactly: the same events in the same order, the same outcomes', async () => {
  const a = await runSeed(7, { steps: 400 });
  const b = await runSeed(7, { steps: 400 });
  expect(b.events).toBe(a.events);
  expect(b.traceHash).toBe(a.traceHash);
  expect(b.summary).toEqual(a.summary);
  const c = await runSeed(8, { steps: 400 });
  expect(c.traceHash).not.toBe(a.traceHash);
});
