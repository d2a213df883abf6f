// The Grafana dashboard (deploy/grafana/chronik.json) queries only what chronik-server exports:
// every `chronik_*` metric in its expressions is in a running broker's /metrics (histograms through
// their _bucket, _sum and _count series), and every label it groups or filters by is one of that
// metric's labels (or Prometheus' own: instance, job, le).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Broker } from '../src/broker.js';
import { DEFAULT_CONFIG } from '../src/config.js';
import { standaloneMode } from '../src/modes/standalone.js';
import { removeDir } from './helpers/broker.js';
import { tempDir } from './helpers/server.js';

const DASHBOARD = path.resolve(__dirname, '..', '..', '..', 'deploy', 'grafana', 'chronik.json');
/** Series Prometheus makes itself, and labels it adds to every series. */
const PROMETHEUS_SERIES = new Set(['up']);
const PROMETHEUS_LABELS = new Set(['instance', 'job', 'le']);
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

function expressions(): Array<{ panel: string; expr: string }> {
  const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: Array<{ query?: unknown }> };
  };
  const out: Array<{ panel: string; expr: string }> = [];
  const walk = (ps: Panel[]): void => {
    for (const p of ps) {
      for (const t of p.targets ?? []) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating.list)
    if (typeof v.query === 'string' && v.query.startsWith('label_values('))
      out.push({ panel: 'variables', expr: v.query });
  return out;
}

let broker: Broker;
let dataDir: string;
let exported: Map<string, string>;

beforeAll(async () => {
  dataDir = tempDir();
  broker = new Broker(
    {
      ...DEFAULT_CONFIG,
      kafkaPort: 0,
      advertisedPort: 0,
      advertisedHost: '127.0.0.1',
      listenHost: '127.0.0.1',
      adminHost: '127.0.0.1',
      adminPort: 0,
      dataDir,
      shutdownTimeoutMs: 2000,
    },
    { randomId: randomUUID, processMetrics: true },
    standaloneMode(),
  );
  await broker.start();
  const text = await (await fetch(`http://127.0.0.1:${broker.adminPort}/metrics`)).text();
  exported = new Map();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m !== null) exported.set(m[1] as string, m[2] as string);
  }
});

afterAll(async () => {
  await broker.stop();
  removeDir(dataDir);
});

/** The exported metric a series name belongs to (a histogram's _bucket is its histogram). */
function metricOf(series: string): string | undefined {
  if (exported.has(series)) return series;
  for (const s of HISTOGRAM_SUFFIXES)
    if (series.endsWith(s) && exported.get(series.slice(0, -s.length)) === 'histogram')
      return series.slice(0, -s.length);
  return undefined;
}

test('the dashboard has panels and queries', () => {
  const exprs = expressions();
  expect(exprs.length).toBeGreaterThan(20);
  expect(exported.size).toBeGreaterThan(20);
});

test('every metric the dashboard queries is in /metrics', () => {
  const missing: string[] = [];
  for (const { panel, expr } of expressions()) {
    const series = [...(expr.match(/\bchronik_[a-z0-9_]+/g) ?? []), ...(/\bup\{/.test(expr) ? ['up'] : [])];
    if (series.length === 0) missing.push(`${panel}: no metric found in ${expr}`);
    for (const s of series)
      if (!PROMETHEUS_SERIES.has(s) && metricOf(s) === undefined) missing.push(`${panel}: ${s}`);
  }
  expect(missing).toEqual([]);
});

test('every label the dashboard groups or filters by belongs to the metrics it queries', () => {
  const wrong: string[] = [];
  for (const { panel, expr } of expressions()) {
    const metrics = (expr.match(/\bchronik_[a-z0-9_]+/g) ?? []).map((s) => metricOf(s) ?? s);
    const known = new Set<string>(PROMETHEUS_LABELS);
    for (const m of metrics)
      for (const l of (
        broker.metrics.registry.getSingleMetric(m) as unknown as { labelNames?: string[] } | undefined
      )?.labelNames ?? [])
        known.add(l);
    const used = new Set<string>();
    for (const by of expr.matchAll(/\bby\s*\(([^)]*)\)/g))
      for (const l of (by[1] as string).split(',')) if (l.trim() !== '') used.add(l.trim());
    for (const sel of expr.matchAll(/\{([^}]*)\}/g))
      for (const m of (sel[1] as string).matchAll(/([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=)/g))
        used.add(m[1] as string);
    for (const l of used) if (!known.has(l)) wrong.push(`${panel}: label ${l} in ${expr}`);
  }
  expect(wrong).toEqual([]);
});
