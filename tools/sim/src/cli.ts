// chronik-sim: runs seeds of the whole-product simulation.
//
//   pnpm sim --seeds 1..100 --steps 2000     one line per seed; exit 1 if any fails
//   pnpm sim --seed 17 --steps 2000 --verbose   replay one seed with its trace and node logs
//
// Options: --seeds A..B | --seed S, --steps N (default 1000), --verbose, --params JSON (override drawn
// parameters, see SimParams), --stop-on-failure, --check-replay (run each seed twice and compare the
// trace hashes). A failing seed prints its violations and the one command that replays it.
import { formatResult, runSeed } from './simulation.js';
import type { SimParams, SimResult } from './simulation.js';

export interface CliArgs {
  from: number;
  to: number;
  steps: number;
  verbose: boolean;
  stopOnFailure: boolean;
  checkReplay: boolean;
  params: Partial<SimParams>;
}

export const USAGE =
  'usage: chronik-sim [--seeds A..B | --seed S] [--steps N] [--verbose] [--params JSON] [--stop-on-failure] [--check-replay]';

export function parseArgs(argv: readonly string[]): CliArgs {
  const a: CliArgs = {
    from: 1,
    to: 20,
    steps: 1000,
    verbose: false,
    stopOnFailure: false,
    checkReplay: false,
    params: {},
  };
  const int = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < 0)
      throw new Error(`${name} needs a non-negative integer, got ${String(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (arg) {
      case '--':
        break;
      case '--seeds': {
        const v = next() ?? '';
        const m = /^(\d+)\.\.(\d+)$/.exec(v);
        if (m === null) throw new Error(`--seeds expects A..B, got ${v}`);
        a.from = Number(m[1]);
        a.to = Number(m[2]);
        break;
      }
      case '--seed':
        a.from = a.to = int(next(), '--seed');
        break;
      case '--steps':
        a.steps = int(next(), '--steps');
        break;
      case '--verbose':
        a.verbose = true;
        break;
      case '--stop-on-failure':
        a.stopOnFailure = true;
        break;
      case '--check-replay':
        a.checkReplay = true;
        break;
      case '--params':
        a.params = JSON.parse(next() ?? '{}') as Partial<SimParams>;
        break;
      default:
        throw new Error(`unknown argument ${String(arg)}`);
    }
  }
  if (a.to < a.from) throw new Error(`--seeds ${a.from}..${a.to} is empty`);
  return a;
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`chronik-sim: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  // A reader that stops early (`| head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  const extra = Object.keys(args.params).length > 0 ? ` --params '${JSON.stringify(args.params)}'` : '';
  let failed = 0;
  let events = 0;
  let simMs = 0;
  let realMs = 0;
  for (let seed = args.from; seed <= args.to; seed++) {
    const r: SimResult = await runSeed(seed, {
      steps: args.steps,
      params: args.params,
      ...(args.verbose ? { trace: out } : {}),
      log: args.verbose ? out : () => undefined,
    });
    events += r.events;
    simMs += r.simMs;
    realMs += r.realMs;
    let line = formatResult(r, extra);
    if (args.checkReplay) {
      const again = await runSeed(seed, { steps: args.steps, params: args.params });
      if (again.traceHash !== r.traceHash) {
        r.ok = false;
        line += `\n  [replay] the second run's trace hash is ${again.traceHash}, the first's ${r.traceHash}`;
      }
    }
    if (!r.ok) failed++;
    out(line);
    if (args.verbose) out(JSON.stringify({ params: r.params, summary: r.summary }, null, 1));
    if (!r.ok && args.stopOnFailure) break;
  }
  const n = args.to - args.from + 1;
  out(
    `${n - failed}/${n} seeds passed; ${events} events in ${(simMs / 1000).toFixed(0)} s simulated, ${(realMs / 1000).toFixed(1)} s real (${Math.round(events / Math.max(realMs / 1000, 0.001))} events/s, ${(simMs / Math.max(realMs, 1)).toFixed(1)}x real time)`,
  );
  return failed === 0 ? 0 : 1;
}
