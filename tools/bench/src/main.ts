// chronik-bench: parse the command line, run the benchmark, write the report and charts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from './args.js';
import { errorMessage, isBenchError } from './errors.js';
import { mergeRuns } from './merge.js';
import { renderReport } from './report.js';
import type { BenchRun } from './results.js';
import { runBenchmark } from './runner.js';

function readQuickFlag(file: string): boolean {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { quick?: unknown }).quick === true;
}

/** A saved results.json: its nulls (NaN when written) come back as NaN, so every format shows "–". */
function readRun(file: string): BenchRun {
  return JSON.parse(fs.readFileSync(file, 'utf8'), (_k, v: unknown) =>
    v === null ? Number.NaN : v,
  ) as BenchRun;
}

/** The repository root: the nearest parent of `from` holding pnpm-workspace.yaml. */
export function findRepoRoot(from: string): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
    dir = up;
  }
}

/** Runs the program; resolves with the exit code. `packageDir` is tools/bench. */
export async function main(argv: readonly string[], packageDir: string): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`chronik-bench: ${errorMessage(e)}\n`);
    return isBenchError(e) && e.code === 'BadArgument' ? 2 : 1;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  const options = parsed.options;
  const root = findRepoRoot(packageDir);
  const serverBin = path.join(root, 'apps', 'server', 'bin', 'chronik-server');
  const outDir = path.resolve(options.outDir ?? path.join(root, 'docs', 'benchmarks'));
  const quick = options.render !== undefined ? readQuickFlag(options.render) : options.quick;
  const reportName = options.reportName ?? (quick ? 'quick.md' : 'README.md');
  const resultsFile = path.join(outDir, `${quick ? 'quick-' : ''}results.json`);
  const invocation = `pnpm --filter @chronik/bench bench${argv.length > 0 ? ` ${argv.filter((a) => a !== '--').join(' ')}` : ''}`;
  const t0 = Date.now();
  const log = (line: string): void =>
    void process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  log(
    `chronik-bench ${options.quick ? '--quick ' : ''}${options.only !== undefined ? `--only ${options.only.join(',')} ` : ''}→ ${path.join(outDir, reportName)}`,
  );
  let run: BenchRun;
  if (options.render !== undefined) {
    run = readRun(options.render);
    options.quick = run.quick;
  } else {
    run = await runBenchmark({ options, packageDir, serverBin, invocation, log });
    if (options.only !== undefined && fs.existsSync(resultsFile)) {
      run = mergeRuns(readRun(resultsFile), run);
      log(`merged ${options.only.join(', ')} into the saved run in ${resultsFile}`);
    }
  }
  const prefix = options.quick ? 'quick-' : '';
  const { markdown, charts } = renderReport(run, prefix);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, reportName), markdown);
  for (const c of charts) fs.writeFileSync(path.join(outDir, c.file), c.svg);
  if (options.render === undefined) {
    fs.writeFileSync(
      resultsFile,
      JSON.stringify(run, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) +
        '\n',
    );
  }
  log(
    `wrote ${path.join(outDir, reportName)} and ${charts.length} charts in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  return 0;
}
