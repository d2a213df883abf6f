import { escapeCell, fmt, fmtBytes, fmtMs, fmtPercent, fmtRatio, markdownTable } from '../src/index.js';

describe('markdownTable', () => {
  it('renders a header, an alignment rule and rows', () => {
    expect(markdownTable(['a', 'b'], [['1', '2'], ['3']], ['left', 'right'])).toBe(
      '| a | b |\n| --- | ---: |\n| 1 | 2 |\n| 3 |  |',
    );
  });
  it('escapes pipes, backslashes and newlines inside cells', () => {
    expect(escapeCell('a|b\\c\nd')).toBe('a\\|b\\\\c d');
    expect(markdownTable(['x'], [['p|q']])).toContain('| p\\|q |');
  });
  it('needs at least one column', () => {
    expect(() => markdownTable([], [])).toThrow(RangeError);
  });
});

describe('number formats', () => {
  it('formats numbers, ratios, percentages and sizes; missing values are a dash', () => {
    expect(fmt(1234567.891)).toBe('1,234,568');
    expect(fmt(12.345, 1)).toBe('12.3');
    expect(fmt(Number.NaN)).toBe('–');
    expect(fmt(undefined)).toBe('–');
    expect(fmtMs(0.1234)).toBe('0.123');
    expect(fmtMs(5.678)).toBe('5.68');
    expect(fmtMs(56.78)).toBe('56.8');
    expect(fmtMs(567.8)).toBe('568');
    expect(fmtRatio(30, 10)).toBe('3.00×');
    expect(fmtRatio(1, 0)).toBe('–');
    expect(fmtRatio(undefined, 1)).toBe('–');
    expect(fmtPercent(50, 200)).toBe('25%');
    expect(fmtBytes(256)).toBe('256 B');
    expect(fmtBytes(1024)).toBe('1 KiB');
    expect(fmtBytes(16384)).toBe('16 KiB');
    expect(fmtBytes(1 << 20)).toBe('1 MiB');
  });
});
