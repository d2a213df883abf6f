// A live time-series chart (uPlot): one line per series over the samples the page kept.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { History } from '../poll.js';

const COLORS = ['#2f7ed8', '#e4572e', '#29a36a', '#9b59b6', '#f0a202', '#17becf'];

export interface ChartProps {
  history: History;
  /** Bumped by the owner when the history got a sample. */
  version: number;
  /** Formats an axis or legend value. */
  format: (v: number) => string;
  height?: number;
  label: string;
  /** The smallest top of the y axis (so an idle chart's ticks stay readable). */
  minTop?: number;
}

export function TimeChart({ history, version, format, height = 200, label, minTop = 10 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height,
      scales: {
        x: { time: true },
        y: { range: (_u, min, max) => [Math.min(0, min), Math.max(minTop, max * 1.1)] },
      },
      axes: [{}, { values: (_u, ticks) => ticks.map(format), size: 80 }],
      series: [
        {},
        ...history.labels.map((l, i) => ({
          label: l,
          stroke: COLORS[i % COLORS.length] ?? '#333',
          width: 2,
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
        })),
      ],
    };
    const p = new uPlot(opts, [history.times, ...history.series], el);
    plot.current = p;
    const resize = new ResizeObserver(() => p.setSize({ width: Math.max(300, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
  }, [history, height, minTop]);

  useEffect(() => {
    plot.current?.setData([history.times, ...history.series]);
  }, [version, history]);

  return <div class="chart" ref={box} role="img" aria-label={label} data-samples={history.length} />;
}
