// Runs `chronik` in-process through `main` with captured streams, as a shell would run it.
import { PassThrough, Readable } from 'node:stream';
import type { Io, OutStream } from '../../src/io.js';
import { main } from '../../src/main.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Capture implements OutStream {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns = 120,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export interface RunOptions {
  /** What stdin holds; a PassThrough may be given to write to it while the command runs. */
  stdin?: string | NodeJS.ReadableStream;
  stdinBytes?: number;
  env?: Record<string, string>;
  tty?: boolean;
  signal?: AbortSignal;
}

export async function run(args: string[], o: RunOptions = {}): Promise<RunResult> {
  const stdout = new Capture(o.tty === true);
  const stderr = new Capture(o.tty === true);
  const stdin = typeof o.stdin === 'string' ? Readable.from([o.stdin]) : (o.stdin ?? Readable.from([]));
  const io: Io = { stdin, stdinBytes: o.stdinBytes, stdout, stderr, env: o.env ?? {}, signal: o.signal };
  const code = await main(args, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A run bound to one broker: `-b` is added. */
export function runner(bootstrap: string) {
  return (args: string[], o: RunOptions = {}) => run(['-b', bootstrap, ...args], o);
}

export function jsonOf<T = unknown>(r: RunResult): T {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

export { PassThrough };
