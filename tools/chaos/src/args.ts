// The command line of chronik-chaos.
import { ChaosError } from './errors.js';
import type { FaultKind } from './nemesis.js';
import { FAULT_KINDS } from './nemesis.js';
import type { WorkloadKind } from './workload.js';
import { WORKLOAD_KINDS } from './workload.js';

export interface CliOptions {
  seed: number | undefined;
  durationMs: number;
  nodes: number;
  faults: FaultKind[];
  workloads: WorkloadKind[];
  runs: number;
  outDir: string | undefined;
  partitions: number | undefined;
  keepData: boolean;
  /** chronik-server program to test (default: the repository's apps/server/bin/chronik-server). */
  serverBin: string | undefined;
  /** Summarize the runs in this directory instead of running. */
  summarize: string | undefined;
  help: boolean;
}

export const USAGE = `usage: chronik-chaos [options]
  --seed N          the run's seed (default: random; printed); with --runs, the first of consecutive seeds
  --duration D      how long faults are injected, e.g. 60s, 2m, 90000ms (default 60s)
  --nodes N         cluster size, 3 to 7 (default 3; 4 or more for the membership fault's full cycle)
  --faults LIST     comma-separated: ${FAULT_KINDS.join(',')} (default: all)
  --workload LIST   comma-separated: ${WORKLOAD_KINDS.join(',')} (default queue: writers, consumers, topic churn;
                    txn: transactional producers and a consume-transform-produce stage)
  --runs N          run N seeds one after the other (default 1)
  --partitions N    partitions of the workload topic (default: the node count)
  --out DIR         output directory (default .tmp/chaos under the repository)
  --server PATH     the chronik-server program (default apps/server/bin/chronik-server)
  --summarize DIR   write DIR/summary.md from the runs in DIR (and redraw their charts); no run
  --keep-data       keep the nodes' data directories (always kept when a run is invalid)
  --help`;

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min)?$/.exec(s.trim());
  if (!m) throw new ChaosError('BadArgument', `bad duration "${s}" (e.g. 60s, 2m, 90000ms)`);
  const v = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? v : unit === 's' ? v * 1000 : v * 60_000);
}

function int(name: string, s: string | undefined, min: number, max: number): number {
  const v = Number(s);
  if (s === undefined || !Number.isInteger(v) || v < min || v > max)
    throw new ChaosError('BadArgument', `--${name} needs an integer in [${min}, ${max}], got "${s ?? ''}"`);
  return v;
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    seed: undefined,
    durationMs: 60_000,
    nodes: 3,
    faults: [...FAULT_KINDS],
    workloads: ['queue'],
    runs: 1,
    outDir: undefined,
    partitions: undefined,
    keepData: false,
    serverBin: undefined,
    summarize: undefined,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new ChaosError('BadArgument', `${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--seed':
        o.seed = int('seed', value(), 0, 2 ** 48);
        break;
      case '--duration':
        o.durationMs = parseDuration(value());
        if (o.durationMs < 5_000 || o.durationMs > 24 * 3600_000)
          throw new ChaosError('BadArgument', '--duration must be between 5s and 24h');
        break;
      case '--nodes':
        o.nodes = int('nodes', value(), 3, 7);
        break;
      case '--runs':
        o.runs = int('runs', value(), 1, 1000);
        break;
      case '--partitions':
        o.partitions = int('partitions', value(), 1, 64);
        break;
      case '--faults': {
        const list = value()
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '');
        for (const f of list)
          if (!(FAULT_KINDS as readonly string[]).includes(f))
            throw new ChaosError('BadArgument', `unknown fault "${f}" (known: ${FAULT_KINDS.join(', ')})`);
        o.faults = list as FaultKind[];
        break;
      }
      case '--workload': {
        const list = [
          ...new Set(
            value()
              .split(',')
              .map((x) => x.trim())
              .filter((x) => x !== ''),
          ),
        ];
        for (const w of list)
          if (!(WORKLOAD_KINDS as readonly string[]).includes(w))
            throw new ChaosError(
              'BadArgument',
              `unknown workload "${w}" (known: ${WORKLOAD_KINDS.join(', ')})`,
            );
        if (list.length === 0) throw new ChaosError('BadArgument', '--workload needs at least one workload');
        o.workloads = list as WorkloadKind[];
        break;
      }
      case '--out':
        o.outDir = value();
        break;
      case '--server':
        o.serverBin = value();
        break;
      case '--summarize':
        o.summarize = value();
        break;
      case '--keep-data':
        o.keepData = true;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new ChaosError('BadArgument', `unknown argument "${a}"\n${USAGE}`);
    }
  }
  return o;
}
