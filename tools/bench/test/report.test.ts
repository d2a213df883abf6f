import {
  ISSUE8_LATENCY_PER_SEC,
  ISSUE9_TARGET_PER_SEC,
  TRANSACTION_SIZES,
  buildPlan,
  caseLabel,
  evaluateTargets,
  failoverStats,
  fellBehind,
  PART_KINDS,
  mergeRuns,
  recordsFor,
  renderReport,
  tlsCases,
  tlsComparison,
} from '../src/index.js';
import type {
  BenchRun,
  FailoverKill,
  FailoverResult,
  LoadResult,
  ScenarioResult,
  SystemId,
} from '../src/index.js';

function load(msgPerSec: number, recordBytes = 1024, p99Ms = 5): LoadResult {
  return {
    ok: true,
    msgs: 1000,
    bytes: 1000 * recordBytes,
    seconds: 1000 / msgPerSec,
    msgPerSec,
    mbPerSec: (msgPerSec * recordBytes) / 1e6,
    p50Ms: 1,
    p99Ms,
    p999Ms: p99Ms * 2,
    maxMs: p99Ms * 3,
    errors: 0,
  };
}

function fixture(overrides: Partial<BenchRun> = {}): BenchRun {
  const s = (
    x: Partial<ScenarioResult> & Pick<ScenarioResult, 'system' | 'client' | 'kind'>,
  ): ScenarioResult => ({ recordBytes: 1024, partitions: 1, acks: 1, records: 1000, ...x });
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    quick: true,
    invocation: 'pnpm --filter @chronik/bench bench --quick',
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryGiB: 24,
      kernel: 'Linux',
      disk: '/dev/vda ext4',
      loadAverageAtStart: [1, 2, 3],
      node: 'v20',
      chronikRevision: 'abc1234',
      tools: { kcat: '1.7.1' },
    },
    loadAverageAtEnd: [4, 5, 6],
    disk: [
      { name: 'sequential write, buffered + fdatasync at end', mbPerSec: 400, command: 'fio a' },
      { name: 'sequential write, O_DIRECT, no fsync', mbPerSec: 800, command: 'fio b' },
    ],
    loopback: { mbPerSec: 2000, command: 'pump' },
    fsyncLatency: { p50Ms: 1.25, p99Ms: 6.5, syncs: 800, command: 'fio --name=fsynclat' },
    deployments: [
      { system: 'chronik-1', available: true, commands: ['node chronik-server standalone'] },
      { system: 'jetstream-r1', available: true, commands: ['nats-server -c n1.conf'] },
      {
        system: 'chronik-3',
        available: false,
        reason: 'raft-cluster mode is not implemented yet',
        commands: ['node chronik-server raft-cluster'],
      },
      { system: 'jetstream-r3', available: true, commands: ['nats-server -c n1.conf'] },
    ],
    scenarios: [
      s({
        system: 'chronik-1',
        client: 'own',
        kind: 'produce',
        result: load(300_000),
        command: '# own generator',
      }),
      s({
        system: 'chronik-1',
        client: 'kcat',
        kind: 'produce',
        result: load(150_000),
        command: 'kcat -P ...',
      }),
      s({
        system: 'jetstream-r1',
        client: 'jsbench',
        kind: 'produce',
        result: load(50_000),
        command: 'jsbench -mode pub',
      }),
      s({
        system: 'chronik-3',
        client: 'own',
        kind: 'produce',
        acks: -1,
        unavailable: 'raft-cluster mode is not implemented yet',
      }),
      s({ system: 'jetstream-r3', client: 'jsbench', kind: 'produce', acks: -1, result: load(20_000) }),
      s({
        system: 'chronik-1',
        client: 'own',
        kind: 'produce',
        partitions: 12,
        acks: -1,
        result: { ...load(90_000), leaderMoves: 2 },
      }),
      s({ system: 'chronik-1', client: 'own', kind: 'consume', result: load(400_000) }),
      s({
        system: 'chronik-1',
        client: 'own',
        kind: 'latency',
        offeredPerSec: 150_000,
        result: { ...load(150_000, 1024, 4), generatorLagP99Ms: 1.25 },
      }),
      s({
        system: 'jetstream-r1',
        client: 'jsbench',
        kind: 'latency',
        offeredPerSec: 150_000,
        result: { ...load(40_000, 1024, 900), ok: false, saturated: true, error: 'above capacity' },
      }),
      s({
        system: 'chronik-1',
        client: 'own',
        kind: 'latency',
        offeredPerSec: 30_000,
        result: load(30_000, 1024, 3),
      }),
      s({
        system: 'jetstream-r1',
        client: 'jsbench',
        kind: 'latency',
        offeredPerSec: 30_000,
        result: load(30_000, 1024, 6),
      }),
    ],
    setupCommands: ['go build ...'],
    notes: [],
    ...overrides,
  };
}

describe('evaluateTargets', () => {
  it('computes each ratio and says met, not met or not available', () => {
    const rows = evaluateTargets(fixture());
    expect(rows.map((r) => [r.ratio, r.status])).toEqual([
      ['3.00×', 'met'], // kcat 150k vs 50k msg/s
      ['38%', 'not met'], // kcat 153.6 MB/s of 400 MB/s
      ['–', 'not available'], // no 3-node cluster
      ['0.50×', 'met'], // 3 ms vs 6 ms at 30k, the highest load both kept up with (JetStream fell behind at 150k)
      ['–', 'not available'], // 3-node latency: no cluster
      ['1.02×', 'met'], // issue 8: kcat 153.6 of 150 MB/s
      ['–', 'not available'], // issue 8 p99: no librdkafka latency run
      ['–', 'not available'], // issue 9 throughput
      ['–', 'not available'], // issue 9 p99
      ['–', 'not available'], // issue 9 failover
    ]);
    expect(rows[2]!.measured).toContain('not available: raft-cluster mode is not implemented yet');
    expect(rows.map((r) => r.target.slice(0, 4))).toEqual([
      '#11:',
      '#11:',
      '#11:',
      '#11:',
      '#11:',
      '#8: ',
      '#8: ',
      '#9: ',
      '#9: ',
      '#9: ',
    ]);
  });

  it('says not met when a ratio falls short, and never counts a failed run', () => {
    const run = fixture();
    run.scenarios[0] = { ...run.scenarios[0]!, result: load(100_000) };
    run.scenarios[1] = { ...run.scenarios[1]!, result: load(90_000) }; // kcat
    const rows = evaluateTargets(run);
    expect(rows[0]!.status).toBe('not met'); // 2×
    expect(rows[1]!.status).toBe('not met'); // 102 MB/s of 400
    run.scenarios[2] = { ...run.scenarios[2]!, result: { ...load(50_000), ok: false, error: 'boom' } };
    expect(evaluateTargets(run)[0]!.status).toBe('not available');
  });

  it('headlines librdkafka (kcat), with the own generator beside it as the broker ceiling', () => {
    const run = fixture();
    const row = evaluateTargets(run)[0]!; // the own generator's 300,000 is ahead of kcat's 150,000
    expect([row.ratio, row.status]).toEqual(['3.00×', 'met']);
    expect(row.measured).toBe(
      '150,000 msg/s (librdkafka (kcat); broker ceiling with the own generator 300,000)',
    );
    const { result: _kcat, ...rest } = run.scenarios[1]!;
    run.scenarios[1] = { ...rest, unavailable: 'kcat not installed' };
    expect(evaluateTargets(run)[0]!.measured).toBe('300,000 msg/s (own generator only: kcat not measured)');
  });

  it('compares latency only at an offered load both systems sustained', () => {
    const run = fixture();
    const i = run.scenarios.findIndex((x) => x.system === 'chronik-1' && x.kind === 'latency');
    run.scenarios[i] = { ...run.scenarios[i]!, result: load(100_000, 1024, 4) }; // 100k of 150k offered
    const k = run.scenarios.findIndex((x) => x.system === 'jetstream-r1' && x.offeredPerSec === 30_000);
    run.scenarios[k] = { ...run.scenarios[k]!, result: { ...load(20_000, 1024, 6), saturated: true } };
    expect(evaluateTargets(run)[3]!).toMatchObject({
      measured: 'no offered load that both systems sustained',
      status: 'not available',
    });
  });
});

describe('renderReport', () => {
  const { markdown, charts } = renderReport(fixture(), 'quick-');

  it('states the machine, the load caveat, the targets and availability', () => {
    expect(markdown).toContain('# Chronik benchmark (quick)');
    expect(markdown).toContain('| CPU | 2 × Test CPU |');
    expect(markdown).toContain('| Chronik source | abc1234 |');
    expect(markdown).toContain('`--quick` regression plan');
    expect(markdown).toContain('load average 1.0, 2.0, 3.0 at the start');
    expect(markdown).toContain(
      '| #11: 1 node, 1 KiB, acks=1: ≥ 3× JetStream R1 msg/s | 150,000 msg/s (librdkafka (kcat); broker ceiling with the own generator 300,000) | 50,000 msg/s | 3.00× | **met** |',
    );
    expect(markdown).toContain(
      '| Chronik, 3 nodes | not available: raft-cluster mode is not implemented yet |',
    );
  });

  it('puts Chronik beside JetStream with the ratio, and the hardware fractions', () => {
    expect(markdown).toMatch(
      // Results from before the rows alternated (one run each, no round, no server usage) still render.
      /\| 1 KiB \| 1 \| 1 \| 300,000 \| 307\.2 \| 1\.00 \/ 5\.00 \/ 10\.0 \| – \| 150,000 \(153\.6 MB\/s\) \| – \| 50,000 \| .* \| 3\.00× \| 6\.00× \|/,
    );
    expect(markdown).toContain('| sequential write, buffered + fdatasync at end | 400.0 | 77% |');
    expect(markdown).toContain(
      '4 KiB write + fdatasync on the same disk: p50 1.25 ms, p99 6.50 ms (800 syncs)',
    );
    expect(markdown).toContain('fio --name=fsynclat');
    expect(markdown).toContain('| 1 KiB | 1 | all | not available |');
    expect(markdown).toContain('| 1 KiB | 12 | all | 90,000 (2 leader moves followed) |');
    expect(markdown).toContain('150,000 | JetStream R1, 1 KiB, 1 p, acks=1 | 40,000 (fell behind)');
    expect(markdown).toContain(
      '| 150,000 | Chronik, 1 node, 1 KiB, 1 p, acks=1 | 150,000 | 1.00 | 4.00 | 8.00 | 12.0 | 1.25 |',
    );
  });

  it('lists every exact command once', () => {
    expect(markdown).toContain('node chronik-server standalone');
    expect(markdown).toContain('kcat -P ...');
    expect(markdown).toContain('go build ...');
    expect(markdown.split('jsbench -mode pub').length).toBe(2);
  });

  it('writes the charts it links', () => {
    expect(charts.map((c) => c.file).sort()).toEqual([
      'quick-latency-vs-load.svg',
      'quick-limits.svg',
      'quick-throughput-1-node.svg',
      'quick-throughput-3-nodes.svg',
    ]);
    for (const c of charts) {
      expect(markdown).toContain(`](${c.file})`);
      expect(c.svg).toContain('<svg');
    }
  });
});

describe('issue 8 targets', () => {
  const withLatency = (p99Linger1: number, achieved = ISSUE8_LATENCY_PER_SEC): BenchRun => {
    const run = fixture();
    const s = (settings: string[], p99: number, msgPerSec: number): ScenarioResult => ({
      system: 'chronik-1',
      client: 'librdkafka',
      kind: 'latency',
      recordBytes: 1024,
      partitions: 1,
      acks: 1,
      records: 1000,
      offeredPerSec: ISSUE8_LATENCY_PER_SEC,
      settings,
      result: { ...load(msgPerSec, 1024, p99), clientCpuSeconds: 0.5 },
    });
    run.scenarios.push(
      s(['linger.ms=1'], p99Linger1, achieved),
      s(['linger.ms=5'], 11, ISSUE8_LATENCY_PER_SEC),
    );
    return run;
  };

  it('judges the p99 of the first (linger.ms=1) run against 10 ms at half of 150 MB/s', () => {
    const met = evaluateTargets(withLatency(8))[6]!;
    expect(met.target).toContain('linger.ms=1');
    expect([met.ratio, met.status]).toEqual(['0.80×', 'met']);
    expect(evaluateTargets(withLatency(12))[6]!.status).toBe('not met');
    const behind = evaluateTargets(withLatency(8, ISSUE8_LATENCY_PER_SEC * 0.5))[6]!;
    expect(behind.status).toBe('not met');
    expect(behind.measured).toContain('fell behind');
  });

  it('renders both runs in their own section', () => {
    const { markdown } = renderReport(withLatency(8));
    expect(markdown).toContain(
      '## Issue 8 latency target: 1 node, 1 KiB, acks=1, librdkafka at 73,242 msg/s',
    );
    expect(markdown).toContain('| linger.ms=1 | 73,242 | 73,242 | 75.0 | 1.00 | 8.00 |');
    expect(markdown).toContain('| linger.ms=5 | 73,242 | 73,242 | 75.0 | 1.00 | 11.0 |');
  });
});

/** The fixture with a working 3-node cluster: own, kcat, librdkafka and failover results. */
function clusterFixture(
  opts: { issue9Max?: number; issue9P99?: number; issue9Achieved?: number; unavailable?: number[] } = {},
): BenchRun {
  const run = fixture();
  const s = (
    x: Partial<ScenarioResult> & Pick<ScenarioResult, 'system' | 'client' | 'kind'>,
  ): ScenarioResult => ({ recordBytes: 1024, partitions: 1, acks: -1, records: 1000, ...x });
  run.deployments[2] = {
    system: 'chronik-3',
    available: true,
    commands: ['node chronik-server raft-cluster'],
  };
  run.scenarios = run.scenarios.filter((x) => x.system !== 'chronik-3');
  run.scenarios.push(
    s({ system: 'chronik-3', client: 'own', kind: 'produce', result: load(80_000) }),
    s({
      system: 'chronik-3',
      client: 'kcat',
      kind: 'produce',
      result: load(70_000),
      command: 'kcat -P -b a,b,c',
    }),
    s({
      system: 'chronik-3',
      client: 'own',
      kind: 'latency',
      offeredPerSec: 40_000,
      result: load(40_000, 1024, 30),
    }),
    s({
      system: 'jetstream-r3',
      client: 'jsbench',
      kind: 'latency',
      offeredPerSec: 40_000,
      result: load(40_000, 1024, 60),
    }),
    s({
      system: 'chronik-3',
      client: 'librdkafka',
      kind: 'produce',
      recordBytes: 256,
      partitions: 3,
      result: load(opts.issue9Max ?? 170_000, 256, 900),
    }),
    s({
      system: 'chronik-3',
      client: 'librdkafka',
      kind: 'latency',
      recordBytes: 256,
      partitions: 3,
      offeredPerSec: ISSUE9_TARGET_PER_SEC,
      result: { ...load(opts.issue9Achieved ?? 164_000, 256, opts.issue9P99 ?? 20), clientCpuSeconds: 1.5 },
    }),
  );
  const kills: FailoverKill[] = (opts.unavailable ?? [1200, 1500, 1900]).map((u, i) => ({
    killedNode: (i % 3) + 1,
    epochBefore: i + 1,
    newLeader: ((i + 1) % 3) + 1,
    unavailableMs: u,
    lastOkBeforeKillMs: 3,
    electedMs: u - 200,
    rejoinedMs: 3000,
    caughtUpMs: 3500 + i,
    inIsrMs: 3600,
    restartToCaughtUpMs: 2000,
  }));
  const failover: FailoverResult = {
    ok: true,
    topic: 't',
    recordBytes: 256,
    recordsPerRequest: 16,
    kills,
    ackedRecords: 5000,
    failedAttempts: { 'connect ECONNREFUSED': 40 },
    otherLeaderMoves: 1,
    otherMaxGapMs: 150,
    steadyLatencyMs: { p50: 4.5, p99: 21, max: 40, n: 900 },
    command: '# failover: kill -9',
  };
  run.failover = failover;
  return run;
}

describe('cluster and issue 9 targets', () => {
  it('compares the 3-node p99 at half load with JetStream R3, and states the issue 9 targets', () => {
    const rows = evaluateTargets(clusterFixture());
    expect(rows.slice(4).map((r) => [r.ratio, r.status])).toEqual([
      ['0.50×', 'met'], // 30 ms vs JetStream R3's 60 ms at 40,000 msg/s (half of 80,000)
      ['1.02×', 'met'], // issue 8 throughput (kcat)
      ['–', 'not available'], // issue 8 p99 (no run in this fixture)
      ['1.03×', 'met'], // 170,000 of 165,000 msg/s
      ['0.40×', 'met'], // p99 20 of 50 ms, 164,000 ≥ 95 % of 165,000 delivered
      ['0.95×', 'met'], // max 1900 of 2000 ms
    ]);
    expect(rows[9]!.measured).toBe('1200 / 1500 / 1900 ms (min / median / max of 3 kills)');
  });

  it('says not met when the rate, the p99, the sustained load or one kill misses', () => {
    expect(evaluateTargets(clusterFixture({ issue9Max: 120_000 }))[7]!.status).toBe('not met');
    expect(evaluateTargets(clusterFixture({ issue9P99: 80 }))[8]!.status).toBe('not met');
    const behind = evaluateTargets(clusterFixture({ issue9Achieved: 100_000 }))[8]!;
    expect(behind.status).toBe('not met');
    expect(behind.measured).toContain('fell behind');
    expect(evaluateTargets(clusterFixture({ unavailable: [900, 2100, 1000] }))[9]!.status).toBe('not met');
  });

  it('counts a kill that never recovered as not met', () => {
    const run = clusterFixture();
    const k = run.failover!.kills[1]!;
    delete k.unavailableMs;
    k.error = 'no successful acks=all produce within 30000 ms of the kill';
    const row = evaluateTargets(run)[9]!;
    expect(row.status).toBe('not met');
    expect(row.measured).toContain('a kill did not recover');
  });

  it('renders the failover, issue 9 and 3-node latency sections', () => {
    const { markdown, charts } = renderReport(clusterFixture());
    expect(markdown).toContain('## Leader failover (issue 9)');
    expect(markdown).toContain('| 1 | 1 | 2 | 3.00 | 1000 | **1200** | 3000 | 3500 | 3600 | 2000 |');
    expect(markdown).toContain('| max |  |  |  | 1700 | **1900** |');
    expect(markdown).toContain('40 × connect ECONNREFUSED');
    expect(markdown).toContain(
      'an acks=all produce took p50 4.50 ms, p99 21.0 ms, max 40.0 ms (900 requests)',
    );
    expect(markdown).toContain('| fixed rate (target load) | 3 | 165,000 | 164,000 |');
    expect(markdown).toContain('1.5 s (');
    expect(markdown).toContain(
      '| 1 KiB | 1 | all | 80,000 | 81.9 | 1.00 / 5.00 / 10.0 | – | 70,000 (71.7 MB/s) |',
    );
    expect(markdown).not.toContain('| 256 B | 3 | all |'); // the librdkafka target runs stay out of the kcat/own table
    expect(markdown).toContain('# failover: kill -9');
    expect(charts.map((c) => c.file)).toContain('latency-vs-load-3-nodes.svg');
  });

  it('says "never left" when the leader had not dropped the killed node from the ISR', () => {
    const run = clusterFixture();
    delete run.failover!.kills[0]!.inIsrMs;
    expect(renderReport(run).markdown).toContain(
      '| 1 | 1 | 2 | 3.00 | 1000 | **1200** | 3000 | 3500 | never left | 2000 |',
    );
    run.failover!.kills[0]!.leftIsrMs = 3100;
    expect(renderReport(run).markdown).toContain(
      '| 1 | 1 | 2 | 3.00 | 1000 | **1200** | 3000 | 3500 | – | 2000 |',
    );
  });

  it('failoverStats gives min, median and max of the kills that have the value', () => {
    const kills: FailoverKill[] = [
      { killedNode: 1, epochBefore: 1, unavailableMs: 1300 },
      { killedNode: 2, epochBefore: 2 },
      { killedNode: 3, epochBefore: 3, unavailableMs: 1700 },
      { killedNode: 1, epochBefore: 4, unavailableMs: 1400 },
    ];
    expect(failoverStats(kills, 'unavailableMs')).toEqual({ min: 1300, median: 1400, max: 1700, n: 3 });
    expect(failoverStats(kills, 'caughtUpMs')).toBeUndefined();
  });
});

describe('plan', () => {
  it('quick plan keeps to the headline scenarios', () => {
    const p = buildPlan(true);
    expect(p.produce.map(caseLabel)).toEqual([
      '1 KiB, 1 p, acks=1',
      '1 KiB, 1 p, acks=all',
      '1 KiB, 12 p, acks=1',
    ]);
    expect(p.clusterProduce.map(caseLabel)).toEqual(['1 KiB, 1 p, acks=all']);
    expect(p.latencyFractions).toEqual([0.1, 0.5]);
    expect(p.clusterLatencyFractions).toEqual([0.1, 0.5]);
    expect(p.clusterKcat.map(caseLabel)).toEqual(['1 KiB, 1 p, acks=all']);
    expect(caseLabel(p.issue9.max)).toBe('256 B, 3 p, acks=all');
    expect(p.issue9.targetPerSec).toBe(165_000);
    expect(p.failoverKills).toBe(2);
    expect(p.produce[0]).toBe(p.longLog);
  });
  it('full plan covers every size, partition count and acks, with the same counts for JetStream', () => {
    const p = buildPlan(false);
    expect(p.produce).toHaveLength(12);
    expect(new Set(p.produce.map((c) => c.recordBytes))).toEqual(new Set([256, 1024, 16384]));
    for (const j of p.jetstreamR1) {
      const c = p.produce.find(
        (x) => x.recordBytes === j.recordBytes && x.partitions === j.partitions && x.acks === 1,
      )!;
      expect(j.records).toBe(c.records);
    }
    expect(p.latencyFractions).toContain(0.5);
    expect(p.clusterLatencyFractions).toContain(0.5);
    expect(p.failoverKills).toBe(5);
    expect(
      p.clusterKcat.every((c) =>
        p.produce.some(
          (x) => x.recordBytes === c.recordBytes && x.partitions === c.partitions && x.records === c.records,
        ),
      ),
    ).toBe(true);
  });
  it('pairs transactions of 10, 100 and 1,000 records each with an idempotent run just before', () => {
    for (const quick of [true, false]) {
      const p = buildPlan(quick);
      expect(p.transactions.map((c) => `${c.producer} ${c.recordsPerTransaction}`)).toEqual([
        'idempotent 10',
        'transactional 10',
        'idempotent 100',
        'transactional 100',
        'idempotent 1000',
        'transactional 1000',
      ]);
      const reference = p.transactions[0]!;
      expect(caseLabel(reference)).toBe(
        '1 KiB, 1 p, acks=all, idempotent (reference for 10 per transaction)',
      );
      expect(caseLabel(p.transactions[3]!)).toBe('1 KiB, 1 p, acks=all, 100 per transaction');
      for (const c of p.transactions) {
        expect([c.recordBytes, c.partitions, c.acks]).toEqual([1024, 1, -1]);
        if (c.producer === 'idempotent') {
          expect(c.records).toBe(reference.records);
          continue;
        }
        expect(c.records % c.recordsPerTransaction).toBe(0); // whole transactions
        expect(c.records).toBeLessThanOrEqual(reference.records);
        expect(c.records / c.recordsPerTransaction).toBeLessThanOrEqual(quick ? 150 : 500);
      }
      expect(p.transactionWarmup).toMatchObject({ producer: 'transactional', recordsPerTransaction: 100 });
    }
    expect(TRANSACTION_SIZES).toEqual([10, 100, 1000]);
    expect(buildPlan(true).transactions[1]!.records).toBe(1500); // 150 transactions of 10
    expect(buildPlan(true).transactions[5]!.records).toBe(49_000); // 49 whole transactions of 1,000
    expect(buildPlan(true, 0.01).transactions[1]!.records).toBe(200); // never under 20 transactions
  });

  it('scales counts, never below 1000 records', () => {
    expect(buildPlan(true, 2).produce[1]!.records).toBe(2 * buildPlan(true).produce[1]!.records);
    expect(recordsFor(10, 1024)).toBe(1000);
    expect(() => buildPlan(true, 0)).toThrow(RangeError);
  });
});

describe('fellBehind', () => {
  it('flags fixed-rate runs that delivered under 90% of the offered load or were saturated', () => {
    const base = {
      system: 'chronik-1' as const,
      client: 'own' as const,
      kind: 'latency' as const,
      recordBytes: 1024,
      partitions: 1,
      acks: 1 as const,
      records: 1,
    };
    expect(fellBehind({ ...base, offeredPerSec: 1000, result: load(950) })).toBe(false);
    expect(fellBehind({ ...base, offeredPerSec: 1000, result: load(850) })).toBe(true);
    expect(fellBehind({ ...base, offeredPerSec: 1000, result: { ...load(1000), saturated: true } })).toBe(
      true,
    );
    expect(fellBehind({ ...base, result: load(10) })).toBe(false);
  });
});

/** Transactional comparison pairs on `system`: an idempotent run at `reference[i]` msg/s, then 10 / 100 / 1000 at `rates[i]`. */
function transactionRuns(system: SystemId, reference: number[], rates: number[]): ScenarioResult[] {
  const base = {
    system,
    client: 'librdkafka' as const,
    kind: 'transactions' as const,
    recordBytes: 1024,
    partitions: 1,
    acks: -1 as const,
    records: 100_000,
  };
  const result = (msgPerSec: number): LoadResult => ({
    ...load(msgPerSec),
    msgs: 100_000,
    bytes: 102_400_000,
  });
  return rates.flatMap((r, i) => {
    const n = [10, 100, 1000][i]!;
    return [
      {
        ...base,
        producer: 'idempotent' as const,
        recordsPerTransaction: n,
        result: { ...result(reference[i]!), clientCpuSeconds: 2.048, brokerCpuSeconds: 1.024 },
        command: `rdkafka-produce -X enable.idempotence=true # ${n}`,
      },
      {
        ...base,
        producer: 'transactional' as const,
        recordsPerTransaction: n,
        result: {
          ...result(r),
          clientCpuSeconds: 1.024,
          brokerCpuSeconds: 10.24,
          transactions: { count: 100_000 / n, p50Ms: 5, p99Ms: 15.5, maxMs: 40 },
        },
        command: `rdkafka-produce --transaction-records ${n}`,
      },
    ];
  });
}

describe('transactional produce section', () => {
  it('puts each transactional run beside the idempotent run just before it, with CPU per MB', () => {
    const run = fixture();
    run.scenarios.push(
      ...transactionRuns('chronik-1', [100_000, 110_000, 100_000], [2_000, 22_000, 80_000]),
      ...transactionRuns('chronik-3', [50_000, 50_000, 50_000], [500, 5_000, 25_000]),
    );
    const failed = run.scenarios.length - 3; // 3 nodes, 100 per transaction
    run.scenarios[failed] = {
      ...run.scenarios[failed]!,
      result: { ...load(1), ok: false, error: 'commit_transaction: timed out' },
    };
    const { markdown } = renderReport(run);
    expect(markdown).toContain(
      '## Transactional produce beside the idempotent producer (1 KiB, 1 p, acks=all, librdkafka)',
    );
    expect(markdown).toContain(
      '| Chronik, 1 node | 10 | 10,000 | 2,000 | 2.0 | 100,000 | 2.0 % | 5.00 / 15.5 / 40.0 | 10.0 / 20.0 | 100 / 10.0 |',
    );
    expect(markdown).toContain('| Chronik, 1 node | 100 | 1,000 | 22,000 | 22.5 | 110,000 | 20 % |');
    expect(markdown).toContain('| Chronik, 1 node | 1,000 | 100 | 80,000 | 81.9 | 100,000 | 80 % |');
    expect(markdown).toContain('| Chronik, 3 nodes | 10 | 10,000 | 500 | 0.5 | 50,000 | 1.0 % |');
    expect(markdown).toContain(
      '| Chronik, 3 nodes | 100 | – | failed (commit_transaction: timed out) | failed | 50,000 | – | – | – / 20.0 | – / 10.0 |',
    );
    expect(markdown).toContain('no peer column');
    expect(markdown).toContain('rdkafka-produce --transaction-records 1000');
    expect(markdown).toContain('rdkafka-produce -X enable.idempotence=true # 1000');
    expect(markdown).not.toContain('| max | 1 | as fast as possible'); // not in the issue 9 section
  });

  it('keeps the transactional runs out of the issue 9 section', () => {
    const run = clusterFixture();
    run.scenarios.push(...transactionRuns('chronik-3', [50_000, 50_000, 50_000], [500, 5_000, 25_000]));
    const { markdown } = renderReport(run);
    expect(markdown).toContain('| fixed rate (target load) | 3 | 165,000 | 164,000 |');
    expect(markdown).not.toContain('| max | 1 |');
    expect(evaluateTargets(run)[7]!.measured).toBe('170,000 msg/s (max run)');
  });

  it('says why it was not measured', () => {
    expect(renderReport(fixture()).markdown).toContain(
      'Transactional produce beside the idempotent producer (librdkafka)\n\n_Not measured._',
    );
    const run = fixture({ librdkafkaUnavailable: 'no C compiler' });
    expect(renderReport(run).markdown).toContain('_Not measured: no C compiler._');
  });
});

describe('mergeRuns', () => {
  const later = (rate: number): BenchRun =>
    fixture({
      startedAt: '2026-02-01T00:00:00.000Z',
      finishedAt: '2026-02-01T00:02:00.000Z',
      invocation: 'pnpm --filter @chronik/bench bench --quick --only transactions',
      only: ['transactions'],
      machine: { ...fixture().machine, chronikRevision: 'def5678', tools: { 'librdkafka driver': 'C' } },
      deployments: [{ system: 'chronik-1', available: true, commands: ['node chronik-server --later'] }],
      scenarios: transactionRuns('chronik-1', [100_000, 100_000, 100_000], [rate, 20_000, 80_000]),
    });

  it("replaces the part's rows, keeps every other one and says when the merged rows were measured", () => {
    const base = fixture();
    base.scenarios.push(...transactionRuns('chronik-1', [90_000, 90_000, 90_000], [1_000, 10_000, 50_000]));
    const merged = mergeRuns(base, later(3_000));
    expect(merged.scenarios.filter((s) => s.kind !== 'transactions')).toEqual(
      fixture().scenarios.filter((s) => s.kind !== 'transactions'),
    );
    expect(merged.scenarios.filter((s) => s.kind === 'transactions').map((s) => s.result?.msgPerSec)).toEqual(
      [100_000, 3_000, 100_000, 20_000, 100_000, 80_000],
    );
    expect(merged.startedAt).toBe(base.startedAt);
    expect(merged.invocation).toBe(base.invocation);
    expect(merged.machine.tools).toEqual({ kcat: '1.7.1', 'librdkafka driver': 'C' });
    expect(merged.merged).toHaveLength(1);
    const { markdown } = renderReport(merged);
    expect(markdown).toContain('(except the sections merged from later runs, listed below)');
    expect(markdown).toContain(
      '**Merged from a later run:** transactional produce — measured 2026-02-01T00:00:00.000Z → 2026-02-01T00:02:00.000Z with `pnpm --filter @chronik/bench bench --quick --only transactions` on Chronik source def5678',
    );
    expect(markdown).toContain('| Chronik, 1 node | 10 | 10,000 | 3,000 |');
    expect(markdown).not.toContain('another machine');
    expect(markdown).toContain('node chronik-server --later');
    expect(markdown).toContain('node chronik-server standalone');
  });

  it('says when the merged rows were measured on another machine', () => {
    const elsewhere = later(3_000);
    elsewhere.machine = { ...elsewhere.machine, cpuModel: 'Other CPU' };
    expect(renderReport(mergeRuns(fixture(), elsewhere)).markdown).toContain(
      'It ran on another machine than the rest of this report (2 × Other CPU, Linux, Node.js v20; the rest: 2 × Test CPU, Linux, Node.js v20)',
    );
  });

  it('lets a later merge of the same part supersede the earlier one', () => {
    const twice = mergeRuns(mergeRuns(fixture(), later(3_000)), later(4_000));
    expect(twice.merged).toHaveLength(1);
    expect(twice.merged![0]!.parts).toEqual(['transactions']);
    expect(twice.scenarios.filter((s) => s.kind === 'transactions')).toHaveLength(6);
    expect(renderReport(twice).markdown).toContain('| Chronik, 1 node | 10 | 10,000 | 4,000 |');
  });

  it('merges only a run of some parts', () => {
    expect(() => mergeRuns(fixture(), fixture())).toThrow(/--only/);
  });
});

describe('TLS produce beside plaintext', () => {
  /** Alternated runs as the plan orders them: per round, acks=all then acks=1, P S then S P. */
  function tlsRuns(rates: Record<string, number[]>): ScenarioResult[] {
    return tlsCases({ recordBytes: 1024, partitions: 1, records: 1000 }, 2).map((c) => {
      const rate = rates[`${c.acks}-${c.security}`]![c.round]!;
      return {
        system: 'chronik-1',
        client: 'librdkafka',
        kind: 'tls',
        ...c,
        ...(c.security === 'ssl' ? { settings: ['security.protocol=ssl'] } : {}),
        result: {
          ...load(rate),
          clientCpuSeconds: 0.01,
          brokerCpuSeconds: c.security === 'ssl' ? 0.03 : 0.02,
        },
        command: `rdkafka-produce --acks ${c.acks === -1 ? 'all' : '1'} # ${c.security} ${c.round}`,
      };
    });
  }

  it('plans alternated PLAINTEXT and SSL runs per acks mode, the order swapped every round', () => {
    const quick = buildPlan(true).tls;
    expect(quick.map((c) => `${c.round}:${c.acks}:${c.security}`)).toEqual([
      '0:-1:plaintext',
      '0:-1:ssl',
      '0:1:plaintext',
      '0:1:ssl',
      '1:-1:ssl',
      '1:-1:plaintext',
      '1:1:ssl',
      '1:1:plaintext',
    ]);
    expect(quick.every((c) => c.recordBytes === 1024 && c.partitions === 1)).toBe(true);
    expect(quick[0]!.records).toBe(recordsFor(64 * 1024 * 1024, 1024));
    const full = buildPlan(false).tls;
    expect(full).toHaveLength(12);
    expect(full[0]!.records).toBe(recordsFor(256 * 1024 * 1024, 1024));
    expect(buildPlan(false, 0.25).tls[0]!.records).toBe(recordsFor(64 * 1024 * 1024, 1024));
    expect(caseLabel(full[1]!)).toBe('1 KiB, 1 p, acks=all, SSL');
  });

  it('gives each listener its medians and the ratio, per pair too', () => {
    const run = fixture();
    run.scenarios.push(
      ...tlsRuns({
        '-1-plaintext': [100_000, 120_000],
        '-1-ssl': [80_000, 84_000],
        '1-plaintext': [200_000, 200_000],
        '1-ssl': [150_000, 130_000],
      }),
    );
    const rows = tlsComparison(run);
    expect(rows.map((r) => r.acks)).toEqual([-1, 1]);
    expect(rows[0]!.plaintext.medianMsgPerSec).toBe(110_000);
    expect(rows[0]!.ssl.medianMsgPerSec).toBe(82_000);
    expect(rows[0]!.ratio).toBeCloseTo(82 / 110);
    expect(rows[0]!.roundRatios.map((r) => Number(r.toFixed(2)))).toEqual([0.8, 0.7]);
    expect(rows[1]!.ratio).toBeCloseTo(0.7);
    // 1,000 records of 1 KiB = 1.024 MB: 20 and 30 ms of broker CPU.
    expect(rows[0]!.plaintext.brokerCpuMsPerMb).toBeCloseTo(20 / 1.024);
    expect(rows[0]!.ssl.brokerCpuMsPerMb).toBeCloseTo(30 / 1.024);
    const { markdown } = renderReport(run);
    expect(markdown).toContain('## TLS produce beside plaintext (1 KiB, 1 p, librdkafka)');
    expect(markdown).toContain(
      '| acks=all | PLAINTEXT | 100,000, 120,000 | 110,000 | 112.6 | 9.77 | 19.5 |  |',
    );
    expect(markdown).toContain(
      '| acks=all | SSL | 80,000, 84,000 | 82,000 | 84.0 | 9.77 | 29.3 | **75 %** (per pair 80 %, 70 %) |',
    );
    expect(markdown).toContain('| acks=1 | SSL | 150,000, 130,000 | 140,000 |');
    expect(markdown).toContain('no peer column');
    expect(markdown).toContain('rdkafka-produce --acks all # ssl 1');
  });

  it('never counts a failed run, and says why the section was not measured', () => {
    const run = fixture();
    const runs = tlsRuns({
      '-1-plaintext': [100_000, 120_000],
      '-1-ssl': [80_000, 84_000],
      '1-plaintext': [200_000, 200_000],
      '1-ssl': [150_000, 130_000],
    });
    const i = runs.findIndex((s) => s.acks === -1 && s.security === 'ssl' && s.round === 1);
    runs[i] = { ...runs[i]!, result: { ...load(1), ok: false, error: 'SSL handshake failed' } };
    run.scenarios.push(...runs);
    const row = tlsComparison(run)[0]!;
    expect(row.ssl).toMatchObject({ runs: 2, ok: 1, medianMsgPerSec: 80_000 });
    expect(row.roundRatios).toHaveLength(1);
    expect(renderReport(run).markdown).toContain('| acks=all | SSL | 80,000 (1 failed) | 80,000 |');

    expect(renderReport(fixture()).markdown).toContain(
      '## TLS produce beside plaintext (librdkafka)\n\n_Not measured._',
    );
    const off = fixture();
    off.scenarios.push(
      ...tlsRuns({ '-1-plaintext': [1, 1], '-1-ssl': [1, 1], '1-plaintext': [1, 1], '1-ssl': [1, 1] }).map(
        ({ result: _r, ...s }) => ({ ...s, unavailable: 'chronik certs create failed' }),
      ),
    );
    expect(renderReport(off).markdown).toContain('_Not available: chronik certs create failed._');
  });

  it('merges a --only tls run without touching the other rows, the transactional ones included', () => {
    const base = fixture();
    base.scenarios.push(...transactionRuns('chronik-1', [90_000, 90_000, 90_000], [1_000, 10_000, 50_000]));
    base.scenarios.push(
      ...tlsRuns({ '-1-plaintext': [1, 1], '-1-ssl': [1, 1], '1-plaintext': [1, 1], '1-ssl': [1, 1] }),
    );
    const part = fixture({
      startedAt: '2026-03-01T00:00:00.000Z',
      invocation: 'pnpm --filter @chronik/bench bench --only tls',
      only: ['tls'],
      deployments: [
        {
          system: 'chronik-1',
          variant: 'PLAINTEXT and SSL listeners',
          available: true,
          commands: ['node chronik-server --listeners PLAINTEXT://127.0.0.1:1,SSL://127.0.0.1:2'],
        },
      ],
      scenarios: tlsRuns({
        '-1-plaintext': [100_000, 100_000],
        '-1-ssl': [90_000, 90_000],
        '1-plaintext': [100_000, 100_000],
        '1-ssl': [50_000, 50_000],
      }),
    });
    const merged = mergeRuns(base, part);
    expect(merged.scenarios.filter((s) => s.kind !== 'tls')).toEqual(
      base.scenarios.filter((s) => s.kind !== 'tls'),
    );
    expect(merged.scenarios.filter((s) => s.kind === 'tls')).toEqual(part.scenarios);
    expect(merged.merged![0]!.kinds).toEqual(['tls']);
    expect(tlsComparison(merged).map((r) => r.ratio)).toEqual([0.9, 0.5]);
    const { markdown } = renderReport(merged);
    expect(markdown).toContain(
      '**Merged from a later run:** TLS produce beside plaintext — measured 2026-03-01',
    );
    expect(markdown).toContain(
      '# Chronik, 1 node (PLAINTEXT and SSL listeners)\nnode chronik-server --listeners',
    );
    expect(PART_KINDS.tls).toEqual(['tls']);
  });
});
