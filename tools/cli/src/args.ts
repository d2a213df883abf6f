// Parsers of option values. Each throws a USAGE error naming the option, so a bad value exits 2
// with one line saying what was expected.
import { CompressionType } from '@chronik/protocol';
import { usage } from './errors.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from './client/offsets.js';

export function int(name: string, raw: unknown, min: number, max: number): number {
  const s = String(raw).trim();
  if (!/^-?\d+$/.test(s)) throw usage(`--${name}: "${String(raw)}" is not an integer`);
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v < min || v > max)
    throw usage(`--${name}: ${s} is out of range [${min}, ${max}]`);
  return v;
}

/** `k=v` pairs (repeatable option, or comma-separated), in order; a repeated key keeps the last. */
export function keyValues(name: string, raw: readonly string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of raw ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usage(`--${name}: "${item}" is not key=value`);
    out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** "0,2,5" or repeated values → sorted unique partition numbers. */
export function partitionList(
  name: string,
  raw: ReadonlyArray<string | number> | undefined,
): number[] | undefined {
  if (raw === undefined || raw.length === 0) return undefined;
  const parts = raw.flatMap((r) => String(r).split(',')).filter((s) => s.trim() !== '');
  return [...new Set(parts.map((p) => int(name, p, 0, 2 ** 31 - 1)))].sort((a, b) => a - b);
}

/** A time: milliseconds since the epoch, or an ISO 8601 date (`2024-05-01T12:00:00Z`). */
export function timestampMs(name: string, raw: string): bigint {
  if (/^\d+$/.test(raw)) return BigInt(raw);
  const t = Date.parse(raw);
  if (Number.isNaN(t))
    throw usage(`--${name}: "${raw}" is neither milliseconds since the epoch nor an ISO 8601 date`);
  return BigInt(t);
}

/** Where to start or reset to: the log start, the end, an offset, or the first record at or after a time. */
export type StartSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'timestamp'; timestampMs: bigint };

/** `beginning|earliest`, `end|latest`, an offset, or `@TIME`. */
export function startSpec(name: string, raw: string): StartSpec {
  const s = raw.trim();
  if (s === 'beginning' || s === 'earliest') return { kind: 'earliest' };
  if (s === 'end' || s === 'latest') return { kind: 'latest' };
  if (s.startsWith('@')) return { kind: 'timestamp', timestampMs: timestampMs(name, s.slice(1)) };
  if (/^\d+$/.test(s)) return { kind: 'offset', offset: BigInt(s) };
  throw usage(`--${name}: "${raw}" is not beginning, end, an offset or @TIME`);
}

/** The ListOffsets timestamp of a spec (offsets are not looked up). */
export function specTimestamp(spec: StartSpec): bigint | undefined {
  switch (spec.kind) {
    case 'earliest':
      return EARLIEST_TIMESTAMP;
    case 'latest':
      return LATEST_TIMESTAMP;
    case 'timestamp':
      return spec.timestampMs;
    case 'offset':
      return undefined;
  }
}

export const ACKS = { all: -1, '-1': -1, '1': 1, '0': 0 } as const;

export function acks(raw: string): -1 | 0 | 1 {
  const v = (ACKS as Record<string, -1 | 0 | 1>)[raw.trim()];
  if (v === undefined) throw usage(`--acks: "${raw}" is not all, -1, 1 or 0`);
  return v;
}

export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export function compression(raw: string): CompressionType {
  switch (raw) {
    case 'none':
      return CompressionType.None;
    case 'gzip':
      return CompressionType.Gzip;
    case 'snappy':
      return CompressionType.Snappy;
    case 'lz4':
      return CompressionType.Lz4;
    case 'zstd':
      return CompressionType.Zstd;
    default:
      throw usage(`--compression: "${raw}" is not one of ${COMPRESSIONS.join(', ')}`);
  }
}

/** `N` or `N/s`: records per second. */
export function rate(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(raw.trim());
  const v = m === null ? NaN : Number(m[1]);
  if (!(v > 0)) throw usage(`--rate: "${raw}" is not a positive number of records per second (N or N/s)`);
  return v;
}

/** A topic with optional partitions: `orders` or `orders:0,1`. */
export function topicPartitions(
  name: string,
  raw: string,
): { topic: string; partitions: number[] | undefined } {
  const colon = raw.indexOf(':');
  if (colon < 0) return { topic: raw, partitions: undefined };
  return { topic: raw.slice(0, colon), partitions: partitionList(name, [raw.slice(colon + 1)]) };
}
