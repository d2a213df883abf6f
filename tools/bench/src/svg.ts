// SVG charts written by hand (no dependency): grouped bars for throughput and lines for latency
// percentiles against offered load. Pure: data in, SVG text out.

const PALETTE = ['#2f6fb0', '#e07b22', '#3c9a4a', '#b23a48', '#7a5cb0', '#8c6d31', '#d45fa8', '#5f7f8c'];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values covering [0, max] (about `count` of them): steps of 1, 2 or 5 × 10^k. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** Powers of ten covering [min, max] for a logarithmic axis. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-9)));
  const hi = Math.ceil(Math.log10(Math.max(max, min, 1e-9)));
  const out: number[] = [];
  for (let e = lo; e <= Math.max(hi, lo + 1); e++) out.push(Number((10 ** e).toPrecision(12)));
  return out;
}

/** Short tick labels: 1.5k, 20M, 0.25. */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  const trim = (x: number): string => String(Number(x.toPrecision(3)));
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

export interface BarSeries {
  name: string;
  /** Palette index (default: the series' position), so a system keeps its colour across charts. */
  colorIndex?: number;
  /** One value per category; undefined draws "n/a". */
  values: readonly (number | undefined)[];
}

export interface BarChartSpec {
  title: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly BarSeries[];
  width?: number;
  height?: number;
}

/** A grouped bar chart: one group per category, one bar per series. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 860;
  const groupsForWrap = Math.max(1, spec.categories.length);
  const labelChars = Math.max(6, Math.floor((width - 96) / groupsForWrap / 6.2));
  const labelLines = Math.max(1, ...spec.categories.map((c) => wrapLabel(c, labelChars).length));
  const m = { top: 48, right: 20, bottom: 64 + 13 * labelLines, left: 76 };
  const height = spec.height ?? 330 + m.bottom;
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = spec.series.flatMap((s) =>
    s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)),
  );
  const ticks = niceTicks(Math.max(0, ...all));
  const top = ticks[ticks.length - 1]!;
  const y = (v: number): number => m.top + plotH - (v / top) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  for (const t of ticks) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e3e3e3"/>`,
    );
    out.push(
      `<text x="${m.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${shortNumber(t)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  const groups = Math.max(1, spec.categories.length);
  const groupW = plotW / groups;
  const nSeries = Math.max(1, spec.series.length);
  const barW = Math.min(48, (groupW * 0.8) / nSeries);
  spec.categories.forEach((cat, ci) => {
    const gx = m.left + ci * groupW + (groupW - barW * nSeries) / 2;
    spec.series.forEach((s, si) => {
      const v = s.values[ci];
      const x = gx + si * barW;
      if (v === undefined || !Number.isFinite(v)) {
        out.push(
          `<text x="${(x + barW / 2).toFixed(1)}" y="${m.top + plotH - 4}" text-anchor="middle" font-size="9" fill="#888" transform="rotate(-90 ${(x + barW / 2).toFixed(1)} ${m.top + plotH - 4})" dx="18">n/a</text>`,
        );
        return;
      }
      const h = Math.max(0, m.top + plotH - y(v));
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[(s.colorIndex ?? si) % PALETTE.length]}"><title>${escapeXml(`${s.name}, ${cat}: ${shortNumber(v)}`)}</title></rect>`,
      );
      out.push(
        `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${shortNumber(v)}</text>`,
      );
    });
    const cx = (m.left + ci * groupW + groupW / 2).toFixed(1);
    const lines = wrapLabel(cat, labelChars);
    out.push(
      `<text x="${cx}" y="${m.top + plotH + 16}" text-anchor="middle" font-size="11">${lines.map((l, i) => `<tspan x="${cx}" dy="${i === 0 ? 0 : 13}">${escapeXml(l)}</tspan>`).join('')}</text>`,
    );
  });
  out.push(
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`,
  );
  legend(
    out,
    spec.series.map((s) => s.name),
    m.left,
    height - 36,
    plotW,
    false,
    [],
    spec.series.map((s, i) => s.colorIndex ?? i),
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Splits a label into lines of at most `maxChars` at spaces (a single long word stays whole). */
export function wrapLabel(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

export interface LineSeries {
  name: string;
  points: readonly { x: number; y: number }[];
  dashed?: boolean;
  /** Palette index (default: the series' position). */
  colorIndex?: number;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Logarithmic y axis (latency spans orders of magnitude). */
  logY?: boolean;
  width?: number;
  height?: number;
}

/** A line chart with markers; points with a non-finite or (log axis) non-positive y are skipped. */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 860;
  const height = spec.height ?? 440;
  const m = { top: 48, right: 20, bottom: 100, left: 76 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const logY = spec.logY === true;
  const usable = (p: { x: number; y: number }): boolean =>
    Number.isFinite(p.x) && Number.isFinite(p.y) && (!logY || p.y > 0);
  const pts = spec.series.flatMap((s) => s.points.filter(usable));
  const xTicks = niceTicks(Math.max(0, ...pts.map((p) => p.x)));
  const xMax = xTicks[xTicks.length - 1]!;
  const yTicks = logY
    ? logTicks(Math.min(...pts.map((p) => p.y), 1), Math.max(...pts.map((p) => p.y), 1))
    : niceTicks(Math.max(0, ...pts.map((p) => p.y)));
  const yMin = logY ? yTicks[0]! : 0;
  const yMax = yTicks[yTicks.length - 1]!;
  const x = (v: number): number => m.left + (v / xMax) * plotW;
  const y = (v: number): number =>
    logY
      ? m.top + plotH - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH
      : m.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  for (const t of yTicks) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e3e3e3"/>`,
    );
    out.push(
      `<text x="${m.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${shortNumber(t)}</text>`,
    );
  }
  for (const t of xTicks) {
    out.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${m.top}" y2="${m.top + plotH}" stroke="#f0f0f0"/>`,
    );
    out.push(
      `<text x="${x(t).toFixed(1)}" y="${m.top + plotH + 16}" text-anchor="middle">${shortNumber(t)}</text>`,
    );
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${m.left + plotW / 2}" y="${m.top + plotH + 36}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  spec.series.forEach((s, si) => {
    const color = PALETTE[(s.colorIndex ?? si) % PALETTE.length]!;
    const p = s.points
      .filter(usable)
      .slice()
      .sort((a, b) => a.x - b.x);
    if (p.length === 0) return;
    const d = p.map((q, i) => `${i === 0 ? 'M' : 'L'}${x(q.x).toFixed(1)},${y(q.y).toFixed(1)}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    for (const q of p) {
      out.push(
        `<circle cx="${x(q.x).toFixed(1)}" cy="${y(q.y).toFixed(1)}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}: ${shortNumber(q.x)} → ${shortNumber(q.y)}`)}</title></circle>`,
      );
    }
  });
  legend(
    out,
    spec.series.map((s) => s.name),
    m.left,
    height - 40,
    plotW,
    true,
    spec.series.map((s) => s.dashed === true),
    spec.series.map((s, i) => s.colorIndex ?? i),
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function legend(
  out: string[],
  names: readonly string[],
  x0: number,
  y0: number,
  width: number,
  lines: boolean,
  dashed: readonly boolean[] = [],
  colors: readonly number[] = [],
): void {
  // Entries flow left to right and wrap; each takes room for its text (about 6.5 px a character).
  let x = x0;
  let y = y0;
  names.forEach((name, i) => {
    const w = 34 + Math.ceil(name.length * 6.5);
    if (x > x0 && x + w > x0 + width) {
      x = x0;
      y += 16;
    }
    const color = PALETTE[(colors[i] ?? i) % PALETTE.length]!;
    if (lines) {
      out.push(
        `<line x1="${x}" x2="${x + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="2"${dashed[i] === true ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    } else {
      out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${color}"/>`);
    }
    out.push(`<text x="${x + 24}" y="${y}">${escapeXml(name)}</text>`);
    x += w;
  });
}
