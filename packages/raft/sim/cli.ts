/**
 * The simulation as a command:
 *
 *   pnpm --filter @chronik/raft sim --seeds 1..200 --steps 5000
 *   pnpm --filter @chronik/raft sim --seed 17 --steps 5000 --verbose
 *
 * Prints one line per failing seed (the seed replays exactly) and exits 1 on any violation.
 * Options: --seeds A..B | --seed S, --steps N (default 5000), --verbose (trace of one seed),
 * --all (also print passing seeds), --nodes 3|5, --params '{"name":value,...}' (override drawn
 * parameters, see SimParams in simulation.ts), --stop-on-failure.
 */
import { formatResult, runSeed } from './simulation.js';
import type { SimParams } from './simulation.js';

interface CliArgs {
  from: number;
  to: number;
  steps: number;
  verbose: boolean;
  all: boolean;
  stopOnFailure: boolean;
  params: Partial<SimParams>;
}

function usage(msg: string): never {
  process.stderr.write(
    `sim: ${msg}\nusage: sim [--seeds A..B | --seed S] [--steps N] [--verbose] [--all] [--nodes 3|5] [--params JSON] [--stop-on-failure]\n`,
  );
  process.exit(2);
}

function parseIntArg(v: string | undefined, name: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isSafeInteger(n) || n < 0)
    usage(`${name} needs a non-negative integer, got ${String(v)}`);
  return n;
}

function parseArgs(argv: readonly string[]): CliArgs {
  const a: CliArgs = {
    from: 1,
    to: 100,
    steps: 5000,
    verbose: false,
    all: false,
    stopOnFailure: false,
    params: {},
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
        if (!m) usage(`--seeds expects A..B, got ${v}`);
        a.from = Number(m[1]);
        a.to = Number(m[2]);
        if (a.to < a.from) usage('--seeds: the range is empty');
        break;
      }
      case '--seed':
        a.from = a.to = parseIntArg(next(), '--seed');
        break;
      case '--steps':
        a.steps = parseIntArg(next(), '--steps');
        break;
      case '--nodes': {
        const n = parseIntArg(next(), '--nodes');
        if (n < 1 || n > 9) usage('--nodes must be between 1 and 9');
        a.params.nodeCount = n;
        break;
      }
      case '--params': {
        // Override drawn parameters, e.g. --params '{"leaseReads":true,"transferRate":0}'.
        const v = next() ?? '';
        try {
          const parsed = JSON.parse(v) as unknown;
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
            throw new Error('not an object');
          a.params = { ...a.params, ...(parsed as Partial<SimParams>) };
        } catch (e) {
          usage(`--params expects a JSON object of simulation parameters: ${(e as Error).message}`);
        }
        break;
      }
      case '--verbose':
      case '-v':
        a.verbose = true;
        break;
      case '--all':
        a.all = true;
        break;
      case '--stop-on-failure':
        a.stopOnFailure = true;
        break;
      default:
        usage(`unknown argument ${String(arg)}`);
    }
  }
  return a;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const started = process.hrtime.bigint();
  let failures = 0;
  let runs = 0;
  for (let seed = args.from; seed <= args.to; seed++) {
    const r = runSeed({ seed, steps: args.steps, verbose: args.verbose, params: args.params });
    runs++;
    if (args.verbose) {
      for (const line of r.trace) process.stdout.write(`${line}\n`);
      if (r.violation) process.stdout.write(`\n${r.violation.kind}: ${r.violation.message}\n`);
    }
    if (!r.ok) failures++;
    if (!r.ok || args.all || args.verbose) process.stdout.write(`${formatResult(r)}\n`);
    if (!r.ok && args.stopOnFailure) break;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    `sim: ${runs} seed(s) × ${args.steps} steps, ${failures} failed, ${seconds.toFixed(1)} s` +
      (failures > 0
        ? ` — replay one with: pnpm --filter @chronik/raft sim --seed <S> --steps ${args.steps} --verbose`
        : '') +
      '\n',
  );
  process.exitCode = failures > 0 ? 1 : 0;
}

main();
