// A progress bar (cli-progress) on stderr for long work — producing a file, resetting the offsets
// of a big group, waiting for a topic's leaders — drawn only when both stdout and stderr are
// terminals, so that pipes, files and scripts never see it.
import cliProgress from 'cli-progress';
import type { Io } from './io.js';

export interface Progress {
  increment(n?: number): void;
  update(value: number): void;
  stop(): void;
}

const NONE: Progress = { increment: () => undefined, update: () => undefined, stop: () => undefined };

export function progress(io: Io, label: string, total: number, unit = ''): Progress {
  if (io.stdout.isTTY !== true || io.stderr.isTTY !== true || total <= 0) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr as unknown as NodeJS.WritableStream,
      format: `${label} [{bar}] {percentage}% | {value}/{total}${unit} | {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    increment: (n = 1) => bar.increment(n),
    update: (v) => bar.update(v),
    stop: () => bar.stop(),
  };
}
