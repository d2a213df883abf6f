// Markdown rendering helpers: tables and number formats. Pure.

export type Align = 'left' | 'right';

/** `n` right-aligned columns (number columns), for a table's `align`. */
export function rights(n: number): Align[] {
  return Array.from({ length: n }, () => 'right');
}

/** Escapes what would break a table cell. */
export function escapeCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A GitHub-flavoured Markdown table. Rows shorter than the header are padded with empty cells. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  if (headers.length === 0) throw new RangeError('a table needs at least one column');
  const cells = (r: readonly string[]): string =>
    `| ${headers.map((_, i) => escapeCell(r[i] ?? '')).join(' | ')} |`;
  const rule = `| ${headers.map((_, i) => (align[i] === 'right' ? '---:' : '---')).join(' | ')} |`;
  return [cells(headers), rule, ...rows.map(cells)].join('\n');
}

/** A number with thousands separators and `digits` decimals; "–" for NaN/undefined. */
export function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Milliseconds with a precision that suits the magnitude. */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/** A ratio as "2.41×"; "–" when either side is missing. */
export function fmtRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

/** A fraction as a percentage, "–" when missing. */
export function fmtPercent(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${((a / b) * 100).toFixed(0)}%`;
}

/** Byte sizes as the scenarios name them: 256 B, 1 KiB, 16 KiB. */
export function fmtBytes(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
