// The CI-sized sweep: a few hundred seeds of the deterministic simulation (every fault drawn per
// seed). Any number more: `pnpm --filter @chronik/raft sim --seeds A..B --steps N`.
import { formatResult, runSeed } from '../sim/simulation.js';

describe('simulation sweep', () => {
  jest.setTimeout(300_000);

  it.each([
    [10_000, 10_149],
    [10_150, 10_299],
  ])('seeds %i..%i × 3000 steps keep every invariant', (from, to) => {
    const failed: string[] = [];
    let committed = 0;
    for (let seed = from; seed <= to; seed++) {
      const r = runSeed({ seed, steps: 3000 });
      committed += r.stats.committedIndex;
      if (!r.ok) failed.push(formatResult(r));
    }
    expect(failed).toEqual([]);
    expect(committed).toBeGreaterThan((to - from + 1) * 20);
  });
});
