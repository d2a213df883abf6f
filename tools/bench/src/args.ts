// Command line of chronik-bench. Pure: argv in, options (or a help/usage outcome) out.
import { BenchError } from './errors.js';

/** The parts `--only` can measure by themselves. */
export const ONLY_PARTS = ['transactions', 'tls'] as const;
export type OnlyPart = (typeof ONLY_PARTS)[number];

export interface BenchOptions {
  /** The regression-check plan: a few headline scenarios, under 2 minutes. */
  quick: boolean;
  /** Where the report and charts go (default: <repo>/docs/benchmarks). */
  outDir: string | undefined;
  /** Parent directory for broker data, JetStream stores and the disk test (default: the OS temp dir). */
  dataDir: string | undefined;
  /** Multiplies every run's message count (default 1). */
  scale: number;
  /** Requests in flight per connection for the project's own generator (undefined: its per-mode default). */
  inFlight: number | undefined;
  /** The own generator's request size in max mode and cap in fixed-rate mode (undefined: 1,000,000 B). */
  requestBytes: number | undefined;
  /** Runs of each system per throughput row, alternating (undefined: 3, or 2 with --quick). */
  pairs: number | undefined;
  /** Which parts to run. */
  jetstream: boolean;
  cluster: boolean;
  kcat: boolean;
  hardware: boolean;
  transactions: boolean;
  /** TLS produce beside plaintext on one node (`--no-tls` skips it). */
  tls: boolean;
  /**
   * Measure only these parts (Chronik only, after its usual warm-up) and merge them into the saved
   * results of the same plan in the output directory, when there are any; undefined: everything.
   */
  only: OnlyPart[] | undefined;
  /** Report file name inside outDir (default README.md for the full plan, quick.md for --quick). */
  reportName: string | undefined;
  /** Re-render the report from a saved results.json instead of measuring. */
  render: string | undefined;
}

export type ParsedArgs = { kind: 'run'; options: BenchOptions } | { kind: 'help'; text: string };

export const USAGE = `chronik-bench [options]

Measures Chronik (standalone and 3-node raft-cluster) beside NATS JetStream (R1 and R3) and the
machine's own limits (disk, loopback), in one run, and writes a Markdown report and SVG charts.

Options:
  --quick             the regression plan: headline scenarios only, about 2 minutes
  --out DIR           where the report and charts go (default: <repo>/docs/benchmarks)
  --data-dir DIR      parent of the brokers' data and the disk test (default: the OS temp dir)
  --scale X           multiply every run's message count by X (default 1; e.g. 0.25 or 4)
  --in-flight N       Produce requests in flight per connection, own generator (default 4 at
                      full speed, 16 at a fixed rate)
  --request-bytes N   own generator's request size at full speed, and its largest request at a
                      fixed rate (default 1000000, librdkafka's largest batch)
  --pairs N           runs of each system per throughput row, Chronik and JetStream alternating
                      back to back (default 3, or 2 with --quick); the report gives median and
                      min-max
  --report-name NAME  report file name (default README.md, or quick.md with --quick)
  --render FILE       measure nothing: re-render the report and charts from a saved results.json
  --only PART[,PART]  measure only these parts (${ONLY_PARTS.join(', ')}) and merge them into the
                      saved results of the same plan in the output directory (results.json, or
                      quick-results.json with --quick), replacing that part's earlier rows, and
                      re-render its report; without saved results, a report of these parts alone
  --no-jetstream      skip NATS JetStream
  --no-cluster        skip the 3-node scenarios
  --no-kcat           skip the librdkafka (kcat) runs
  --no-hardware       skip the disk and loopback measurements
  --no-transactions   skip the transactional produce runs
  --no-tls            skip the TLS-beside-plaintext produce runs
  -h, --help          this text
`;

function number(flag: string, raw: string | undefined, min: number, max: number, integer: boolean): number {
  if (raw === undefined || raw === '') throw new BenchError('BadArgument', `${flag} needs a value`);
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new BenchError(
      'BadArgument',
      `${flag}: "${raw}" is not ${integer ? 'an integer' : 'a number'} in ${min}..${max}`,
    );
  }
  return n;
}

/** Parses chronik-bench's arguments (`--flag value` or `--flag=value`). Throws BenchError('BadArgument'). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const o: BenchOptions = {
    quick: false,
    outDir: undefined,
    dataDir: undefined,
    scale: 1,
    inFlight: undefined,
    requestBytes: undefined,
    pairs: undefined,
    jetstream: true,
    cluster: true,
    kcat: true,
    hardware: true,
    transactions: true,
    tls: true,
    only: undefined,
    reportName: undefined,
    render: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue; // pnpm/turbo may pass a separator through
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => {
      if (inline !== undefined) return inline;
      i++;
      return argv[i];
    };
    const noValue = (): void => {
      if (inline !== undefined) throw new BenchError('BadArgument', `${flag} takes no value`);
    };
    switch (flag) {
      case '-h':
      case '--help':
        return { kind: 'help', text: USAGE };
      case '--quick':
        noValue();
        o.quick = true;
        break;
      case '--out': {
        const v = value();
        if (v === undefined || v === '') throw new BenchError('BadArgument', '--out needs a directory');
        o.outDir = v;
        break;
      }
      case '--data-dir': {
        const v = value();
        if (v === undefined || v === '') throw new BenchError('BadArgument', '--data-dir needs a directory');
        o.dataDir = v;
        break;
      }
      case '--report-name': {
        const v = value();
        if (v === undefined || !/^[\w.-]+\.md$/.test(v))
          throw new BenchError('BadArgument', '--report-name needs a file name ending in .md');
        o.reportName = v;
        break;
      }
      case '--render': {
        const v = value();
        if (v === undefined || v === '')
          throw new BenchError('BadArgument', '--render needs a results.json file');
        o.render = v;
        break;
      }
      case '--scale':
        o.scale = number('--scale', value(), 0.001, 1000, false);
        break;
      case '--in-flight':
        o.inFlight = number('--in-flight', value(), 1, 1024, true);
        break;
      case '--request-bytes':
        o.requestBytes = number('--request-bytes', value(), 1024, 64 * 1024 * 1024, true);
        break;
      case '--pairs':
        o.pairs = number('--pairs', value(), 1, 20, true);
        break;
      case '--no-jetstream':
        noValue();
        o.jetstream = false;
        break;
      case '--no-cluster':
        noValue();
        o.cluster = false;
        break;
      case '--no-kcat':
        noValue();
        o.kcat = false;
        break;
      case '--no-hardware':
        noValue();
        o.hardware = false;
        break;
      case '--no-transactions':
        noValue();
        o.transactions = false;
        break;
      case '--no-tls':
        noValue();
        o.tls = false;
        break;
      case '--only': {
        const v = value();
        const parts = (v ?? '').split(',').filter((x) => x !== '');
        const unknown = parts.filter((x) => !(ONLY_PARTS as readonly string[]).includes(x));
        if (parts.length === 0 || unknown.length > 0)
          throw new BenchError(
            'BadArgument',
            `--only needs parts from: ${ONLY_PARTS.join(', ')}${unknown.length > 0 ? ` (not "${unknown.join(', ')}")` : ''}`,
          );
        o.only = [...new Set(parts as OnlyPart[])];
        break;
      }
      default:
        throw new BenchError('BadArgument', `unknown argument "${arg}" (see --help)`);
    }
  }
  if (o.only !== undefined && o.render !== undefined)
    throw new BenchError('BadArgument', '--only measures, --render does not: use one of them');
  if (o.only?.includes('transactions') === true && !o.transactions)
    throw new BenchError('BadArgument', '--only transactions and --no-transactions leave nothing to run');
  if (o.only?.includes('tls') === true && !o.tls)
    throw new BenchError('BadArgument', '--only tls and --no-tls leave nothing to run');
  return { kind: 'run', options: o };
}
