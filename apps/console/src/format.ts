// Rendering of record bytes and numbers: pure functions (unit tested in test/format.test.ts).

/** How the message browser shows a key, value or header value. */
export type Rendering = 'text' | 'json' | 'hex';

export function decodeBase64(base64: string): Uint8Array {
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Control characters other than tab, newline and carriage return. */
function isBinaryText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || c === 0x7f || c === 0xfffd) return true;
  }
  return false;
}

/** A hex dump: 16 bytes a line, offset, hex and the printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n');
}

export interface Rendered {
  text: string;
  /** The rendering asked for did not fit (not UTF-8 text, not JSON): what was shown instead. */
  fellBackTo?: Rendering;
}

/**
 * The bytes as asked: `text` (UTF-8; hex when they are not text), `json` (pretty-printed; text, then
 * hex, when they do not parse), `hex`.
 */
export function render(bytes: Uint8Array, as: Rendering): Rendered {
  if (as === 'hex') return { text: hexDump(bytes) };
  const s = utf8.decode(bytes);
  if (isBinaryText(s)) return { text: hexDump(bytes), fellBackTo: 'hex' };
  if (as === 'text') return { text: s };
  try {
    return { text: JSON.stringify(JSON.parse(s), null, 2) };
  } catch {
    return { text: s, fellBackTo: 'text' };
  }
}

/** The rendering that suits the bytes best: JSON when they parse as an object or array, else text, else hex. */
export function guessRendering(bytes: Uint8Array): Rendering {
  const s = utf8.decode(bytes);
  if (isBinaryText(s)) return 'hex';
  const t = s.trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    try {
      JSON.parse(t);
      return 'json';
    } catch {
      return 'text';
    }
  }
  return 'text';
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

/** A rate per second: "12.3 KiB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Thousands separated: "1,234,567"; strings (int64) keep every digit. */
export function formatCount(n: number | string | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const s = typeof n === 'number' ? String(Math.round(n)) : n;
  if (!/^-?\d+$/.test(s)) return s;
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  return (neg ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A wall-clock time in ms as an ISO-like local string with milliseconds. */
export function formatTime(ms: number | string): string {
  const n = typeof ms === 'string' ? Number(ms) : ms;
  if (!Number.isFinite(n) || n < 0) return '—';
  const d = new Date(n);
  const pad = (x: number, w = 2): string => String(x).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A local date-time input's value ("2026-12-07T15:04") as ms since the epoch; undefined when empty or invalid. */
export function parseLocalDateTime(value: string): number | undefined {
  if (value.trim() === '') return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}
