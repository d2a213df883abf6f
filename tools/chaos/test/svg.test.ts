import type { Op } from '../src/history.js';
import { reportMarkdown, summaryMarkdown } from '../src/report.js';
import type { RunReport } from '../src/report.js';
import { chartSvg, runChartSvg, seriesOf } from '../src/svg.js';

const ops: Op[] = [
  {
    f: 'send',
    process: 'wa',
    topic: 't',
    partition: 0,
    value: 'wa-0',
    acks: 'all',
    idempotent: false,
    invokeMs: 100,
    completeMs: 200,
    outcome: 'ok',
    offset: 0,
  },
  {
    f: 'send',
    process: 'wa',
    topic: 't',
    partition: 0,
    value: 'wa-1',
    acks: 'all',
    idempotent: false,
    invokeMs: 1100,
    completeMs: 1200,
    outcome: 'info',
  },
  {
    f: 'poll',
    process: 'c1',
    topic: 't',
    partition: 0,
    offsets: [0],
    values: ['wa-0'],
    invokeMs: 2100,
    completeMs: 2100,
    outcome: 'ok',
  },
];

test('per-second series and a well-formed chart', () => {
  const s = seriesOf(ops, 't', 3000);
  expect(s.map((x) => x.values)).toEqual([
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  const svg = chartSvg(
    'a <title>',
    [
      { title: 'top', series: s.slice(0, 2) },
      { title: 'bottom', series: s.slice(2) },
    ],
    [{ label: '0:kill', fromMs: 500, toMs: 1500 }],
    3000,
  );
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('a &lt;title&gt;');
  expect(svg).toContain('0:kill');
  expect((svg.match(/<polyline/g) ?? []).length).toBe(3);
  expect(svg).toContain('bottom');
  expect(runChartSvg('t', ops, 't', [], 3000)).toContain('records polled per second');
});

test('markdown report and summary name every check', () => {
  const r: RunReport = {
    seed: 7,
    startedAt: 'now',
    nodes: 3,
    durationMs: 60_000,
    faultKinds: ['kill'],
    topic: 't',
    partitions: 3,
    elapsedMs: 1,
    schedule: [],
    timeline: [
      {
        index: 0,
        kind: 'kill',
        description: 'kill -9 node 2',
        appliedMs: 1000,
        healedMs: 2000,
        unavailabilityMs: 1500,
      },
    ],
    converged: true,
    convergeMs: 10,
    valid: false,
    outDir: '/tmp',
    outcome: {
      checks: [{ name: 'lost-write', safety: true, count: 1, details: ['wa-1 | missing'] }],
      unavailability: [],
      longestUnavailabilityMs: 1500,
      valid: false,
      stats: {
        sends: { 'acks=all': { ok: 5, info: 1, fail: 0 } },
        polls: 1,
        commits: { ok: 1, info: 0 },
        finalRecords: 4,
        churn: { created: 0, deleted: 0, failed: 0 },
        longestPollGapMs: 0,
        longestPollGapAtMs: 0,
      },
    },
  };
  const md = reportMarkdown(r);
  expect(md).toContain('seed 7: INVALID');
  expect(md).toContain('--seed 7');
  expect(md).toContain('| lost-write | yes | 1 | wa-1 / missing |');
  expect(md).toContain('kill -9 node 2');
  const sum = summaryMarkdown([r, { ...r, seed: 8, valid: true }]);
  expect(sum).toContain('1 of 2 valid');
  expect(sum).toContain('| 7 | 3 | **NO** |');
});
