// The deterministic simulation (sim/simulation.ts) as part of the default test run: a short sweep of
// seeds (every fault drawn per seed), exact replay, both cluster sizes, and proof that the checks
// catch bugs injected into the harness. Longer sweeps: `pnpm --filter @chronik/raft sim`.
import { formatResult, runSeed } from '../sim/simulation.js';
import type { InjectedBugs, SimParams, SimResult } from '../sim/simulation.js';

function sweep(from: number, to: number, steps: number, params: Partial<SimParams> = {}): SimResult[] {
  const out: SimResult[] = [];
  for (let seed = from; seed <= to; seed++) out.push(runSeed({ seed, steps, params }));
  return out;
}

function failures(results: SimResult[]): string[] {
  return results.filter((r) => !r.ok).map(formatResult);
}

describe('deterministic simulation', () => {
  it('keeps every invariant, liveness and linearizability over 60 seeds × 3000 steps', () => {
    const results = sweep(1, 60, 3000);
    expect(failures(results)).toEqual([]);
    // The sweep must actually exercise the system: elections, commits, faults and client operations.
    const total = (f: (r: SimResult) => number): number => results.reduce((a, r) => a + f(r), 0);
    expect(total((r) => r.stats.committedIndex)).toBeGreaterThan(60 * 20);
    expect(total((r) => r.stats.opsOk)).toBeGreaterThan(60 * 30);
    expect(total((r) => r.stats.crashes)).toBeGreaterThan(10);
    expect(total((r) => r.stats.partitions)).toBeGreaterThan(10);
    expect(total((r) => r.stats.snapshotsApplied)).toBeGreaterThan(0);
    expect(total((r) => r.stats.confChanges)).toBeGreaterThan(0);
    expect(results.filter((r) => r.params.nodeCount === 3).length).toBeGreaterThan(10);
    expect(results.filter((r) => r.params.nodeCount === 5).length).toBeGreaterThan(10);
    expect(results.every((r) => r.stats.linearizability === 'ok')).toBe(true);
  });

  it.each([3, 5])('runs a %i-node cluster under every fault at once', (nodeCount) => {
    const params: Partial<SimParams> = {
      nodeCount,
      dropRate: 0.05,
      duplicateRate: 0.05,
      partitionRate: 0.2,
      crashRate: 0.05,
      tornWrites: true,
      fsyncMaxMs: 3,
      transferRate: 0.03,
      confChangeRate: 0.03,
      compactEvery: 10,
      compactKeep: 2,
      maxInflightMsgs: 4,
    };
    expect(failures(sweep(500, 509, 4000, params))).toEqual([]);
  });

  it('changes membership (add learner, promote, remove, joint replace) while clients run', () => {
    const results = sweep(700, 719, 4000, { confChangeRate: 0.3, compactEvery: 20 });
    expect(failures(results)).toEqual([]);
    expect(results.reduce((a, r) => a + r.stats.confChanges, 0)).toBeGreaterThan(100);
    expect(results.reduce((a, r) => a + r.stats.jointConfigs, 0)).toBeGreaterThan(0);
  });

  it('keeps leader completeness under Figure 8 pressure (small appends, one in flight, constant churn)', () => {
    // One entry per MsgApp and one MsgApp in flight make a leader replicate entries of earlier terms
    // one at a time, while partitions and crashes change leaders constantly. With the Figure 8 rule
    // broken in the core (an entry of an earlier term committed by counting replicas), seeds 92, 154
    // and 194 of this configuration report leader-completeness violations; the real core passes.
    const params: Partial<SimParams> = {
      nodeCount: 3,
      maxDown: 1,
      preVote: false,
      checkQuorum: false,
      electionTick: 5,
      heartbeatTick: 1,
      partitionRate: 0.5,
      crashRate: 0.2,
      restartMaxMs: 100,
      faultIntervalMs: 25,
      clients: 6,
      readRatio: 0.1,
      dropRate: 0.05,
      maxDelayMs: 20,
      fsyncMaxMs: 3,
      maxSizePerMsgBytes: 200,
      maxInflightMsgs: 1,
      compactEvery: 0,
      confChangeRate: 0,
      transferRate: 0,
    };
    const results = [92, 154, 194, ...Array.from({ length: 12 }, (_, i) => 300 + i)].map((seed) =>
      runSeed({ seed, steps: 5000, params }),
    );
    expect(failures(results)).toEqual([]);
  });

  it('keeps reads linearizable when deposed leaders are cut off (read-heavy, one key, partitions)', () => {
    // With ReadIndex answered at once instead of after a heartbeat round (a deposed leader can then
    // serve stale reads), seeds 14 and 34 of this configuration are not linearizable; the real core passes.
    const params: Partial<SimParams> = {
      readRatio: 0.6,
      keys: 1,
      partitionRate: 0.3,
      preVote: false,
      checkQuorum: false,
    };
    const results = [14, 34, 35, 36, 37, 38].map((seed) => runSeed({ seed, steps: 4000, params }));
    expect(failures(results)).toEqual([]);
    expect(results.every((r) => r.stats.linearizability === 'ok')).toBe(true);
  });

  it('lets nodes with an empty disk join (learner, then voter) and catch up from snapshots', () => {
    const results = sweep(800, 819, 4000, {
      confChangeRate: 0.3,
      spares: 2,
      preVote: true,
      compactEvery: 10,
    });
    expect(failures(results)).toEqual([]);
    expect(results.reduce((a, r) => a + r.stats.sparesJoined, 0)).toBeGreaterThan(10);
    expect(results.reduce((a, r) => a + r.stats.snapshotsApplied, 0)).toBeGreaterThan(10);
  });

  it('replays a seed exactly', () => {
    const a = runSeed({ seed: 424242, steps: 3000, verbose: true });
    const b = runSeed({ seed: 424242, steps: 3000, verbose: true });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.trace).toEqual(b.trace);
    expect(a.trace.length).toBeGreaterThan(1000);
    // A different seed gives a different run.
    expect(runSeed({ seed: 424243, steps: 3000 }).fingerprint).not.toBe(a.fingerprint);
  });

  it('draws the same parameters for the same seed and different ones across seeds', () => {
    const p1 = runSeed({ seed: 7, steps: 10 }).params;
    expect(runSeed({ seed: 7, steps: 10 }).params).toEqual(p1);
    const distinct = new Set(sweep(1, 30, 10).map((r) => JSON.stringify(r.params)));
    expect(distinct.size).toBe(30);
  });
});

describe('the simulation catches bugs injected into the harness', () => {
  // Each injected bug breaks one rule; some seed in a small range must report the expected violation.
  function firstViolation(
    inject: InjectedBugs,
    params: Partial<SimParams>,
    seeds: number,
    steps: number,
  ): SimResult | undefined {
    for (let seed = 1; seed <= seeds; seed++) {
      const r = runSeed({ seed, steps, params, inject });
      if (!r.ok) return r;
    }
    return undefined;
  }

  it('reads served without ReadIndex are not linearizable', () => {
    const r = firstViolation(
      { staleReads: true },
      { nodeCount: 3, readRatio: 0.6, keys: 1, dropRate: 0.05, partitionRate: 0.3, maxDelayMs: 20 },
      30,
      3000,
    );
    expect(r?.violation?.kind).toBe('not-linearizable');
  });

  it('a storage that forgets the vote lets a node vote twice in one term', () => {
    const r = firstViolation(
      { forgetVote: true },
      {
        nodeCount: 5,
        preVote: false,
        checkQuorum: false,
        electionTick: 5,
        heartbeatTick: 1,
        // Frequent, quick crashes: a node must restart within the term it voted in.
        faultIntervalMs: 10,
        crashRate: 0.1,
        maxDown: 2,
        restartMaxMs: 30,
        duplicateRate: 0.3,
        minDelayMs: 0,
        maxDelayMs: 40,
        partitionRate: 0.02,
      },
      100,
      4000,
    );
    expect(r?.violation?.kind).toBe('double-vote');
  });

  it('sending before the fsync completes breaks safety when nodes crash', () => {
    const r = firstViolation(
      { sendBeforeFsync: true },
      {
        nodeCount: 3,
        preVote: false,
        crashRate: 0.3,
        maxDown: 1,
        fsyncMaxMs: 10,
        tornWrites: false,
        partitionRate: 0.2,
        clients: 5,
      },
      60,
      4000,
    );
    const kind = r?.violation?.kind ?? 'none';
    const message = r?.violation?.message ?? '';
    // Either one of the harness's checks fires, or the core's own check that a leader's commit index
    // never exceeds a follower's log (the acknowledged entries were lost).
    const detected =
      [
        'double-vote',
        'leader-completeness', // a new leader lacks an entry whose acknowledgement was sent unsynced
        'divergent-commit',
        'committed-overwritten',
        'not-linearizable',
        'commit-beyond-log',
        'durability',
      ].includes(kind) ||
      (kind === 'core-exception' && /beyond last index/.test(message));
    expect({ kind, detected }).toEqual({ kind, detected: true });
  });

  it('a disk that loses acknowledged entries breaks leader completeness or the log', () => {
    const r = firstViolation(
      { loseUncommittedTail: true },
      {
        nodeCount: 3,
        crashRate: 0.3,
        maxDown: 1,
        restartMaxMs: 100,
        partitionRate: 0.1,
        clients: 5,
        readRatio: 0.2,
      },
      20,
      4000,
    );
    const kind = r?.violation?.kind ?? 'none';
    const detected =
      ['leader-completeness', 'divergent-commit', 'committed-overwritten', 'not-linearizable'].includes(
        kind,
      ) ||
      (kind === 'core-exception' && /beyond last index/.test(r?.violation?.message ?? ''));
    expect({ kind, detected }).toEqual({ kind, detected: true });
  });
});
