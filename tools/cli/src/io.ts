// What a command reads and writes, injected so that tests run commands in-process: the standard
// streams, the environment, and an abort signal (Ctrl-C in the program, a test's stop button).
import fs from 'node:fs';

export interface OutStream {
  write(chunk: string): boolean;
  once?(event: 'drain', listener: () => void): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Io {
  stdin: NodeJS.ReadableStream;
  /** The size in bytes of stdin when it is a regular file (a progress bar's total), else undefined. */
  stdinBytes?: number | undefined;
  stdout: OutStream;
  stderr: OutStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT/SIGTERM: following consumers stop, commit and leave their group. */
  signal?: AbortSignal | undefined;
}

/** The real process's streams; SIGINT and SIGTERM abort `signal`, a second one exits at once. */
export function processIo(): Io {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let stdinBytes: number | undefined;
  try {
    const st = fs.fstatSync(0);
    if (st.isFile()) stdinBytes = st.size;
  } catch {
    stdinBytes = undefined;
  }
  return {
    stdin: process.stdin,
    stdinBytes,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  };
}

/** Writes and waits for the stream to drain when it asks to (a slow pipe such as `| less`). */
export async function writeOut(stream: OutStream, chunk: string): Promise<void> {
  if (stream.write(chunk) || stream.once === undefined) return;
  await new Promise<void>((resolve) => stream.once?.('drain', resolve));
}
