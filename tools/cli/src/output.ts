// How commands print: `--format text` (the default: aligned columns without borders, like
// kafka-consumer-groups and rpk, rendered by cli-table3) or `--format json` (one JSON document on
// stdout for scripts; int64 values as numbers while they are exact, else as strings).
import Table from 'cli-table3';
import type { Io } from './io.js';
import { writeOut } from './io.js';

export const FORMATS = ['text', 'json'] as const;
export type Format = (typeof FORMATS)[number];

export type Cell = string | number | bigint | boolean | null | undefined;

const NO_BORDERS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '-';
  return String(c);
}

/** Rows under a header, columns aligned, no borders, no colours; trailing blanks trimmed. */
export function renderTable(head: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const table = new Table({
    head: [...head],
    chars: NO_BORDERS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) table.push(r.map(cellText));
  return (
    table
      .toString()
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n') + '\n'
  );
}

/** JSON with bigints as numbers when exact, else strings; Buffers never reach here. */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_k, v: unknown) => {
        if (typeof v !== 'bigint') return v;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(v)
          : v.toString();
      },
      2,
    ) + '\n'
  );
}

export class Output {
  constructor(
    readonly io: Io,
    readonly format: Format,
  ) {}

  get json(): boolean {
    return this.format === 'json';
  }

  async print(text: string): Promise<void> {
    await writeOut(this.io.stdout, text.endsWith('\n') ? text : `${text}\n`);
  }

  async printJson(value: unknown): Promise<void> {
    await writeOut(this.io.stdout, toJson(value));
  }

  async table(head: readonly string[], rows: ReadonlyArray<readonly Cell[]>): Promise<void> {
    await writeOut(this.io.stdout, renderTable(head, rows));
  }

  /** A line for the person at the terminal (stderr): hints, dry-run notes. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}

/** Bytes for people: 1023 B, 1.5 KiB, 12.0 MiB. */
export function formatBytes(n: bigint | number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
