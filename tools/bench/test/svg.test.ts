import { barChart, escapeXml, lineChart, logTicks, niceTicks, shortNumber, wrapLabel } from '../src/index.js';

/** Well-formedness without a parser: every opened element is closed in order. */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing === '/') continue;
    if (closing === '/') expect(stack.pop()).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
}

describe('axis helpers', () => {
  it('picks 1-2-5 steps that cover the maximum', () => {
    expect(niceTicks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(47)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(niceTicks(0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0)).toEqual([0, 1]);
    const t = niceTicks(123456);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(123456);
  });
  it('gives powers of ten for a log axis', () => {
    expect(logTicks(0.5, 300)).toEqual([0.1, 1, 10, 100, 1000]);
    expect(logTicks(1, 1)).toEqual([1, 10]);
  });
  it('shortens numbers', () => {
    expect(shortNumber(1500)).toBe('1.5k');
    expect(shortNumber(20_000_000)).toBe('20M');
    expect(shortNumber(0.25)).toBe('0.25');
    expect(shortNumber(123456)).toBe('123k');
  });
  it('escapes XML', () => {
    expect(escapeXml('<a & "b">')).toBe('&lt;a &amp; &quot;b&quot;&gt;');
  });
});

describe('barChart', () => {
  const svg = barChart({
    title: 'Throughput <msg/s>',
    yLabel: 'msg/s',
    categories: ['1 KiB', '16 KiB'],
    series: [
      { name: 'Chronik', values: [100_000, 5_000] },
      { name: 'JetStream', values: [50_000, undefined] },
    ],
  });
  it('is a balanced SVG document with escaped text', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    assertBalanced(svg);
    expect(svg).toContain('Throughput &lt;msg/s&gt;');
  });
  it('draws one bar per finite value, scaled to the axis, and "n/a" for a missing one', () => {
    const bars = [
      ...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="#\w+"><title>/g),
    ].map((m) => Number(m[2]));
    expect(bars).toHaveLength(3);
    // The 100k bar is twice the 50k bar and 20 times the 5k bar.
    expect(bars[0]! / bars[1]!).toBeCloseTo(2, 1);
    expect(bars[0]! / bars[2]!).toBeCloseTo(20, 0);
    expect(svg).toContain('>n/a<');
    expect(svg).toContain('>Chronik<');
    expect(svg).toContain('>JetStream<');
  });
});

describe('lineChart', () => {
  it('draws a path per series with markers, skipping non-positive points on a log axis', () => {
    const svg = lineChart({
      title: 'latency',
      xLabel: 'offered',
      yLabel: 'ms',
      logY: true,
      series: [
        {
          name: 'p99',
          points: [
            { x: 1000, y: 2 },
            { x: 2000, y: 20 },
            { x: 3000, y: 0 },
          ],
        },
        {
          name: 'peer p99',
          dashed: true,
          points: [
            { x: 1000, y: 1 },
            { x: 2000, y: Number.NaN },
          ],
        },
      ],
    });
    assertBalanced(svg);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain('stroke-dasharray="6 4"');
    // On the log axis 2 ms and 20 ms are one decade apart: same pixel distance as 1 → 10.
    const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    const decade = ys[0]! - ys[1]!;
    expect(decade).toBeGreaterThan(0);
    expect(ys[2]! - ys[0]!).toBeCloseTo(decade * Math.log10(2), 0);
  });
  it('renders an empty chart without throwing', () => {
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] });
    assertBalanced(svg);
  });
});

describe('wrapLabel', () => {
  it('breaks at spaces within the width and keeps long words whole', () => {
    expect(wrapLabel('disk, buffered + fdatasync at end', 16)).toEqual([
      'disk, buffered +',
      'fdatasync at end',
    ]);
    expect(wrapLabel('short', 16)).toEqual(['short']);
    expect(wrapLabel('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x']);
  });
});
