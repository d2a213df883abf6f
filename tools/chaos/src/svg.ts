// An SVG chart of a run: acknowledged and failed sends per second, records polled per second,
// transactions per second by outcome (the transactional workload), with the faults drawn as shaded
// intervals.
import type { Op } from './history.js';

export interface Series {
  name: string;
  color: string;
  /** Per-second values. */
  values: number[];
}

export interface Band {
  label: string;
  fromMs: number;
  toMs: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function seriesOf(ops: readonly Op[], topic: string, endMs: number): Series[] {
  const n = Math.max(1, Math.ceil(endMs / 1000));
  const ok = new Array<number>(n).fill(0);
  const bad = new Array<number>(n).fill(0);
  const polled = new Array<number>(n).fill(0);
  const at = (ms: number): number => Math.min(n - 1, Math.max(0, Math.floor(ms / 1000)));
  for (const o of ops) {
    if (o.f === 'send' && o.topic === topic) {
      if (o.outcome === 'ok') ok[at(o.completeMs)]! += 1;
      else bad[at(o.completeMs)]! += 1;
    } else if (o.f === 'poll' && o.topic === topic) polled[at(o.completeMs)]! += o.offsets.length;
  }
  return [
    { name: 'sends acknowledged/s', color: '#2a9d3a', values: ok },
    { name: 'sends failed or unknown/s', color: '#d62728', values: bad },
    { name: 'records polled/s', color: '#1f77b4', values: polled },
  ];
}

/** Per second: transactions committed, aborted on purpose, and failed or unknown. */
export function txnSeriesOf(ops: readonly Op[], endMs: number): Series[] {
  const n = Math.max(1, Math.ceil(endMs / 1000));
  const committed = new Array<number>(n).fill(0);
  const aborted = new Array<number>(n).fill(0);
  const bad = new Array<number>(n).fill(0);
  const at = (ms: number): number => Math.min(n - 1, Math.max(0, Math.floor(ms / 1000)));
  for (const o of ops) {
    if (o.f !== 'txn') continue;
    const series = o.outcome !== 'ok' ? bad : o.end === 'commit' ? committed : aborted;
    series[at(o.completeMs)]! += 1;
  }
  return [
    { name: 'committed/s', color: '#2a9d3a', values: committed },
    { name: 'aborted on purpose/s', color: '#9467bd', values: aborted },
    { name: 'failed or unknown/s', color: '#d62728', values: bad },
  ];
}

export interface Panel {
  title: string;
  series: readonly Series[];
}

/** Stacked panels (each with its own y scale) over one time axis; faults shaded in every panel. */
export function chartSvg(
  title: string,
  panels: readonly Panel[],
  bands: readonly Band[],
  endMs: number,
): string {
  const W = 960;
  const left = 56;
  const right = 16;
  const top = 40;
  const panelH = 190;
  const gap = 34;
  const H = top + panels.length * (panelH + gap) + 30;
  const pw = W - left - right;
  const endS = Math.max(1, endMs / 1000);
  const x = (s: number): number => left + (s / endS) * pw;
  const stepS = endS > 600 ? 60 : endS > 120 ? 20 : endS > 40 ? 10 : 5;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`);
  panels.forEach((panel, pi) => {
    const py = top + pi * (panelH + gap);
    const ph = panelH - 20;
    const maxY = Math.max(1, ...panel.series.flatMap((s) => s.values));
    const p10 = 10 ** Math.floor(Math.log10(maxY));
    const niceMax = ([1, 2, 5, 10].find((m) => m * p10 >= maxY) ?? 10) * p10;
    const y = (v: number): number => py + 14 + ph - (v / niceMax) * ph;
    out.push(`<text x="${left}" y="${py + 8}" font-weight="bold">${esc(panel.title)}</text>`);
    for (const b of bands) {
      const x0 = x(b.fromMs / 1000);
      const x1 = Math.max(x0 + 1, x(b.toMs / 1000));
      out.push(
        `<rect x="${x0.toFixed(1)}" y="${py + 14}" width="${(x1 - x0).toFixed(1)}" height="${ph}" fill="#ff7f0e" fill-opacity="0.15"/>`,
      );
      if (pi === 0)
        out.push(`<text x="${(x0 + 2).toFixed(1)}" y="${py + 26}" fill="#b35600">${esc(b.label)}</text>`);
    }
    for (let i = 0; i <= 4; i++) {
      const v = (niceMax * i) / 4;
      out.push(
        `<line x1="${left}" x2="${left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
      );
      out.push(
        `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Number(v.toPrecision(3))}</text>`,
      );
    }
    for (let s = 0; s <= endS; s += stepS)
      out.push(`<text x="${x(s).toFixed(1)}" y="${py + 14 + ph + 14}" text-anchor="middle">${s}s</text>`);
    out.push(
      `<line x1="${left}" x2="${left + pw}" y1="${py + 14 + ph}" y2="${py + 14 + ph}" stroke="#333"/>`,
    );
    out.push(`<line x1="${left}" x2="${left}" y1="${py + 14}" y2="${py + 14 + ph}" stroke="#333"/>`);
    for (const s of panel.series) {
      const pts = s.values.map((v, i) => `${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>`);
    }
  });
  const all = panels.flatMap((p) => p.series);
  all.forEach((s, i) => {
    const lx = left + i * 200;
    out.push(`<rect x="${lx}" y="${H - 22}" width="12" height="3" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 16}" y="${H - 17}">${esc(s.name)}</text>`);
  });
  out.push(
    `<rect x="${left + all.length * 200}" y="${H - 27}" width="12" height="12" fill="#ff7f0e" fill-opacity="0.3"/>`,
  );
  out.push(`<text x="${left + all.length * 200 + 16}" y="${H - 17}">fault (index:kind)</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The run's chart: sends (acknowledged, failed/unknown) above, records polled below. */
export function runChartSvg(
  title: string,
  ops: readonly Op[],
  topic: string,
  bands: readonly Band[],
  endMs: number,
): string {
  const [ok, bad, polled] = seriesOf(ops, topic, endMs) as [Series, Series, Series];
  const panels: Panel[] = [];
  if (ops.some((o) => o.f === 'send' && o.topic === topic))
    panels.push(
      { title: 'sends per second', series: [ok, bad] },
      { title: 'records polled per second (consumer group)', series: [polled] },
    );
  if (ops.some((o) => o.f === 'txn'))
    panels.push({
      title: 'transactions per second (producers and consume-transform-produce)',
      series: txnSeriesOf(ops, endMs),
    });
  if (panels.length === 0) panels.push({ title: 'sends per second', series: [ok, bad] });
  return chartSvg(title, panels, bands, endMs);
}
