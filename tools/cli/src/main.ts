// The `chronik` program: parses the command line with yargs, runs the chosen command, prints a
// failure as one line on stderr, and returns the exit code (see errors.ts).
//
// Parsing never exits the process and never prints by itself: help, version and completion text
// come back from yargs' parse callback and are written here, so that tests run `main` in-process
// with their own streams. A command's handler only records its work (`Planned`); the work runs after
// parsing, with the global options resolved.
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { registerCerts } from './commands/certs.js';
import { registerCluster } from './commands/cluster.js';
import { registerConsume } from './commands/consume.js';
import { registerGroup } from './commands/group.js';
import { registerPartitions } from './commands/partitions.js';
import { registerProduce } from './commands/produce.js';
import { registerTopic } from './commands/topic.js';
import type { Planned } from './commands/types.js';
import { Context } from './context.js';
import type { GlobalOptions } from './context.js';
import { CliError, ExitCode, describeError, usage } from './errors.js';
import { int } from './args.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import type { Format } from './output.js';

export const VERSION = '0.1.0';
/** The option yargs' completion script calls the program with. */
const COMPLETION_KEY = 'get-yargs-completions';

function buildParser(io: Io, plan: (p: Planned) => void, processArgs: readonly string[] = []): Argv {
  let y: Argv = yargs([...processArgs])
    .scriptName('chronik')
    .usage('$0 <command> [options]')
    .option('brokers', {
      alias: 'b',
      type: 'string',
      default: io.env.CHRONIK_BROKERS ?? 'localhost:9092',
      defaultDescription: '$CHRONIK_BROKERS or localhost:9092',
      describe: 'bootstrap brokers, host:port comma-separated',
      global: true,
    })
    .option('format', {
      type: 'string',
      describe: 'text or json (consume: value, kv or json)',
      global: true,
    })
    .option('request-timeout-ms', {
      type: 'string',
      default: '15000',
      describe: 'time for one request',
      global: true,
    })
    .option('retries', {
      type: 'string',
      default: '5',
      describe: 'tries again after a retriable error',
      global: true,
    })
    .option('client-id', { type: 'string', default: 'chronik-cli', global: true })
    .completion('completion', 'print the bash/zsh completion script (source it from your shell rc)')
    .strict()
    .recommendCommands()
    .demandCommand(1, 'which command? (topic, produce, consume, group, partitions, cluster, certs)')
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, io.stdout.columns ?? 100))
    .epilogue(
      'Speaks the Kafka protocol to any Kafka-compatible cluster. Exit codes: 0 ok, 1 failure, 2 bad usage.\n' +
        'Docs: tools/cli/README.md',
    );
  for (const register of [
    registerTopic,
    registerProduce,
    registerConsume,
    registerGroup,
    registerPartitions,
    registerCluster,
    registerCerts,
  ])
    y = register(y, plan);
  return y;
}

interface Parsed {
  error: Error | undefined;
  output: string;
  argv: Record<string, unknown>;
}

function parse(parser: Argv, argv: readonly string[]): Promise<Parsed> {
  return new Promise((resolve) => {
    void parser.parse(
      [...argv],
      {},
      (error: Error | undefined, parsed: Record<string, unknown>, output: string) =>
        resolve({ error: error ?? undefined, output, argv: parsed }),
    );
  });
}

function globalOptions(a: Record<string, unknown>): GlobalOptions {
  const brokers = String(a.brokers)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (brokers.length === 0) throw usage('--brokers: no broker given');
  return {
    brokers,
    format: a.format === undefined ? undefined : String(a.format),
    clientId: String(a['client-id']),
    requestTimeoutMs: int('request-timeout-ms', a['request-timeout-ms'], 100, 3_600_000),
    retries: int('retries', a.retries, 0, 100),
  };
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let planned: Planned | undefined;
  const parser = buildParser(io, (p) => (planned = p));
  if (argv.includes(`--${COMPLETION_KEY}`)) {
    // What the completion script asks (`chronik --get-yargs-completions chronik group ''`). yargs
    // completes a subcommand by parsing its own process arguments again, so only a parser made
    // on them and left to print and exit by itself gets it right: this one path writes to the
    // process's stdout and ends the process.
    buildParser(io, () => undefined, argv).parse();
    return ExitCode.OK;
  }
  const parsed = await parse(parser, argv);
  if (parsed.error !== undefined) {
    io.stderr.write(
      `chronik: ${parsed.error.message}\nRun "chronik --help" (or "chronik <command> --help") for usage.\n`,
    );
    return ExitCode.USAGE;
  }
  if (planned === undefined) {
    // --help, --version, or the completion script.
    if (parsed.output !== '')
      io.stdout.write(parsed.output.endsWith('\n') ? parsed.output : `${parsed.output}\n`);
    return ExitCode.OK;
  }
  let ctx: Context | undefined;
  try {
    const options = globalOptions(parsed.argv);
    const format = options.format ?? planned.formats[0] ?? 'text';
    if (!planned.formats.includes(format))
      throw usage(`--format: "${format}" is not one of ${planned.formats.join(', ')} for this command`);
    ctx = Context.create(io, options, format as Format);
    return await planned.action(ctx);
  } catch (e) {
    io.stderr.write(`chronik: ${describeError(e)}\n`);
    return e instanceof CliError && e.code === 'USAGE' ? ExitCode.USAGE : ExitCode.FAILURE;
  } finally {
    ctx?.close();
  }
}
