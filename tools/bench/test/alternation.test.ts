// The alternated Chronik/JetStream throughput rows: the plan's schedule, the report's medians,
// ranges and ratios, the server CPU per MB and peak RSS, and the meter that reads them from /proc.
import {
  BenchError,
  DEFAULT_PAIRS,
  QUICK_PAIRS,
  ServerMeter,
  buildPlan,
  findMedian,
  pairRatios,
  parseArgs,
  renderReport,
  runsSide,
  throughputRounds,
  throughputSchedule,
} from '../src/index.js';
import type { BenchRun, LoadResult, ProduceCase, ScenarioResult, ThroughputStep } from '../src/index.js';

const c = (recordBytes: number, partitions: number, acks: 1 | -1): ProduceCase => ({
  recordBytes,
  partitions,
  acks,
  records: 1000,
});

/** "C0 J0 J1 C1": the side and round of each step. */
const order = (steps: ThroughputStep[], row: number): string =>
  steps
    .filter((s) => s.row === row)
    .map((s) => `${s.side === 'chronik' ? 'C' : 'J'}${s.round}`)
    .join(' ');

describe('throughputSchedule', () => {
  it('alternates each row back to back, the order swapped every round', () => {
    const steps = throughputSchedule(
      [
        { client: 'own', case: c(1024, 1, 1) },
        { client: 'own', case: c(1024, 1, -1) },
        { client: 'own', case: c(1024, 12, 1) },
        { client: 'kcat', case: c(1024, 1, 1) },
      ],
      [c(1024, 1, 1), c(1024, 12, 1)],
      3,
    );
    expect(order(steps, 0)).toBe('C0 J0 J1 C1 C2 J2');
    expect(order(steps, 1)).toBe('C0 J0 J1 C1 C2 J2');
    // A row's steps are contiguous: row 1 starts after row 0 ends.
    expect(steps.map((s) => s.row)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    // Chronik's side of a row holds every run of the row (both clients, every acks mode).
    const first = steps[0]!;
    expect(first.side === 'chronik' && first.cases.map((x) => `${x.client} ${x.case.acks}`)).toEqual([
      'own 1',
      'own -1',
      'kcat 1',
    ]);
    expect(steps.filter((s) => s.last).map((s) => `${s.side} ${s.row}`)).toEqual([
      'chronik 0',
      'jetstream 0',
      'chronik 1',
      'jetstream 1',
    ]);
  });

  it('still runs a row that only one system has, every round', () => {
    const steps = throughputSchedule([{ client: 'kcat', case: c(256, 1, -1) }], [c(16384, 1, 1)], 2);
    expect(order(steps, 0)).toBe('C0 C1');
    expect(order(steps, 1)).toBe('J0 J1');
    expect(throughputSchedule([], [c(1024, 1, 1)], 3).map((s) => s.round)).toEqual([0, 1, 2]);
  });

  it('plans 3 pairs by default, 2 with --quick, or what --pairs says', () => {
    expect(DEFAULT_PAIRS).toBeGreaterThanOrEqual(3);
    expect(buildPlan(false).pairs).toBe(DEFAULT_PAIRS);
    expect(buildPlan(true).pairs).toBe(QUICK_PAIRS);
    expect(buildPlan(true, 1, 5).pairs).toBe(5);
    expect(() => buildPlan(false, 1, 0)).toThrow(RangeError);
    const parsed = parseArgs(['--pairs', '4']);
    expect(parsed.kind === 'run' && parsed.options.pairs).toBe(4);
    expect(() => parseArgs(['--pairs', '0'])).toThrow(BenchError);
    expect(() => parseArgs(['--pairs', '1.5'])).toThrow(BenchError);
  });
});

function load(msgPerSec: number, extra: Partial<LoadResult> = {}): LoadResult {
  return {
    ok: true,
    msgs: 1000,
    bytes: 1_000_000, // 1 MB
    seconds: 1000 / msgPerSec,
    msgPerSec,
    mbPerSec: msgPerSec / 1000,
    p50Ms: 1,
    p99Ms: 5,
    p999Ms: 10,
    errors: 0,
    ...extra,
  };
}

const MiB = 2 ** 20;

function run(scenarios: ScenarioResult[], quick = false): BenchRun {
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    quick,
    invocation: 'chronik-bench',
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryGiB: 24,
      kernel: 'Linux',
      disk: 'vda',
      loadAverageAtStart: [1, 1, 1],
      node: 'v20',
      chronikRevision: 'abc1234',
      tools: {},
    },
    loadAverageAtEnd: [1, 1, 1],
    disk: [],
    deployments: [],
    scenarios,
    setupCommands: [],
    notes: [],
  };
}

/** Three rounds of the 1 KiB, 1 partition, acks=1 row on a single node beside JetStream R1. */
function alternated(): ScenarioResult[] {
  const row = { recordBytes: 1024, partitions: 1, acks: 1 as const, records: 1000, kind: 'produce' as const };
  const kcat = [300_000, 200_000, 250_000];
  const own = [600_000, 500_000, 700_000];
  const js = [50_000, 100_000, 60_000];
  const out: ScenarioResult[] = [];
  for (let round = 0; round < 3; round++) {
    out.push(
      {
        ...row,
        system: 'chronik-1',
        client: 'own',
        round,
        result: load(own[round]!, {
          brokerCpuSeconds: 0.01 * (round + 1),
          brokerPeakRssBytes: (200 + round) * MiB,
        }),
      },
      {
        ...row,
        system: 'chronik-1',
        client: 'kcat',
        round,
        result: load(kcat[round]!, { brokerCpuSeconds: 0.02, brokerPeakRssBytes: 250 * MiB }),
      },
      {
        ...row,
        system: 'jetstream-r1',
        client: 'jsbench',
        round,
        result: load(js[round]!, { brokerCpuSeconds: 0.05, brokerPeakRssBytes: 30 * MiB }),
      },
    );
  }
  return out;
}

describe('alternated throughput rows in the report', () => {
  it('gives each side its median and range, the ratio of medians and each pair’s ratio', () => {
    const r = run(alternated());
    const kcat = r.scenarios.filter((s) => s.client === 'kcat');
    const js = r.scenarios.filter((s) => s.system === 'jetstream-r1');
    expect(runsSide(kcat).medianMsgPerSec).toBe(250_000);
    expect(pairRatios(kcat, js)).toEqual([6, 2, 250_000 / 60_000]);
    expect(
      findMedian(r, { system: 'jetstream-r1', kind: 'produce', recordBytes: 1024, partitions: 1 })?.result
        ?.msgPerSec,
    ).toBe(60_000);
    expect(throughputRounds(r, 'chronik-1', 'jetstream-r1')).toBe(3);
    const { markdown } = renderReport(r);
    expect(markdown).toContain(
      '| 1 KiB | 1 | 1 | 600,000 (500,000–700,000) | 600.0 | 1.00 / 5.00 / 10.0 | 20.0 ms/MB, 202 MiB | 250,000 (200,000–300,000) (250.0 MB/s) | 20.0 ms/MB, 250 MiB | 60,000 (50,000–100,000) | 1.00 / 5.00 / 10.0 | 50.0 ms/MB, 30 MiB | 4.17× (per pair 6.00×, 2.00×, 4.17×) | 10.00× (per pair 12.00×, 5.00×, 11.67×) |',
    );
    expect(markdown).toContain(
      'Each row ran 3 times on each system, Chronik and JetStream R1 alternating back to back',
    );
    // The headline target uses the medians: kcat 250,000 against JetStream's 60,000.
    expect(markdown).toContain(
      '| 250,000 msg/s (librdkafka (kcat); broker ceiling with the own generator 600,000) | 60,000 msg/s | 4.17× | **met** |',
    );
  });

  it('never counts a failed run, and names it', () => {
    const scenarios = alternated();
    scenarios[2] = { ...scenarios[2]!, result: { ...load(1), ok: false, error: 'stream setup failed' } };
    const { markdown } = renderReport(run(scenarios));
    expect(markdown).toContain('| 80,000 (60,000–100,000) (1 failed) |');
    // Round 0 has no JetStream number, so no ratio for that pair.
    expect(markdown).toContain('(per pair 2.00×, 4.17×)');
  });

  it('says when --quick ran fewer pairs, and when the results predate alternation', () => {
    const two = alternated().filter((s) => (s.round ?? 0) < 2);
    expect(renderReport(run(two, true)).markdown).toContain(
      'Each row ran 2 times on each system (`--quick`: 2 pairs; the full plan runs 3)',
    );
    const old = alternated()
      .filter((s) => s.round === 0)
      .map(({ round: _round, result, ...s }): ScenarioResult => {
        const { brokerCpuSeconds: _cpu, brokerPeakRssBytes: _rss, ...before } = result!;
        return { ...s, result: before };
      });
    const { markdown } = renderReport(run(old));
    expect(markdown).toContain(
      'Each system ran each row once (these results are from before the rows alternated',
    );
    expect(markdown).toContain(
      '| 1 KiB | 1 | 1 | 600,000 | 600.0 | 1.00 / 5.00 / 10.0 | – | 300,000 (300.0 MB/s) | – | 50,000 |',
    );
  });

  it('puts the server CPU per MB and peak RSS on the latency and consume rows', () => {
    const row = { recordBytes: 1024, partitions: 1, acks: 1 as const, records: 1000 };
    const { markdown } = renderReport(
      run([
        {
          ...row,
          system: 'chronik-1',
          client: 'own',
          kind: 'latency',
          offeredPerSec: 1000,
          result: load(1000, { brokerCpuSeconds: 0.5, brokerPeakRssBytes: 300 * MiB }),
        },
        {
          ...row,
          system: 'jetstream-r1',
          client: 'jsbench',
          kind: 'consume',
          result: load(1000, { brokerCpuSeconds: 0.25, brokerPeakRssBytes: 40 * MiB }),
        },
      ]),
    );
    expect(markdown).toMatch(
      /\| 1,000 \| Chronik, 1 node, 1 KiB, 1 p, acks=1 \| 1,000 \|.*\| 500 \| 300 MiB \|/,
    );
    expect(markdown).toMatch(/\| JetStream R1 \|.*\| 250 \| 40 MiB \|/);
  });
});

describe('ServerMeter', () => {
  it('reads a process’s CPU time and peak RSS from /proc', async () => {
    const m = ServerMeter.start([process.pid], 10);
    const until = Date.now() + 30;
    while (Date.now() < until) Math.sqrt(Math.random()); // some CPU time
    await new Promise((r) => setTimeout(r, 25));
    const u = m.stop();
    expect(u.cpuSeconds).toBeGreaterThanOrEqual(0);
    expect(u.peakRssBytes).toBeGreaterThan(1024 * 1024);
    // A process that is gone gives no numbers rather than wrong ones.
    expect(ServerMeter.start([2 ** 22 + 12345]).stop()).toEqual({
      cpuSeconds: undefined,
      peakRssBytes: undefined,
    });
  });
});
